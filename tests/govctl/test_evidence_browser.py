"""The credit-risk evidence pack after the sandbox walkthrough, as an auditor gets it (`govctl evidence`), in headless
Chromium: the numbers on the page are the table's, the page loads nothing, and it prints to a legible A4 PDF.

Figures (sizes, render time, PDF pages) go to artifacts/evidence-figures.json, with the page and the PDF.
"""
from __future__ import annotations

import base64
import io
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from governance import evidence_html
from govctl.sandbox import ROOT

from .test_dashboard_browser import start_chromium

UC = "credit-risk"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def written(govctl, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("evidence")
    result = govctl("evidence", UC, "--out", str(out), persona="governance-officer")
    assert result.exit_code == 0, result.output
    html_file, json_file = out / f"{UC}-evidence.html", out / f"{UC}-evidence.json"
    assert str(html_file.resolve()) in result.stdout and str(json_file.resolve()) in result.stdout
    return html_file, json_file


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-evidence"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser, written):
    browser.get(written[0].resolve().as_uri())
    return browser


def table(sb) -> dict:
    """What the page must say, read from moto's backend in-process (not through the API)."""
    items = [i for i in sb.items() if i.get("useCaseId") == UC or i["pk"] == f"USECASE#{UC}"]
    records = {(i["modelGroup"], int(i["modelVersion"]), i["modelStage"]): i
               for i in items if i["pk"].startswith("MODEL#") and i["sk"].startswith("V#")}
    groups = {g for g, _, _ in records}
    audit = [i for i in sb.items() if i["sk"].startswith("AUDIT#") and
             (i["pk"] == f"USECASE#{UC}" or i["pk"].removeprefix("MODEL#") in groups)]
    return {"records": records, "audit": Counter(i["subject"] for i in audit),
            "approvals": sum(1 for i in audit if i["pk"].startswith("MODEL#") and i["action"] in ("approve", "approve-partial"))}


def test_the_json_file_is_the_pack_the_page_embeds(written):
    html_file, json_file = written
    assert json.loads(json_file.read_text()) == evidence_html.extract(html_file.read_text())


def test_the_page_loads_nothing_and_runs_nothing(page):
    assert page.title == f"EU AI Act evidence pack: {UC}"
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return document.querySelectorAll('link, img, iframe, object, embed').length") == 0
    scripts = page.execute_script("return Array.from(document.scripts).map(s => s.type)")
    assert scripts == ["application/json"]
    width = page.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"horizontal scrolling: {width}"


def test_the_numbers_shown_are_the_tables(page, sandbox):
    from selenium.webdriver.common.by import By

    t = table(sandbox)
    shown = {s.get_attribute("data-version") for s in page.find_elements(By.CSS_SELECTOR, "section.version")}
    assert shown == {f"{g}/{v}" for g, v, _ in t["records"]}
    for (group, version, stage), record in t["records"].items():
        block = page.find_element(By.CSS_SELECTOR, f'section.version[data-version="{group}/{version}"] .stage[data-stage="{stage}"]')
        status = block.find_element(By.CSS_SELECTOR, "[data-status]")
        assert status.get_attribute("data-status") == status.text == record["modelStatus"]
        assert int(block.find_element(By.CSS_SELECTOR, "[data-approvals]").get_attribute("data-approvals")) == len(record.get("approvals") or [])
        for kind, attr in (("validation", "validationMetrics"), ("monitoring", "monitoringMetrics")):
            stored = json.loads(record.get(attr) or "null") or {}
            values = stored.get("metrics", {}) if kind == "monitoring" else stored
            for name, value in values.items():
                cell = block.find_element(By.CSS_SELECTOR, f'[data-metric="{group}/{version}:{stage}:{kind}:{name}"]')
                assert float(cell.text) == pytest.approx(float(value)), (group, version, stage, name)
        if stage == "development" and record.get("mlflowRunId"):
            run = page.find_element(By.CSS_SELECTOR, f'section.version[data-version="{group}/{version}"] code.run')
            assert run.text == run.get_attribute("data-run-id") == record["mlflowRunId"]
    for verdict in page.find_elements(By.CSS_SELECTOR, "p.verdict"):
        subject = verdict.get_attribute("data-trail")
        key = f"USECASE#{UC}" if subject.startswith("use-case/") else "MODEL#{}#V#{:06d}".format(*subject.rsplit("/", 1)[0:1], int(subject.rsplit("/", 1)[1]))
        assert f"chain verifies ({t['audit'][key]} entries)" in verdict.text, subject
    assert len(page.find_elements(By.CSS_SELECTOR, "p.verdict")) == len(t["audit"])
    assert int(page.find_element(By.ID, "summary-approvals").text) == t["approvals"]
    assert int(page.find_element(By.ID, "summary-auditEntries").text) == sum(t["audit"].values())
    assert page.find_element(By.ID, "risk-tier").text == "high"


def test_it_prints_to_a_legible_a4_pdf_and_the_figures_are_recorded(page, written, sandbox):
    from pypdf import PdfReader
    from selenium.webdriver.common.print_page_options import PrintOptions

    timing = page.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                                 "return [n.domContentLoadedEventEnd, n.loadEventEnd, n.duration]")
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7  # A4, in centimetres
    pdf = base64.b64decode(page.print_page(options))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{UC}-evidence.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages)))
    versions = {(g, v) for g, v, _ in table(sandbox)["records"]}
    groups = {g for g, _ in versions}
    # The use case pages, then each model from a new page: at least one page per model, and not a page per table row.
    assert 1 + len(groups) <= len(reader.pages) <= 4 * (1 + len(versions))
    assert "EU AI Act evidence pack" in text and "chain verifies" in text
    for group, version in versions:
        assert f"{group} v{version}" in text
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width / 72 * 2.54, 1), round(height / 72 * 2.54, 1)) == (21.0, 29.7)
    html_file, json_file = written
    figures = {"htmlBytes": html_file.stat().st_size, "jsonBytes": json_file.stat().st_size, "pdfBytes": len(pdf),
               "pdfPages": len(reader.pages), "domContentLoadedMs": round(timing[0], 1), "loadMs": round(timing[1], 1),
               "versions": len(versions), "models": len(groups)}
    (ARTIFACTS / "evidence-figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    (ARTIFACTS / f"{UC}-evidence.html").write_bytes(html_file.read_bytes())


@pytest.mark.parametrize("use_case", ["no-such-case", "../../etc"])
def test_an_unknown_or_bad_use_case_is_one_line_and_writes_nothing(govctl, tmp_path, use_case):
    from .conftest import one_line_error

    line = one_line_error(govctl("evidence", use_case, "--out", str(tmp_path / "out")))
    assert "HTTP 4" in line
    assert not (tmp_path / "out").exists()
