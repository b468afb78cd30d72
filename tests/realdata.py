"""Audit the real crowdsourcing datasets of tests/fixtures/realdata/ and score the audit against their ground truth.

Shared by tests/test_realdata.py (which asserts the targets of docs/realdata.md) and benchmarks/bench_realdata.py (which
prints the table of docs/realdata.md), so that both measure the same thing the same way:

- gold accuracy: share of truth items whose `gold_label` in `items.parquet` equals the truth; an item without a
  gold label counts as wrong. For numeric datasets exact equality is meaningless, so the Pearson correlation of the
  gold score with the true score is used instead (reference: the per-item mean, as in Snow et al. 2008).
- a worker's agreement with the truth: Cohen's kappa (statsmodels) on the items they judged; for numeric labels the
  quadratic-weighted kappa on the values themselves (Cohen 1968), which reduces to the same idea on a scale.
- a worker's true bias: for a binary space with a positive label, their rate of the positive label minus the true
  rate on the same items; per label (nominal, no positive), the same for that label; for numeric and ordinal
  spaces, the mean of (their value − the true value), signed so that positive means toward the better end.
- a worker's difference from peers (what a finding resting on peers alone claims): the same quantity with the mean
  of the other workers' judgments of the item in place of the truth, on the items they share.

Everything runs through the real `evalaudit` command line (click's runner, in this process: the first run pays
Great Expectations' start-up once, ~15 s, instead of once per dataset), on a store in a temporary directory.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner
from statsmodels.stats.inter_rater import cohens_kappa

from evalaudit.cli import main as evalaudit_main
from tests.conftest import FIXTURES

REALDATA = FIXTURES / "realdata"
REFERENCE = json.loads((REALDATA / "reference.json").read_text(encoding="utf-8"))
DATASETS = sorted(p.name for p in REALDATA.iterdir() if (p / "labels.csv").exists())

#: Transitional: while `evalaudit ingest` refuses labels without `labeled_at`, setting this environment variable
#: makes the audit ingest a temporary copy of each fixture with one fixed timestamp added, so the other targets
#: can be measured. The committed fixtures stay timestamp-less. Remove once timestamp-less ingest has landed.
FIXED_TIMESTAMP_ENV = "EVALAUDIT_REALDATA_FIXED_TIMESTAMP"
FIXED_TIMESTAMP = "2024-01-01T00:00:00Z"

GOOD_KAPPA = 0.6  # a worker agreeing with the truth at least this well ...
GOOD_MIN_ITEMS = 30  # ... on at least this many items is not a spammer
TOLERANCE = 0.005  # gold may trail the reference by at most half a point


@dataclass
class Space:
    """The dataset's label space as its evalaudit.toml declares it (the same keys a user would set)."""

    level: str
    positive: str | None
    order: list[str]
    n_labels: int

    @property
    def numeric(self) -> bool:
        return self.level in ("interval", "ratio")

    @property
    def kind(self) -> str:
        if self.level in ("ordinal", "interval", "ratio"):
            return self.level
        return "binary" if self.n_labels == 2 else "nominal"


@dataclass
class Audit:
    """One dataset ingested into a fresh store and audited: the two processes and what the run wrote."""

    name: str
    ingest: subprocess.CompletedProcess
    run: subprocess.CompletedProcess | None
    out: Path
    config: Path | None
    labels: pd.DataFrame = field(repr=False)
    truth: pd.Series = field(repr=False)
    space: Space = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.ingest.returncode == 0 and self.run is not None and self.run.returncode in (0, 1)

    def findings(self) -> list[dict]:
        return json.loads((self.out / "findings.json").read_text(encoding="utf-8"))["findings"]

    def gold(self) -> pd.Series:
        items = pq.read_table(self.out / "items.parquet", columns=["item_id", "gold_label"]).to_pandas()
        return items.set_index("item_id")["gold_label"]

    def leniency(self) -> pd.DataFrame:
        return pq.read_table(self.out / "leniency.parquet").to_pandas()


