"""The agreement stage of two code trees on one store: identical outputs, and each run's time and peak memory.

    python -m benchmarks.compare_agreement STORE [STORE ...] --base /work/main [--base-python PY] [--repeat 2]

Each tree runs the stage in its own child process (``cwd`` = the tree, so ``import evalaudit`` is that tree's code;
``--base-python`` is the base tree's interpreter, by default this one, so that both sides run the same packages:
peak memory differed by tens of MB between two venvs of the same code), alternating this tree and the base
``--repeat`` times per store, so the two see the same machine load. A child opens the store read-only, registers the
view ``judgments`` (as the run's store stage does, untimed), runs the agreement stage and writes its tables
(agreement, agreement_pairs, agreement_failure_mode_window) as Parquet, its findings and summary as JSON into a
temporary directory; nothing is written into either tree or the store. The comparison is exact: the Parquet files'
tables equal (every value, in order) and the JSON equal. Prints one line per run (stage wall seconds, CPU seconds of
all threads, the stage's own peak RSS — Linux's VmHWM, reset through /proc/self/clear_refs as the stage starts, so the
view's and label space's queries before it do not count — and the child's) and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

TABLES = ("agreement", "agreement_pairs", "agreement_failure_mode_window")

_CHILD = r"""
import dataclasses, json, resource, sys, time
from pathlib import Path
import pyarrow.parquet as pq
from evalaudit.agreement import stage
from evalaudit.config import Config
from evalaudit.stage import Context, define_judgments
from evalaudit.store import Store

store, out = Store.open(sys.argv[1]), Path(sys.argv[2])
ctx = Context(engine=store.engine(memory_limit=Config().run.memory_limit), cfg=Config())
define_judgments(ctx)
ctx.labels
Path("/proc/self/clear_refs").write_text("5")  # the peak resident size (VmHWM) from here on: the stage's own
wall, cpu = time.perf_counter(), time.process_time()
result = stage(ctx)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
for name, table in result.tables.items():
    pq.write_table(table, out / f"{name}.parquet")
(out / "findings.json").write_text(json.dumps({"findings": [dataclasses.asdict(f) for f in result.findings],
                                               "summary": result.summary, "skipped": result.skipped},
                                              sort_keys=True, default=str))
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
peak = int(status["VmHWM"].split()[0]) / 2**20
print(json.dumps({"wall": wall, "cpu": cpu, "peak_gib": peak,
                  "process_peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def run_tree(tree: Path, python: str, store: str, out: Path) -> dict[str, float]:
    """The stage of ``tree`` on ``store``, outputs into ``out``; its timings."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([python, "-c", _CHILD, store, str(out)], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{tree}: the agreement stage failed on {store}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two children's outputs (empty: identical)."""
    out = []
    for name in TABLES:
        ta, tb = pq.read_table(a / f"{name}.parquet"), pq.read_table(b / f"{name}.parquet")
        if not ta.equals(tb):
            out.append(f"{name}: {ta.num_rows} vs {tb.num_rows} rows, not equal")
    if (a / "findings.json").read_text() != (b / "findings.json").read_text():
        out.append("findings.json differs")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stores", nargs="+")
    parser.add_argument("--base", required=True, type=Path, help="the other tree (e.g. a checkout of main)")
    parser.add_argument("--base-python", default=sys.executable, help="its interpreter (default: this one)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tree and store, alternating")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    trees = {"this": (here, sys.executable),
             "base": (args.base.resolve(), args.base_python)}
    failed = False
    with tempfile.TemporaryDirectory(prefix="compare-agreement-") as tmp:
        for store in args.stores:
            for k in range(args.repeat):
                outs = {}
                for name, (tree, python) in trees.items():
                    outs[name] = Path(tmp) / f"{name}{k}"
                    t = run_tree(tree, python, store, outs[name])
                    print(f"{store} | {name} | stage {t['wall']:.2f} s | {t['cpu']:.2f} CPU-s | stage peak "
                          f"{t['peak_gib']:.2f} GiB (process {t['process_peak_gib']:.2f}) | "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
                diff = differences(outs["this"], outs["base"])
                print(f"{store} | run {k + 1}: " + ("identical outputs" if not diff else "; ".join(diff)), flush=True)
                failed |= bool(diff)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
