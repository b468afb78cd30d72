"""A minimal headless-Chromium driver over the Chrome DevTools Protocol (websockets), for the report tests.

Opens a file:// page, collects console errors, uncaught exceptions, log entries and failed requests, evaluates
expressions, and takes a screenshot. No browser download: it runs the system `chromium` (Debian), which `.ci/run`
installs. Flags per the project brief: without the background-networking flags Chromium's connections are refused
by this closed network and show up as noise.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)          # console errors and uncaught exceptions
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)         # every URL the page asked for
    values: dict[str, Any] = field(default_factory=dict)      # results of the evaluated expressions


def _launch(exe: str, profile: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,2000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("chromium did not start its DevTools endpoint")


async def _session(browser_ws: str, url: str, expressions: dict[str, str], screenshot: Path | None,
                   settle_s: float, clip_y: int | None = None) -> PageResult:
    port = re.search(r":(\d+)/", browser_ws).group(1)  # type: ignore[union-attr]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
        target = next(t for t in json.load(r) if t["type"] == "page")
    result = PageResult()
    async with websockets.connect(target["webSocketDebuggerUrl"], max_size=64 * 2**20) as ws:
        counter = 0
        pending: dict[int, asyncio.Future] = {}
        loaded = asyncio.Event()

        async def reader() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in pending:
                    pending.pop(msg["id"]).set_result(msg)
                    continue
                method, p = msg.get("method"), msg.get("params", {})
                if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                    result.errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                               for a in p.get("args", [])))
                elif method == "Runtime.exceptionThrown":
                    d = p.get("exceptionDetails", {})
                    result.errors.append("exception: " + str(d.get("exception", {}).get("description")
                                                             or d.get("text")))
                elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                    e = p["entry"]
                    result.errors.append(f"log: {e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
                elif method == "Network.requestWillBeSent":
                    result.requests.append(p["request"]["url"])
                elif method == "Network.loadingFailed":
                    result.failed_requests.append(f"{p.get('errorText')} ({p.get('blockedReason', '')})")
                elif method == "Page.loadEventFired":
                    loaded.set()

        async def call(method: str, **params: Any) -> dict:
            nonlocal counter
            counter += 1
            fut = asyncio.get_running_loop().create_future()
            pending[counter] = fut
            await ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            msg = await asyncio.wait_for(fut, 200 if method == "Runtime.evaluate" else 30)
            if "error" in msg:
                raise RuntimeError(f"{method}: {msg['error']}")
            return msg.get("result", {})

        task = asyncio.create_task(reader())
        for domain in ("Runtime", "Log", "Network", "Page"):
            await call(f"{domain}.enable")
        await call("Page.navigate", url=url)
        await asyncio.wait_for(loaded.wait(), 30)
        await asyncio.sleep(settle_s)
        for name, expr in expressions.items():
            r = await call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True, timeout=180_000)
            result.values[name] = r.get("result", {}).get("value")
        if screenshot is not None:
            clip = {"clip": {"x": 0, "y": clip_y, "width": 1280, "height": 2000, "scale": 1}} if clip_y else {}
            shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True, **clip)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        task.cancel()
    return result


def open_url(url: str, expressions: dict[str, str] | None = None, screenshot: Path | None = None,
             settle_s: float = 0.5, clip_y: int | None = None) -> PageResult:
    """Load ``url`` (a file:// page or a local server such as `marimo run`) in headless Chromium; return its
    errors, requests and evaluated ``expressions`` (a promise is awaited, up to 180 s)."""
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium is not installed")
    profile = tempfile.mkdtemp(prefix="evalaudit-chromium-")
    proc, ws = _launch(exe, profile)
    try:
        return asyncio.run(_session(ws, url, expressions or {}, screenshot, settle_s, clip_y))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(path: Path, expressions: dict[str, str] | None = None, screenshot: Path | None = None,
              settle_s: float = 0.5, clip_y: int | None = None) -> PageResult:
    """Load ``path`` in headless Chromium; return its errors, failed requests and evaluated ``expressions``."""
    return open_url(Path(path).resolve().as_uri(), expressions, screenshot, settle_s, clip_y)


def require_chromium() -> None:
    """Skip the calling test module when Chromium is absent; in CI (CI=true) its absence is a failure instead."""
    import pytest

    if chromium_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (install it with `.ci/run`)", pytrace=False)
        pytest.skip("chromium not installed (apt-get install chromium); the browser tests need it",
                    allow_module_level=True)
