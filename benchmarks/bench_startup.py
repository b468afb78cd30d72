"""Small stores feel instant (benchmarks/RESULTS.md, Targets): `evalaudit run` on a 20k-judgment demo store, as a
process, against the floor of Python importing what an audit cannot do without (duckdb, pyarrow, numpy, scipy.stats,
jinja2, click).

Target: the run takes at most 2.5x the floor, both measured in this run and interleaved (the shared machine's speed
varies by 1.5x within an hour). Each is a child process; the table gives its wall time and its CPU seconds (user +
system, from getrusage of the children), which other processes' load inflates far less than the wall time.
Run: `python -m benchmarks.bench_startup [--reps N] [--judgments N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys

from benchmarks import machine, synth

FLOOR_MODULES = "duckdb, pyarrow, numpy, scipy.stats, jinja2, click"


def measure(argv: list[str]) -> tuple[machine.Measured, float]:
    """The child's wall time, peak RSS and CPU seconds; a failed child stops the benchmark."""
    m, cpu = machine.measure_cpu(argv)
    if m.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({m.returncode}): {m.stderr}")
    return m, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--judgments", type=int, default=20_000)
    args = ap.parse_args()
    work = synth.WORK / "startup"
    shutil.rmtree(work, ignore_errors=True)
    store, out = work / "store", work / "out"
    made, _ = measure([machine.evalaudit_exe(), "demo", "--store", str(store), "--judgments", str(args.judgments)])
    print(f"# start-up benchmark: `evalaudit run` on a {args.judgments:,}-judgment demo store\n{machine.facts()}\n"
          f"(demo store written in {made.seconds:.1f} s)\n")
    floor = [sys.executable, "-c", f"import {FLOOR_MODULES}"]
    run = [machine.evalaudit_exe(), "run", "--store", str(store), "--out", str(out), "--fail-on", "never", "--quiet"]
    print("| rep | floor: import " + FLOOR_MODULES + " (wall / CPU) | `evalaudit run` (wall / CPU) | ratio wall / CPU |"
          "\n|---|---|---|---|")
    fw, fc, rw, rc = [], [], [], []
    for i in range(args.reps):
        f, f_cpu = measure(floor)
        r, r_cpu = measure(run)
        fw.append(f.seconds)
        fc.append(f_cpu)
        rw.append(r.seconds)
        rc.append(r_cpu)
        print(f"| {i + 1} | {f.seconds:.2f} s / {f_cpu:.2f} s | {r.seconds:.2f} s / {r_cpu:.2f} s "
              f"| {r.seconds / f.seconds:.2f}x / {r_cpu / f_cpu:.2f}x |")
    med = statistics.median
    print(f"| median | {med(fw):.2f} s / {med(fc):.2f} s | {med(rw):.2f} s / {med(rc):.2f} s "
          f"| **{med(rw) / med(fw):.2f}x** / **{med(rc) / med(fc):.2f}x** |")
    print(f"\ntarget: run <= 2.5x the floor; load average {os.getloadavg()[0]:.1f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
