"""`evalaudit run` on labels-only stores of other shapes and sizes, against DuckDB's floor (benchmarks/RESULTS.md).

Shapes (``synth.make_labels(assignment=...)``; 1 judgment per 4 items' worth, 2,000 labelers, 20 failure modes, two
guideline versions; no items, predictions, production or labelers tables):

- ``random``: every labeler equally active, an item's labelers drawn at random (about as many labeler pairs as the
  store allows: the pair counts and the per-labeler working sets are at their largest);
- ``concentrated``: 80% of items start within the ten most active labelers, so about ten labelers hold most of the
  judgments (large per-labeler groups, few pairs);
- ``random_by_time``: the ``random`` store's judgments with the rows in ``labeled_at`` order, as a time-ordered or
  cumulative export delivers them (the generator writes an item's judgments together; here they are scattered over
  the file). Same judgments, so the same findings are expected: the audit must not depend on the rows' order.

Per shape and size (1M, 10M and 30M judgments by default; ``--sizes 1m,3m`` to choose) the benchmark

1. builds the store once under ``benchmarks/_work/shape_<shape>_<size>`` (synthetic Parquet, then a real
   `evalaudit ingest`; cached);
2. measures the **floor** in a child process: plain DuckDB (same threads and memory limit as the run) over the store's
   Parquet files, running the bare scans and group-bys an audit needs — load the judgments into Arrow; count by
   failure mode × label; by item × label; by labeler × failure mode × label; the item self-join of labeler pairs
   (counts per pair) — each timed;
3. runs `evalaudit run --fail-on never` as a child process, sampling its resident memory every 0.2 s and
   attributing each sample to the stage its log says is running (``bench_run.run_sampled``).

It prints one table row per run (wall, wall / floor, peak RSS) and the per-stage seconds and peaks, with the machine
facts and the load average before and after each measurement. Run: ``python -m benchmarks.bench_shapes`` (all), or
``python -m benchmarks.bench_shapes --sizes 1m --shapes random``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks import machine, synth
from benchmarks.bench_run import run_sampled
from evalaudit.config import Config

SIZES = {"1m": 1_000_000, "3m": 3_000_000, "10m": 10_000_000, "30m": 30_000_000}
SHAPES = ("random", "concentrated", "random_by_time")
#: shapes that are another shape's judgments with the rows sorted by a column: (the shape, the column)
REORDERED = {"random_by_time": ("random", "labeled_at")}

#: the floor: what an audit cannot avoid, as plain DuckDB over the same files (name, SQL)
FLOOR = (
    ("load judgments", "SELECT item_id, labeler_id, failure_mode, label, labeled_at, batch_id, duration_s FROM labels"),
    ("failure mode × label", "SELECT failure_mode, label, count(*) AS n FROM labels GROUP BY ALL"),
    ("item × label", "SELECT item_id, label, count(*) AS n FROM labels GROUP BY ALL"),
    ("labeler × failure mode × label",
     "SELECT labeler_id, failure_mode, label, count(*) AS n FROM labels GROUP BY ALL"),
    ("labeler pairs (item self-join)",
     "SELECT a.labeler_id AS a, b.labeler_id AS b, count(*) AS n, sum(CAST(a.label <> b.label AS INTEGER)) AS d "
     "FROM labels AS a JOIN labels AS b ON a.item_id = b.item_id AND a.labeler_id < b.labeler_id GROUP BY ALL"),
)

_FLOOR_CHILD = r"""
import json, sys, time, duckdb
files, limit = json.loads(sys.argv[1]), sys.argv[2]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
if limit:
    con.execute(f"SET memory_limit = '{limit}'")
listing = ", ".join("'" + f + "'" for f in files)
con.execute(f"CREATE VIEW labels AS SELECT * FROM read_parquet([{listing}])")
out = {}
for name, sql in json.loads(sys.argv[3]):
    t = time.perf_counter()
    table = con.sql(sql).to_arrow_table()
    out[name] = [time.perf_counter() - t, table.num_rows]
    del table
