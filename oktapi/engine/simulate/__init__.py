"""Simulated markets with known truth, a clairvoyant oracle and the metrics the bench reports.

Typical use (e.g. tuning a policy):
    from oktapi.engine.simulate import SCENARIOS, evaluate
    metrics = evaluate("saturating", "response_curve", params={}, seeds=10)
    mean_percent = sum(m.percent_of_oracle for m in metrics) / len(metrics)
"""

from oktapi.engine.simulate.chapelle_li import chapelle_li_check, thompson_regret
from oktapi.engine.simulate.metrics import RunMetrics, score, volatility
from oktapi.engine.simulate.oracle import OracleTrajectory, best_split, max_plus_split, oracle
from oktapi.engine.simulate.run import RunTrace, evaluate, run
from oktapi.engine.simulate.scenarios import (
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
