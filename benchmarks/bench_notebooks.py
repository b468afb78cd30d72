"""Responsiveness of `notebooks/audit.py` on a 10M-judgment store (2.5M items, 2,000 labelers, 20 failure modes).

Target (issue 8): after the first load, no cell takes more than 5 s. Run: `python -m benchmarks.bench_notebooks`.

The store is built once under benchmarks/_work/notebook_store: labels from synth.cached_parquet("labels_10m")
through a real `evalaudit ingest`, plus bench_run's items (gold), predictions and production tables, so every
stage runs. Each cell of the notebook is then run on its own through marimo's `Cell.run(**refs)` — in the
notebook's order, each fed the definitions of the cells before it — and timed: first the load (every cell once),
then the interactions a user makes (choose a failure mode, a labeler, both, back to all), where marimo re-runs
the cells downstream of the dropdowns; those are the cells timed per interaction.
"""

from __future__ import annotations

import importlib.util
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import marimo as mo
import pyarrow.parquet as pq

from benchmarks import bench_run, machine, synth

STORE = synth.WORK / "notebook_store"
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "audit.py"
LIMIT_S = 5.0


def build_store() -> None:
    if (STORE / ".bench-complete").exists():
        return
    shutil.rmtree(STORE, ignore_errors=True)
    labels = synth.cached_parquet("labels_10m", n_judgments=bench_run.N, n_items=bench_run.ITEMS,
                                  n_labelers=bench_run.LABELERS, n_failure_modes=20, seed=0)
    m = machine.measure([machine.evalaudit_exe(), "ingest", str(labels), "--store", str(STORE)])
    if m.returncode != 0:
        sys.exit(f"ingest failed: {m.stderr}")
    for name, table in bench_run._side_tables(labels).items():
        path = synth.WORK / f"notebook_{name}.parquet"
        pq.write_table(table, path)
        m = machine.measure([machine.evalaudit_exe(), "ingest", str(path), "--store", str(STORE), "--table", name])
        if m.returncode != 0:
            sys.exit(f"ingest of {name} failed: {m.stderr}")
        path.unlink()
    (STORE / ".bench-complete").write_text("ok\n")


def load_notebook() -> Any:
    spec = importlib.util.spec_from_file_location("bench_audit_notebook", NOTEBOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cells_in_order(module: Any) -> list[Any]:
    names = [c.name for c in module.app._cell_manager.cells()]
    return [getattr(module, n) for n in names if hasattr(getattr(module, n, None), "run")]


def run_cells(cells: list[Any], defs: dict[str, Any], only: set[str] | None = None) -> dict[str, float]:
    """Run ``cells`` (all, or those named in ``only``) in order; return seconds per cell. ``defs`` collects
    every cell's definitions, so a later cell gets its refs from the earlier ones."""
    times = {}
    for cell in cells:
        if only is not None and cell.name not in only:
            continue
        refs = {r: defs[r] for r in cell.refs if r in defs}
        start = time.perf_counter()
        _, out = cell.run(**refs)
        times[cell.name] = time.perf_counter() - start
        defs.update(dict(out))
    return times


def downstream(cells: list[Any], changed: set[str]) -> set[str]:
    """Names of the cells marimo re-runs when the variables ``changed`` get new values (transitively)."""
    dirty, names = set(changed), set()
    for cell in cells:
        if cell.refs & dirty:
            names.add(cell.name)
            dirty |= cell.defs
    return names


def main() -> None:
    print(f"# notebooks benchmark\n{machine.facts()}")
    build_store()
    sys.argv = [sys.argv[0], "--store", str(STORE)]
    module = load_notebook()
    cells = cells_in_order(module)
    defs: dict[str, Any] = {}
    load = run_cells(cells, defs)
    audit = defs["audit"]
    fm = audit.failure_modes()[0]
    lab = audit.labelers()[0]
    after = downstream(cells, {"fm_choice", "labeler_choice"})
    rows = []
    for what, f, who in (("choose a failure mode", fm, None), ("choose a labeler", None, lab),
                       ("choose both", fm, lab), ("back to all", None, None),
                       ("choose the failure mode again (cached agreement)", fm, None)):
        defs["fm_choice"] = mo.ui.dropdown([nb_all := "(all)", *audit.failure_modes()], value=f or nb_all)
        defs["labeler_choice"] = mo.ui.dropdown([nb_all, *audit.labelers()], value=who or nb_all)
        rows.append((what, run_cells(cells, defs, after)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\nstore: {audit.summary['store']['n_judgments']:,} judgments, "
          f"{audit.summary['store']['n_labelers']:,} labelers, {audit.summary['store']['n_failure_modes']} failure "
          f"modes; stages at load (s): " + ", ".join(f"{k} {v:.1f}" for k, v in audit.ctx.timings.items()))
    print(f"peak resident memory of this process: {peak:.2f} GiB\n")
    names = [c.name for c in cells]
    print("| cell | first load | " + " | ".join(w for w, _ in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    worst = 0.0
    for n in names:
        cols = [f"{t[n]:.2f} s" if n in t else "—" for _, t in rows]
        worst = max([worst, *(t[n] for _, t in rows if n in t)])
        print(f"| `{n}` | {load[n]:.2f} s | " + " | ".join(cols) + " |")
    print(f"\nslowest cell after the first load: {worst:.2f} s (target <= {LIMIT_S:.0f} s): "
          f"{'OK' if worst <= LIMIT_S else 'OVER'}")


if __name__ == "__main__":
    main()
