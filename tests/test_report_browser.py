"""The report in a real browser: headless Chromium over the DevTools protocol (tests/browser.py).

Fails on any console error, uncaught exception, CSP violation or failed request; keeps screenshots in
tests/_artifacts/. Without chromium these tests fail under CI=true and skip locally with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evalaudit.config import Config
from evalaudit.run import audit
from tests import browser
from tests.conftest import run_evalaudit
from tests.test_report import render_hostile

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"

pytestmark = pytest.mark.browser

browser.require_chromium()


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
    # verdict, not checked, then the ten sections (no "Since the last run" on a first run)
    assert page.values["sections"] == 13 and page.values["svgs"] >= 7 and page.values["tables"] >= 6
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


#: every pair of tick labels (class tick-x, or tick-y) of one chart whose bounding boxes intersect
OVERLAPS = """(() => {
  const bad = []; let n = 0;
  document.querySelectorAll('svg').forEach((svg, k) => {
    for (const cls of ['tick-x', 'tick-y']) {
      const boxes = [...svg.querySelectorAll('text.' + cls)].map(t => [t.textContent, t.getBoundingClientRect()]);
      n += boxes.length;
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [ta, a] = boxes[i], [tb, b] = boxes[j];
          if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
            bad.push(`chart ${k} ${cls}: "${ta}" overlaps "${tb}"`);
          }
        }
      }
    }
  });
  return {n: n, bad: bad.slice(0, 20)};
})()"""


def test_demo_report_tick_labels_do_not_overlap(demo_report):
    page = browser.open_page(demo_report, {"overlaps": OVERLAPS},
                             screenshot=ARTIFACTS / "report_demo_first_screen.png")
    assert page.errors == []
    assert page.values["overlaps"]["n"] > 100
    assert page.values["overlaps"]["bad"] == []


def test_dense_charts_thin_or_rotate_their_labels(tmp_path):
    """Crowded axes: a year of weekly dates, 40 long failure-mode names as heatmap columns, 24 model versions."""
    from datetime import date, timedelta

    from evalaudit.report import svg

    weeks = [(date(2026, 1, 5) + timedelta(weeks=k)).isoformat() for k in range(52)]
    modes = [f"failure_mode_with_a_long_name_{k:02d}" for k in range(40)]
    versions = [f"model-2026.{k:02d}-preview" for k in range(24)]
    charts = [
        svg.lines({"labeler": [(w, 0.5 + 0.01 * (k % 7)) for k, w in enumerate(weeks)],
                   "peers": [(w, 0.45) for w in weeks]}, title="weekly", x_label="week", y_label="rate",
                  width=420, height=200),
        svg.lines({"today": [(v, 0.8 + k / 200) for k, v in enumerate(versions)]},
                  bands={"today": [(v, 0.78 + k / 200, 0.82 + k / 200) for k, v in enumerate(versions)]},
                  order=versions, title="releases", x_label="model version", y_label="score", band_label="Wilson"),
        svg.heatmap(["a", "b"], modes, {("a", m): 0.1 for m in modes}, title="nominal columns",
                    x_label="failure mode", y_label="labeler", value_label="effect", ordered=False),
        svg.heatmap(modes, weeks, {(m, w): 0.7 for m in modes for w in weeks}, title="ordered columns",
                    x_label="week", y_label="failure mode", value_label="alpha"),
    ]
    path = tmp_path / "dense.html"
    path.write_text("<!doctype html><meta charset='utf-8'><body>" + "".join(str(c) for c in charts) + "</body>")
    page = browser.open_page(path, {"overlaps": OVERLAPS,
                                    "shown": "document.querySelectorAll('svg:nth-of-type(3) text.tick-x').length"},
                             screenshot=ARTIFACTS / "dense_charts.png")
    assert page.errors == []
    assert page.values["overlaps"]["bad"] == []
    assert page.values["shown"] == 40  # nominal categories are all shown (vertical), not thinned away
