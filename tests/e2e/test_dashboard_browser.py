"""The dashboard in a real browser: what a media buyer does, on a real server and store.

Log in, open a plan, see the budget chart drawn with the plan's numbers, upload a report with a
bad row and see that row named, post a timestep's results and see the charts gain it, log out.
"""

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
    api_get,
    chart_data,
    curves_drawn,
    log_in,
    one_decimal,
    painted_pixels,
    severe_console_entries,
    wait,
)

pytestmark = pytest.mark.e2e


def test_a_buyer_logs_in_reads_a_plan_uploads_posts_and_logs_out(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, tmp_path: Path, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    assert browser.current_url.startswith(f"{service.base_url}/app")
    link = wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push")))
    client_card = browser.find_element(By.CSS_SELECTOR, f"[data-client-id='{demo.client_id}']")
    assert "Acme Shoes" in client_card.text and "6 of 30" in client_card.text
    assert "€45,000" in client_card.text  # money in the client's currency, with its symbol
    link.click()

    # The budget chart is drawn with the plan's own numbers, one stack per timestep.
    history = api_get(service, demo, f"/plans/{demo.plan_id}/history")["entries"]
    wait(browser).until(lambda b: (chart_data(b, "budgets") or {}).get("labels"))
    drawn = chart_data(browser, "budgets")
    assert len(drawn["labels"]) == len(history) == 7
    assert drawn["labels"][0] == "Jan 4, 2027"
    assert [d["label"] for d in drawn["datasets"]] == [demo.names[c] for c in demo.campaign_ids]
    for dataset, campaign_id in zip(drawn["datasets"], demo.campaign_ids, strict=True):
        given = [
            next(
                a["budget"]
                for a in e["allocation"]["allocations"]
                if a["campaign_id"] == campaign_id
            )
            for e in history
        ]
        assert dataset["data"] == pytest.approx(given)
    assert painted_pixels(browser, "budgets") > 10_000

    # Its text alternative: the table of the same numbers, in euros, by campaign name.
    browser.find_element(By.CSS_SELECTOR, "#budgets-table summary").click()
    table_text = browser.find_element(By.ID, "budgets-table").text
    first_budget = history[0]["allocation"]["allocations"][0]["budget"]
    assert f"€{first_budget:,.2f}" in table_text
    assert "Brand search" in table_text

    # The open timestep's allocation, explained.
    allocation = browser.find_element(By.ID, "allocation-section").text
    assert "Open timestep 6" in allocation and "80% interval" in allocation
    assert "per extra conversion" in allocation

    # Another metric of the reported results: CPA per campaign, in euros.
    Select(browser.find_element(By.CSS_SELECTOR, "#results-section select")).select_by_value("cpa")
    wait(browser).until(
        lambda b: "CPA" in b.find_element(By.ID, "results-table").get_attribute("textContent")
    )
    assert len(chart_data(browser, "results")["labels"]) == 6

    # A report with a bad row: refused whole, the row named in place, nothing applied.
    report = tmp_path / "report.csv"
    names = [demo.names[c] for c in demo.campaign_ids]
    report.write_text(
        "timestep,campaign,spend,conversions,revenue\n"
        f"6,{names[0]},400,20,1080\n"
        f"6,{names[1]},380,lots,900\n"
        f"6,{names[2]},600,25,1350\n"
        f"6,{names[3]},30,1,54\n"
    )
    browser.find_element(By.ID, "upload-file").send_keys(str(report))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    bad_row = wait(browser).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, "#upload-form tr.bad-row"))
    )
    assert bad_row.get_attribute("data-line") == "3"
    assert "lots" in bad_row.text and "conversions" in bad_row.text
    assert "not applied" in browser.find_element(By.ID, "upload-feedback").text
    assert api_get(service, demo, f"/plans/{demo.plan_id}")["timestep"] == 6

    # Post timestep 6 from the form: the charts gain a timestep.
    budgets = api_get(service, demo, f"/plans/{demo.plan_id}/allocation")["allocations"]
    for index, given in enumerate(budgets):
        browser.find_element(By.ID, f"result-{index}-spend").send_keys(f"{given['budget']:.2f}")
        browser.find_element(By.ID, f"result-{index}-conversions").send_keys("12")
    browser.find_element(By.CSS_SELECTOR, "#results-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "results-form"), "Timestep 6 recorded")
    )
    wait(browser).until(lambda b: len((chart_data(b, "budgets") or {}).get("labels", [])) == 8)
    assert len(chart_data(browser, "results")["labels"]) == 7
    assert "Open timestep 7" in browser.find_element(By.ID, "allocation-section").text
    assert api_get(service, demo, f"/plans/{demo.plan_id}")["timestep"] == 7

    assert severe_console_entries(browser, service) == []

    # Log out: the token is gone and a reload shows the login, not the plan.
    browser.find_element(By.ID, "logout").click()
    wait(browser).until(seen.visibility_of_element_located((By.ID, "username")))
    assert "logged out" in browser.find_element(By.ID, "main").text
    assert browser.execute_script("return sessionStorage.length") == 0
    browser.refresh()
    wait(browser).until(seen.visibility_of_element_located((By.ID, "username")))
    assert "Q1 push" not in browser.find_element(By.ID, "main").text


