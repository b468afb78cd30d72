"""The demo generator (`evalaudit.demo.generate`) at the CLI's default size and at 1M judgments.

Target (benchmarks/RESULTS.md): 1M judgments in under 10 s. Run: `python -m benchmarks.bench_demo`. Each size is
generated three times in this process (the best and the worst wall time are reported: other work may share the two
cores); peak memory is this process's maximum resident set size after the largest run. The generator is pure, so a run
also checks that the tables of two runs with the same seed are identical.
"""

from __future__ import annotations

import resource
import time

from benchmarks import machine
from evalaudit import demo

SIZES = (200_000, 1_000_000)
REPEATS = 3


def main() -> None:
    print(f"# demo generator benchmark\n{machine.facts()}")
    print("| n_judgments (target) | labels rows | items | predictions rows | best wall | worst wall | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for n in SIZES:
        times, runs = [], []
        for _ in range(REPEATS):
            start = time.perf_counter()
            data = demo.generate(seed=0, n_judgments=n)
            times.append(time.perf_counter() - start)
            runs.append(data)
            if len(runs) > 2:
                runs.pop(0)
        a, b = runs
        assert all(a.tables[k].equals(b.tables[k]) for k in a.tables), "same seed, different tables"
        t = a.tables
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"| {n:,} | {t['labels'].num_rows:,} | {t['items'].num_rows:,} | {t['predictions'].num_rows:,} "
              f"| {min(times):.2f} s | {max(times):.2f} s | {peak:.2f} GiB |")


if __name__ == "__main__":
    main()
