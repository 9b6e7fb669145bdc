"""The plan page's settings and looking-ahead controls in a real browser.

The policy's parameters are edited from a form that says what each one means and allows; a
refused value is said at its field, nothing changed. (More below: the outlook's range, a
what-if kept across redraws, a finished or stopped plan.)
"""

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen

from scripts.service_process import ServiceProcess
from tests.e2e.browsing import field_error, open_plan, retype, severe_console_entries, wait

pytestmark = pytest.mark.e2e


def test_policy_settings_edited_from_the_form_and_a_bad_value_refused_at_its_field(
    browser: WebDriver,
    service: ServiceProcess,
    admin_password: str,
    plan_id: str,
    api: httpx.Client,
) -> None:
    open_plan(browser, service, admin_password, plan_id)
    before = api.get(f"/plans/{plan_id}").json()
    assert before["policy"] == "response_curve"
    form = browser.find_element(By.ID, "plan-policy-form")
    assert "response_curve" in form.text
    max_change = browser.find_element(By.ID, "policy-max-change")
    assert max_change.get_attribute("value") == "1"
    label = browser.find_element(By.CSS_SELECTOR, "label[for=policy-max-change]").text
    assert label == "Max change"
    hint = browser.find_element(By.ID, "policy-max-change-hint").text
    assert "Largest relative change" in hint and "leave empty for none" in hint
    assert browser.find_element(By.CSS_SELECTOR, "label[for=policy-target-cpa]").text == (
        "Target CPA (EUR)"
    )

    # Zero is outside (0, inf]: the server refuses, the page says so at that field.
    retype(browser, "policy-max-change", "0")
    browser.find_element(By.CSS_SELECTOR, "#plan-policy-form button[type=submit]").click()
    said = field_error(browser, "policy-max-change")
    assert "max_change" in said and "(0, inf]" in said
    assert api.get(f"/plans/{plan_id}").json()["policy_params"] == before["policy_params"]

    # A 30% limit and a two-timestep hold: saved, said, and shown after the page redraws.
    retype(browser, "policy-max-change", "0.3")
    retype(browser, "policy-cooldown", "2")
    browser.find_element(By.CSS_SELECTOR, "#plan-policy-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element(
            (By.ID, "plan-policy-feedback"), "Saved: max change 0.3, cooldown 2."
        )
    )
    after = api.get(f"/plans/{plan_id}").json()["policy_params"]
    assert after["max_change"] == 0.3 and after["cooldown"] == 2
    assert {k: v for k, v in after.items() if k not in ("max_change", "cooldown")} == {
        k: v for k, v in before["policy_params"].items() if k not in ("max_change", "cooldown")
    }
    assert browser.find_element(By.ID, "policy-max-change").get_attribute("value") == "0.3"
    assert browser.switch_to.active_element.text.startswith("Saved:")

    # Emptied, a limit that may be none becomes none.
    retype(browser, "policy-max-change", "")
    browser.find_element(By.CSS_SELECTOR, "#plan-policy-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-policy-feedback"), "max change none")
    )
    assert api.get(f"/plans/{plan_id}").json()["policy_params"]["max_change"] is None
    assert severe_console_entries(browser, service) == []
