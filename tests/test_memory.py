"""evalaudit.memory: freed memory is handed back when resident memory grows, and the watcher stops with its block."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from evalaudit import memory

pytestmark = pytest.mark.skipif(not memory.resident(), reason="needs /proc/self/statm (Linux)")


def _watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "evalaudit-memory"]


def test_release_follows_growth_and_the_watcher_stops(monkeypatch):
    calls = []
    real = memory.release
    monkeypatch.setattr(memory, "release", lambda: (calls.append(1), real()))
    with memory.trimming(every=0.01, growth=16 << 20):
        assert _watchers()
        time.sleep(0.05)
        quiet = len(calls)
        grown = np.ones(64 << 17)  # 64 MiB, every page touched
        deadline = time.monotonic() + 5
        while len(calls) == quiet and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) > quiet
        del grown
    assert not _watchers()


def test_no_release_without_growth(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "release", lambda: calls.append(1))
    with memory.trimming(every=0.01, growth=1 << 40):
        time.sleep(0.1)
    assert calls == []


def test_release_gives_back_freed_heap():
    """Freed blocks below glibc's mmap threshold (128 KiB at least) stay resident until released."""
    blocks = [np.ones(1 << 13) for _ in range(6_400)]  # 400 MiB in 64 KiB blocks, from the heap
    del blocks[::2]  # holes the heap cannot give back by shrinking its top
    before = memory.resident()
    memory.release()
    assert memory.resident() < before - (100 << 20)
