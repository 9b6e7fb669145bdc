"""Time the engine on synthetic plans, for the bench to report (not for unit tests).

``time_allocate``: one ``AI.allocate`` with 90 timesteps of history. ``time_long_plan``: one
timestep (allocate + update, after the morning's restatements of the last 7 timesteps) early
and late in a 2,500-timestep plan: the engine's cost must not grow with the plan.
"""

from __future__ import annotations

import time

import numpy as np

from oktapi.engine.ai import AI, Restatement, Results
from oktapi.engine.state import Campaign, State


def synthetic_state(
    policy: str,
    n_campaigns: int = 50,
    history: int = 90,
    *,
    params: dict | None = None,
    objective: str = "conversions",
    seed: int = 0,
) -> State:
    """A plan with ``history`` timesteps of Poisson results already reported."""
    market = np.random.default_rng(seed)
    rates = market.uniform(0.005, 0.05, n_campaigns)
    campaigns = [Campaign(f"campaign-{index}") for index in range(n_campaigns)]
    state = State.create(
        campaigns,
        total_budget=1000.0 * n_campaigns * (history + 1),
        timesteps=history + 1,
        objective=objective,
        policy=policy,
        policy_params=params,
        seed=seed,
    )
    ai = AI(state)
    for _ in range(history):
        spend = ai.allocate().budgets * market.uniform(0.8, 1.0, n_campaigns)
        conversions = market.poisson(rates * spend).astype(np.float64)
        ai.update(Results(spend, conversions, conversions * market.uniform(10, 50, n_campaigns)))
    return state


def time_allocate(
    policy: str,
    n_campaigns: int = 50,
    history: int = 90,
    repeats: int = 200,
    *,
    params: dict | None = None,
    objective: str = "conversions",
) -> float:
    """Median milliseconds of one ``AI.allocate`` (policy, bounds check, explanations)."""
    state = synthetic_state(policy, n_campaigns, history, params=params, objective=objective)
    ai = AI(state)
    timings = []
    for _ in range(repeats):
        state.allocation = None  # allocate is idempotent per timestep; force a fresh one
        started = time.perf_counter()
        ai.allocate()
        timings.append(time.perf_counter() - started)
    return float(np.median(timings) * 1000.0)


def time_long_plan(
    policy: str = "response_curve",
    timesteps: int = 2_500,
    n_campaigns: int = 10,
    at: tuple[int, ...] = (20, 2_400),
    repeats: int = 30,
    *,
    restate_days: int = 7,
    seed: int = 0,
) -> dict:
    """p50 ms of one timestep (restatements, allocate, update) at each of ``at``.

    The plan runs on a Poisson market whose conversions arrive over a few days; every morning
    the last ``restate_days`` closed timesteps are restated with what is visible then, as a
    connector re-pulling recent days would. At each timestep of ``at`` the state is copied
    ``repeats`` times and one timestep timed on each copy. Also reports the size of the state
    (JSON characters) there.
    """
    import json

    market = np.random.default_rng(seed)
    rates = market.uniform(0.005, 0.05, n_campaigns)
    arrival = np.array([0.5, 0.25, 0.15, 0.1])  # share of conversions reported at age 0..3
    campaigns = [
        Campaign(f"campaign-{index}", platform="google" if index % 2 else "meta")
        for index in range(n_campaigns)
    ]
    state = State.create(
        campaigns, 1000.0 * n_campaigns * timesteps, timesteps, policy=policy, seed=seed
    )
    finals_ = np.zeros((timesteps, n_campaigns))
    told_ = np.zeros((timesteps, 3, n_campaigns))
    told_at_ = np.zeros((timesteps, n_campaigns), dtype=np.int64)
    everyone = np.arange(n_campaigns)

    def one_timestep(
        state: State, draws: np.random.Generator, record: bool, memory: tuple | None = None
    ) -> None:
        finals, told, told_at = memory if memory is not None else (finals_, told_, told_at_)
        ai = AI(state)
        version = state.timestep
        for timestep in range(max(version - restate_days, 0), version):
            age = min(version - timestep, len(arrival) - 1)
            visible = finals[timestep] * arrival[: age + 1].sum()
            ai.restate(
                Restatement(
                    timestep, everyone, told[timestep, 0], visible, visible * 20.0,
                    told[timestep, 0], told[timestep, 1], told[timestep, 2], told_at[timestep],
                )
            )  # fmt: skip
            if record:
                told[timestep, 1:], told_at[timestep] = (visible, visible * 20.0), version
        spend = ai.allocate().budgets * draws.uniform(0.8, 1.0, n_campaigns)
        final = draws.poisson(rates * spend).astype(np.float64)
        visible = final * arrival[0]
        ai.update(Results(spend, visible, visible * 20.0))
        if record:
            finals[version] = final
            told[version], told_at[version] = (spend, visible, visible * 20.0), version

    snapshots = {}
    for target in sorted(at):
        while state.timestep < target:
            one_timestep(state, market, record=True)
        memory = (finals_.copy(), told_.copy(), told_at_.copy())
        snapshots[target] = (state.to_dict(), state.kept, memory)
    # Interleaved, so every point sees the same load on a shared machine; CPU time as well as
    # wall time, since other processes on the cores inflate the latter.
    wall: dict[int, list[float]] = {target: [] for target in snapshots}
    cpu: dict[int, list[float]] = {target: [] for target in snapshots}
    for repeat in range(repeats):
        for target, (snapshot, _, memory) in snapshots.items():
            copy = State.from_dict(snapshot)
            draws = np.random.default_rng([seed, repeat])
            started, started_cpu = time.perf_counter(), time.thread_time()
            one_timestep(copy, draws, record=False, memory=memory)
            cpu[target].append(time.thread_time() - started_cpu)
            wall[target].append(time.perf_counter() - started)
    result: dict = {
        "policy": policy,
        "timesteps": timesteps,
        "n_campaigns": n_campaigns,
        "restate_days": restate_days,
    }
    for target, (snapshot, kept, _) in snapshots.items():
        result[str(target)] = {
            "p50_ms": float(np.median(wall[target]) * 1000.0),
            "p50_cpu_ms": float(np.median(cpu[target]) * 1000.0),
            "state_json_chars": len(json.dumps(snapshot)),
            "kept_rows": kept,
        }
    early, late = str(min(at)), str(max(at))
    result["ratio"] = result[late]["p50_ms"] / result[early]["p50_ms"]
    result["cpu_ratio"] = result[late]["p50_cpu_ms"] / result[early]["p50_cpu_ms"]
    return result


if __name__ == "__main__":
    from oktapi.engine.policies import POLICIES

    for name in POLICIES:
        print(f"{name:16s} {time_allocate(name):.3f} ms  (50 campaigns, 90 timesteps of history)")
