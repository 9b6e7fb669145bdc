"""Simulated markets with known truth, a clairvoyant oracle and the metrics the bench reports.

Typical use (e.g. tuning a policy):
    from bench.simulate import SCENARIOS, evaluate
    metrics = evaluate("saturating", "response_curve", params={}, seeds=10)
    mean_percent = sum(m.percent_of_oracle for m in metrics) / len(metrics)
"""

from bench.simulate.chapelle_li import chapelle_li_check, thompson_regret
from bench.simulate.metrics import RunMetrics, score, volatility
from bench.simulate.oracle import OracleTrajectory, best_split, max_plus_split, oracle
from bench.simulate.run import RunTrace, evaluate, run
from bench.simulate.scenarios import (
    HOLDOUT_SCENARIOS,
    SCENARIOS,
    Scenario,
    fresh_scenarios,
    get_scenario,
    holdout_scenarios,
)

__all__ = [
    "HOLDOUT_SCENARIOS",
    "SCENARIOS",
    "OracleTrajectory",
    "RunMetrics",
    "RunTrace",
    "Scenario",
    "best_split",
    "chapelle_li_check",
    "evaluate",
    "fresh_scenarios",
    "get_scenario",
    "holdout_scenarios",
    "max_plus_split",
    "oracle",
    "run",
    "score",
    "thompson_regret",
    "volatility",
]
