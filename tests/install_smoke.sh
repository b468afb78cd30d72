#!/usr/bin/env bash
# The install path a user takes (README.md, "Installing"): build the wheel, `pip install` it into a fresh venv in a directory
# outside the checkout, and run every command and every notebook from there — so a packaging slip (a module
# imported but not declared, a file the wheel does not carry) fails here instead of for the first user.
#
#   tests/install_smoke.sh [WORKDIR]   (default: a temporary directory, removed on success; `make install-smoke`)
#
# Needs: python3 with venv, and PyPI (or the configured index) for the dependencies and the build backend.
# Takes a few minutes: most of it is pip installing the dependencies and the four notebook exports.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
if [ -n "${1:-}" ]; then mkdir -p "$1"; WORK="$(cd "$1" && pwd)"; else WORK="$(mktemp -d -t evalaudit-install-XXXXXX)"; fi
case "$WORK/" in "$ROOT"/*) echo "install_smoke: $WORK is inside the checkout $ROOT; give a directory outside it" >&2
  exit 2 ;; esac
N_JUDGMENTS="${SMOKE_JUDGMENTS:-50000}"

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
fail() { echo "install_smoke: FAILED: $*" >&2; exit 1; }
expect_exit() {  # expect_exit CODE CMD... : run CMD, fail unless it exits CODE
  local want="$1"; shift
  set +e; "$@"; local got=$?; set -e
  [ "$got" -eq "$want" ] || fail "\`$*\` exited $got, expected $want"
}

cd "$WORK"
step "fresh venv in $WORK"
rm -rf venv wheel run   # a kept WORKDIR is reused from scratch: pip would keep an installed wheel of the same version
"$PY" -m venv venv
VPY="$WORK/venv/bin/python"
E="$WORK/venv/bin/evalaudit"

step "build the wheel from $ROOT"
"$VPY" -m pip wheel --quiet --no-deps -w wheel "$ROOT"
WHEEL="$(ls wheel/evalaudit-*.whl)"
echo "$WHEEL"

step "pip install the wheel (not the checkout)"
"$VPY" -m pip install --quiet "$WHEEL"

step "the installed package imports every one of its modules, and finds its notebooks inside itself"
mkdir -p run && cd run
"$VPY" - <<'EOF'
import importlib
import pkgutil
from pathlib import Path

import evalaudit
from evalaudit import notebook_files

home = Path(evalaudit.__file__).resolve().parent
assert "site-packages" in home.parts, f"evalaudit imported from {home}, not from the installed wheel"
names = [m.name for m in pkgutil.walk_packages(evalaudit.__path__, "evalaudit.")]
for name in names:
    importlib.import_module(name)
for nb in notebook_files.NOTEBOOKS:
    path = notebook_files.notebook_path(nb)
    assert path.parent == home / "_notebooks", path
print(f"imported {len(names)} modules from {home}; notebooks in {home / '_notebooks'}")
EOF

step "evalaudit demo"
"$E" demo --store store --judgments "$N_JUDGMENTS"
[ -s store/truth.json ] || fail "demo wrote no store/truth.json"

step "evalaudit run"
"$E" run --store store --out report --fail-on never
for f in report/findings.json report/index.html; do [ -s "$f" ] || fail "run wrote no $f"; done

step "evalaudit relabel"
"$E" relabel --store store --out queue.csv --top 50
[ "$(wc -l < queue.csv)" -gt 1 ] || fail "relabel wrote an empty queue"

step "two batches from the store's recent judgments: one that passes the contract, one that violates it"
"$VPY" - <<'EOF'
import csv

import duckdb

from evalaudit.store import Store

files = [str(f) for f in Store.open("store").files("labels")]
rows = duckdb.connect().sql(
    "SELECT 'new-' || item_id AS item_id, labeler_id, label, failure_mode, CAST(labeled_at AS VARCHAR) AS labeled_at, "
    "batch_id, vendor, guideline_version, duration_s FROM read_parquet($f) "
    "WHERE labeled_at >= TIMESTAMP '2026-09-01' ORDER BY labeled_at, item_id, labeler_id", params={"f": files}
).to_arrow_table().to_pylist()
assert len(rows) > 500, len(rows)
for path, data in (("batch_ok.csv", rows), ("batch_bad.csv", rows[:200])):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(data)
with open("batch_bad.csv", "a", newline="", encoding="utf-8") as f:
    csv.writer(f).writerow(["new-x1", "nobody-999", "maybe", "hallucination", "2026-10-01 00:00:00+00", "", "", "",
                            ""])
EOF

count_labels() {
  "$VPY" -c 'import duckdb; from evalaudit.store import Store
files = [str(f) for f in Store.open("store").files("labels")]
print(duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0])'
}

step "evalaudit check (exit 1 on a violation, 0 on a passing batch, --docs writes the validation page)"
expect_exit 1 "$E" check batch_bad.csv --store store
expect_exit 0 "$E" check batch_ok.csv --store store --docs check_docs
[ -n "$(ls check_docs)" ] || fail "check --docs wrote nothing"

step "evalaudit check --promote appends the batch"
before="$(count_labels)"
expect_exit 0 "$E" check batch_ok.csv --store store --promote
after="$(count_labels)"
[ "$after" -gt "$before" ] || fail "check --promote did not add the batch's judgments ($before -> $after)"
echo "labels: $before -> $after"

step "evalaudit notebook NAME --export: every notebook runs headless from the installed package"
for nb in audit labeler batch_gate items; do
  "$E" notebook "$nb" --store store --export "nb_$nb.html"
  grep -q "marimo" "nb_$nb.html" || fail "the export of $nb is not a marimo page"
  [ "$(wc -c < "nb_$nb.html")" -gt 10000 ] || fail "the export of $nb is too small"
done
site="$("$VPY" -c 'import evalaudit, pathlib; print(pathlib.Path(evalaudit.__file__).parent)')"
[ ! -e "$site/_notebooks/__marimo__" ] || fail "exporting wrote into the installed package ($site/_notebooks/__marimo__)"

step "errors stay one sentence: a missing store is exit 2, a store whose audit fails is exit 1"
expect_exit 2 "$E" notebook audit --store nowhere --export x.html
mkdir -p empty_store
expect_exit 1 "$E" notebook audit --store empty_store --export broken.html

step "install smoke passed in ${SECONDS}s"
cd /
if [ -z "${1:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi   # a failure keeps it, to look at
