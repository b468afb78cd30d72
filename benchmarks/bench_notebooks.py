"""Responsiveness of `notebooks/audit.py` on a 10M-judgment store (2.5M items, 2,000 labelers, 20 failure modes).

Target (benchmarks/RESULTS.md): after the first load, no cell takes more than 5 s. Run: `python -m
benchmarks.bench_notebooks`.

The store is built once under benchmarks/_work/notebook_store: labels from synth.cached_parquet("labels_10m")
through a real `evalaudit ingest`, plus bench_run's items (gold), predictions and production tables, so every
stage runs. Each cell of the notebook is then run on its own through marimo's `Cell.run(**refs)` — in the
notebook's order, each fed the definitions of the cells before it — and timed: first the load (every cell once),
then the interactions a user makes (choose a failure mode, a labeler, both, back to all), where marimo re-runs
the cells downstream of the dropdowns; those are the cells timed per interaction. labeler.py and items.py are
timed the same way on the audit already loaded (their load cell is the same as audit.py's), items.py including
a change of the set-aside labelers, which re-runs the items and impact stages.
"""

from __future__ import annotations

import importlib.util
import resource
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import marimo as mo

from benchmarks import bench_run, machine, synth
from evalaudit import notebooks as nb

STORE = synth.WORK / "notebook_store"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
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
        bench_run.ingest_table(table, name, f"notebook_{name}", STORE)
    (STORE / ".bench-complete").write_text("ok\n")


def load_notebook(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}_notebook", NOTEBOOKS / f"{name}.py")
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


def table(title: str, cells: list[Any], load: dict[str, float], rows: list[tuple[str, dict[str, float]]]) -> float:
    """Print one Markdown table (cell x interaction, seconds); return the slowest cell after the first load."""
    print(f"\n{title}\n")
    print("| cell | first load | " + " | ".join(w for w, _ in rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    worst = 0.0
    for c in cells:
        n = c.name
        cols = [f"{t[n]:.2f} s" if n in t else "—" for _, t in rows]
        worst = max([worst, *(t[n] for _, t in rows if n in t)])
        first = f"{load[n]:.2f} s" if n in load else "(shared)"
        print(f"| `{n}` | {first} | " + " | ".join(cols) + " |")
    print(f"\nslowest cell after the first load: {worst:.2f} s (target <= {LIMIT_S:.0f} s): "
          f"{'OK' if worst <= LIMIT_S else 'OVER'}")
    return worst


def interact(cells: list[Any], defs: dict[str, Any], steps: list[tuple[str, dict[str, Any]]]
             ) -> list[tuple[str, dict[str, float]]]:
    """For each step, set the UI elements it names and re-run the cells marimo would re-run."""
    rows = []
    for what, values in steps:
        defs.update(values)
        rows.append((what, run_cells(cells, defs, downstream(cells, set(values)))))
    return rows


def main() -> None:
    print(f"# notebooks benchmark\n{machine.facts()}")
    build_store()
    sys.argv = [sys.argv[0], "--store", str(STORE)]
    module = load_notebook("audit")
    cells = cells_in_order(module)
    defs: dict[str, Any] = {}
    load = run_cells(cells, defs)
    audit = defs["audit"]
    fms, labs = audit.failure_modes(), audit.labelers()
    every = "(all)"

    def both(fm: str | None, lab: str | None) -> dict[str, Any]:
        return {"fm_choice": mo.ui.dropdown([every, *fms], value=fm or every),
                "labeler_choice": mo.ui.dropdown([every, *labs], value=lab or every)}

    rows = interact(cells, defs, [
        ("choose a failure mode", both(fms[0], None)), ("choose a labeler", both(None, labs[0])),
        ("choose both", both(fms[0], labs[0])), ("back to all", both(None, None)),
        ("the failure mode again (cached agreement)", both(fms[0], None))])
    s = audit.summary["store"]
    print(f"\nstore: {s['n_judgments']:,} judgments, {s['n_labelers']:,} labelers, {s['n_failure_modes']} failure "
          "modes; stages at load (s): " + ", ".join(f"{k} {v:.1f}" for k, v in audit.ctx.timings.items()))
    worst = table("### audit.py", cells, load, rows)

    # labeler.py and items.py load the same audit: their load cell is replaced by the one already run
    shared = {"audit": audit, "con": audit.engine.con}
    lab_cells = cells_in_order(load_notebook("labeler"))
    lab_defs = dict(shared)
    lab_load = run_cells(lab_cells, lab_defs, {c.name for c in lab_cells} - {"load"})
    lab_rows = interact(lab_cells, lab_defs, [
        (f"labeler {lab}", {"labeler_choice": mo.ui.dropdown(labs, value=lab)}) for lab in labs[1:4]])
    table("### labeler.py (the audit load shared with audit.py)", lab_cells, lab_load, lab_rows)

    # items.py's load cell also fetches the model versions' answers once (for every re-derivation of the gold)
    t0 = time.perf_counter()
    audit.answers()
    print(f"\nitems.py load: fetching the model versions' answers took {time.perf_counter() - t0:.2f} s")
    it_cells = cells_in_order(load_notebook("items"))
    it_defs = dict(shared)
    it_load = run_cells(it_cells, it_defs, {c.name for c in it_cells} - {"load"})
    names = nb.flagged_labeler_ids(audit)
    it_rows = interact(it_cells, it_defs, [
        ("filter: a failure mode", {"items_fm_choice": mo.ui.dropdown([every, *fms], value=fms[0])}),
        ("filter: a labeler", {"items_labeler_choice": mo.ui.dropdown([every, *labs], value=labs[0])}),
        ("keep every flagged labeler (re-derive gold)",
         {"gold_form": SimpleNamespace(value={**nb.gold_defaults(audit), "spare": names})}),
        ("also set aside an unflagged labeler's work (re-derive gold)",
         {"gold_form": SimpleNamespace(value={**nb.gold_defaults(audit), "exclude": [labs[-1]]})}),
        ("only high-severity findings, posterior threshold 0.8 (re-derive gold)",
         {"gold_form": SimpleNamespace(value={**nb.gold_defaults(audit), "severity": "high", "posterior": 0.8})}),
    ])
    table("### items.py (the audit load shared with audit.py)", it_cells, it_load, it_rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak resident memory of this process: {peak:.2f} GiB; audit.py slowest after load {worst:.2f} s")


if __name__ == "__main__":
    main()
