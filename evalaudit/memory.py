"""Handing freed memory back to the operating system, between stages and between the phases of a long stage.

Why it is needed: NumPy's arrays of up to 32 MiB (glibc's largest automatic mmap threshold) and Arrow's buffers come
from allocator heaps that keep freed blocks for reuse. A stage working in blocks of a million judgments frees
hundreds of MiB in such pieces, and the heap keeps them resident: at 30M judgments about 0.5 GiB of the labelers
stage's peak was freed heap memory (glibc's ``mallinfo2``; benchmarks/RESULTS.md). Whatever the next phase
allocates then stacks on top of it.
"""

from __future__ import annotations

import contextlib
import ctypes

import pyarrow as pa


def release() -> None:
    """Give freed heap memory back to the OS: Arrow's pool's unused blocks, and the C heap's free pages on glibc
    (``malloc_trim``: every arena, free pages inside the heap too, not only its top). A few milliseconds; the pages
    are faulted in again only where a later allocation reuses them."""
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
