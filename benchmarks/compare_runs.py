"""Compare the outputs of two versions of evalaudit on the same stores: every number the same?

    .venv/bin/python -m benchmarks.compare_runs --base /tmp/main-export [--work /tmp/compare] [--size 1m]

``--base`` is a checkout (or ``git archive`` export) of the code to compare with — main, say; this tree is the
other side. The stores are built once under ``--work`` with this tree's CLI (the same store for both sides): the
demo (``evalaudit demo``, seed 0, 200k judgments), every real-data fixture (tests/fixtures/realdata, with its
config) and, with ``--size``, the labels-only random store of ``benchmarks.bench_shapes`` (1M judgments). Each
side then runs ``evalaudit run --fail-on never`` on each store as a child process (the base with ``PYTHONPATH``
pointing at its code), and every output is compared: each Parquet file with ``pyarrow.Table.equals`` (and, when
not equal, the largest difference per column), ``findings.json`` as JSON without the keys that time or name the
run. Prints one line per store and file; exits 1 when anything differs beyond ``--atol`` (0: bit for bit). Note:
main itself is not bit-reproducible on every store with several DuckDB threads (two runs of the same code on
trec_relevance differ by up to 1e-14: the engine's row order reaches some sums); with ``EVALAUDIT_THREADS=1`` (the
child processes inherit it) it is, so compare bit for bit that way, or use a small ``--atol``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT / "tests" / "fixtures" / "realdata"
#: keys of findings.json that differ between any two runs (times, ids, paths), left out of the comparison
VOLATILE = {"stage_seconds", "generated_at", "run_id", "store_path", "elapsed_s", "started_at", "first_seen", "as_of"}


def _cli(*args: object, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = "import sys; from evalaudit.cli import main; sys.argv[0] = 'evalaudit'; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd="/tmp")


def stores(work: Path, size: str | None) -> list[tuple[str, Path, Path | None]]:
    """(name, store, config) of every store compared, built once under ``work``."""
    out: list[tuple[str, Path, Path | None]] = []
    demo = work / "stores" / "demo"
    if not (demo / ".complete").exists():
        r = _cli("demo", "--store", demo)
        if r.returncode != 0:
            sys.exit(f"demo failed: {r.stderr[-2000:]}")
        (demo / ".complete").write_text("ok\n")
    out.append(("demo", demo, None))
    for d in sorted(p for p in REALDATA.iterdir() if (p / "labels.csv").exists()):
        store = work / "stores" / d.name
        if not (store / ".complete").exists():
            r = _cli("ingest", d / "labels.csv", "--store", store)
            if r.returncode != 0:
                sys.exit(f"ingest of {d.name} failed: {r.stderr[-2000:]}")
            (store / ".complete").write_text("ok\n")
        config = d / "evalaudit.toml"
        out.append((d.name, store, config if config.exists() else None))
    if size:
        from benchmarks import bench_shapes

        store, _ = bench_shapes.build("random", bench_shapes.SIZES[size])
        out.append((f"random_{size}", Path(store), None))
    return out


def run(name: str, store: Path, config: Path | None, out: Path, pythonpath: str | None) -> None:
    """One side's run on one store, always afresh: only the stores are built once (outputs kept from an earlier
    comparison would compare the code of that comparison), with no run history beside it (a previous run would
    add its own comparison to the summary)."""
    from evalaudit import history

    shutil.rmtree(out, ignore_errors=True)
    history.path_for(out).unlink(missing_ok=True)
    args = ["run", "--store", store, "--out", out, "--fail-on", "never"]
    r = _cli(*args, *(["--config", config] if config else []), pythonpath=pythonpath)
    if r.returncode != 0:
        sys.exit(f"run of {name} failed ({pythonpath or 'this tree'}): {r.stderr[-2000:]}")


def _strip(doc):
    if isinstance(doc, dict):
        return {k: _strip(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [_strip(v) for v in doc]
    return doc


def _json_diff(a, b, atol: float, path: str = "") -> list[str]:
    """Where two JSON documents differ (floats by more than ``atol``; everything else exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only one side" for k in set(a) ^ set(b)]
        for k in sorted(set(a) & set(b)):
            out += _json_diff(a[k], b[k], atol, f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} entries"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _json_diff(x, y, atol, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and abs(a - b) <= atol:
        return []
    return [] if a == b or (a != a and b != b) else [f"{path}: {a!r} vs {b!r}"]


def compare_table(a: pa.Table, b: pa.Table) -> tuple[bool, float, str]:
    """(equal, largest absolute difference of a float column, what differs); NaN equals NaN."""
    if a.equals(b):
        return True, 0.0, ""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False, float("inf"), f"schema or rows differ ({a.num_rows} vs {b.num_rows} rows)"
    worst, what = 0.0, []
    for name in a.column_names:
        x, y = a[name], b[name]
        if x.equals(y):
            continue
        if pa.types.is_floating(x.type):
            u = x.to_numpy(zero_copy_only=False).astype(float)
            v = y.to_numpy(zero_copy_only=False).astype(float)
            if not np.array_equal(np.isnan(u), np.isnan(v)):
                return False, float("inf"), f"{name}: NaN in different rows"
            d = float(np.nanmax(np.abs(u - v), initial=0.0))
            worst = max(worst, d)
            if d > 0:
                what.append(f"{name} (max |diff| {d:.3g})")
        else:
            return False, float("inf"), f"{name} differs"
    return worst == 0, worst, ", ".join(what)


def compare(a: Path, b: Path, atol: float) -> list[tuple[str, bool, str]]:
    """Per output file: (file, same within ``atol``, note)."""
    rows = []
    names = sorted({p.name for p in a.glob("*.parquet")} | {p.name for p in b.glob("*.parquet")})
    for name in names:
        if not (a / name).exists() or not (b / name).exists():
            rows.append((name, False, "only one side wrote it"))
            continue
        equal, worst, what = compare_table(pq.read_table(a / name), pq.read_table(b / name))
        rows.append((name, equal or worst <= atol, "identical" if equal else what or "identical (NaN = NaN)"))
    fa = _strip(json.loads((a / "findings.json").read_text()))
    fb = _strip(json.loads((b / "findings.json").read_text()))
    exact = _json_diff(fa, fb, 0.0)
    diffs = _json_diff(fa, fb, atol)
    note = ("identical (but times)" if not exact else f"{len(exact)} floats differ, all within {atol:g}"
            if not diffs else "; ".join(diffs[:5]))
    rows.append(("findings.json", not diffs, note))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the code to compare with (a checkout or export of main)")
    ap.add_argument("--work", default="/tmp/evalaudit-compare", help="stores and outputs go here")
    ap.add_argument("--size", default=None, help="also the labels-only random store of this size (1m)")
    ap.add_argument("--only", default=None, help="comma-separated store names")
    ap.add_argument("--atol", type=float, default=0.0, help="largest float difference accepted (0: bit for bit)")
    args = ap.parse_args()
    work = Path(args.work)
    ok = True
    for name, store, config in stores(work, args.size):
        if args.only and name not in args.only.split(","):
            continue
        # each run its own parent directory: the run history beside --out is then its own
        base_out, this_out = work / "base" / name / "out", work / "this" / name / "out"
        run(name, store, config, base_out, args.base)
        run(name, store, config, this_out, None)
        for file, same, note in compare(base_out, this_out, args.atol):
            ok &= same
            print(f"{name:18s} {file:36s} {'same' if same else 'DIFFERS'}  {note}")
    print("all outputs the same" if ok else "outputs differ")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
