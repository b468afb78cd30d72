"""Benchmark: the audit on real public crowdsourcing datasets with ground truth (tests/fixtures/realdata/).

    .venv/bin/python -m benchmarks.bench_realdata [--fixed-timestamp] [NAME...]

For each dataset: ingest through the real CLI into a temporary store, `evalaudit run` with the dataset's config,
and score the run's gold labels and findings against the truth (tests/realdata.py). Prints one Markdown table:
dataset, items, workers, judgments, distinct labels, space; the gold score (accuracy, or Pearson r for numeric
labels) and how many items got no gold, next to crowd-kit's Dawid–Skene and MajorityVote on the same data
(reference.json); spam flags (and how many of them hit workers with kappa >= 0.6 against the truth); medium/high
leniency/severity flags (and how many point against the worker's true bias); run time. This is the table of
docs/realdata.md.

`--fixed-timestamp` ingests a copy of each fixture with one fixed `labeled_at` added, for code whose ingest still
refuses labels without timestamps; the table then says so.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from benchmarks import machine
from tests import realdata


def _pct(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"


def _r(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.3f}"


def row(name: str, fixed_timestamp: bool) -> str:
    """One table row for one dataset (the audit runs in a throwaway directory)."""
    labels, _truth, space, _ = realdata.load(name)
    ref = realdata.REFERENCE["datasets"][name]
    with tempfile.TemporaryDirectory(prefix=f"realdata-{name}-") as tmp:
        start = time.perf_counter()
        a = realdata.audit(name, Path(tmp), fixed_timestamp=fixed_timestamp)
        seconds = time.perf_counter() - start
        head = (f"| {name} | {labels['item_id'].nunique()} | {labels['labeler_id'].nunique()} | {len(labels)} "
                f"| {labels['label'].nunique()} | {space.kind} |")
        if space.numeric:
            refs = f"r {_r(ref['mean']['pearson_r'])} (mean) / {_r(ref['median']['pearson_r'])} (median)"
        else:
            refs = f"{_pct(ref['dawid_skene'])} / {_pct(ref['majority_vote'])}"
        if not a.ok:
            failed = a.ingest if a.ingest.returncode != 0 else a.run
            step = "ingest" if a.ingest.returncode != 0 else "run"
            line = (failed.stderr.strip().splitlines() or ["(no message)"])[-1]
            # the sentence without the "evalaudit: <file>: " prefix, short enough for a table cell
            msg = line.split(".csv: ", 1)[-1].split(".toml: ", 1)[-1][:80].replace("|", "/")
            return f"{head} {step} exit {failed.returncode}: {msg} | — | {refs} | — | — | {seconds:.1f} |"
        score = realdata.gold_score(a)
        gold = f"r {_r(score)}" if space.numeric else _pct(score)
        no_gold = int(a.gold().reindex(a.truth.index).isna().sum())
        findings = a.findings()
        spam = sorted({f["labeler_id"] for f in findings if f["kind"] == "labeler_spam"})
        bad_spam = realdata.good_workers_flagged_spam(a)
        checks = realdata.leniency_checks(a)
        wrong = sum(not c["agrees"] for c in checks)
        return (f"{head} {gold} | {no_gold} | {refs} | {len(spam)} ({len(bad_spam)} good) "
                f"| {len(checks)} ({wrong} wrong way) | {seconds:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", default=realdata.DATASETS)
    ap.add_argument("--fixed-timestamp", action="store_true",
                    help="ingest a copy with one fixed labeled_at (for code that refuses timestamp-less labels)")
    args = ap.parse_args()
    print(machine.facts(), "\n")
    if args.fixed_timestamp:
        print(f"(labels ingested with one fixed labeled_at = {realdata.FIXED_TIMESTAMP} added)\n")
    print("| dataset | items | workers | judgments | labels | space | gold (evalaudit) | items without gold "
          "| crowd-kit DS / MV | spam flags | leniency flags (m/h) | seconds |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for name in args.names:
        print(row(name, args.fixed_timestamp), flush=True)
    print("\ngold: accuracy % against the truth (an item without gold counts as wrong); numeric: Pearson r of the "
          "gold score with the true score. Spam flags: labeler_spam findings (in brackets: on workers with Cohen's "
          "kappa >= 0.6 against the truth on >= 30 items). Leniency flags: medium/high labeler_leniency/"
          "labeler_severity findings (in brackets: pointing against the worker's true bias).")


if __name__ == "__main__":
    main()