def test_a_results_field_the_server_refuses_is_marked_at_that_field(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push"))).click()
    wait(browser).until(seen.visibility_of_element_located((By.ID, "result-1-spend")))
    before = api_get(service, demo, f"/plans/{demo.plan_id}")["timestep"]
    budgets = api_get(service, demo, f"/plans/{demo.plan_id}/allocation")["allocations"]
    for index, given in enumerate(budgets):
        # Campaign 1 far above twice its budget: refused as a likely typo, the rest fine.
        spend = "99999999" if index == 1 else f"{given['budget']:.2f}"
        browser.find_element(By.ID, f"result-{index}-spend").send_keys(spend)
        browser.find_element(By.ID, f"result-{index}-conversions").send_keys("3")
    browser.find_element(By.CSS_SELECTOR, "#results-form button[type=submit]").click()
    wait(browser).until(
        lambda b: b.find_element(By.ID, "result-1-spend").get_attribute("aria-invalid")
    )
    error_id = browser.find_element(By.ID, "result-1-spend").get_attribute("aria-describedby")
    said = browser.find_element(By.ID, error_id).text
    assert "twice its budget" in said
    assert "Generic search" in said  # the campaign by name, not by id
    assert api_get(service, demo, f"/plans/{demo.plan_id}")["timestep"] == before


def test_wrong_password_is_said_at_the_form_and_keyboard_alone_logs_in(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, "not-the-password")
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "login-feedback"), "Wrong username or password")
    )
    # Focus is back in the password field; type it and press Enter, no mouse.
    active = browser.switch_to.active_element
    assert active.get_attribute("id") == "password"
    active.send_keys(Keys.CONTROL, "a")
    active.send_keys(admin_password, Keys.ENTER)
    wait(browser).until(seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push")))
    # The plan link is reachable with Tab and opens with Enter.
    for _ in range(10):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.text == "Q1 push":
            break
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser).until(lambda b: (chart_data(b, "budgets") or {}).get("labels"))
    assert severe_console_entries(browser, service) == []


