"""Benchmark: the labelers stage (leniency, Dawid–Skene, drift, concentration, spam, collusion) on 10M judgments
(2.5M items, 2,000 labelers, 20 failure modes) from ``benchmarks/synth.py``. Target: <= 30 s, <= 3 GiB peak.

    .venv/bin/python -m benchmarks.bench_labelers [--judgments N]

The stage runs in a child process so its peak RSS is measured alone (the generator's memory is not counted):
the parent writes the synthetic labels to Parquet, the child reads them into a DuckDB engine and runs the stage,
printing per-step timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def run_child(path: str) -> None:
    from evalaudit import schema
    from evalaudit.config import Config
    from evalaudit.engine import DuckDBEngine
    from evalaudit.labelers import stage
    from evalaudit.stage import Context

    eng = DuckDBEngine()
    eng.view_parquet("labels", [Path(path)], schema.LABELS.arrow_schema)
    eng.register("items", schema.ITEMS.arrow_schema.empty_table())
    marks: list[tuple[str, float]] = []
    cpu0 = time.process_time()
    start = time.perf_counter()
    ctx = Context(engine=eng, cfg=Config(),
                  progress=lambda s, done, total: marks.append((f"step {done}/{total}", time.perf_counter() - start)))
    result = stage(ctx)
    total = time.perf_counter() - start
    print(json.dumps({"seconds": total, "cpu_seconds": time.process_time() - cpu0, "marks": marks,
                      "findings": len(result.findings),
                      "summary": {k: v for k, v in result.summary["labelers"].items() if k != "concentration"}},
                     default=str))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--judgments", type=int, default=10_000_000)
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        run_child(args.child)
        return
    import pyarrow.parquet as pq

    from benchmarks.machine import facts, measure
    from benchmarks.synth import make_labels

    n = args.judgments
    print(facts())
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "labels.parquet")
        t0 = time.perf_counter()
        pq.write_table(make_labels(n_judgments=n, n_items=n // 4, n_labelers=2_000, n_failure_modes=20, seed=0), path)
        print(f"generated {n:,} judgments in {time.perf_counter() - t0:.1f} s")
        m = measure([sys.executable, "-m", "benchmarks.bench_labelers", "--child", path])
        if m.returncode != 0:
            print(m.stderr)
            raise SystemExit(m.returncode)
        out = json.loads(m.stdout.strip().splitlines()[-1])
        print(f"labelers stage: {out['seconds']:.1f} s in-stage ({out['cpu_seconds']:.1f} s CPU over all threads), "
              f"{m.seconds:.1f} s child wall, "
              f"peak RSS {m.peak_rss_gib:.2f} GiB, {out['findings']} findings")
        print("steps (cumulative s):", ", ".join(f"{k} {v:.1f}" for k, v in out["marks"]))
        print("summary:", json.dumps(out["summary"]))


if __name__ == "__main__":
    main()
