"""Changing a running plan from the dashboard, and a client's campaign history, in a real browser.

The budget raised from the form shows in the page; a paused campaign gets 0 in the allocation
table and a locked one its lock; a refused edit is said next to its field, nothing changed; a
campaign removed and added back; stop and delete ask first; a history file with a bad row is
refused with that row named, a good one recorded.
"""

import re
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select

from scripts.dashboard_browser import DemoPlan
from scripts.service_process import ServiceProcess
from tests.e2e.browsing import (
    chart_data,
    field_error,
    log_in,
    open_plan,
    retype,
    severe_console_entries,
    wait,
)

pytestmark = pytest.mark.e2e


def allocation_row(browser: WebDriver, campaign_id: str) -> str:
    return browser.find_element(
        By.CSS_SELECTOR, f"#allocation-section tr[data-campaign-id='{campaign_id}']"
    ).text


def given(api: httpx.Client, plan_id: str) -> dict[str, float]:
    allocation = api.get(f"/plans/{plan_id}/allocation").json()["allocations"]
    return {a["campaign_id"]: a["budget"] for a in allocation}


def choose_campaign(browser: WebDriver, campaign_id: str) -> None:
    Select(browser.find_element(By.ID, "plan-campaign-select")).select_by_value(campaign_id)
    wait(browser).until(
        lambda b: (
            b.find_element(By.CSS_SELECTOR, "#campaign-editor .campaign-editor").get_attribute(
                "data-campaign-id"
            )
            == campaign_id
        )
    )


def test_budget_raised_campaign_paused_and_locked_refusals_at_their_fields(
    browser: WebDriver,
    service: ServiceProcess,
    demo: DemoPlan,
    admin_password: str,
    plan_id: str,
    api: httpx.Client,
) -> None:
    open_plan(browser, service, admin_password, plan_id)
    before = api.get(f"/plans/{plan_id}").json()

    # Below what is spent: refused by the server, said at the total budget field, nothing changed.
    retype(browser, "plan-total-budget", "10")
    browser.find_element(By.CSS_SELECTOR, "#plan-edit-form button[type=submit]").click()
    said = field_error(browser, "plan-total-budget")
    assert "already spent" in said
    # Its amounts in euros, as the buyer typed and reads them, not the API's bare numbers.
    assert said.startswith("total budget €10.00 is below")
    assert re.search(r"\(€[\d,]+\.\d\d\)", said), said
    assert api.get(f"/plans/{plan_id}").json()["total_budget"] == before["total_budget"] == 45000

    # A raised budget: saved, and the page shows the new total and the open timestep's budget.
    retype(browser, "plan-total-budget", "60000")
    button = browser.find_element(By.CSS_SELECTOR, "#plan-edit-form button[type=submit]")
    button.click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-edit-form"), "Saved: total budget €60,000")
    )
    after = api.get(f"/plans/{plan_id}").json()
    assert after["total_budget"] == 60000
    summary = browser.find_element(By.CSS_SELECTOR, "dl.summary").text
    assert "€60,000" in summary
    assert f"€{after['allocation']['timestep_budget']:,.2f}" in summary
    assert after["allocation"]["timestep_budget"] > before["allocation"]["timestep_budget"]
    assert browser.find_element(By.ID, "plan-total-budget").get_attribute("value") == "60000"

    # Pause Generic search: 0 in the allocation table, the chart's open bar and the API.
    paused = demo.campaign_ids[1]
    choose_campaign(browser, paused)
    browser.find_element(By.ID, "campaign-pause").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "is paused")
    )
    row = allocation_row(browser, paused)
    assert row.startswith("Generic search") and "paused" in row and "€0.00" in row
    assert given(api, plan_id)[paused] == 0
    bars = {d["label"]: d["data"] for d in chart_data(browser, "budgets")["datasets"]}
    assert bars["Generic search"][-1] == 0
    assert browser.find_element(By.ID, "campaign-pause").text == "Resume"

    # A lock beyond the campaign's maximum (600): refused at the field.
    locked = demo.campaign_ids[0]
    choose_campaign(browser, locked)
    retype(browser, "campaign-locked-budget", "5000")
    browser.find_element(By.CSS_SELECTOR, "#campaign-lock-form button[type=submit]").click()
    said = field_error(browser, "campaign-locked-budget")
    assert "outside the campaign's bounds" in said and "[€0.00, €600.00]" in said
    assert said.startswith("locked budget €5,000.00")
    assert given(api, plan_id)[locked] != 5000

    # Locked at 300 (typed, Enter): exactly that, said in the table.
    retype(browser, "campaign-locked-budget", "300")
    browser.find_element(By.ID, "campaign-locked-budget").send_keys(Keys.ENTER)
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "locked at €300.00")
    )
    row = allocation_row(browser, locked)
    assert "locked at €300.00" in row and row.split("locked at €300.00")[1].strip().startswith(
        "€300.00"
    )
    assert given(api, plan_id)[locked] == pytest.approx(300)
    plan = api.get(f"/plans/{plan_id}").json()
    rules = {c["campaign_id"]: c for c in plan["campaigns"]}
    assert rules[locked]["locked_budget"] == 300 and rules[paused]["paused"] is True

    # Plan-level bounds: a minimum above the maximum is refused at the minimum.
    choose_campaign(browser, demo.campaign_ids[2])
    retype(browser, "campaign-min-budget", "800")
    retype(browser, "campaign-max-budget", "100")
    browser.find_element(By.CSS_SELECTOR, "#campaign-bounds-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "campaign-bounds-form"), "not changed")
    )
    assert "min budget" in browser.find_element(By.ID, "campaign-bounds-form").text
    retype(browser, "campaign-min-budget", "")
    browser.find_element(By.CSS_SELECTOR, "#campaign-bounds-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "bounds in this plan")
    )
    assert given(api, plan_id)[demo.campaign_ids[2]] <= 100
    assert severe_console_entries(browser, service) == []