print(json.dumps(out))
"""


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def build(shape: str, n: int) -> tuple[str, float]:
    """The store of ``shape`` with ``n`` judgments (built once); returns its path and the ingest seconds (0 if
    cached)."""
    tag = f"{shape}_{n // 1_000_000}m"
    store = synth.WORK / f"shape_{tag}"
    if (store / ".bench-complete").exists():
        return str(store), 0.0
    base, by = REORDERED.get(shape, (shape, None))
    labels = synth.cached_parquet(f"labels_{base}_{n // 1_000_000}m", n_judgments=n, n_items=n // 4,
                                  n_labelers=2_000, n_failure_modes=20, seed=0, assignment=base, n_guidelines=2)
    if by is not None:
        labels = _sorted_copy(labels, synth.WORK / f"labels_{tag}.parquet", by)
    subprocess.run(["rm", "-rf", str(store)], check=True)
    m = machine.measure([machine.evalaudit_exe(), "ingest", str(labels), "--store", str(store)])
    if m.returncode != 0:
        sys.exit(f"ingest failed: {m.stderr[-2000:]}")
    (store / ".bench-complete").write_text("ok\n")
    return str(store), m.seconds


def _sorted_copy(source: Path, path: Path, by: str) -> Path:
    """``source``'s rows sorted by ``by`` (stable: ties keep their order), written once to ``path``."""
    if not path.exists():
        table = pq.read_table(source)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table.take(pc.sort_indices(table, [(by, "ascending")])), tmp, row_group_size=1_000_000)
        tmp.replace(path)
    return path


def floor(store: str, limit: str) -> dict[str, list[float]]:
    """Seconds and result rows of each floor query, in a child process of plain DuckDB."""
    files = sorted(str(p) for p in (synth.WORK / store / "labels").glob("**/*.parquet"))
    proc = subprocess.run([sys.executable, "-c", _FLOOR_CHILD, json.dumps(files), limit, json.dumps(FLOOR)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"floor failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1m,10m,30m")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    args = ap.parse_args()
    limit = os.environ.get("EVALAUDIT_MEMORY_LIMIT", Config().run.memory_limit)  # the run's default
    print(f"# shapes benchmark\n{machine.facts()}\nDuckDB memory limit of floor: {limit}\n")
    print("| shape | judgments | floor | `evalaudit run` wall | wall / floor | peak RSS | load avg (before → after) |")
    print("|---|---|---|---|---|---|---|")
    details = []
    for shape in args.shapes.split(","):
        for size in args.sizes.split(","):
            n = SIZES[size]
            store, ingest_s = build(shape, n)
            before = load()
            fl = floor(store, limit)
            floor_s = sum(v[0] for v in fl.values())
            out = synth.WORK / "shape_reports" / f"{shape}_{size}"
            subprocess.run(["rm", "-rf", str(out.parent)], check=True)
            t0 = time.time()
            # a first run each time: the history beside --out was removed with its directory
            wall, peak, peaks, stderr, code = run_sampled([machine.evalaudit_exe(), "run", "--store", store, "--out",
                                                           str(out), "--fail-on", "never"])
            if code != 0:
                sys.exit(f"run failed ({code}): {stderr[-3000:]}")
            doc = json.loads((out / "findings.json").read_text())
            stages = doc["summary"].get("stage_seconds", {})
            print(f"| {shape} | {n / 1e6:.0f}M | {floor_s:.1f} s | {wall:.1f} s | {wall / floor_s:.1f}x | "
                  f"{peak:.2f} GiB | {before} → {load()} |", flush=True)
            details.append((shape, size, ingest_s, fl, stages, peaks, doc["summary"].get("n_findings"),
                            time.strftime("%H:%M", time.gmtime(t0))))
    for shape, size, ingest_s, fl, stages, peaks, n_findings, when in details:
        print(f"\n{shape} {size} (run at {when} UTC; {n_findings} findings"
              + (f"; store built by a {ingest_s:.0f} s ingest" if ingest_s else "") + ")")
        print("  floor (s): " + ", ".join(f"{k} {v[0]:.1f}" for k, v in fl.items()))
        print("  stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
        print("  peak RSS by stage (GiB): " + ", ".join(f"{k} {v:.2f}" for k, v in peaks.items()))


if __name__ == "__main__":
    main()
