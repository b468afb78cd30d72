"""Handing freed memory back to the operating system, between stages and while a stage runs.

Why it is needed: NumPy's arrays of up to 32 MiB (glibc's largest automatic mmap threshold) and Arrow's buffers come
from allocator heaps that keep freed blocks for reuse. A stage working in blocks of a million judgments frees
hundreds of MiB in such pieces, and the heaps keep them resident: at 30M judgments 0.3–0.6 GiB of the labelers
stage's resident memory was glibc heap that was free (``mallinfo2``; benchmarks/RESULTS.md), and whatever the next
step allocated stacked on top of it. Making every large array an mmap instead (a fixed ``M_MMAP_THRESHOLD``) returns
it at once but faults every page in again: 9M page faults and 3x the system time in the same stage.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator

import pyarrow as pa

#: how often :func:`trimming` looks at the process's resident memory (seconds)
TRIM_EVERY = 0.25
#: growth of resident memory since the last release that triggers the next one (bytes)
TRIM_GROWTH = 32 << 20

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def release() -> None:
    """Give freed heap memory back to the OS: Arrow's pool's unused blocks, and the C heap's free pages on glibc
    (``malloc_trim``: every arena, free pages inside the heap too, not only its top). Milliseconds; the pages are
    faulted in again only where a later allocation reuses them."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def resident() -> int:
    """This process's resident memory in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@contextlib.contextmanager
def trimming(every: float = TRIM_EVERY, growth: int = TRIM_GROWTH) -> Iterator[None]:
    """While the block runs, :func:`release` whenever resident memory has grown by ``growth`` since the last
    release (looked at every ``every`` seconds, on a daemon thread).

    Released only on growth, when a peak is forming — not on a clock, which in a stage that churns through blocks
    would hand back pages the next block faults in again. Without /proc (not Linux) it does nothing."""
    if not resident():
        yield
        return
    done = threading.Event()

    def watch() -> None:
        floor = resident()
        while not done.wait(every):
            now = resident()
            if now > floor + growth:
                release()
                floor = resident()
            else:  # growth is counted from the lowest point since the last release
                floor = min(floor, now)

    thread = threading.Thread(target=watch, name="evalaudit-memory", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
