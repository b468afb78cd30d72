"""LLM judges beside people (the `judges` stage): how well each model judge agrees with the people, per failure mode,
and how that changed from one version of the judge to the next. docs/judges.md explains the methods.

A model used as a judge is a labeler (schema: ``labelers.kind = 'model'``; null = human), so every other analysis
(leniency per failure mode, drift, concentration, spam, agreement, Dawid–Skene consensus) already treats it like
any labeler; this stage adds what only makes sense for a judge: agreement with the *people*. The people's label of
an item is their majority label (their most frequent label; items where it ties are left out and counted), taken
from people only, so a judge is never compared with itself or with another judge.

Per judge × failure mode (and ``all``) on the items both the judge and at least one person judged:

- percent agreement with the people's majority, with Wilson's (1927) score interval
  (:func:`evalaudit.intervals.wilson`);
- Cohen's (1960) kappa of the judge against the people's majority (chance agreement from the two marginal
  distributions), with an item-bootstrap percentile interval: kappa depends only on the judge × majority count
  table, and resampling items with replacement is a multinomial draw of that table (Efron & Tibshirani 1993, ch. 6),
  so B resamples cost O(B·K²), not O(B·items);
- against the previous version of the same judge (labeler ids ``name@version``; versions ordered by their first
  judgment), the change in percent agreement with Newcombe's (1998, method 10) hybrid score interval and the change
  in kappa with the percentile interval of the difference of the two versions' independent bootstraps.

Judges are ordinary labelers for the consensus (Dawid–Skene weighs every labeler by its estimated confusion
matrix, so a poor judge counts for little); the comparison here uses the people's majority alone. Numeric label
spaces (interval/ratio) have no majority label: the stage skips them and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.agreement.api import kappa_from_tables
from evalaudit.agreement.bootstrap import percentile_interval, rng_for
from evalaudit.frames import positions
from evalaudit.intervals import newcombe, wilson
from evalaudit.stage import Context, StageResult, define_judgments, skip

#: what each number of the judges table is, named wherever it is shown
AGREEMENT_METHOD = "percent agreement with the people's majority label, Wilson score interval"
KAPPA_METHOD = ("Cohen's kappa against the people's majority label, item-bootstrap percentile interval "
                "(multinomial over the judge × majority table)")
CHANGE_METHOD = ("change from the judge's previous version: percent agreement with Newcombe's hybrid score "
                 "interval; kappa with the percentile interval of the two versions' independent bootstraps")
#: the row of a judge's figures over all failure modes
ALL = "all"
#: a judge labeler id is ``name@version`` (docs/judges.md); without ``@`` the whole id is the name
VERSION_SEP = "@"

JUDGES_SCHEMA = pa.schema([
    pa.field("judge_id", pa.string()),
    pa.field("judge", pa.string()),
    pa.field("version", pa.string()),
    pa.field("failure_mode", pa.string()),
    pa.field("n_items", pa.int64()),
    pa.field("n_tied", pa.int64()),
    pa.field("percent_agreement", pa.float64()),
    pa.field("agreement_ci_low", pa.float64()),
    pa.field("agreement_ci_high", pa.float64()),
    pa.field("kappa", pa.float64()),
    pa.field("kappa_ci_low", pa.float64()),
    pa.field("kappa_ci_high", pa.float64()),
    pa.field("previous_version", pa.string()),
    pa.field("agreement_change", pa.float64()),
    pa.field("agreement_change_ci_low", pa.float64()),
    pa.field("agreement_change_ci_high", pa.float64()),
    pa.field("kappa_change", pa.float64()),
    pa.field("kappa_change_ci_low", pa.float64()),
    pa.field("kappa_change_ci_high", pa.float64()),
])


def split_version(judge_id: str) -> tuple[str, str | None]:
    """(name, version) of a judge labeler id ``name@version`` (split at the last ``@``); (id, None) without one."""
    name, sep, version = judge_id.rpartition(VERSION_SEP)
    return (name, version) if sep and name and version else (judge_id, None)


def cohen_kappa(table: np.ndarray) -> np.ndarray:
    """Cohen's kappa of K×K count tables (rows: one rater, columns: the other), over any leading axes: the
    agreement API's :func:`~evalaudit.agreement.api.kappa_from_tables` with identity weights (nan where a table is
    empty; 1 where both raters used one and the same category throughout)."""
    t = np.asarray(table, dtype=float)
    k = t.shape[-1]
    tables = t.reshape(int(np.prod(t.shape[:-2], dtype=np.int64)), k, k)  # explicit count: K may be 0
    return kappa_from_tables(tables, np.eye(k)).reshape(t.shape[:-2])


@dataclass
class Comparison:
    """One judge × failure mode: the judge × majority count table and its bootstrap kappas."""

    table: np.ndarray
    n_tied: int
    boot: np.ndarray

    @property
    def n(self) -> int:
        return int(self.table.sum())

    @property
    def agree(self) -> int:
        return int(np.trace(self.table))


def compare(judge_codes: np.ndarray, human_codes: np.ndarray, k: int, n_resamples: int,
            rng: np.random.Generator) -> Comparison:
    """The judge × people's-majority table of one slice (label codes 0..k-1; a human code of -1 = the people
    tied) and ``n_resamples`` item-bootstrap kappas of it."""
    tied = human_codes < 0
    table = np.bincount(judge_codes[~tied] * k + human_codes[~tied], minlength=k * k).reshape(k, k)
    n = int(table.sum())
    if n == 0:
        boot = np.full(0, np.nan)
    else:
        draws = rng.multinomial(n, table.ravel() / n, size=n_resamples).reshape(n_resamples, k, k)
        boot = cohen_kappa(draws)
    return Comparison(table, int(tied.sum()), boot)


def judges_table(pairs: pa.Table, roster: pa.Table, confidence: float = 0.95, n_resamples: int = 1000,
                 seed: int = 0) -> pa.Table:
    """The judges table (``JUDGES_SCHEMA``) from the judge-beside-people pairs (SQL ``judges_pairs``) and the
    roster of judges (SQL ``judges_roster``): one row per judge × failure mode and per judge over ``all``."""
    categories = pa.array(sorted({*pc.unique(pairs["judge_label"]).to_pylist(),
                                  *pc.unique(pairs["human_label"]).drop_null().to_pylist()}), pa.string())
    k = len(categories)
    judge_codes, human_codes = positions(pairs["judge_label"], categories), positions(pairs["human_label"], categories)
    order = _version_order(roster)
    judge_of = positions(pairs["judge_id"], pa.array(order, pa.string()))
    fm_names = pc.unique(pairs["failure_mode"]).to_pylist()
    fm_of = positions(pairs["failure_mode"], pa.array(fm_names, pa.string()))
    results: dict[tuple[str, str], Comparison] = {}
    for j, judge in enumerate(order):
        mine = judge_of == j
        for fm in [ALL, *sorted(set(np.asarray(fm_names, dtype=object)[np.unique(fm_of[mine])].tolist()))]:
            sel = mine if fm == ALL else mine & (fm_of == fm_names.index(fm))
            results[judge, fm] = compare(judge_codes[sel], human_codes[sel], k, n_resamples,
                                         rng_for(seed, "judges", judge, fm))
    previous = _previous_versions(order)
    rows = []
    for (judge, fm), c in results.items():
        name, version = split_version(judge)
        kappa = float(cohen_kappa(c.table))
        k_low, k_high, _ = percentile_interval(c.boot, confidence) if c.n else (np.nan, np.nan, 0)
        a_low, a_high = (float(x) for x in wilson(c.agree, c.n, confidence))
        row = {"judge_id": judge, "judge": name, "version": version, "failure_mode": fm, "n_items": c.n,
               "n_tied": c.n_tied, "percent_agreement": c.agree / c.n if c.n else np.nan,
               "agreement_ci_low": a_low, "agreement_ci_high": a_high, "kappa": kappa, "kappa_ci_low": k_low,
               "kappa_ci_high": k_high, "previous_version": None}
        prev = results.get((previous.get(judge), fm)) if previous.get(judge) else None
        if prev is not None and prev.n and c.n:
            d_low, d_high = (float(x) for x in newcombe(c.agree, c.n, prev.agree, prev.n, confidence))
            m = min(len(c.boot), len(prev.boot))
            kd_low, kd_high, _ = percentile_interval(c.boot[:m] - prev.boot[:m], confidence)
            row.update(previous_version=split_version(previous[judge])[1] or previous[judge],
                       agreement_change=c.agree / c.n - prev.agree / prev.n, agreement_change_ci_low=d_low,
                       agreement_change_ci_high=d_high, kappa_change=kappa - float(cohen_kappa(prev.table)),
                       kappa_change_ci_low=kd_low, kappa_change_ci_high=kd_high)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=JUDGES_SCHEMA)


def _version_order(roster: pa.Table) -> list[str]:
    """Judge ids by name, then by first judgment (versions without a time last), then by id."""
    r = roster.to_pylist()
    r.sort(key=lambda x: (split_version(x["judge_id"])[0], x["first_at"] is None, x["first_at"] or 0,
                          x["judge_id"]))
    return [x["judge_id"] for x in r]


def _previous_versions(order: list[str]) -> dict[str, str]:
    """judge id -> the id of the same judge's previous version in ``order`` (absent for a first version)."""
    out, last = {}, {}
    for judge in order:
        name, version = split_version(judge)
        if version is not None and name in last:
            out[judge] = last[name]
        if version is not None:
            last[name] = judge
    return out


