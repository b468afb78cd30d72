"""The report in a real browser: headless Chromium over the DevTools protocol (tests/browser.py).

Fails on any console error, uncaught exception, CSP violation or failed request; keeps screenshots in
tests/_artifacts/. Without chromium these tests fail under CI=true and skip locally with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evalaudit.config import Config
from evalaudit.run import audit
from tests import browser
from tests.conftest import run_evalaudit
from tests.test_report import render_hostile

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"

pytestmark = pytest.mark.browser

if browser.chromium_path() is None:
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is required in CI (install it with `.ci/run`)", pytrace=False)
    pytest.skip("chromium not installed (apt-get install chromium); the browser tests need it",
                allow_module_level=True)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    result = run_evalaudit("demo", "--store", root / "store", "--seed", "5", "--judgments", "20000")
    assert result.returncode == 0, result.stderr
    audit(root / "store", root / "reports" / "demo", Config(), fail_on="never")
    return root / "reports" / "demo" / "index.html"


def test_demo_report_loads_without_errors_or_requests(demo_report):
    probe = {
        "ready": "document.documentElement.dataset.ready",
        "sections": "document.querySelectorAll('section').length",
        "svgs": "document.querySelectorAll('svg').length",
        "tables": "document.querySelectorAll('table.data').length",
        "findings": "document.querySelectorAll('#findings tbody tr').length",
    }
    page = browser.open_page(demo_report, probe, screenshot=ARTIFACTS / "report_demo.png")
    assert page.errors == [], page.errors
    assert page.failed_requests == [], page.failed_requests
    assert page.requests == [demo_report.resolve().as_uri()], "the report fetched something besides itself"
    assert page.values["ready"] == "1", "the sort/filter script did not run (CSP hash mismatch?)"
    assert page.values["sections"] == 9 and page.values["svgs"] >= 6 and page.values["tables"] >= 6
    assert page.values["findings"] > 0
    assert (ARTIFACTS / "report_demo.png").stat().st_size > 10_000


def test_tables_sort_and_filter_in_the_browser(demo_report):
    sort = """(() => {
      const t = document.querySelector('#leniency table.data');
      const col = [...t.tHead.rows[0].cells].findIndex(c => c.textContent === 'effect');
      const th = t.tHead.rows[0].cells[col];
      const read = () => [...t.tBodies[0].rows].map(r => Number(r.cells[col].dataset.v));
      th.click();
      const asc = read();
      th.click();
      const desc = read();
      const ok = (xs, s) => xs.every((x, i) => i === 0 || s * (x - xs[i - 1]) >= 0);
      return ok(asc, 1) && ok(desc, -1) && asc.length > 1 && th.getAttribute('aria-sort') === 'descending';
    })()"""
    filt = """(() => {
      const box = document.querySelector('input.filter[data-for="findings-t1"]');
      const rows = [...document.querySelectorAll('#findings-t1 tbody tr')];
      const word = rows[0].cells[1].textContent;
      box.value = word;
      box.dispatchEvent(new Event('input'));
      const shown = rows.filter(r => !r.hidden);
      return shown.length > 0 && shown.every(r => r.textContent.toLowerCase().includes(word.toLowerCase()))
        && (shown.length < rows.length || rows.every(r => r.cells[1].textContent === word));
    })()"""
    page = browser.open_page(demo_report, {"sorted": sort, "filtered": filt})
    assert page.errors == []
    assert page.values == {"sorted": True, "filtered": True}


def test_hostile_strings_do_not_execute(tmp_path):
    path = tmp_path / "index.html"
    path.write_text(render_hostile(), encoding="utf-8")
    probe = {"pwned": "String(window.__pwned)", "title": "document.title",
             "imgs": "document.querySelectorAll('img').length",
             "scripts": "document.scripts.length",
             "label_text": "document.body.textContent.includes('<script>window.__pwned=1</script>')"}
    page = browser.open_page(path, probe, screenshot=ARTIFACTS / "report_hostile.png")
    # a blocked inline script would show as a CSP console error: there must be none, as nothing got through
    assert page.errors == [], page.errors
    assert page.failed_requests == []
    assert page.values["pwned"] == "undefined"
    assert page.values["title"] == "evalaudit report"
    assert page.values["imgs"] == 0 and page.values["scripts"] == 2
    assert page.values["label_text"] is True, "the hostile id is shown as text"
