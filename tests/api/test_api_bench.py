"""A simulated market driven through the REST API gets exactly the engine's budgets.

`make bench` scores the engine's own simulation; this is what makes its figures the figures an
API user gets: the same scenario, policy and seed handed out the same budgets, to the last bit,
on every storage backend (so stored state, JSON and pacing lose nothing on the way).
"""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bench.simulate import get_scenario, oracle, run, score
from scripts.api_bench import compare, drive_scenario


@pytest.mark.parametrize(
    ("scenario_name", "policy"),
    [
        ("sparse_counts", None),  # revenue objective, the default policy
        ("holdout_1", None),  # held out of tuning: caps, drift, a drop, 13 campaigns
        ("linear_cpa", "thompson"),  # a seed policy moving its step s
    ],
)
def test_a_plan_driven_through_the_api_gets_the_engines_budgets(
    client: TestClient, admin_headers: dict, scenario_name: str, policy: str | None
) -> None:
    scenario = get_scenario(scenario_name)
    budgets = drive_scenario(client, admin_headers, scenario, policy=policy, seed=3)
    engine = run(scenario, policy or "response_curve", seed=3)
    np.testing.assert_array_equal(budgets, engine.budgets)
    reference = oracle(scenario)
    assert score(scenario, budgets, reference).percent_of_oracle == pytest.approx(
        score(scenario, engine.budgets, reference).percent_of_oracle
    )


def test_the_comparison_reports_agreement_and_both_scores(
    client: TestClient, admin_headers: dict
) -> None:
    row = compare(client, admin_headers, get_scenario("linear_cpa"), seed=0)
    assert row.agrees and row.largest_difference == 0.0
    assert row.api_percent == pytest.approx(row.engine_percent)
    assert 0 < row.api_percent <= 100


def test_the_command_runs_on_an_in_process_service_and_says_the_paths_agree(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scripts.api_bench import main

    assert main(["--scenarios", "linear_cpa", "--seeds", "1"]) == 0
    output = capsys.readouterr().out
    assert "same budgets" in output and "through the API" in output


def test_the_command_refuses_an_unknown_scenario_by_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scripts.api_bench import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--scenarios", "no_such_market"])
    assert exit_info.value.code == 2
    assert "no_such_market" in capsys.readouterr().err


def test_the_command_drives_fresh_markets_nobody_tuned_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from scripts.api_bench import main

    assert main(["--fresh", "4242", "--fresh-count", "1", "--seeds", "1"]) == 0
    output = capsys.readouterr().out
    assert "fresh4242_1" in output and "same budgets" in output