def load(name: str) -> tuple[pd.DataFrame, pd.Series, Space, Path | None]:
    """The fixture's judgments, truth (indexed by item_id), label space and config path (None without one)."""
    d = REALDATA / name
    labels = pd.read_csv(d / "labels.csv", dtype=str)
    truth = pd.read_csv(d / "truth.csv", dtype=str).set_index("item_id")["truth"]
    config = d / "evalaudit.toml"
    cfg = tomllib.loads(config.read_text(encoding="utf-8")).get("labels", {}) if config.exists() else {}
    space = Space(level=cfg.get("level", "nominal"), positive=cfg.get("positive"), order=cfg.get("order", []),
                  n_labels=labels["label"].nunique())
    return labels, truth, space, config if config.exists() else None


def evalaudit(*args: object) -> subprocess.CompletedProcess:
    """Invoke the real CLI in-process; an exception escaping it (a bug) becomes exit 3 with its repr as stderr."""
    argv = [str(a) for a in args]
    result = CliRunner().invoke(evalaudit_main, argv)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return subprocess.CompletedProcess(argv, 3, result.stdout, f"{stderr}{result.exception!r}")
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, stderr)


def audit(name: str, workdir: Path, fixed_timestamp: bool | None = None) -> Audit:
    """Ingest the fixture through the real CLI into ``workdir/store`` and run the audit into ``workdir/out``."""
    labels, truth, space, config = load(name)
    if fixed_timestamp is None:
        fixed_timestamp = bool(os.environ.get(FIXED_TIMESTAMP_ENV))
    source = REALDATA / name / "labels.csv"
    if fixed_timestamp:
        source = workdir / "labels_with_fixed_timestamp.csv"
        labels.assign(labeled_at=FIXED_TIMESTAMP).to_csv(source, index=False)
    store, out = workdir / "store", workdir / "out"
    ingest = evalaudit("ingest", source, "--store", store)
    run = None
    if ingest.returncode == 0:
        args = ["run", "--store", store, "--out", out, "--fail-on", "never"]
        run = evalaudit(*args, *(["--config", config] if config else []))
    return Audit(name, ingest, run, out, config, labels, truth, space)


# ---------------------------------------------------------------- scores against the truth


def gold_accuracy(gold: pd.Series, truth: pd.Series) -> float:
    """Share of truth items whose gold equals the truth; items without gold (absent or null) count as wrong."""
    g = gold.reindex(truth.index)
    return float((g.notna() & (g == truth)).mean())


def gold_correlation(gold: pd.Series, truth: pd.Series) -> float:
    """Pearson r of the numeric gold with the true score; an item without gold makes the score NaN (fails)."""
    g = pd.to_numeric(gold.reindex(truth.index), errors="coerce")
    if g.isna().any():
        return math.nan
    return float(np.corrcoef(g.to_numpy(float), truth.astype(float).to_numpy())[0, 1])


def reference(name: str) -> float:
    """The reference figure the gold is held against: crowd-kit Dawid–Skene accuracy, or (numeric) the Pearson r
    of the per-item mean."""
    ref = REFERENCE["datasets"][name]
    return ref["mean"]["pearson_r"] if ref["metric"] == "pearson_r" else ref["dawid_skene"]


def gold_score(a: Audit) -> float:
    """The dataset's gold score (accuracy, or Pearson r for numeric labels) of the run's gold labels."""
    return gold_correlation(a.gold(), a.truth) if a.space.numeric else gold_accuracy(a.gold(), a.truth)


def _kappa(x: pd.Series, y: pd.Series, numeric: bool) -> float:
    """Cohen's kappa of two aligned label series (statsmodels); quadratic-weighted on the values when numeric."""
    if numeric:
        a, b = x.astype(float).to_numpy(), y.astype(float).to_numpy()
        expected = np.mean((a[:, None] - b[None, :]) ** 2)
        return float(1 - np.mean((a - b) ** 2) / expected) if expected > 0 else math.nan
    cats = sorted(set(x) | set(y))
    table = pd.crosstab(pd.Categorical(x, cats), pd.Categorical(y, cats), dropna=False).to_numpy()
    with warnings.catch_warnings():  # a worker who always gives the truth's only label: kappa undefined (NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohens_kappa(table, return_results=False))


def worker_kappas(labels: pd.DataFrame, truth: pd.Series, numeric: bool) -> pd.DataFrame:
    """Per worker: items judged (with truth) and their kappa against the truth."""
    rows = []
    joined = labels.assign(truth=labels["item_id"].map(truth)).dropna(subset=["truth"])
    for lab, g in joined.groupby("labeler_id"):
        rows.append({"labeler_id": lab, "n": len(g), "kappa": _kappa(g["label"], g["truth"], numeric)})
    return pd.DataFrame(rows)


