"""The notebooks' altair charts render offline: `marimo run` of the items and audit notebooks on a demo store,
opened in headless Chromium (tests/browser.py) on a machine without network access; the page must request nothing
outside the local marimo server, show vega charts with drawn marks (the seed chart: today's vs audited gold with
bands; alpha over time with its band), and log no error."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import ROOT, run_evalaudit

ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
pytestmark = pytest.mark.browser

browser.require_chromium()

#: waits (up to 150 s) until the page shows ``n`` vega charts with drawn marks inside marimo's shadow roots
CHARTS = """new Promise(resolve => {
  const t0 = Date.now();
  const look = () => {
    const found = [];
    const walk = root => root.querySelectorAll('*').forEach(e => {
      if (e.classList && e.classList.contains('vega-embed')) {
        const svg = e.querySelector('svg.marks'), canvas = e.querySelector('canvas');
        found.push({svg: !!svg, canvas: !!canvas,
                    paths: svg ? svg.querySelectorAll('path').length : 0,
                    text: svg ? svg.textContent.slice(0, 400) : ''});
      }
      if (e.shadowRoot) { walk(e.shadowRoot); }
    });
    walk(document);
    if (found.filter(f => f.svg || f.canvas).length >= %d || Date.now() - t0 > 150000) { resolve(found); }
    else { setTimeout(look, 500); }
  };
  look();
})"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nb-browser")
    result = run_evalaudit("demo", "--store", root / "store", "--seed", "5", "--judgments", "20000")
    assert result.returncode == 0, result.stderr
    return root / "store"


def _serve(name: str, store: Path):
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "marimo", "run", str(ROOT / "notebooks" / f"{name}.py"),
                             "--headless", "--no-token", "--port", str(port), "--", "--store", str(store)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("marimo did not start")


@pytest.mark.parametrize(("name", "title"), [("items", "today's gold"), ("audit", "Krippendorff")])
def test_notebook_altair_charts_render_offline(store, name, title):
    proc, url = _serve(name, store)
    try:
        page = browser.open_url(url, {"charts": CHARTS % 1}, screenshot=ARTIFACTS / f"notebook_{name}.png")
    finally:
        proc.terminate()
        proc.wait(10)
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
    assert [u for u in page.requests if not u.startswith(local)] == [], "the notebook fetched from the network"
    assert page.errors == [], page.errors
    charts = [c for c in page.values["charts"] if c["svg"] or c["canvas"]]
    assert charts, page.values["charts"]
    assert any(title in c["text"] for c in charts if c["svg"]) or any(c["canvas"] for c in charts)
