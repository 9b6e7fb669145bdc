"""Time one forecast of 20 budgets on a 50-campaign plan (`python scripts/forecast_timing.py`).

The plan meets a random 50-campaign saturating market for 60 timesteps (32 kept rows, the rest
folded), then the whole forecast is timed as the service runs it: fit, 20 splits with their
marginal returns and prediction intervals; and a target recommendation and the curves.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oktapi.engine import AI, Campaign, Results, State
from oktapi.engine.forecast import Forecaster

CAMPAIGNS, HISTORY, BUDGETS, REPEATS = 50, 60, 20, 7


def main() -> None:
    rng = np.random.default_rng(0)
    scale = rng.uniform(10, 60, CAMPAIGNS)
    half = rng.uniform(200, 2000, CAMPAIGNS)
    state = State.create([Campaign(f"c{i}") for i in range(CAMPAIGNS)], 50_000.0 * 90, 90, seed=1)
    ai = AI(state)
    for _ in range(HISTORY):
        budgets = ai.allocate().budgets
        conversions = rng.poisson(scale * (1 - np.exp(-budgets / half))).astype(float)
        ai.update(Results(spend=budgets, conversions=conversions))
    ai.allocate()
    budgets = np.linspace(10_000, 150_000, BUDGETS)
    timings = {"forecast of 20 budgets (fit included)": [], "target_cpa": [], "curves": []}
    for _ in range(REPEATS):
        started = time.process_time()
        forecaster = Forecaster(state)
        forecaster.forecast(budgets)
        timings["forecast of 20 budgets (fit included)"].append(time.process_time() - started)
        started = time.process_time()
        Forecaster(state).recommend(target_cpa=60.0)
        timings["target_cpa"].append(time.process_time() - started)
        started = time.process_time()
        Forecaster(state).curves()
        timings["curves"].append(time.process_time() - started)
    for name, values in timings.items():
        print(f"{name}: median {1000 * np.median(values):.0f} ms, max {1000 * max(values):.0f} ms")


if __name__ == "__main__":
    main()