def good_workers(a: Audit) -> set[str]:
    """Workers agreeing with the truth at kappa >= 0.6 on >= 30 items: never spammers."""
    k = worker_kappas(a.labels, a.truth, a.space.numeric)
    return set(k.loc[(k["n"] >= GOOD_MIN_ITEMS) & (k["kappa"] >= GOOD_KAPPA), "labeler_id"])


def good_workers_flagged_spam(a: Audit) -> list[str]:
    good = good_workers(a)
    return sorted({f["labeler_id"] for f in a.findings() if f["kind"] == "labeler_spam" and f["labeler_id"] in good})


def true_bias(a: Audit, labeler: str, label: str | None) -> float:
    """The worker's bias against the truth on their items (see module docstring); positive = lenient/over-use."""
    mine = a.labels[a.labels["labeler_id"] == labeler]
    (x, sign), (y, _) = _values(a, mine["label"], label), _values(a, mine["item_id"].map(a.truth), label)
    return sign * float((x - y).mean())


def _values(a: Audit, labels: pd.Series, label: str | None) -> tuple[pd.Series, float]:
    """Judgments as numbers for a bias: the scale's value (ordered spaces, with the sign that makes positive mean
    toward the better end), else 1 for ``label`` (or the positive label) and 0 for any other."""
    if a.space.kind in ("interval", "ratio", "ordinal"):
        if a.space.kind == "ordinal":
            rank = {c: i for i, c in enumerate(a.space.order)}
            values = labels.map(rank).astype(float)
        else:
            values = labels.astype(float)
        return values, -1.0 if a.space.positive == "low" else 1.0
    target = label if label is not None else a.space.positive
    return (labels == target).astype(float), 1.0


def peer_difference(a: Audit, labeler: str, label: str | None) -> float:
    """What a finding "against peers" claims, computed from the labels alone: on the items the worker shares with
    other workers, their value (1/0 for the label; the scale value on ordered spaces) minus the mean of the other
    workers' values on the same item, averaged over those judgments; positive = lenient/over-use."""
    values, sign = _values(a, a.labels["label"], label)
    frame = a.labels.assign(v=values, own=a.labels["labeler_id"] == labeler)
    others = frame[~frame["own"]].groupby("item_id")["v"].mean()
    mine = frame[frame["own"]]
    peer = mine["item_id"].map(others)
    shared = peer.notna()
    return sign * float((mine["v"][shared] - peer[shared]).mean())


def _finding_label(a: Audit, f: dict) -> str | None:
    """The label a leniency finding is about: its own `label` key when it has one, else the leniency.parquet row
    it headlines (same labeler, failure mode and effect), else the configured positive label."""
    if f.get("label") is not None:
        return f["label"]
    if a.space.kind == "nominal" or (a.space.kind == "binary" and a.space.positive is None):
        rows = a.leniency()
        if "label" in rows.columns:
            hit = rows[(rows["labeler_id"] == f["labeler_id"]) & rows["label"].notna()
                       & np.isclose(rows["effect"].astype(float), float(f["effect"]))]
            if len(hit):
                return str(hit["label"].iloc[0])
    return None


def leniency_checks(a: Audit) -> list[dict]:
    """Every medium/high leniency or severity finding with the worker's true bias and whether the two agree."""
    out = []
    for f in a.findings():
        if f["kind"] not in ("labeler_leniency", "labeler_severity") or f["severity"] not in ("medium", "high"):
            continue
        label = _finding_label(a, f)
        bias = true_bias(a, f["labeler_id"], label)
        direction = 1.0 if f["kind"] == "labeler_leniency" else -1.0
        peer = peer_difference(a, f["labeler_id"], label)
        out.append({"labeler_id": f["labeler_id"], "kind": f["kind"], "severity": f["severity"], "label": label,
                    "effect": f["effect"], "true_bias": bias, "agrees": bool(direction * bias > 0),
                    "parts": (f.get("details") or {}).get("combined_of", []), "peer_difference": peer,
                    "agrees_with_peers": bool(direction * peer > 0)})
    return out
