"""A demo plan and a headless Chromium for the dashboard: shared by tests/e2e and screenshots.

The browser is Debian's `chromium` with its `chromium-driver` (make e2e installs both); selenium
is told their paths so it never tries to download a driver or a browser of its own.
"""

import math
import os
import shutil
from dataclasses import dataclass, field

import httpx
import numpy as np

CAMPAIGNS = [
    # name, platform, max budget per timestep, curve scale a, saturation spend b
    ("Brand search", "google_ads", 600.0, 40.0, 150.0),
    ("Generic search", "google_ads", 900.0, 55.0, 700.0),
    ("Meta prospecting", "meta", 900.0, 35.0, 500.0),
    ("TikTok video", "tiktok", 700.0, 18.0, 400.0),
]
REVENUE_PER_CONVERSION = 54.0


@dataclass
class DemoPlan:
    """What seed_demo made, to check the page against."""

    token: str
    client_id: str
    plan_id: str
    campaign_ids: list[str]
    names: dict[str, str] = field(default_factory=dict)


def login(base_url: str, username: str, password: str) -> str:
    response = httpx.post(
        f"{base_url}/auth/token", data={"username": username, "password": password}, timeout=30
    )
    response.raise_for_status()
    return response.json()["access_token"]


def delivered(allocation: dict, rng: np.random.Generator) -> list[dict]:
    """What the demo campaigns bring for the budgets given: a saturating curve with noise."""
    shape = {name: (a, b) for name, _, _, a, b in CAMPAIGNS}
    results = []
    for entry in allocation["allocations"]:
        a, b = shape[entry["campaign_name"]] if "campaign_name" in entry else (30.0, 400.0)
        spend = round(entry["budget"] * 0.98, 2)
        conversions = int(rng.poisson(a * math.log1p(spend / b)))
        results.append(
            {
                "campaign_id": entry["campaign_id"],
                "spend": spend,
                "conversions": conversions,
                "revenue": round(conversions * REVENUE_PER_CONVERSION, 2),
            }
        )
    return results


def seed_demo(
    base_url: str, *, password: str, closed_timesteps: int = 6, seed: int = 7
) -> DemoPlan:
    """A client in euros, four campaigns and a 30-day plan with some timesteps reported."""
    token = login(base_url, "admin", password)
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    client = api.post("/clients", json={"name": "Acme Shoes", "currency": "EUR"})
    client.raise_for_status()
    client_id = client.json()["id"]
    campaign_ids, names = [], {}
    for name, platform, max_budget, _, _ in CAMPAIGNS:
        made = api.post(
            f"/clients/{client_id}/campaigns",
            json={"name": name, "platform": platform, "max_budget": max_budget},
        )
        made.raise_for_status()
        campaign_ids.append(made.json()["id"])
        names[made.json()["id"]] = name
    api.close()
    plan_id = seed_plan(
        base_url,
        token=token,
        client_id=client_id,
        campaign_ids=campaign_ids,
        names=names,
        name="Q1 push",
        closed_timesteps=closed_timesteps,
        seed=seed,
    )
    return DemoPlan(
        token=token, client_id=client_id, plan_id=plan_id, campaign_ids=campaign_ids, names=names
    )


def seed_plan(
    base_url: str,
    *,
    token: str,
    client_id: str,
    campaign_ids: list[str],
    names: dict[str, str],
    name: str,
    closed_timesteps: int,
    seed: int = 7,
) -> str:
    """A 30-day plan of 45,000 over the campaigns, its first timesteps reported; its id."""
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    rng = np.random.default_rng(seed)
    plan = api.post(
        f"/clients/{client_id}/plans",
        json={
            "name": name,
            "campaign_ids": campaign_ids,
            "total_budget": 45000,
            "timesteps": 30,
            "start": "2027-01-04",
            "seed": seed,
        },
    )
    plan.raise_for_status()
    plan_id = plan.json()["id"]
    allocation = plan.json()["allocation"]
    for timestep in range(closed_timesteps):
        for entry in allocation["allocations"]:
            entry.setdefault("campaign_name", names[entry["campaign_id"]])
        answer = api.post(
            f"/plans/{plan_id}/results",
            json={"timestep": timestep, "results": delivered(allocation, rng)},
        )
        answer.raise_for_status()
        allocation = answer.json()
    api.close()
    return plan_id


def chromium(width: int = 1280, height: int = 900):  # -> selenium WebDriver
    """Headless Debian Chromium at the given window size, with the console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download anything
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=en-US",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
