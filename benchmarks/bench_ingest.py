"""Ingest of a 10M-judgment Parquet export (2.5M items, 2,000 labelers) into an empty store, then the next day's
cumulative export (every judgment to date, plus 1% new ones) into that store.

Targets (benchmarks/RESULTS.md): <= 15 s and <= 2.2x its floor for the fresh ingest of 10M judgments, the floor being
DuckDB copying the same file with two provenance columns (a child process: Python, `import duckdb`, one COPY),
measured in the same run, before and after the ingest; <= 3 GiB peak memory; the cumulative re-ingest (judgment-level
de-duplication against the whole store, docs/store.md) within 2x of the fresh ingest's time. Run: `python -m
benchmarks.bench_ingest [N]` (N judgments, default 10M; the size divides the items and labelers alike). Each ingest
runs as a real `evalaudit ingest` child process so its wall time, CPU seconds (user + system) and peak RSS are its
own."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb

from benchmarks import machine, synth

N, ITEMS, LABELERS = 10_000_000, 2_500_000, 2_000
#: the share of the cumulative export that is new since the first export
NEW_SHARE = 0.01


def cumulative_export(src, n: int):
    """The next day's export: every judgment of ``src`` (in another order, so other bytes) plus NEW_SHARE new."""
    path = synth.WORK / f"{src.stem}_cumulative.parquet"
    if not path.exists():
        new = int(n * NEW_SHARE)
        tmp = path.with_suffix(".tmp")
        duckdb.sql(
            f"COPY (SELECT * FROM (SELECT * FROM read_parquet('{src}') UNION ALL "
            f"(SELECT * REPLACE (item_id || '-next' AS item_id) FROM read_parquet('{src}') LIMIT {new})) "
            f"ORDER BY labeler_id, item_id) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
        tmp.replace(path)
    return path


def floor(src, out) -> tuple[machine.Measured, float]:
    """DuckDB copying ``src`` to Parquet with two provenance columns (source file and sha256), as a process."""
    code = ("import duckdb, sys; duckdb.sql(\"COPY (SELECT *, 'x' || '/export.parquet' AS source_file, "
            "repeat('a', 64) AS source_sha256 FROM read_parquet('\" + sys.argv[1] + \"')) TO '\" + sys.argv[2] + "
            "\"' (FORMAT parquet)\")")
    m, cpu = machine.measure_cpu([sys.executable, "-c", code, str(src), str(out)])
    if m.returncode != 0:
        sys.exit(f"floor copy failed: {m.stderr}")
    out.unlink()
    return m, cpu


def files(n: int):
    """The export of ``n`` judgments and its cumulative successor (built once, then cached)."""
    scale = n / N
    name = "labels_10m" if n == N else f"labels_{n}"
    src = synth.cached_parquet(name, n_judgments=n, n_items=max(1, int(ITEMS * scale)),
                               n_labelers=max(10, int(LABELERS * scale)), n_failure_modes=20, seed=0)
    return src, cumulative_export(src, n)


def main() -> None:
    if sys.argv[1:2] == ["--prepare"]:
        files(int(sys.argv[2]))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    # the files are built in a child process: the kernel starts a spawned child's peak RSS at its parent's
    # high-water mark (exec records the memory it replaces), so building them here (3.7 GiB for the cumulative
    # export's sort) made every measured child report at least that (2026-12-02: 3.76 GiB for a 1.22 GiB ingest)
    subprocess.run([sys.executable, "-m", "benchmarks.bench_ingest", "--prepare", str(n)], check=True)
    src, cumulative = files(n)
    store = synth.WORK / "ingest_store"
    shutil.rmtree(store, ignore_errors=True)
    print(f"# ingest benchmark ({n:,} judgments)\n{machine.facts()}")
    f1, f1_cpu = floor(src, synth.WORK / "floor_copy.parquet")
    m, m_cpu = machine.measure_cpu([machine.evalaudit_exe(), "ingest", str(src), "--store", str(store)])
    if m.returncode != 0:
        sys.exit(f"ingest failed: {m.stderr}")
    f2, f2_cpu = floor(src, synth.WORK / "floor_copy.parquet")
    floor_wall, floor_cpu = min(f1.seconds, f2.seconds), min(f1_cpu, f2_cpu)
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/labels/**/*.parquet')").fetchall()[0][0]
    assert rows == n, rows
    again = machine.measure([machine.evalaudit_exe(), "ingest", str(src), "--store", str(store)])
    cum = machine.measure([machine.evalaudit_exe(), "ingest", str(cumulative), "--store", str(store)])
    if cum.returncode != 0:
        sys.exit(f"cumulative ingest failed: {cum.stderr}")
    after = duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/labels/**/*.parquet')").fetchall()[0][0]
    assert after == n + int(n * NEW_SHARE), after
    print(f"| floor: DuckDB copies the file with two provenance columns (before / after the ingest) "
          f"| {f1.seconds:.1f} / {f2.seconds:.1f} s wall, {f1_cpu:.1f} / {f2_cpu:.1f} s CPU | | |")
    print(f"| ingest {n:,} judgments (Parquet, {src.stat().st_size / 2**20:.0f} MiB) into an empty store "
          f"| {m.seconds:.1f} s wall (**{m.seconds / floor_wall:.2f}x** the faster floor), {m_cpu:.1f} s CPU "
          f"({m_cpu / floor_cpu:.2f}x) | {m.peak_rss_gib:.2f} GiB | {rows:,} rows stored; target <= 15 s and "
          f"<= 2.2x the floor |")
    print(f"| re-ingest of the same file (sha256 match, nothing added) | {again.seconds:.1f} s | "
          f"| {again.stdout.strip().splitlines()[-1]} |")
    print(f"| cumulative export ({n + int(n * NEW_SHARE):,} rows, {NEW_SHARE:.0%} new) into that store "
          f"| {cum.seconds:.1f} s ({cum.seconds / m.seconds:.2f}x the fresh ingest) | {cum.peak_rss_gib:.2f} GiB "
          f"| {after - rows:,} rows added; {cum.stdout.strip().splitlines()[-1]} |")
    shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
