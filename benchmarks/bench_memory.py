"""Peak resident memory of `evalaudit run` by phase, in process: which step of which stage holds how many bytes per
judgment (benchmarks/RESULTS.md, "Any store shape").

    .venv/bin/python -m benchmarks.bench_memory --size 3m [--shape random]
    .venv/bin/python -m benchmarks.bench_memory --size 30m --store PATH --labelers-only

``--store`` reads an existing store (read only; ``--size`` should then name its size, for bytes per judgment);
``--labelers-only`` runs the store stage (it defines the judgments every stage reads) and the labelers stage alone,
as `evalaudit run` gives them, without writing outputs.

Builds (or reuses) the labels-only store of ``benchmarks.bench_shapes`` and audits it with ``evalaudit.run.audit``
in this process, sampling VmRSS every 0.02 s on a thread. Each sample is attributed to the phase running: a stage
(its start and its progress steps), and inside the labelers stage its loading, evidence passes, Dawid–Skene
evidence, consensus table and drift (marked by wrapping those functions; background jobs are not marked — they
overlap the phases they run beside; a stage's last step, ``N/N``, lasts until the next stage starts, and the last
stage's until the outputs and the report are written). Prints per phase the peak RSS and (peak - RSS before the run)
/ judgments: the per-judgment working set, which has to stay flat from 1M to 30M for memory to be bounded. Sampling
an in-process run at 0.02 s reads higher peaks than ``bench_shapes``' child process sampled at 0.2 s; compare like
with like.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import threading
import time
from pathlib import Path


def rss() -> int:
    """This process's resident set (bytes)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


class Phases:
    """RSS samples attributed to the phase marked last."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = [(time.perf_counter(), "start")]
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), rss()))
            time.sleep(0.02)

    def mark(self, label: str) -> None:
        if threading.current_thread() is threading.main_thread():
            self.marks.append((time.perf_counter(), label))

    def wrap(self, module, name: str, label: str) -> None:
        """Mark ``label`` whenever ``module.name`` is called on the main thread."""
        f = getattr(module, name)

        @functools.wraps(f)
        def marked(*args, **kwargs):
            self.mark(label)
            return f(*args, **kwargs)

        setattr(module, name, marked)

    def __enter__(self) -> Phases:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.05)
        self._stop.set()
        self._thread.join()

    def peaks(self) -> list[tuple[str, int]]:
        out: dict[str, int] = {}
        i = 0
        for t, r in self.samples:
            while i + 1 < len(self.marks) and self.marks[i + 1][0] <= t:
                i += 1
            label = self.marks[i][1]
            out[label] = max(out.get(label, 0), r)
        return list(out.items())


def main() -> None:
    from benchmarks import bench_shapes, machine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1m", choices=sorted(bench_shapes.SIZES))
    ap.add_argument("--shape", default="random", choices=bench_shapes.SHAPES)
    ap.add_argument("--store", help="an existing store to read (read only) instead of building one")
    ap.add_argument("--labelers-only", action="store_true",
                    help="run the store and labelers stages alone (the run's memory limit; no outputs)")
    args = ap.parse_args()
    n = bench_shapes.SIZES[args.size]
    store = args.store or bench_shapes.build(args.shape, n)[0]

    from evalaudit import run
    from evalaudit.config import Config
    from evalaudit.labelers import consensus, drift, judgments, spam, truth_bias
    from evalaudit.labelers import leniency as lenient_rows

    phases = Phases()
    for module, name, label in ((judgments, "load", "labelers: load"),
                                (spam, "reference_agreement", "labelers: spam agreement"),
                                (lenient_rows, "evidence", "labelers: evidence pass"),
                                (truth_bias, "evidence", "labelers: Dawid–Skene evidence"),
                                (consensus, "table", "labelers: consensus table"),
                                (drift, "tables", "labelers: drift tables")):
        phases.wrap(module, name, label)

    print(f"# memory by phase: {args.shape} {args.size}\n{machine.facts()}\n")
    before = rss()
    with tempfile.TemporaryDirectory() as tmp, phases:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        progress = lambda stage, done, total: phases.mark(f"{stage} {done}/{total}")  # noqa: E731
        if args.labelers_only:
            findings = _labelers_only(store, progress)
        else:
            findings = run.audit(store, Path(tmp) / "report", Config(), fail_on="never", progress=progress).findings
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = max(r for _, r in phases.samples)
    print(f"{n:,} judgments: wall {wall:.1f} s, CPU {cpu:.1f} s, {len(findings)} findings, RSS before "
          f"{before / 2**30:.2f} GiB, peak {peak / 2**30:.2f} GiB ({(peak - before) / n:.0f} B/judgment above the "
          f"start)\n")
    print("| phase | peak RSS | bytes / judgment above the start |\n|---|---|---|")
    for label, r in phases.peaks():
        print(f"| {label} | {r / 2**30:.2f} GiB | {max(r - before, 0) / n:.0f} |")


def _labelers_only(store: str, progress) -> list:
    """The store stage (it defines the judgments that count, which the labelers stage reads) and then the labelers
    stage over ``store``, with the run's memory limit, as `evalaudit run` gives them."""
    import os

    from evalaudit import labelers, pipeline
    from evalaudit.config import Config
    from evalaudit.stage import Context
    from evalaudit.store import Store

    cfg = Config()
    eng = Store.open(store).engine(memory_limit=os.environ.get("EVALAUDIT_MEMORY_LIMIT", cfg.run.memory_limit))
    ctx = Context(engine=eng, cfg=cfg, progress=progress)
    try:
        progress("store", 0, 1)
        pipeline.run_stages(ctx, [("store", pipeline.store_summary)], release=True)
        progress("labelers", 0, 6)
        pipeline.run_stages(ctx, [("labelers", labelers.stage)], release=True)
    finally:
        eng.close()
    return ctx.findings


if __name__ == "__main__":
    main()
