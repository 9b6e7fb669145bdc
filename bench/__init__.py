"""The bench beside the service: every registered policy against the clairvoyant oracle.

`python -m bench` (make bench, make bench-quick) runs it; `bench.simulate` holds the simulated
markets with known truth, the oracle and the metrics. Nothing in `oktapi/` imports from here.

From Python, for tuning one policy on a few scenarios:
    from bench import Variant, run_bench
    result = run_bench([Variant("response_curve", params={...})], scenarios=["saturating"])
    result.rows[0].overall_mean
"""

from bench.runner import QUICK_SCENARIOS, BenchResult, Variant, default_variants, run_bench

__all__ = ["QUICK_SCENARIOS", "BenchResult", "Variant", "default_variants", "run_bench"]
