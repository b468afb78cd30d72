"""`evalaudit check`: a 400-row batch against a 200k-judgment store (the everyday delivery), and a 1M-row batch
against a 2M-judgment store.

Targets (benchmarks/RESULTS.md): the small check costs at most 1 s beyond what importing Great Expectations alone costs
on the same machine, so both are measured here, interleaved, in the same run (GX's import alone varies several-fold with
the machine's load), and again in one process (GX imported first, then the check: the paired measure); the large check
<= 20 s. Run: `python -m benchmarks.bench_check [--small-only] [--large-only] [--promote] [--no-compile]`.

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
import time
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


#: GX's import, safe in a `python -c` process: with pyspark installed (the [spark] extra) GX imports pyspark's
#: Spark Connect modules, whose import runs a doctest hook and exits a process whose __main__ has no __file__ (the
#: case evalaudit/contracts/gx.py guards against). An interactive-looking sys.ps1 for the import keeps it from
#: firing, so the floor is GX's whole import, pyspark's part included, in either venv.
_IMPORT_GX = "import sys; sys.ps1 = ''; import great_expectations, great_expectations.expectations; del sys.ps1"

#: a child that imports GX, then runs `evalaudit check` in the same process: the CPU and wall seconds after GX's
#: import are the check's own cost, measured without the process-to-process swing of GX's import under load
_PAIRED = """
import os, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
""" + _IMPORT_GX + """
c0, w0 = cpu(), time.perf_counter()
from evalaudit.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    if e.code not in (0, None):
        raise
sys.stdout.flush()
print(f"PAIRED {cpu() - c0:.4f} {time.perf_counter() - w0:.4f}", file=sys.stderr)
"""


def _byte_compile() -> str:
    """Byte-compile evalaudit's modules as `pip install` does for a wheel. Where PYTHONDONTWRITEBYTECODE is set
    (this project's sandboxes), an editable tree would otherwise compile its ~50 modules from source in every
    process, about 0.1 s that no installed copy pays; Great Expectations' modules in site-packages are compiled."""
    import compileall

    import evalaudit

    if "--no-compile" in sys.argv:
        return "evalaudit's modules not byte-compiled (--no-compile)"
    compileall.compile_dir(Path(evalaudit.__file__).parent, quiet=1)
    return "evalaudit's modules byte-compiled first, as pip does when installing"


def small(reps: int = 5) -> None:
    """The 400-row check and GX's import alone, alternated ``reps`` times; medians and their difference. Then the
    paired measure: GX imported and the check run in one process, ``reps`` times."""
    store, path = _small_setup()
    gx_only = [sys.executable, "-c", _IMPORT_GX]
    env = {"GX_ANALYTICS_ENABLED": "False"}
    print(f"\n{_byte_compile()}; load average before {os.getloadavg()[0]:.1f}")
    print("\n| 400-row batch, 200k store | wall | CPU | peak RSS | result |\n|---|---|---|---|---|")
    gx_times, check_times, gx_walls, check_walls = [], [], [], []
    for i in range(reps):
        g, cpu = machine.measure_cpu(gx_only, env)
        gx_times.append(cpu)
        gx_walls.append(g.seconds)
        print(f"| import great_expectations alone (rep {i + 1}) | {g.seconds:.2f} s | {cpu:.2f} s | "
              f"{g.peak_rss_gib:.2f} GiB | |")
        t0 = time.perf_counter()
        check_times.append(_run(f"evalaudit check (rep {i + 1})", [str(path), "--store", str(store)]))
        check_walls.append(time.perf_counter() - t0)
    gx_med, check_med = statistics.median(gx_times), statistics.median(check_times)
    diffs = [c - g for c, g in zip(check_times, gx_times, strict=True)]
    print(f"\nmedian CPU: check {check_med:.2f} s, GX import alone {gx_med:.2f} s, "
          f"difference {check_med - gx_med:.2f} s "
          f"(per rep: {', '.join(f'{d:.2f}' for d in diffs)} s); median wall: check "
          f"{statistics.median(check_walls):.2f} s, GX import alone {statistics.median(gx_walls):.2f} s, difference "
          f"{statistics.median(check_walls) - statistics.median(gx_walls):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    paired_cpu, paired_wall = [], []
    for _ in range(reps):
        m = machine.measure([sys.executable, "-c", _PAIRED, "check", str(path), "--store", str(store),
                             "--format", "json"], env)
        if m.returncode != 0:
            sys.exit(f"paired check failed ({m.returncode}): {m.stderr}")
        line = next(x for x in m.stderr.splitlines() if x.startswith("PAIRED "))
        paired_cpu.append(float(line.split()[1]))
        paired_wall.append(float(line.split()[2]))
    print(f"in one process, after GX's import (paired): median CPU {statistics.median(paired_cpu):.2f} s "
          f"(reps {', '.join(f'{x:.2f}' for x in paired_cpu)}), median wall {statistics.median(paired_wall):.2f} s "
          f"(reps {', '.join(f'{x:.2f}' for x in paired_wall)}); load average {os.getloadavg()[0]:.1f}")
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
    for i in range(2):
        _run(f"check 1M-row CSV batch (rep {i + 1})", [str(csv_path), "--store", str(store)])
        _run(f"check 1M-row Parquet batch (rep {i + 1})", [str(pq_path), "--store", str(store)])
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    if "--promote" in sys.argv:
        _run("check 1M-row CSV batch, relaxed batch bounds, --promote", [str(csv_path), "--store", str(store),
                                                                        "--config", str(relaxed), "--promote"])
    shutil.rmtree(synth.WORK / "check", ignore_errors=True)


if __name__ == "__main__":
    main()
