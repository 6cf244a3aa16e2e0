"""The governance dashboard in headless Chromium (Debian's chromium + chromium-driver, driven by selenium).

The page is served as an officer sees it (`govctl dashboard --serve`: fetched from the sandbox's API with a
SigV4-signed request on each load). The numbers on it are compared with the governance table as it is
when the test runs; one version's audit trail is tampered with first, so the broken-chain marker shows.
Screenshots go to artifacts/ (a laptop-sized window, the full page, and the full page in greyscale).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from govctl.commands.reads import WAITING
from govctl.sandbox import ROOT
from govctl.serve import dashboard_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "artifacts"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1366,768")
FRAUD = "fraud-detection"


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"headless Chromium is needed for the dashboard test and {', '.join(missing)} is missing: "
                    "install it with `apt-get install -y chromium chromium-driver` (.ci/run does)", pytrace=False)
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("the dashboard test drives Chromium with selenium: `pip install selenium`", pytrace=False)


def test_headless_chromium_and_selenium_are_installed():
    _require_browser()


@pytest.fixture(scope="module")
def tampered(sandbox) -> int:
    """A version whose audit trail was edited behind governance's back."""
    version = sandbox.register(FRAUD, "data-scientist")
    sandbox.api("model-owner").decide(FRAUD, version, stage="development", action="approve", use_case_id="credit-risk")
    sandbox.tamper_audit(FRAUD, version, 2, reason="approved after review (edited later)")
    return version


def start_chromium(profile: Path):
    """Headless Chromium under chromedriver with its own profile directory (the tests' one way to start it)."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def page(sandbox, tampered, tmp_path_factory):
    server, url = dashboard_server(sandbox.api("governance-officer").dashboard)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        driver.get(url)
        yield driver
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def truth(sb) -> dict:
    """What the page must say, from the table itself (moto's backend, read in-process: not through the API)."""
    items = sb.items()
    configs = {i["useCaseId"]: i for i in items if i["pk"].startswith("USECASE#") and i["sk"] == "CONFIG"}
    states = {i["pk"].removeprefix("USECASE#"): i for i in items if i["pk"].startswith("USECASE#") and i["sk"] == "STATE"}
    records = [i for i in items if i["pk"].startswith("MODEL#") and i["sk"].startswith("V#")]
    return {
        "use_cases": len(configs),
        "matrix": Counter((states[u]["stage"] if u in states else "POC", c["riskTier"]) for u, c in configs.items()),
        "versions": {(r["modelGroup"], int(r["modelVersion"])) for r in records},
        "waiting": Counter(r["modelStage"] for r in records if (r["modelStage"], r["modelStatus"]) in WAITING),
        "statuses": {(r["modelGroup"], int(r["modelVersion"]), r["modelStage"]): r["modelStatus"] for r in records},
    }


def count(driver, element_id: str) -> int:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    assert element.text == element.get_attribute("data-count")
    return int(element.text)


def test_the_page_loads_self_contained_and_fits_a_laptop(page):
    assert page.title == "mlgov governance dashboard"
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return document.querySelectorAll('script, link, img, iframe, object, embed').length") == 0
    width = page.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] == 1366, f"horizontal scrolling on a 1366 px wide window: {width}"
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.save_screenshot(str(ARTIFACTS / "dashboard.png"))


def test_the_numbers_match_the_table(page, sandbox):
    from selenium.webdriver.common.by import By

    page.refresh()
    t = truth(sandbox)
    assert count(page, "use-case-count") == t["use_cases"]
    assert count(page, "version-count") == len(t["versions"])
    for stage in ("development", "test", "production"):
        assert count(page, f"waiting-{stage}") == t["waiting"][stage], stage
    for cell in page.find_elements(By.CSS_SELECTOR, "#stage-tier-matrix td[data-stage]"):
        key = (cell.get_attribute("data-stage"), cell.get_attribute("data-tier"))
        assert int(cell.text) == t["matrix"][key], key
    assert sum(int(c.text) for c in page.find_elements(By.CSS_SELECTOR, "#stage-tier-matrix td[data-stage]")) == t["use_cases"]
    rows = page.find_elements(By.CSS_SELECTOR, "#version-table tbody tr")
    shown = set()
    for row in rows:
        group, version = row.get_attribute("data-version").split("/")
        shown.add((group, int(version)))
        for cell in row.find_elements(By.CSS_SELECTOR, "[data-stage][data-status]"):
            status = cell.get_attribute("data-status")
            expected = t["statuses"].get((group, int(version), cell.get_attribute("data-stage")), "none")
            assert status == expected, (group, version, cell.get_attribute("data-stage"))
            if status != "none":
                assert status in cell.text  # the status is written, not only coloured
    assert shown == t["versions"]
    queued = {tuple(r.get_attribute("data-version").split("/")) for r in page.find_elements(By.CSS_SELECTOR, "#pending tbody tr")}
    assert len(queued) == sum(t["waiting"].values())


def test_a_broken_audit_chain_is_marked_in_words(page, sandbox, tampered):
    from selenium.webdriver.common.by import By

    alert = page.find_element(By.ID, "chain-alert")
    assert alert.is_displayed() and alert.get_attribute("role") == "alert"
    assert "AUDIT CHAIN BROKEN" in alert.text and f"{FRAUD} v{tampered} at entry 2" in alert.text
    assert count(page, "broken-chains") == 1
    row = page.find_element(By.CSS_SELECTOR, f'#version-table tr[data-version="{FRAUD}/{tampered}"]')
    assert row.get_attribute("data-chain") == "broken" and "BROKEN at entry 2" in row.text
    others = page.find_elements(By.CSS_SELECTOR, '#version-table tr[data-chain="ok"]')
    assert others and all("verifies" in r.text for r in others)
    assert len(others) == len(truth(sandbox)["versions"]) - 1
    # The audit table shows the latest entries first, with who did what.
    first = page.find_element(By.CSS_SELECTOR, "#audit-table tbody tr")
    assert first.text


def test_full_page_and_greyscale_screenshots(page):
    height = page.execute_script("return document.documentElement.scrollHeight")
    page.set_window_size(1366, min(int(height) + 40, 8000))
    try:
        assert page.save_screenshot(str(ARTIFACTS / "dashboard-full.png"))
        page.execute_script("document.documentElement.style.filter = 'grayscale(1)'")
        assert page.save_screenshot(str(ARTIFACTS / "dashboard-greyscale.png"))
    finally:
        page.execute_script("document.documentElement.style.filter = ''")
        page.set_window_size(1366, 768)
    assert shutil.disk_usage(ARTIFACTS).free > 0