def test_the_plan_page_fits_a_phone_screen(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    browser.set_window_size(390, 844)
    log_in(browser, service, admin_password)
    wait(browser).until(seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push")))
    browser.get(f"{service.base_url}/app#/plans/{demo.plan_id}")
    wait(browser).until(lambda b: (chart_data(b, "budgets") or {}).get("labels"))
    assert painted_pixels(browser, "budgets") > 5_000
    # The edit forms are there too, one column, inside the screen.
    for form_id in (
        "plan-edit-form",
        "plan-policy-form",
        "outlook-range-form",
        "campaign-lock-form",
        "campaign-bounds-form",
    ):
        form = browser.find_element(By.ID, form_id)
        assert form.rect["x"] >= 0 and form.rect["x"] + form.rect["width"] <= 390, form_id
    # The open timestep's allocation reads as one card per campaign: every figure on screen,
    # each beside its column's name, nothing to scroll sideways for.
    allocation = api_get(service, demo, f"/plans/{demo.plan_id}/allocation")["allocations"]
    screen = browser.execute_script("return window.innerWidth")
    for given in allocation:
        row = browser.find_element(
            By.CSS_SELECTOR, f"#allocation-section tr[data-campaign-id='{given['campaign_id']}']"
        )
        assert row.find_element(By.TAG_NAME, "th").text == demo.names[given["campaign_id"]]
        cells = {}
        for cell in row.find_elements(By.TAG_NAME, "td"):
            assert cell.rect["x"] >= 0 and cell.rect["x"] + cell.rect["width"] <= screen
            cells[cell.get_attribute("data-label")] = cell.text
        assert cells["Budget"] == f"€{given['budget']:,.2f}"
        assert cells["Expected conversions"] and cells["80% interval"]
        assert cells["Marginal return"].startswith("€")
    # Their column names show beside the values (the table's head is for screen readers only).
    labels = browser.execute_script(
        "return getComputedStyle(document.querySelector("
        "'#allocation-section tbody td'), '::before').content"
    )
    assert labels == '"In the plan"'
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_a_token_the_server_no_longer_takes_brings_back_the_login(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    wait(browser).until(seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push")))
    browser.execute_script("sessionStorage.setItem('oktopus.token', 'no-longer-valid')")
    browser.find_element(By.LINK_TEXT, "Q1 push").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "login-feedback"), "session has ended")
    )
    assert browser.execute_script("return sessionStorage.length") == 0
    assert "Q1 push" not in browser.find_element(By.ID, "main").text


# API.md: history entries carry `revision` (restatements that changed something). The route
# that restates (PUT /plans/{id}/results/{timestep}) may not be on this server yet, so the
# history answer is given a revision on its way into the page, as that server would send it.
RESTATE_IN_TRANSIT = """
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await realFetch(...args);
  if (!String(args[0]).endsWith('/history')) return response;
  const body = await response.json();
  body.entries[2].revision = 2;
  return new Response(JSON.stringify(body), {status: response.status, headers: response.headers});
};
"""


def test_restated_timesteps_are_marked_in_the_results_chart_and_table(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    link = wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push")))
    browser.execute_script(RESTATE_IN_TRANSIT)
    link.click()
    wait(browser).until(lambda b: (chart_data(b, "results") or {}).get("labels"))
    labels = chart_data(browser, "results")["labels"]
    assert [label.endswith("◆") for label in labels[:4]] == [False, False, True, False]
    styles = browser.execute_script(
        "return Chart.getChart(document.getElementById('results-chart')).data.datasets[0].pointStyle"
    )
    assert styles[2] != styles[1]
    assert "1 timestep(s) restated" in browser.find_element(By.ID, "restated-note").text
    browser.find_element(By.CSS_SELECTOR, "#results-table summary").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#results-table tbody tr")
    assert "revision 2" in rows[2].text and "restated-row" in rows[2].get_attribute("class")
    assert rows[1].text.endswith("no")


def test_the_learned_curves_are_drawn_and_a_what_if_answers_in_euros(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push"))).click()

    # The curves: one line per campaign, by name, on the server's grid, today's budget marked.
    curves = api_get(service, demo, f"/plans/{demo.plan_id}/curves")["campaigns"]
    allocation = api_get(service, demo, f"/plans/{demo.plan_id}/allocation")["allocations"]
    wait(browser).until(lambda b: (curves_drawn(b) or {}).get("expected"))
    drawn = curves_drawn(browser)
    names = [demo.names[c] for c in demo.campaign_ids]
    assert [d["label"] for d in drawn["expected"]] == [demo.names[c["campaign_id"]] for c in curves]
    assert sorted(d["label"] for d in drawn["expected"]) == sorted(names)
    for dataset, curve in zip(drawn["expected"], curves, strict=True):
        assert [p["x"] for p in dataset["data"]] == pytest.approx(curve["budgets"])
        assert [p["y"] for p in dataset["data"]] == pytest.approx(curve["expected"])
    given = {a["campaign_id"]: a["budget"] for a in allocation}
    for dataset, curve in zip(drawn["current"], curves, strict=True):
        assert dataset["data"][0]["x"] == pytest.approx(given[curve["campaign_id"]], abs=0.01)
    assert len(drawn["band"]) == 2 * len(curves)
    assert painted_pixels(browser, "curves") > 10_000
    browser.find_element(By.CSS_SELECTOR, "#curves-table summary").click()
    curves_text = browser.find_element(By.ID, "curves-table").text
    assert "Brand search: expected conversions per budget" in curves_text
    assert "80% interval" in curves_text and "€" in curves_text

    # What if: another budget and a target CPA; the page shows what the server forecasts.
    budget = browser.find_element(By.ID, "whatif-budget")
    budget.clear()
    budget.send_keys("1500")
    browser.find_element(By.ID, "whatif-target").send_keys("30")
    browser.find_element(By.CSS_SELECTOR, "#whatif-form button[type=submit]").click()
    answer = wait(browser).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, "#whatif-answer .scenario"))
    )
    forecast = httpx.post(
        f"{service.base_url}/plans/{demo.plan_id}/forecast",
        json={"timestep_budgets": [1500], "target_cpa": 30},
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=60,
    ).json()
    scenario = forecast["scenarios"][0]
    text = answer.text
    assert "With €1,500.00 per timestep" in text
    assert f"{one_decimal(scenario['lower'])} \u2013 {one_decimal(scenario['upper'])}" in text
    assert f"€{scenario['marginal_cpa']:,.2f} per extra conversion" in text
    for share in scenario["allocations"]:
        row = next(
            r
            for r in answer.find_elements(By.CSS_SELECTOR, "tbody tr")
            if r.text.startswith(demo.names[share["campaign_id"]])
        )
        assert f"€{share['budget']:,.2f}" in row.text
    recommended = browser.find_elements(By.CSS_SELECTOR, "#whatif-answer .scenario")[1].text
    assert "Largest budget meeting a marginal CPA €30.00" in recommended
    assert f"€{forecast['recommended']['timestep_budget']:,.2f}" in recommended

    # A budget far beyond anything spent: the forecast says it is extrapolated.
    budget.clear()
    budget.send_keys("20000")
    browser.find_element(By.ID, "whatif-target").clear()
    browser.find_element(By.CSS_SELECTOR, "#whatif-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "whatif-answer"), "With €20,000.00")
    )
    assert "Extrapolated" in browser.find_element(By.ID, "whatif-answer").text

    # A negative budget: refused by the server, said at the field.
    budget.clear()
    budget.send_keys("-5")
    browser.find_element(By.CSS_SELECTOR, "#whatif-form button[type=submit]").click()
    wait(browser).until(
        lambda b: b.find_element(By.ID, "whatif-budget").get_attribute("aria-invalid")
    )
    error_id = browser.find_element(By.ID, "whatif-budget").get_attribute("aria-describedby")
    assert "0" in browser.find_element(By.ID, error_id).text
    assert severe_console_entries(browser, service) == []


