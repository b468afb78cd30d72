"""Facts about the machine a benchmark ran on, and peak memory of a measured child process."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
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
    """Run ``argv`` as a child process; wall time and the peak resident memory of that child alone.

    Why ``os.wait4`` and not ``getrusage(RUSAGE_CHILDREN)``: the latter's ru_maxrss is the largest of every child
    waited for so far, so a benchmark that ran a bigger child first (bench_ingest's floor: plain DuckDB copying the
    file without a memory cap, 2.7-3.5 GiB) reported that child's peak as the measured one's (the ingest's own: 1.1
    GiB). wait4 gives the rusage of the one child it reaps. It still starts at the parent's own high-water mark
    (exec records the memory it replaces): a benchmark builds its large inputs in a child process, not in itself
    (bench_ingest's files)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(seconds, usage.ru_maxrss / 2**20, proc.returncode, out.read(), err.read())


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
