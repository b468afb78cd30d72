"""`evalaudit check` of a 1M-judgment batch against a store of 2M judgments.

Target (issue 7): <= 60 s wall on the 2-core machine. Run: `python -m benchmarks.bench_check`. The store holds a
2M-judgment history (synth seed 0), a labelers table and 5,000 honeypot items; the batch is 1M new judgments
(synth seed 1, items renamed so they are new) as CSV — the format vendors deliver — and as Parquet. Each check runs
as a real `evalaudit check` child process so wall time and peak RSS are its own; the CSV batch is checked once
plainly (it fails: synthetic lenient labelers shift their positive rate and synthetic agreement is low) and once
with a config relaxing the batch-level bounds plus `--promote`, so the promotion path is measured too.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime

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
    keep = [c for c in ("item_id", "labeler_id", "label", "failure_mode", "labeled_at", "batch_id", "vendor",
                        "guideline_version", "duration_s") if c in batch.column_names]
    batch = batch.select(keep)
    csv_path, pq_path = work / "batch_1m.csv", work / "batch_1m.parquet"
    pacsv.write_csv(batch, csv_path)
    pq.write_table(batch, pq_path)
    relaxed = work / "relaxed.toml"
    relaxed.write_text("[contracts]\nmin_honeypot_accuracy = 0.0\nmin_alpha = -1.0\nmax_positive_shift = 1.0\n",
                       encoding="utf-8")
    return store, csv_path, pq_path, relaxed


def _run(label: str, argv: list[str]) -> None:
    m = machine.measure([machine.evalaudit_exe(), "check", *argv, "--format", "json"])
    if m.returncode not in (0, 1):
        sys.exit(f"check failed ({m.returncode}): {m.stderr}")
    doc = json.loads(m.stdout)
    failed = [r["expectation"] for r in doc["results"] if r["status"] == "failed"]
    print(f"| {label} | {m.seconds:.1f} s | {m.peak_rss_gib:.2f} GiB | exit {m.returncode}; "
          f"{doc['n_expectations']} expectations, failed: {', '.join(failed) or 'none'}"
          f"{'; promoted ' + format(doc['rows_added'], ',') + ' rows' if doc['promoted'] else ''} |")


def main() -> None:
    print(f"# check benchmark\n{machine.facts()}")
    store, csv_path, pq_path, relaxed = _setup()
    print(f"batch CSV {csv_path.stat().st_size / 2**20:.0f} MiB, Parquet {pq_path.stat().st_size / 2**20:.0f} MiB; "
          f"store {N_STORE:,} judgments")
    _run("check 1M-row CSV batch", [str(csv_path), "--store", str(store)])
    _run("check 1M-row Parquet batch", [str(pq_path), "--store", str(store)])
    _run("check 1M-row CSV batch, relaxed batch bounds, --promote", [str(csv_path), "--store", str(store),
                                                                    "--config", str(relaxed), "--promote"])
    shutil.rmtree(synth.WORK / "check", ignore_errors=True)


if __name__ == "__main__":
    main()