def test_expected_outcome_against_budget_per_timestep_is_the_servers_forecast(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    log_in(browser, service, admin_password)
    wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push"))).click()
    wait(browser).until(lambda b: (curves_drawn(b, "outlook") or {}).get("expected"))
    drawn = curves_drawn(browser, "outlook")
    today = api_get(service, demo, f"/plans/{demo.plan_id}")["allocation"]["timestep_budget"]
    budgets = [p["x"] for p in drawn["expected"][0]["data"]]
    assert budgets == pytest.approx(
        [m * today for m in (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3)], abs=0.01
    )
    forecast = httpx.post(
        f"{service.base_url}/plans/{demo.plan_id}/forecast",
        json={"timestep_budgets": budgets},
        headers={"Authorization": f"Bearer {demo.token}"},
        timeout=60,
    ).json()["scenarios"]
    assert [p["y"] for p in drawn["expected"][0]["data"]] == pytest.approx(
        [s["expected"] for s in forecast]
    )
    low, high = drawn["band"]
    assert [p["y"] for p in low["data"]] == pytest.approx([s["lower"] for s in forecast])
    assert [p["y"] for p in high["data"]] == pytest.approx([s["upper"] for s in forecast])
    assert drawn["current"][0]["data"][0]["x"] == pytest.approx(today)
    assert painted_pixels(browser, "outlook") > 5_000

    # The text alternative: one row per budget, today's marked, with its interval.
    browser.find_element(By.CSS_SELECTOR, "#outlook-table summary").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#outlook-table tbody tr")
    assert len(rows) == len(forecast)
    today_row = next(r for r in rows if "(today)" in r.text)
    scenario = forecast[budgets.index(next(b for b in budgets if abs(b - today) < 0.01))]
    interval = f"{one_decimal(scenario['lower'])} \u2013 {one_decimal(scenario['upper'])}"
    assert f"€{today:,.2f}" in today_row.text and interval in today_row.text
    assert severe_console_entries(browser, service) == []


def test_a_plan_without_spend_says_why_it_has_no_curves_or_forecast(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    api = httpx.Client(
        base_url=service.base_url, headers={"Authorization": f"Bearer {demo.token}"}, timeout=60
    )
    client_id = api.post("/clients", json={"name": "New shop", "currency": "GBP"}).json()["id"]
    campaign = api.post(
        f"/clients/{client_id}/campaigns", json={"name": "Shop search", "platform": "google"}
    ).json()["id"]
    plan = api.post(
        f"/clients/{client_id}/plans",
        json={
            "name": "First week",
            "campaign_ids": [campaign],
            "total_budget": 700,
            "timesteps": 7,
        },
    ).json()
    refused = api.post(f"/plans/{plan['id']}/forecast", json={"timestep_budgets": [100]})
    assert refused.status_code == 409
    api.close()

    log_in(browser, service, admin_password)
    wait(browser).until(seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push")))
    browser.get(f"{service.base_url}/app#/plans/{plan['id']}")
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "curves-section"), "No curves to show")
    )
    browser.find_element(By.CSS_SELECTOR, "#whatif-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "whatif-answer"), "cannot be forecast yet")
    )
    assert refused.json()["detail"] in browser.find_element(By.ID, "whatif-answer").text
    label = browser.find_element(By.CSS_SELECTOR, "label[for=whatif-budget]").text
    assert label == "Budget per timestep (GBP)"