#: the columns the notebooks show, in order
SHOWN = ("judge_id", "failure_mode", "n_items", "kappa", "kappa_ci_low", "kappa_ci_high", "percent_agreement",
         "agreement_ci_low", "agreement_ci_high", "previous_version", "kappa_change", "kappa_change_ci_low",
         "kappa_change_ci_high")


def shown(table: pa.Table | None, failure_mode: str | None = None) -> pa.Table:
    """The judges table as the audit notebook shows it: the rows of ``failure_mode`` (every judge's ``all`` row
    when None), judges in version order, the columns of ``SHOWN``."""
    table = JUDGES_SCHEMA.empty_table() if table is None else table
    keep = pc.equal(table["failure_mode"], failure_mode or ALL)
    return table.filter(keep).select(list(SHOWN))


def judge_ids(engine) -> list[str]:
    """The labelers the store marks as model judges (none when the labelers table has no ``kind`` column)."""
    if not engine.has_table("labelers") or "kind" not in getattr(engine, "columns", lambda name: ["kind"])(
            "labelers"):
        return []
    return [r["judge_id"] for r in engine.query("judges_ids").to_pylist()]


def stage(ctx: Context) -> StageResult:
    """The judges table, ``summary.judges`` and what could not be compared (see module docstring)."""
    judges = judge_ids(ctx.engine) if ctx.engine.has_table("labels") else []
    if not judges:
        return StageResult(summary={"judges": {"judges": 0}})
    space = ctx.labels
    if space.numeric:
        return StageResult(summary={"judges": {"judges": len(judges)}}, skipped=[skip(
            "judges against people", f"{len(judges)} model judge(s) are labelers like any other, but their "
            f"agreement with the people's majority label needs categorical labels, and these are {space.space}")])
    define_judgments(ctx)
    pairs = ctx.engine.query("judges_pairs")
    roster = ctx.engine.query("judges_roster")
    cfg = ctx.cfg.agreement
    table = judges_table(pairs, roster, cfg.confidence, cfg.bootstrap)
    skipped = []
    compared = {r["judge_id"] for r in table.to_pylist() if r["failure_mode"] == ALL and r["n_items"] > 0}
    alone = sorted(set(judges) - compared)
    if alone:
        skipped.append(skip("judges against people", (
            f"{len(alone)} model judge(s) judged no item that a person also judged (with a majority label), so "
            f"their agreement with people cannot be measured: {', '.join(alone[:5])}"
            f"{' ...' if len(alone) > 5 else ''}")))
    summary = {"judges": {"judges": len(judges), "compared": len(compared), "agreement_method": AGREEMENT_METHOD,
                          "kappa_method": KAPPA_METHOD, "change_method": CHANGE_METHOD}}
    return StageResult(tables={"judges": table}, summary=summary, skipped=skipped)
