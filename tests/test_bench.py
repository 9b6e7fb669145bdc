"""`python -m bench --quick` keeps working: table, results.json and PNGs (never timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import QUICK_SCENARIOS, Variant, default_variants, run_bench
from oktapi.engine.policies import POLICIES

REPO = Path(__file__).resolve().parents[1]


def bench_cli(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m bench ARGS` from the repository, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One quick bench run shared by the assertions below."""
    out = tmp_path_factory.mktemp("bench")
    completed = bench_cli("--quick", "--out", str(out))
    return completed, out


def test_quick_bench_succeeds_and_prints_the_table(quick_bench):
    """Exit code 0; the table names every quick scenario, an oracle row at 100%, every policy."""
    completed, _ = quick_bench
    assert completed.returncode == 0, completed.stderr + completed.stdout
    lines = completed.stdout.splitlines()
    header = next(line for line in lines if "policy" in line and "mean" in line)
    for name in QUICK_SCENARIOS:
        assert name in header
    oracle_line = next(line for line in lines if line.strip("│┃ ").startswith("oracle"))
    assert oracle_line.count("100.0±0.0") == len(QUICK_SCENARIOS)
    for name in POLICIES:
        assert any(line.strip("│┃ ").startswith(name) for line in lines), name
    assert any(line.startswith("Best:") for line in lines)
    assert "Chapelle & Li" in completed.stdout


def test_quick_bench_writes_results_json(quick_bench):
    """results.json holds the oracle row at 100%, one row per policy/step, and the best row."""
    _, out = quick_bench
    results = json.loads((out / "results.json").read_text())
    rows = {row["label"]: row for row in results["rows"]}
    assert rows["oracle"]["overall_mean"] == pytest.approx(100.0)
    assert set(results["scenarios"]) == set(QUICK_SCENARIOS)
    expected_labels = {variant.label for variant in default_variants(steps=(0.05, 0.2))}
    assert expected_labels <= set(rows)
    for label in expected_labels:
        for name in QUICK_SCENARIOS:
            cell = rows[label]["scenarios"][name]
            assert len(cell["percent_of_oracle"]) == results["seeds"]
            assert 0.0 < cell["mean"] <= 100.0 + 1e-6
            assert len(cell["cumulative_regret_mean"]) == results["scenarios"][name]["timesteps"]
    assert results["best"]["label"] in rows
    assert set(results["allocate_ms"]) == {row["policy"] for row in results["rows"][1:]}
    assert results["chapelle_li"]["seeds"] > 0


def test_quick_bench_draws_one_png_per_scenario(quick_bench):
    """A regret chart per scenario, as real PNG files."""
    _, out = quick_bench
    for name in QUICK_SCENARIOS:
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_bench_from_python_for_one_policy_and_scenario():
    """The tuning entry point: one variant, one scenario, in process."""
    result = run_bench([Variant("even")], scenarios=["linear_cpa"], seeds=2, jobs=1)
    assert [row.label for row in result.rows] == ["even"]
    cell = result.rows[0].cells["linear_cpa"]
    assert len(cell.percents) == 2
    assert cell.mean == pytest.approx(73.8, abs=0.1)  # 1/3 of the budget on each CPA 10/14/20


def test_the_ceiling_is_a_reference_row_not_a_policy():
    """ceiling=True adds the default policy told the true shapes, kept apart from the policies:
    it is not a plan's option, so it can be neither the best row nor a policy's best step."""
    result = run_bench(
        [Variant("response_curve"), Variant("even")],
        scenarios=["linear_cpa"],
        seeds=2,
        jobs=1,
        ceiling=True,
    )
    assert [row.label for row in result.rows] == ["response_curve", "even"]
    assert result.ceiling_row.label == "response_curve, told the shapes"
    told = result.ceiling_row.cells["linear_cpa"]
    assert len(told.percents) == 2 and told.mean > result.rows[1].cells["linear_cpa"].mean
    assert result.best.label == "response_curve"
    assert set(result.best_per_policy()) == {"response_curve", "even"}
    assert result.to_dict()["ceiling"]["label"] == "response_curve, told the shapes"


def test_holdout_flag_selects_the_holdout_scenarios():
    """--holdout swaps the shipped scenarios for the randomised holdout family."""
    from bench.runner import _resolve_scenarios

    holdout = _resolve_scenarios(None, holdout=True)
    assert holdout and all(s.holdout for s in holdout)
    assert not any(s.holdout for s in _resolve_scenarios(None, holdout=False))


def test_unknown_policy_is_a_usage_error():
    """A typo in --policies says which names exist instead of a traceback."""
    completed = bench_cli("--policies", "nope", "--quick")
    assert completed.returncode == 2
    assert "available" in completed.stderr


def test_fresh_scenarios_are_new_markets_of_the_holdout_family():
    """--fresh SEED: new randomised markets nobody tuned on, named after their seed."""
    from bench.simulate import HOLDOUT_SCENARIOS, fresh_scenarios

    fresh = fresh_scenarios(777, 3)
    assert [s.name for s in fresh] == ["fresh777_1", "fresh777_2", "fresh777_3"]
    assert all(s.holdout for s in fresh)
    shipped = {s.fingerprint for s in HOLDOUT_SCENARIOS.values()}
    assert not shipped & {s.fingerprint for s in fresh}
    assert [s.fingerprint for s in fresh_scenarios(777, 3)] == [s.fingerprint for s in fresh]
    result = run_bench([Variant("even")], scenarios=fresh[:1], seeds=1, jobs=1)
    assert list(result.rows[0].cells) == ["fresh777_1"]


def test_fresh_cannot_be_combined_with_named_scenarios():
    """--fresh chooses the scenarios itself: asking for others too is a usage error."""
    completed = bench_cli("--fresh", "5", "--scenarios", "linear_cpa")
    assert completed.returncode == 2
    assert "--fresh" in completed.stderr


def test_warm_start_history_is_an_uneven_drifting_split_of_the_daily_budget():
    from bench.simulate import get_scenario
    from bench.simulate.warm_start_bench import HISTORY_DAYS, history_days

    scenario = get_scenario("saturating")
    prior = history_days(scenario, seed=3)
    assert prior.spend.shape == (HISTORY_DAYS, scenario.n_campaigns)
    daily = scenario.total_budget / scenario.timesteps
    assert prior.spend.sum(axis=1) == pytest.approx(daily, rel=0.02)
    shares = prior.spend / prior.spend.sum(axis=1, keepdims=True)
    first_week = shares[:7].mean(axis=0)
    assert first_week.max() > 2 * first_week.min()  # uneven
    assert abs(shares[:7].mean(axis=0) - shares[-7:].mean(axis=0)).max() > 0.05  # drifting
    assert history_days(scenario, seed=3).conversions.tolist() == prior.conversions.tolist()


def test_warm_start_table_compares_a_warm_plan_with_a_cold_one():
    from bench.simulate import get_scenario
    from bench.simulate.warm_start_bench import run_warm_start_bench

    result = run_warm_start_bench([get_scenario("linear_cpa")], seeds=2, jobs=1)
    assert result["errors"] == []
    row = result["scenarios"]["linear_cpa"]
    assert set(row) == {"cold_week", "warm_week", "cold_plan", "warm_plan", "coverage", "intervals"}
    assert row["warm_week"] > row["cold_week"]
    assert 0 < row["intervals"] <= 2 * 3 and 0.0 <= row["coverage"] <= 100.0
    assert result["mean"] == pytest.approx(row)
