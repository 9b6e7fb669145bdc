"""Screenshots of the dashboard's main pages for the README (make screenshots → docs/screenshots).

A real server on a fresh embedded store, the demo plan of scripts/dashboard_browser.py, and
headless Chromium at 1280 px and at phone width (390 px).
"""

import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.dashboard_browser import DemoPlan, chromium, seed_demo
from scripts.service_process import ROOT, ServiceProcess

OUT = ROOT / "docs" / "screenshots"


def restate_one_timestep(base_url: str, demo: DemoPlan) -> None:
    """Late conversions for timestep 2, where the server takes restatements (PUT)."""
    headers = {"Authorization": f"Bearer {demo.token}"}
    entry = httpx.get(f"{base_url}/plans/{demo.plan_id}/history", headers=headers).json()[
        "entries"
    ][2]
    results = [
        {**r, "conversions": r["conversions"] + 2} for r in entry["results"] if r["spend"] > 0
    ]
    for result in results:
        for key in [k for k, v in result.items() if v is None]:
            del result[key]
    httpx.put(
        f"{base_url}/plans/{demo.plan_id}/results/2", json={"results": results}, headers=headers
    )


def wait_for_charts(driver) -> None:
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script(
            "const c = document.getElementById('budgets-chart');"
            "return c && window.Chart && Chart.getChart(c) !== undefined;"
        )
    )
    for key in ("curves", "outlook"):
        WebDriverWait(driver, 60).until(
            lambda d, key=key: d.execute_script(
                f"const c = document.getElementById('{key}-chart');"
                "return !c || (window.Chart && Chart.getChart(c) !== undefined);"
            )
        )
    time.sleep(0.5)  # let the last animation frame land


def change_campaigns(driver, demo: DemoPlan) -> None:
    """Through the plan's forms: TikTok video paused, Brand search locked at 400."""
    tiktok, brand = demo.campaign_ids[3], demo.campaign_ids[0]
    Select(driver.find_element(By.ID, "plan-campaign-select")).select_by_value(tiktok)
    driver.find_element(By.ID, "campaign-pause").click()
    WebDriverWait(driver, 30).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "is paused")
    )
    Select(driver.find_element(By.ID, "plan-campaign-select")).select_by_value(brand)
    locked = driver.find_element(By.ID, "campaign-locked-budget")
    locked.clear()
    locked.send_keys("400\n")
    WebDriverWait(driver, 30).until(
        seen.text_to_be_present_in_element((By.ID, "plan-campaigns-section"), "locked at")
    )
    wait_for_charts(driver)


def refused_budget(driver) -> None:
    """A total budget below what is spent: the server's refusal next to the field."""
    total = driver.find_element(By.ID, "plan-total-budget")
    total.clear()
    total.send_keys("1000")
    driver.find_element(By.CSS_SELECTOR, "#plan-edit-form button[type=submit]").click()
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "plan-total-budget").get_attribute("aria-invalid")
    )
    time.sleep(0.3)


def history_refused(driver, base_url: str, demo: DemoPlan, folder: Path) -> None:
    """The client page: a history file with a bad row, refused and shown row by row."""
    driver.get(f"{base_url}/app#/clients/{demo.client_id}")
    WebDriverWait(driver, 30).until(seen.visibility_of_element_located((By.ID, "history-file")))
    names = [demo.names[c] for c in demo.campaign_ids]
    report = folder / "meta-history.csv"
    report.write_text(
        "date,campaign,spend,conversions,revenue\n"
        f"2026-11-01,{names[2]},612.40,21,1134\n"
        f"2026-11-02,{names[2]},598.10,n/a,1080\n"
        f"2026-11-03,{names[2]},640.00,24,1296\n"
        f"2026-11-03,{names[3]},210.00,-2,108\n"
    )
    driver.find_element(By.ID, "history-file").send_keys(str(report))
    driver.find_element(By.CSS_SELECTOR, "#history-form button[type=submit]").click()
    WebDriverWait(driver, 30).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, "#history-form .csv-preview"))
    )
    time.sleep(0.3)


def full_page(driver, path: Path, width: int) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height + 20)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)
    driver.save_screenshot(str(path))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    password = "screenshots-" + secrets.token_hex(6)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServiceProcess(
            Path(tmp) / "data", admin_password=password, secret_key=secrets.token_hex(32)
        ) as service,
    ):
        service.initialize()
        service.start()
        demo = seed_demo(service.base_url, password=password)
        restate_one_timestep(service.base_url, demo)
        driver = chromium(1280, 800)
        try:
            driver.get(f"{service.base_url}/")
            WebDriverWait(driver, 30).until(seen.visibility_of_element_located((By.ID, "username")))
            driver.save_screenshot(str(OUT / "login.png"))
            driver.find_element(By.ID, "username").send_keys("admin")
            driver.find_element(By.ID, "password").send_keys(password + "\n")
            WebDriverWait(driver, 30).until(
                seen.visibility_of_element_located((By.LINK_TEXT, "Q1 push"))
            )
            driver.save_screenshot(str(OUT / "clients.png"))
            driver.find_element(By.LINK_TEXT, "Q1 push").click()
            wait_for_charts(driver)
            change_campaigns(driver, demo)
            full_page(driver, OUT / "plan.png", 1280)
            driver.find_element(By.ID, "curves-section").screenshot(str(OUT / "curves.png"))
            driver.find_element(By.ID, "outlook-section").screenshot(str(OUT / "outlook.png"))

            budget = driver.find_element(By.ID, "whatif-budget")
            budget.clear()
            budget.send_keys("2000")
            driver.find_element(By.ID, "whatif-target").send_keys("30")
            driver.find_element(By.CSS_SELECTOR, "#whatif-form button[type=submit]").click()
            WebDriverWait(driver, 60).until(
                seen.visibility_of_element_located((By.CSS_SELECTOR, "#whatif-answer .scenario"))
            )
            full_page(driver, Path(tmp) / "scratch.png", 1280)
            driver.find_element(By.ID, "whatif-section").screenshot(str(OUT / "whatif.png"))

            report = Path(tmp) / "google-ads-report.csv"
            names = [demo.names[c] for c in demo.campaign_ids]
            report.write_text(
                "timestep,campaign,spend,conversions,revenue\n"
                f"6,{names[0]},400,20,1080\n"
                f"6,{names[1]},380,lots,900\n"
                f"6,{names[2]},600,25,1350\n"
                f"6,Brand serach,30,1,54\n"
            )
            driver.find_element(By.ID, "upload-file").send_keys(str(report))
            driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
            WebDriverWait(driver, 30).until(
                seen.visibility_of_element_located((By.CSS_SELECTOR, "#upload-form .csv-preview"))
            )
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, height + 20)
            time.sleep(0.5)
            driver.find_element(By.ID, "upload-form").screenshot(str(OUT / "upload-errors.png"))
            refused_budget(driver)
            driver.find_element(By.ID, "plan-changes").screenshot(str(OUT / "plan-edits.png"))

            history_refused(driver, service.base_url, demo, Path(tmp))
            full_page(driver, Path(tmp) / "scratch.png", 1280)
            driver.find_element(By.ID, "main").screenshot(str(OUT / "client-history.png"))

            driver.set_window_size(390, 844)
            driver.get(f"{service.base_url}/app#/plans/{demo.plan_id}")
            wait_for_charts(driver)
            driver.save_screenshot(str(OUT / "phone-plan.png"))
            full_page(driver, Path(tmp) / "scratch.png", 390)
            driver.find_element(By.ID, "allocation-section").screenshot(
                str(OUT / "phone-allocation.png")
            )
        finally:
            driver.quit()
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
