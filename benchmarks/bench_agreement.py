"""Agreement benchmarks (targets: benchmarks/RESULTS.md). Run: `python -m benchmarks agreement`.

1. Krippendorff's alpha from long-form rows vs the `krippendorff` package on its own dense labeler × item
   matrix: (a) 50 labelers × 20,000 items, 90% missing, 2 categories; (b) 5 labelers × 200,000 items, 60%
   missing, 20 categories (the package's memory grows with items × categories²). Both sides get the same data;
   only the alpha call is timed (best of 3, one run for the slow package case), each side in its own process
   so peak RSS is its own. evalaudit's time includes building its DuckDB engine over the Arrow table.
2. The whole agreement stage - every coefficient for every slice (overall, 20 failure modes, batches, vendors,
   weeks), 1,000-resample bootstrap intervals, pairwise Cohen matrix - on 10M judgments (2.5M items,
   2,000 labelers) read from Parquet, as `evalaudit run` does. Target <= 20 s and <= 3 GiB peak. Besides
   wall time it prints the stage's CPU seconds (all threads), which other work on the two cores does not
   inflate.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pyarrow as pa

from benchmarks import machine, synth

CASES = {
    "2cat": dict(n_labelers=50, n_items=20_000, missing=0.9, q=2, seed=1),
    "20cat": dict(n_labelers=5, n_items=200_000, missing=0.6, q=20, seed=2),
}


def peak_gib() -> float:
    """This process's own peak resident memory (the parent's child-rusage is a max over all its children)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def dense(n_labelers: int, n_items: int, missing: float, q: int, seed: int) -> np.ndarray:
    """Labeler × item matrix of values 1..q (NaN = missing); labelers mostly agree on a latent value."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, q + 1, n_items)
    values = np.where(rng.random((n_labelers, n_items)) < 0.8, truth[None, :],
                      rng.integers(1, q + 1, (n_labelers, n_items))).astype(float)
    values[rng.random(values.shape) < missing] = np.nan
    return values


def long_form(values: np.ndarray) -> pa.Table:
    lab, item = np.nonzero(~np.isnan(values))
    return pa.table({
        "item_id": pa.array(item.astype(str)),
        "labeler_id": pa.array(lab.astype(str)),
        "label": pa.array(values[lab, item].astype(np.int64).astype(str)),
    })


def child(kind: str, case: str) -> None:
    values = dense(**CASES[case])
    runs = 1 if (kind == "package" and case == "20cat") else 3
    if kind == "package":
        import krippendorff

        domain = list(np.arange(1.0, CASES[case]["q"] + 1))
        fn = lambda: krippendorff.alpha(reliability_data=values, level_of_measurement="nominal",  # noqa: E731
                                        value_domain=domain)
    else:
        from evalaudit import agreement

        table = long_form(values)
        del values
        fn = lambda: agreement.krippendorff_alpha(table, level="nominal")  # noqa: E731
    best, value = float("inf"), float("nan")
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    print(f"{best:.4f} {value:.12f} {peak_gib():.3f}")


def stage_10m() -> None:
    from evalaudit import schema
    from evalaudit.agreement import stage
    from evalaudit.config import Config
    from evalaudit.engine import DuckDBEngine
    from evalaudit.stage import Context

    path = synth.cached_parquet("labels_10m", n_judgments=10_000_000, n_items=2_500_000, n_labelers=2_000,
                                n_failure_modes=20, seed=0)
    engine = DuckDBEngine()
    engine.view_parquet("labels", [path], schema.LABELS.arrow_schema)
    start, cpu0 = time.perf_counter(), time.process_time()
    result = stage(Context(engine=engine, cfg=Config()))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    t = result.tables["agreement"]
    slices = len(set(zip(t.column("scope").to_pylist(), t.column("slice").to_pylist(), strict=True)))
    print(f"{seconds:.2f} {t.num_rows} {result.tables['agreement_pairs'].num_rows} {len(result.findings)} "
          f"{slices} {peak_gib():.3f} {cpu:.1f}")


def main() -> None:
    print(f"# agreement benchmark\n{machine.facts()}")
    py = sys.executable
    synth.cached_parquet("labels_10m", n_judgments=10_000_000, n_items=2_500_000, n_labelers=2_000,
                         n_failure_modes=20, seed=0)
    print("| case | krippendorff package | peak | evalaudit (long form) | peak | speed-up | same alpha |")
    print("|---|---|---|---|---|---|---|")
    for case, spec in CASES.items():
        pk = machine.measure([py, "-m", "benchmarks.bench_agreement", "child", "package", case])
        ev = machine.measure([py, "-m", "benchmarks.bench_agreement", "child", "evalaudit", case])
        if pk.returncode or ev.returncode:
            sys.exit(f"child failed: {pk.stderr[-2000:]} {ev.stderr[-2000:]}")
        (tp, vp, mp), (te, ve, me) = (map(float, pk.stdout.split()), map(float, ev.stdout.split()))
        print(f"| {spec['n_labelers']} labelers × {spec['n_items']:,} items, {spec['missing']:.0%} missing, "
              f"{spec['q']} categories | {tp:.3f} s | {mp:.2f} GiB | {te:.3f} s | "
              f"{me:.2f} GiB | {tp / te:.1f}× | {abs(vp - ve) < 1e-9} |")
    st = machine.measure([py, "-m", "benchmarks.bench_agreement", "stage"])
    if st.returncode:
        sys.exit(f"stage failed: {st.stderr[-3000:]}")
    seconds, rows, pairs, findings, slices, peak, cpu = st.stdout.split()
    print(f"\n| agreement stage, 10M judgments (2.5M items, 2,000 labelers, 20 failure modes), "
          f"from Parquet | stage {float(seconds):.1f} s, {float(cpu):.1f} CPU-s "
          f"(process {st.seconds:.1f} s) | "
          f"{float(peak):.2f} GiB | {slices} slices, {rows} rows, {pairs} labeler pairs, "
          f"{findings} findings |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "stage":
        stage_10m()
    else:
        main()
