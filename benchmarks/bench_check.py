"""`evalaudit check`: a 400-row batch against a 200k-judgment store (the everyday delivery), and a 1M-row batch
against a 2M-judgment store.

Targets (benchmarks/RESULTS.md): the small check costs at most 1 s beyond what importing Great Expectations alone costs
on the same machine, so both are measured here, interleaved, in the same run (GX's import alone varies several-fold with
the machine's load); the large check <= 20 s. Run: `python -m benchmarks.bench_check [--small-only] [--promote]`.

The stores hold synthetic histories (synth seed 0), an items table with honeypot answers and, for the large one, a
labelers table; the batches are synth seed 1 with items renamed so they are new. Each check is a real `evalaudit
check` child process with the default (relative) contract, so wall time and peak RSS are its own.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmarks import machine, synth
from evalaudit.ingest import ingest_files

N_STORE, N_BATCH, ITEMS, LABELERS = 2_000_000, 1_000_000, 500_000, 2_000


def _setup() -> tuple:
    work = synth.WORK / "check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    history = synth.cached_parquet("labels_2m", n_judgments=N_STORE, n_items=ITEMS, n_labelers=LABELERS,
                                   n_failure_modes=20, seed=0)
    store = work / "store"
    ingest_files(store, [history])
    labelers = pa.table({"labeler_id": pc.unique(pq.read_table(history, columns=["labeler_id"])["labeler_id"]),})
    labelers = labelers.append_column("active_from", pa.array([datetime(2020, 1, 1, tzinfo=UTC)] * len(labelers),
                                                              pa.timestamp("us", tz="UTC")))
    pq.write_table(labelers, work / "labelers.parquet")
    ingest_files(store, [work / "labelers.parquet"], table="labelers")
    batch = synth.make_labels(n_judgments=N_BATCH, n_items=N_BATCH // 4, n_labelers=LABELERS, n_failure_modes=20,
                              seed=1)
    batch = batch.set_column(batch.schema.get_field_index("item_id"), "item_id",
                             pc.binary_join_element_wise("new-", batch["item_id"], ""))
    honeypots = pc.unique(batch["item_id"]).slice(0, 5_000)
    hp_rows = batch.filter(pc.is_in(batch["item_id"], honeypots))
    answers = hp_rows.group_by("item_id").aggregate([("label", "min")]).rename_columns(["item_id", "honeypot_label"])
    pq.write_table(answers, work / "items.parquet")
    ingest_files(store, [work / "items.parquet"], table="items")
    # a delivery graded under the guideline now in force (the store's most recent): a synthetic batch spread over
    # the year's three guidelines would fail guideline_current on two thirds of its rows
    batch = batch.set_column(batch.schema.get_field_index("guideline_version"), "guideline_version",
                             pa.array(["v3"] * batch.num_rows))
    keep = [c for c in ("item_id", "labeler_id", "label", "failure_mode", "labeled_at", "batch_id", "vendor",
                        "guideline_version", "duration_s") if c in batch.column_names]
    batch = batch.select(keep)
    csv_path, pq_path = work / "batch_1m.csv", work / "batch_1m.parquet"
    pacsv.write_csv(batch, csv_path)
    pq.write_table(batch, pq_path)
    relaxed = work / "relaxed.toml"
    relaxed.write_text("[contracts]\nmin_honeypot_accuracy = 0.0\nmin_alpha = -1.0\nmax_positive_shift = 1.0\n"
                       "max_alpha_drop = 2.0\nmax_honeypot_drop = 1.0\n",
                       encoding="utf-8")
    return store, csv_path, pq_path, relaxed


def _run(label: str, argv: list[str]) -> float:
    m, cpu = machine.measure_cpu([machine.evalaudit_exe(), "check", *argv, "--format", "json"])
    if m.returncode not in (0, 1):
        sys.exit(f"check failed ({m.returncode}): {m.stderr}")
    doc = json.loads(m.stdout)
    failed = [r["expectation"] for r in doc["results"] if r["status"] == "failed"]
    print(f"| {label} | {m.seconds:.1f} s | {cpu:.2f} s | {m.peak_rss_gib:.2f} GiB | exit {m.returncode}; "
          f"{doc['n_expectations']} expectations, failed: {', '.join(failed) or 'none'}"
          f"{'; promoted ' + format(doc['rows_added'], ',') + ' rows' if doc['promoted'] else ''} |")
    return cpu


def _small_setup() -> tuple[Path, Path]:
    work = synth.WORK / "check_small"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    history = synth.make_labels(n_judgments=200_000, n_items=50_000, n_labelers=200, n_failure_modes=20, seed=0)
    pq.write_table(history, work / "history.parquet")
    store = work / "store"
    ingest_files(store, [work / "history.parquet"])
    batch = synth.make_labels(n_judgments=400, n_items=200, n_labelers=200, n_failure_modes=20, seed=1)
    batch = batch.set_column(0, "item_id", pc.binary_join_element_wise("new-", batch["item_id"], ""))
    # a delivery graded under the guideline now in force (the store's most recent), as vendors deliver
    batch = batch.set_column(batch.schema.get_field_index("guideline_version"), "guideline_version",
                             pa.array(["v3"] * batch.num_rows))
    hp = pc.unique(history["item_id"]).slice(0, 500)
    answers = (history.filter(pc.is_in(history["item_id"], hp)).group_by("item_id").aggregate([("label", "min")])
               .rename_columns(["item_id", "honeypot_label"]))
    pq.write_table(answers, work / "items.parquet")
    ingest_files(store, [work / "items.parquet"], table="items")
    path = work / "batch_400.csv"
    pacsv.write_csv(batch.select(["item_id", "labeler_id", "label", "failure_mode", "labeled_at",
                                  "guideline_version"]), path)
    return store, path


def small(reps: int = 5) -> None:
    """The 400-row check and GX's import alone, alternated ``reps`` times; medians and their difference."""
    store, path = _small_setup()
    gx_only = [sys.executable, "-c", "import great_expectations, great_expectations.expectations"]
    env = {"GX_ANALYTICS_ENABLED": "False"}
    print("\n| 400-row batch, 200k store | wall | CPU | peak RSS | result |\n|---|---|---|---|---|")
    gx_times, check_times = [], []
    for i in range(reps):
        g, cpu = machine.measure_cpu(gx_only, env)
        gx_times.append(cpu)
        print(f"| import great_expectations alone (rep {i + 1}) | {g.seconds:.2f} s | {cpu:.2f} s | "
              f"{g.peak_rss_gib:.2f} GiB | |")
        check_times.append(_run(f"evalaudit check (rep {i + 1})", [str(path), "--store", str(store)]))
    gx_med, check_med = statistics.median(gx_times), statistics.median(check_times)
    diffs = [c - g for c, g in zip(check_times, gx_times, strict=True)]
    print(f"\nmedian CPU: check {check_med:.2f} s, GX import alone {gx_med:.2f} s, "
          f"difference {check_med - gx_med:.2f} s "
          f"(per rep: {', '.join(f'{d:.2f}' for d in diffs)} s); load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(synth.WORK / "check_small", ignore_errors=True)


def main() -> None:
    print(f"# check benchmark\n{machine.facts()}")
    if "--large-only" not in sys.argv:
        small()
    if "--small-only" in sys.argv:
        return
    store, csv_path, pq_path, relaxed = _setup()
    print(f"\nbatch CSV {csv_path.stat().st_size / 2**20:.0f} MiB, Parquet {pq_path.stat().st_size / 2**20:.0f} MiB; "
          f"store {N_STORE:,} judgments\n\n| 1M-row batch, 2M store | wall | CPU | peak RSS | result |\n"
          "|---|---|---|---|---|")
    _run("check 1M-row CSV batch", [str(csv_path), "--store", str(store)])
    _run("check 1M-row Parquet batch", [str(pq_path), "--store", str(store)])
    if "--promote" in sys.argv:
        _run("check 1M-row CSV batch, relaxed batch bounds, --promote", [str(csv_path), "--store", str(store),
                                                                        "--config", str(relaxed), "--promote"])
    shutil.rmtree(synth.WORK / "check", ignore_errors=True)


if __name__ == "__main__":
    main()