def test_a_campaign_removed_and_added_back_then_the_plan_stopped_and_deleted(
    browser: WebDriver,
    service: ServiceProcess,
    demo: DemoPlan,
    admin_password: str,
    plan_id: str,
    api: httpx.Client,
) -> None:
    open_plan(browser, service, admin_password, plan_id)
    tiktok = demo.campaign_ids[3]

    # Remove asks first; Escape backs out and nothing changes.
    choose_campaign(browser, tiktok)
    browser.find_element(By.ID, "campaign-remove").click()
    assert browser.switch_to.active_element.get_attribute("id") == "campaign-remove-confirm"
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert browser.switch_to.active_element.get_attribute("id") == "campaign-remove"
    assert tiktok in given(api, plan_id)
    browser.find_element(By.ID, "campaign-remove").click()
    browser.find_element(By.ID, "campaign-remove-confirm").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "was removed")
    )
    assert "removed" in allocation_row(browser, tiktok)
    assert tiktok not in given(api, plan_id)

    # Back in from the add form.
    Select(browser.find_element(By.ID, "plan-add-campaign")).select_by_value(tiktok)
    browser.find_element(By.CSS_SELECTOR, "#plan-add-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "joins the plan")
    )
    assert "active" in allocation_row(browser, tiktok)
    assert tiktok in given(api, plan_id)

    # Stop: asked first, then final; the page says so and offers no more edits.
    browser.find_element(By.ID, "plan-stop").click()
    question = browser.find_element(By.ID, "plan-stop-question").text
    assert "final" in question
    browser.find_element(By.ID, "plan-stop-confirm").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "plan-end-section"), "The plan is stopped")
    )
    assert api.get(f"/plans/{plan_id}").json()["status"] == "stopped"
    assert "stopped" in browser.find_element(By.CSS_SELECTOR, "dl.summary").text
    assert not browser.find_elements(By.ID, "plan-edit-form")
    assert not browser.find_elements(By.ID, "results-form")

    # Delete: asked first, then back to the list, which says so.
    browser.find_element(By.ID, "plan-delete").click()
    browser.find_element(By.ID, "plan-delete-confirm").click()
    wait(browser).until(seen.text_to_be_present_in_element((By.ID, "main"), "was deleted"))
    assert browser.current_url.endswith("#/")
    assert api.get(f"/plans/{plan_id}").status_code == 404
    assert severe_console_entries(browser, service) == []


def test_campaign_history_uploaded_on_the_client_page(
    browser: WebDriver,
    service: ServiceProcess,
    demo: DemoPlan,
    admin_password: str,
    api: httpx.Client,
    tmp_path: Path,
) -> None:
    log_in(browser, service, admin_password)
    wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Acme Shoes"))).click()
    wait(browser).until(seen.visibility_of_element_located((By.ID, "history-form")))
    names = [demo.names[c] for c in demo.campaign_ids]

    bad = tmp_path / "history.csv"
    bad.write_text(
        "date,campaign,spend,conversions,revenue\n"
        f"2026-11-01,{names[0]},400,20,1080\n"
        f"2026-11-01,{names[1]},380,-4,900\n"
        f"2026-11-02,{names[0]},410,22,1188\n"
    )
    browser.find_element(By.ID, "history-file").send_keys(str(bad))
    browser.find_element(By.CSS_SELECTOR, "#history-form button[type=submit]").click()
    bad_row = wait(browser).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, "#history-form tr.bad-row"))
    )
    assert bad_row.get_attribute("data-line") == "3"
    assert "not applied" in browser.find_element(By.ID, "history-feedback").text
    assert api.get(f"/campaigns/{demo.campaign_ids[0]}/history").json()["total"] == 0

    good = tmp_path / "history-fixed.csv"
    good.write_text(bad.read_text().replace(",-4,", ",4,"))
    browser.find_element(By.ID, "history-file").send_keys(str(good))
    browser.find_element(By.CSS_SELECTOR, "#history-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "history-feedback"), "History recorded")
    )
    said = browser.find_element(By.ID, "history-feedback").text
    assert "3 rows read, 3 days added" in said and names[1] in said
    row = browser.find_element(
        By.CSS_SELECTOR, f"#client-campaigns tr[data-campaign-id='{demo.campaign_ids[0]}']"
    )
    assert "2 (from Nov 1, 2026)" in row.text
    assert api.get(f"/campaigns/{demo.campaign_ids[0]}/history").json()["total"] == 2
    assert severe_console_entries(browser, service) == []
