"""Ingest of a 10M-judgment Parquet export (2.5M items, 2,000 labelers) into an empty store.

Target (issue 2): <= 30 s wall and <= 3 GiB peak memory on the 2-core machine. Run: `python -m benchmarks.bench_ingest`.
The ingest runs as a real `evalaudit ingest` child process so its wall time and peak RSS are measured alone.
"""

from __future__ import annotations

import shutil
import sys

import duckdb

from benchmarks import machine, synth

N, ITEMS, LABELERS = 10_000_000, 2_500_000, 2_000


def main() -> None:
    src = synth.cached_parquet("labels_10m", n_judgments=N, n_items=ITEMS, n_labelers=LABELERS,
                               n_failure_modes=20, seed=0)
    store = synth.WORK / "ingest_store"
    shutil.rmtree(store, ignore_errors=True)
    print(f"# ingest benchmark\n{machine.facts()}")
    m = machine.measure([machine.evalaudit_exe(), "ingest", str(src), "--store", str(store)])
    if m.returncode != 0:
        sys.exit(f"ingest failed: {m.stderr}")
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/labels/**/*.parquet')").fetchall()[0][0]
    assert rows == N, rows
    again = machine.measure([machine.evalaudit_exe(), "ingest", str(src), "--store", str(store)])
    print(f"| ingest 10M judgments (Parquet, {src.stat().st_size / 2**20:.0f} MiB) into an empty store "
          f"| {m.seconds:.1f} s | {m.peak_rss_gib:.2f} GiB | {rows:,} rows stored |")
    print(f"| re-ingest of the same file (sha256 match, nothing added) | {again.seconds:.1f} s | "
          f"| {again.stdout.strip().splitlines()[-1]} |")
    shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
