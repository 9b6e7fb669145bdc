"""What the browser tests share: waiting for the page, reading what Chart.js drew, the API."""

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from scripts.dashboard_browser import DemoPlan
from scripts.service_process import ServiceProcess

WAIT_SECONDS = 30  # how long to wait for the page, not a speed requirement


def wait(browser: WebDriver) -> WebDriverWait:
    return WebDriverWait(browser, WAIT_SECONDS)


def chart_data(browser: WebDriver, key: str) -> dict | None:
    """What Chart.js holds for a chart: its labels and, per dataset, label and values."""
    return browser.execute_script(
        """
        const chart = window.Chart && Chart.getChart(document.getElementById(arguments[0]));
        if (!chart) return null;
        return {labels: chart.data.labels,
                datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data}))};
        """,
        f"{key}-chart",
    )


def painted_pixels(browser: WebDriver, key: str) -> int:
    """How many pixels of the chart's canvas are not blank: the chart was really drawn."""
    return browser.execute_script(
        """
        const canvas = document.getElementById(arguments[0]);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        return painted;
        """,
        f"{key}-chart",
    )


def api_get(service: ServiceProcess, demo: DemoPlan, path: str) -> dict:
    response = httpx.get(
        f"{service.base_url}{path}", headers={"Authorization": f"Bearer {demo.token}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def log_in(browser: WebDriver, service: ServiceProcess, password: str) -> None:
    browser.get(f"{service.base_url}/")
    username = wait(browser).until(seen.visibility_of_element_located((By.ID, "username")))
    username.send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()


def severe_console_entries(browser: WebDriver, service: ServiceProcess) -> list[dict]:
    """Errors the page logged: a CSP violation, a failed asset or a script error shows here.

    API answers of 4xx that the page showed on purpose (a refused upload) are not errors.
    """
    return [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and not (
            entry["source"] == "network"
            and not entry["message"].startswith(f"{service.base_url}/app")
        )
    ]


def open_plan(browser: WebDriver, service: ServiceProcess, password: str, plan_id: str) -> None:
    log_in(browser, service, password)
    wait(browser).until(seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push")))
    browser.get(f"{service.base_url}/app#/plans/{plan_id}")
    wait(browser).until(seen.visibility_of_element_located((By.ID, "plan-edit-form")))


def retype(browser: WebDriver, element_id: str, text: str) -> None:
    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def field_error(browser: WebDriver, input_id: str) -> str:
    wait(browser).until(lambda b: b.find_element(By.ID, input_id).get_attribute("aria-invalid"))
    described = browser.find_element(By.ID, input_id).get_attribute("aria-describedby")
    return browser.find_element(By.ID, described.split()[0]).text


def one_decimal(value: float) -> str:
    """A count as the page writes it: at most one decimal."""
    return f"{value:,.1f}".removesuffix(".0")


def curves_drawn(browser: WebDriver, key: str = "curves") -> dict | None:
    """Per role (expected, current, band) the datasets Chart.js holds for a curves chart."""
    return browser.execute_script(
        """
        const chart = window.Chart && Chart.getChart(document.getElementById(arguments[0]));
        if (!chart) return null;
        const out = {};
        for (const d of chart.data.datasets) (out[d.role] ||= []).push({label: d.label, data: d.data});
        return out;
        """,
        f"{key}-chart",
    )
