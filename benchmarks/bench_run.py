"""The whole `evalaudit run` on a 10M-judgment store (2.5M items, 2,000 labelers, 20 failure modes).

Target (benchmarks/RESULTS.md): <= 60 s wall and <= 3 GiB peak memory on the 2-core machine. Run: `python -m
benchmarks.bench_run`. The store is built once under benchmarks/_work/run_store (labels from
synth.cached_parquet("labels_10m"), plus an items table with gold labels, predictions of four model versions (10M rows)
and a production sample, so every stage runs).
The audit runs as a real `evalaudit run` child process, not on a terminal, so its stage log lines give the stage
breakdown; wall time and peak RSS are of that process alone.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import threading
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks import machine, synth

N, ITEMS, LABELERS = 10_000_000, 2_500_000, 2_000
STORE = synth.WORK / "run_store"
OUT = synth.WORK / "run_reports" / "bench"


def _side_tables(labels_path) -> dict[str, pa.Table]:
    """items (gold = the first judgment of each item, as a vendor's first pass would set it), predictions of two
    model versions (right 85% / 88% of the time against that gold), and a 200k-row production sample whose
    failure-mode mix differs from the eval set's."""
    con = duckdb.connect()
    items = con.sql(f"""
        SELECT item_id, any_value(failure_mode) AS failure_mode, arg_min(label, labeled_at) AS gold_label,
               min(labeled_at) AS created_at
        FROM read_parquet('{labels_path}') GROUP BY item_id ORDER BY item_id""").arrow()
    if hasattr(items, "read_all"):
        items = items.read_all()
    rng = np.random.default_rng(1)
    predictions = _predictions(items, (("model-a", 0.85), ("model-b", 0.88)), rng)
    fms = sorted(set(items["failure_mode"].unique().to_pylist()))
    weights = rng.gamma(1.0, 1.0, len(fms))
    prod_fm = rng.choice(len(fms), 200_000, p=weights / weights.sum())
    production = pa.table({"failure_mode": pc.take(pa.array(fms), pa.array(prod_fm.astype(np.int32))),
                           "observed_at": pa.array(np.full(200_000, 1_767_225_600_000_000),
                                                   pa.timestamp("us", tz="UTC"))})
    return {"items": items, "predictions": predictions, "production": production}


def _predictions(items: pa.Table, versions: tuple[tuple[str, float], ...], rng: np.random.Generator) -> pa.Table:
    """Each (model version, accuracy): a pass/fail answer per item, right against its gold with that probability."""
    gold_pass = pc.equal(items["gold_label"], "pass").to_numpy(zero_copy_only=False)
    preds = []
    for version, acc in versions:
        right = rng.random(items.num_rows) < acc
        says_pass = pa.array(np.where(right, gold_pass, ~gold_pass).astype(np.int32))
        preds.append(pa.table({"model_version": pa.array([version] * items.num_rows),
                               "item_id": items["item_id"],
                               "prediction": pc.take(pa.array(["fail", "pass"]), says_pass)}))
    return pa.concat_tables(preds)


def _later_predictions(items: pa.Table) -> pa.Table:
    """Two later model versions' predictions (right 90% / 86% of the time), drawn from their own generator so the
    first two versions and the production sample stay as they were: with them the store holds the four model
    versions the items + coverage + impact target names (10M predictions)."""
    return _predictions(items, (("model-c", 0.90), ("model-d", 0.86)), np.random.default_rng(2))


def ingest_table(table: pa.Table, name: str, stem: str, store=STORE) -> None:
    """Ingest an Arrow table into ``store`` as table ``name`` through a real `evalaudit ingest` of a Parquet file."""
    path = synth.WORK / f"{stem}.parquet"
    pq.write_table(table, path)
    m = machine.measure([machine.evalaudit_exe(), "ingest", str(path), "--store", str(store), "--table", name])
    if m.returncode != 0:
        sys.exit(f"ingest of {name} failed: {m.stderr}")
    path.unlink()


def build_store() -> None:
    labels = synth.cached_parquet("labels_10m", n_judgments=N, n_items=ITEMS, n_labelers=LABELERS,
                                  n_failure_modes=20, seed=0)
    if not (STORE / ".bench-complete").exists():
        shutil.rmtree(STORE, ignore_errors=True)
        m = machine.measure([machine.evalaudit_exe(), "ingest", str(labels), "--store", str(STORE)])
        if m.returncode != 0:
            sys.exit(f"ingest failed: {m.stderr}")
        for name, table in _side_tables(labels).items():
            ingest_table(table, name, f"run_{name}")
        (STORE / ".bench-complete").write_text("ok\n")
    if not (STORE / ".bench-4-versions").exists():  # a store built before the two later versions were added
        ingest_table(_later_predictions(_side_tables(labels)["items"]), "predictions", "run_later_predictions")
        (STORE / ".bench-4-versions").write_text("ok\n")


def run_sampled(argv: list[str]) -> tuple[float, float, dict[str, float], str, int]:
    """Run ``argv``, sampling its resident memory every 0.2 s (/proc/PID/status VmRSS) and attributing each sample
    to the stage its log lines say is running. Returns wall s, peak GiB, peak GiB per stage, stderr, exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    current = ["start"]
    lines: list[str] = []
    peaks: dict[str, float] = {}

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"stage (\S+): started", line)
            if m:
                current[0] = m.group(1)
            elif re.search(r"stage \S+: done", line):
                current[0] = "write"  # until the next stage starts; after the last one, the outputs

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                kib = next(int(x.split()[1]) for x in f if x.startswith("VmRSS:"))
            peaks[current[0]] = max(peaks.get(current[0], 0.0), kib / 2**20)
        except (OSError, StopIteration):
            pass
        time.sleep(0.2)
    proc.wait()
    reader.join(5)
    return time.perf_counter() - start, max(peaks.values(), default=0.0), peaks, "".join(lines), proc.returncode


def main() -> None:
    print(f"# run benchmark\n{machine.facts()}")
    build_store()
    shutil.rmtree(OUT.parent, ignore_errors=True)
    wall, peak, peaks, stderr, code = run_sampled([machine.evalaudit_exe(), "run", "--store", str(STORE),
                                                   "--out", str(OUT), "--fail-on", "never"])
    if code != 0:
        sys.exit(f"run failed ({code}): {stderr[-3000:]}")
    doc = json.loads((OUT / "findings.json").read_text())
    stages = doc["summary"]["stage_seconds"]
    write = re.search(r"wrote \S+ in ([\d.]+) s", stderr)
    render = re.search(r"report rendered in ([\d.]+) s", stderr)
    html_mib = (OUT / "index.html").stat().st_size / 2**20
    print("| what | wall | peak memory | notes |\n|---|---|---|---|")
    print(f"| `evalaudit run` on 10M judgments (2.5M items, 2,000 labelers, 20 failure modes, 10M predictions of 4 "
          f"model versions, 200k production rows) | {wall:.1f} s | {peak:.2f} GiB | "
          f"{doc['summary']['n_findings']} findings; index.html {html_mib:.2f} MiB |")
    print("\nstage breakdown (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
          + (f", write outputs + report {float(write.group(1)):.1f}" if write else "")
          + (f" (of which report rendering {float(render.group(1)):.1f})" if render else ""))
    print("peak resident memory by stage (GiB, sampled every 0.2 s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in peaks.items()))
    wall2, peak2, _, _, _ = run_sampled([machine.evalaudit_exe(), "run", "--store", str(STORE), "--out", str(OUT),
                                         "--fail-on", "never", "--quiet"])
    doc2 = json.loads((OUT / "findings.json").read_text())
    # findings are written in a deterministic order, so the two runs compare position by position (a key of
    # kind/labeler/failure mode alone would collide for per-slice findings such as low_agreement)
    # (each finding's `change` — new on a first run, persisting on the second — is the history's, not the audit's)
    pairs = [({k: v for k, v in a.items() if k != "change"}, {k: v for k, v in b.items() if k != "change"})
             for a, b in zip(doc["findings"], doc2["findings"], strict=False)]
    exact = sum(a == b for a, b in pairs)
    close = sum(_close(a, b) for a, b in pairs)
    print(f"\nsecond run (history trends on): {wall2:.1f} s, {peak2:.2f} GiB; "
          f"findings {len(doc['findings'])} then {len(doc2['findings'])}: {exact} identical, {close} equal to 1e-9 "
          "(compared position by position)")


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


if __name__ == "__main__":
    main()