def test_a_closed_timestep_restated_from_the_form(
    browser: WebDriver, service: ServiceProcess, demo: DemoPlan, admin_password: str
) -> None:
    routes = httpx.get(f"{service.base_url}/openapi.json", timeout=30).json()["paths"]
    if "put" not in routes.get("/plans/{plan_id}/results/{timestep}", {}):
        pytest.skip("this server takes no restatements (PUT /plans/{id}/results/{timestep})")
    before = api_get(service, demo, f"/plans/{demo.plan_id}/history")["entries"][1]
    log_in(browser, service, admin_password)
    wait(browser).until(seen.element_to_be_clickable((By.LINK_TEXT, "Q1 push"))).click()
    form = wait(browser).until(seen.visibility_of_element_located((By.ID, "restate-form")))
    Select(form.find_element(By.TAG_NAME, "select")).select_by_value("1")
    first = before["results"][0]
    conversions = browser.find_element(By.ID, "restate-0-conversions")
    assert float(conversions.get_attribute("value")) == pytest.approx(first["conversions"])
    conversions.clear()
    conversions.send_keys(str(first["conversions"] + 3))
    browser.find_element(By.CSS_SELECTOR, "#restate-form button[type=submit]").click()
    wait(browser).until(
        seen.text_to_be_present_in_element((By.ID, "restate-form"), "Timestep 1 restated")
    )
    said = browser.find_element(By.ID, "restate-form").text
    assert "revision 1" in said and demo.names[first["campaign_id"]] in said
    after = api_get(service, demo, f"/plans/{demo.plan_id}/history")["entries"][1]
    assert after["revision"] == 1
    assert after["results"][0]["conversions"] == pytest.approx(first["conversions"] + 3)
    assert after["results"][1:] == before["results"][1:]  # only the changed campaign was sent
    # The results chart now marks timestep 1 as restated.
    labels = chart_data(browser, "results")["labels"]
    assert labels[1].endswith("◆") and not labels[0].endswith("◆")
    assert severe_console_entries(browser, service) == []
