"""Facts about the machine a benchmark ran on, and peak memory of a measured child process."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass


def facts() -> str:
    """One line: CPU model and count, RAM, Python and library versions."""
    import duckdb
    import pyarrow

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}")


@dataclass
class Measured:
    seconds: float
    peak_rss_gib: float
    returncode: int
    stdout: str
    stderr: str


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` as a child process; wall time and its peak resident memory (ru_maxrss of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of RUSAGE_CHILDREN is the max over all waited-for children; run benchmarks one per process so
    # that the largest child is the measured one.
    if peak_kib < before:  # pragma: no cover
        peak_kib = before
    return Measured(seconds, peak_kib / 2**20, proc.returncode, proc.stdout, proc.stderr)


def cpu_children() -> float:
    """CPU seconds (user + system) of every waited-for child so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure_cpu(argv: list[str], env: dict[str, str] | None = None) -> tuple[Measured, float]:
    """:func:`measure` plus the child's CPU seconds: on a shared machine the steadier measure, since other
    processes' load stretches wall time far more than CPU time."""
    before = cpu_children()
    m = measure(argv, env)
    return m, cpu_children() - before


def evalaudit_exe() -> str:
    return os.path.join(os.path.dirname(sys.executable), "evalaudit")
