"""Browser tests run on request (`make e2e`, i.e. `pytest -m e2e`), not in every `make test`.

They need Debian's chromium and chromium-driver and selenium (requirements-e2e.txt); plain
pytest does not even import them.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.dashboard_browser import DemoPlan, chromium, seed_demo, seed_plan
from scripts.service_process import ServiceProcess


def _e2e_requested(config: pytest.Config) -> bool:
    expression = (config.getoption("markexpr") or "").replace(" ", "")
    return "e2e" in expression and "note2e" not in expression


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not _e2e_requested(config):
        return True
    return None


@pytest.fixture(scope="module")
def admin_password() -> str:
    return "e2e-admin-password-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, admin_password: str
) -> Iterator[ServiceProcess]:
    """A real uvicorn server on the embedded store in a fresh data dir, as `make run` starts it."""
    root = tmp_path_factory.mktemp("e2e")
    with ServiceProcess(
        root / "data", admin_password=admin_password, secret_key=secrets.token_hex(32)
    ) as process:
        process.initialize()
        process.start()
        yield process


@pytest.fixture(scope="module")
def demo(service: ServiceProcess, admin_password: str) -> DemoPlan:
    return seed_demo(service.base_url, password=admin_password)


@pytest.fixture
def plan_id(service: ServiceProcess, demo: DemoPlan) -> str:
    """A plan of its own per test (over the demo's campaigns, 3 timesteps reported)."""
    return seed_plan(
        service.base_url,
        token=demo.token,
        client_id=demo.client_id,
        campaign_ids=demo.campaign_ids,
        names=demo.names,
        name=f"Edited plan {secrets.token_hex(3)}",
        closed_timesteps=3,
    )


@pytest.fixture
def api(service: ServiceProcess, demo: DemoPlan) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=service.base_url, headers={"Authorization": f"Bearer {demo.token}"}, timeout=60
    ) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Headless Chromium; a failed test leaves a screenshot and the page's text to look at."""
    driver = chromium(1280, 900)
    try:
        yield driver
        if request.node.stash.get(FAILED, False):
            shot = tmp_path / "failure.png"
            driver.save_screenshot(str(shot))
            print(
                f"screenshot: {shot}\nurl: {driver.current_url}\npage:\n{driver.find_element('tag name', 'body').text}"
            )
            print("console:", driver.get_log("browser"))
    finally:
        driver.quit()
