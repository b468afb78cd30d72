"""The same 10M-judgment audit on DuckDB and on Spark local mode (docs/spark.md), with the stage breakdown.

Run: `python -m benchmarks.bench_spark` (needs the spark extra and Java 17). The store is bench_run's (10M
judgments, 2.5M items, 2,000 labelers, 20 failure modes, 5M predictions, 200k production rows; built once
under benchmarks/_work/run_store). Each audit runs as a real `evalaudit run` child process; wall time is that
process's, memory the peak resident set of its whole process tree (the Spark JVM is a child of the Python
process), sampled every 0.2 s. "to first stage" is launch to the first stage's log line (Spark: session start
and view registration). Afterwards the four contract output tables (docs/outputs.md) of the two runs are compared
(numbers to 1e-9).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import bench_run, machine, synth

OUT = synth.WORK / "spark_reports"
#: driver memory for the 10M run: the labelers stage registers its latest-judgment table (one row per
#: judgment) back into Spark, which goes through the driver
SPARK_CONF = ("spark.driver.memory=8g", "spark.sql.shuffle.partitions=8")


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (KiB)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(x.split()[1]) for x in f if x.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total


def run(argv: list[str]) -> dict:
    """Run ``argv``; wall seconds, peak tree RSS (GiB), seconds to the first stage, stderr, exit code."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "TZ": "UTC"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    first_stage: list[float] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if not first_stage and "stage store: started" in line:
                first_stage.append(time.perf_counter() - start)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(0.2)
    reader.join(5)
    return {"wall": time.perf_counter() - start, "peak_gib": peak / 2**20,
            "to_first_stage": first_stage[0] if first_stage else float("nan"),
            "stderr": "".join(lines), "code": proc.returncode}


def main() -> None:
    import pyspark

    print(f"# spark benchmark\n{machine.facts()}, pyspark {pyspark.__version__}, "
          f"{subprocess.run(['java', '-version'], capture_output=True, text=True).stderr.splitlines()[0]}")
    bench_run.build_store()
    shutil.rmtree(OUT, ignore_errors=True)
    results = {}
    for engine in ("duckdb", "spark"):
        argv = [machine.evalaudit_exe(), "run", "--store", str(bench_run.STORE), "--out", str(OUT / engine),
                "--fail-on", "never", "--engine", engine]
        if engine == "spark":
            for kv in SPARK_CONF:
                argv += ["--spark-conf", kv]
        r = run(argv)
        if r["code"] != 0:
            sys.exit(f"{engine} run failed ({r['code']}): {r['stderr'][-3000:]}")
        r["stages"] = json.loads((OUT / engine / "findings.json").read_text())["summary"]["stage_seconds"]
        results[engine] = r
    stages = list(results["duckdb"]["stages"])
    print("\n| engine | wall | to first stage | " + " | ".join(stages) + " | peak memory (process tree) |")
    print("|---|---|---|" + "---|" * len(stages) + "---|")
    for engine, r in results.items():
        print(f"| {engine} | {r['wall']:.1f} s | {r['to_first_stage']:.1f} s | "
              + " | ".join(f"{r['stages'].get(s, float('nan')):.1f}" for s in stages)
              + f" | {r['peak_gib']:.2f} GiB |")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.spark.compare import output_differences

    diffs = output_differences(OUT / "duckdb", OUT / "spark")
    print(f"\nparity of agreement/leniency/items/impact on 10M judgments: "
          f"{'equal (numbers to 1e-9)' if not diffs else f'{len(diffs)} differences'}")
    for d in diffs[:20]:
        print("  " + d)
    for engine, r in results.items():
        log = [ln for ln in r["stderr"].splitlines() if "stage" in ln and "done" in ln]
        print(f"\n{engine} stage log:\n  " + "\n  ".join(log))


if __name__ == "__main__":
    main()
