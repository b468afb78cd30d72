"""Batch-level expectations: metrics of the whole batch judged against the store's own history, computed with
DuckDB (named queries ``contracts_*``) and the statistics of :mod:`evalaudit.contracts.compare`, gathered into small
frames and checked by Great Expectations like any other frame (docs/contracts.md, "Batch expectations").

Relative by default: a team whose labelers have always agreed at alpha 0.64 is held to 0.64, not to a textbook
0.667 that every one of its honest batches would fail. Each relative check shows the batch's value and the
history's, each with its interval and sample size:

- **agreement_vs_history**: Krippendorff's alpha (Krippendorff 2011) on the batch's overlapping items against the
  history's on the same failure modes — the batch's own labelers' judgments together where they have at least
  ``min_alpha_items`` shared items, else everyone's. One-sided z-test with item-bootstrap standard errors
  (:func:`compare.alpha_drop`): fails when the drop exceeds ``max_alpha_drop`` beyond chance.
- **honeypot_vs_history**: per labeler, honeypot accuracy in the batch against the labeler's own honeypot history
  and against their peers', one-sided Fisher exact tests, Benjamini–Hochberg across the tests: fails when a
  labeler's accuracy drops by more than ``max_honeypot_drop`` beyond chance.
- **positive_rate_shift** (an acceptable label is known), **label_rate_shift** (binary or nominal labels without
  one: each label's rate), **mean_label_shift** (ordinal and numeric labels: the mean label, in category steps or
  the scale's units): per labeler × failure mode, the batch against the labeler's own history (or, with less than
  ``shift_min_history`` judgments, their peers'), Newcombe (1998) or Welch (1947) intervals.

The absolute floors (``min_alpha``, ``min_honeypot_accuracy``) run when there is no history to compare with (a
first batch), or always with ``absolute_floors = "always"``; a relative check with nothing to compare with says so.
``overlap_share`` is absolute (``min_overlap``, off by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from evalaudit import labelspace
from evalaudit.agreement import bootstrap
from evalaudit.agreement import patterns as pat
from evalaudit.agreement.categories import build as build_categories
from evalaudit.agreement.categories import krippendorff_metric
from evalaudit.config import Config, ContractsConfig
from evalaudit.contracts import compare
from evalaudit.contracts.gx import Spec, column
from evalaudit.engine import DuckDBEngine
from evalaudit.labelspace import LabelSpace
from evalaudit.multiplicity import bh

#: the method named beside every relative verdict
ALPHA_METHOD = ("one-sided z-test on alpha(batch) - alpha(history) with item-bootstrap standard errors "
                "(Hayes & Krippendorff 2007)")
#: the frame of whole-batch numbers
METRICS = "batch_metrics"
HONEYPOT_METHOD = "one-sided Fisher exact test per labeler and reference, Benjamini–Hochberg across tests"


@dataclass
class BatchChecks:
    specs: list[Spec] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: expectation name -> why it cannot run
    cannot: dict[str, str] = field(default_factory=dict)
    #: the whole-batch numbers (overlap share, alpha, p-value ...): one one-row frame, validated by one suite
    metrics: dict[str, float | int | None] = field(default_factory=dict)


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _ci(lo: float, hi: float) -> str:
    return f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) and np.isfinite(hi) else "[n/a]"


def _floor_skip(cfg: Config, relative_ran: bool, relative: str) -> str | None:
    """Why an absolute floor does not run (None: it runs)."""
    if cfg.contracts.absolute_floors == "always" or not relative_ran:
        return None
    return (f"the batch was compared with the store's history instead ({relative}); [contracts] "
            'absolute_floors = "always" holds it to this floor as well')


def overlap(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    r = engine.query("contracts_overlap").to_pylist()[0]
    n_items, n_over = int(r["n_items"] or 0), int(r["n_overlap_items"] or 0)
    share = _ratio(n_over, n_items)
    bound = cfg.contracts.min_overlap
    spec = Spec("overlap_share", "batch", f"at least {bound:.0%} of the batch's items are judged by two or more "
                "of its labelers", METRICS,
                lambda g: g.ExpectColumnValuesToBeBetween(column="overlap_share", min_value=bound),
                column="overlap_share", bound=f">= {bound:g}", index_columns=(),
                observed=share, scalar=True, note=f"{n_over:,} of {n_items:,} items")
    out.specs.append(spec)
    if bound <= 0:
        out.cannot[spec.expectation] = f"[contracts] min_overlap is 0 (observed {n_over:,} of {n_items:,} items)"
    elif not n_items:
        out.cannot[spec.expectation] = "the batch has no items"
    out.metrics["overlap_share"] = share


# -- honeypots ------------------------------------------------------------------------------------------------------
_HONEYPOT_EMPTY = pa.table({k: pa.array([], pa.string() if k == "labeler_id" else pa.int64()) for k in (
    "labeler_id", "n_honeypots", "n_correct", "n_own", "k_own", "n_peers", "k_peers")})


def honeypot(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    """``honeypot_vs_history`` (relative) and ``honeypot_accuracy`` (the absolute floor)."""
    c = cfg.contracts
    t = engine.query("contracts_honeypot") if engine.has_table("items") else _HONEYPOT_EMPTY
    d = {k: np.asarray(t.column(k).to_pylist(), dtype=float) for k in t.column_names if k != "labeler_id"}
    labelers = t.column("labeler_id").to_pylist()
    n, k = d["n_honeypots"], d["n_correct"]
    lo, hi = compare.clopper_pearson(k, n)
    acc = np.where(n > 0, k / np.maximum(n, 1), np.nan)

    # relative: each labeler with enough honeypots in the batch, against own and peers' history where enough
    parts = []
    for ref, nr, kr in (("own history", d["n_own"], d["k_own"]), ("peers' history", d["n_peers"], d["k_peers"])):
        use = (n >= c.min_honeypot_items) & (nr >= c.min_honeypot_items)
        rlo, rhi = compare.clopper_pearson(kr[use], nr[use])
        parts.append(pd.DataFrame({
            "labeler_id": np.asarray(labelers, dtype=object)[use], "reference": ref, "n_batch": n[use].astype(int),
            "accuracy_batch": acc[use], "batch_ci_low": lo[use], "batch_ci_high": hi[use],
            "n_reference": nr[use].astype(int), "accuracy_reference": kr[use] / nr[use], "reference_ci_low": rlo,
            "reference_ci_high": rhi, "drop": kr[use] / nr[use] - acc[use],
            "p_value": compare.honeypot_lower(k[use], n[use], kr[use], nr[use])}))
    rel = pd.concat(parts, ignore_index=True).sort_values(["labeler_id", "reference"], ignore_index=True)
    level = 1 - c.history_confidence
    rel["q_value"] = bh(rel["p_value"].to_numpy(dtype=float))
    rel["beyond_chance"] = (rel["q_value"] < level).astype(int)
    m = c.max_honeypot_drop
    spec = Spec("honeypot_vs_history", "batch",
                f"no labeler's honeypot accuracy is lower than in their own or their peers' history by more than "
                f"{m:g} beyond chance", "honeypot_history",
                lambda g: g.ExpectColumnValuesToBeBetween(column="drop", max_value=m,
                                                          row_condition=column("beyond_chance") == 1),
                column="drop", bound=f"drop <= {m:g} (or q >= {level:g})",
                index_columns=("labeler_id", "reference", "accuracy_batch", "batch_ci_low", "batch_ci_high",
                               "n_batch", "accuracy_reference", "reference_ci_low", "reference_ci_high",
                               "n_reference", "q_value"),
                details=rel.to_dict("records"),
                note=f"{HONEYPOT_METHOD}; 95% Clopper–Pearson intervals; labelers with at least "
                     f"{c.min_honeypot_items} honeypot judgments in the batch and in the reference")
    out.specs.append(spec)
    relative_ran = not rel.empty
    if not labelers:
        out.cannot[spec.expectation] = "the batch judges no honeypot items (items with a honeypot_label)"
    elif not relative_ran:
        out.cannot[spec.expectation] = (
            f"nothing to compare with: no labeler has {c.min_honeypot_items} or more honeypot judgments both in "
            "the batch and in the store's history (their own or their peers')")
    out.frames["honeypot_history"] = rel

    # absolute floor
    frame = pd.DataFrame({"labeler_id": labelers, "n_honeypots": n.astype(int), "n_correct": k.astype(int),
                          "accuracy": acc, "ci_low": lo, "ci_high": hi})
    details = frame.assign(held_to_bound=frame["n_honeypots"] >= c.min_honeypot_items).to_dict("records")
    judged = frame[frame["n_honeypots"] >= c.min_honeypot_items].reset_index(drop=True)
    bound = c.min_honeypot_accuracy
    spec = Spec("honeypot_accuracy", "batch",
                f"each labeler's accuracy on honeypot items is at least {bound:.0%}", "honeypot",
                lambda g: g.ExpectColumnValuesToBeBetween(column="accuracy", min_value=bound),
                column="accuracy", bound=f">= {bound:g}",
                index_columns=("labeler_id", "n_honeypots", "n_correct", "ci_low", "ci_high"), details=details,
                note=f"absolute floor; labelers with at least {c.min_honeypot_items} honeypot judgments; 95% "
                     "Clopper–Pearson intervals shown")
    out.specs.append(spec)
    if frame.empty:
        out.cannot[spec.expectation] = "the batch judges no honeypot items (items with a honeypot_label)"
    elif judged.empty:
        out.cannot[spec.expectation] = (f"no labeler judged {c.min_honeypot_items} or more honeypot items "
                                        f"(most: {int(frame['n_honeypots'].max())})")
    elif (why := _floor_skip(cfg, relative_ran, "honeypot_vs_history")) is not None:
        out.cannot[spec.expectation] = why
    out.frames["honeypot"] = judged


# -- agreement ------------------------------------------------------------------------------------------------------
def _n_items(t: pa.Table) -> int:
    return len(pc.unique(t.column("item_id"))) if t.num_rows else 0


def _among_batch_labelers(history: pa.Table) -> pa.Table:
    """The batch's own labelers' history judgments, on the items two or more of them judged (the query marks them:
    grouping here with Arrow's engine cost more than the whole query)."""
    return history.filter(pc.equal(history.column("among_batch_labelers"), 1))


def agreement_check(engine: DuckDBEngine, cfg: Config, space: LabelSpace, out: BatchChecks) -> None:
    """``agreement_vs_history`` (relative) and ``agreement_alpha`` (the absolute floor)."""
    c, level = cfg.contracts, cfg.labels.level
    batch_j = engine.query("contracts_overlap_judgments")
    n_batch = _n_items(batch_j)
    history_j = engine.query("contracts_history_judgments", max_items=c.history_max_items)
    own = _among_batch_labelers(history_j)
    history_j, who = (own, "the batch's labelers") if _n_items(own) >= c.min_alpha_items else (history_j,
                                                                                              "all labelers")
    n_history = _n_items(history_j)
    b = h = None
    problem = None
    try:
        observed = {x for t in (batch_j, history_j) for x in pc.unique(t.column("label")).to_pylist()}
        cats = build_categories(sorted(x for x in observed if x is not None), list(space.labels),
                                cfg.labels.order or None)
        delta2 = krippendorff_metric(level, cats)
    except ValueError as e:
        problem = f"Krippendorff's alpha at the {level} level cannot be computed: {e}"
    else:
        rng = bootstrap.rng_for(cfg.run.seed, "contracts", "agreement")
        for name, table, n_items in (("batch", batch_j, n_batch), ("history", history_j, n_history)):
            if n_items < max(c.min_alpha_items, 1):
                continue
            patterns = pat.from_arrow(table.select(["item_id", "label"]), cats)
            est = (compare.alpha_with_se(patterns, delta2, c.alpha_resamples, 0.95, rng)
                   if patterns is not None else None)
            if name == "batch":
                b = est
            else:
                h = est
    diff = p = None
    if b is not None and h is not None:
        diff, p = compare.alpha_drop(b, h, c.max_alpha_drop)
    level_p = 1 - c.history_confidence
    m = c.max_alpha_drop

    def side(e: compare.AlphaEstimate | None, n_items: int) -> str:
        if e is None:
            return f"not measured ({n_items:,} items judged by two or more labelers)"
        return f"{e.value:.3f} {_ci(e.ci_low, e.ci_high)} on {e.n_items:,} items ({e.n_labels:,} labels)"

    detail = {"alpha_batch": b and b.value, "batch_ci_low": b and b.ci_low, "batch_ci_high": b and b.ci_high,
              "n_items_batch": n_batch, "alpha_history": h and h.value, "history_ci_low": h and h.ci_low,
              "history_ci_high": h and h.ci_high, "n_items_history": n_history, "history_labelers": who,
              "difference": diff, "p_value": p}
    note = (f"batch {side(b, n_batch)} vs history ({who}, the batch's failure modes) {side(h, n_history)}; "
            f"95% item-bootstrap percentile intervals; {ALPHA_METHOD}"
            + (f": difference {diff:+.3f}, p = {p:.3g}" if p is not None else ""))
    spec = Spec("agreement_vs_history", "batch",
                f"Krippendorff's alpha ({level}) on the batch's overlapping items is not lower than the history's "
                f"by more than {m:g} beyond chance", METRICS,
                lambda g: g.ExpectColumnValuesToBeBetween(column="p_value", min_value=level_p),
                column="p_value", bound=f"p >= {level_p:g} (H0: drop <= {m:g})", observed=diff, scalar=True,
                index_columns=(), note=note, details=[detail])
    out.specs.append(spec)
    relative_ran = p is not None
    if problem:
        out.cannot[spec.expectation] = problem
    elif b is None:
        out.cannot[spec.expectation] = (f"only {n_batch:,} items are judged by two or more labelers of the batch "
                                        f"(at least {c.min_alpha_items} needed)")
    elif h is None:
        out.cannot[spec.expectation] = (
            f"nothing to compare with: the store holds {n_history:,} items on the batch's failure modes judged by "
            f"two or more labelers (at least {c.min_alpha_items} needed)")
    out.metrics["p_value"] = p

    bound = c.min_alpha
    alpha = b.value if b is not None else None
    spec = Spec("agreement_alpha", "batch",
                f"Krippendorff's alpha ({level}) on the batch's overlapping items is at least {bound:g}",
                METRICS, lambda g: g.ExpectColumnValuesToBeBetween(column="alpha", min_value=bound),
                column="alpha", bound=f">= {bound:g}", index_columns=(), observed=alpha, scalar=True,
                note=f"absolute floor; batch {side(b, n_batch)}")
    out.specs.append(spec)
    if problem:
        out.cannot[spec.expectation] = problem
    elif alpha is None:
        out.cannot[spec.expectation] = out.cannot["agreement_vs_history"]
    elif (why := _floor_skip(cfg, relative_ran, "agreement_vs_history")) is not None:
        out.cannot[spec.expectation] = why
    out.metrics["alpha"] = alpha


# -- label shifts ---------------------------------------------------------------------------------------------------
def shift_interval(pos_batch: int, n_batch: int, pos_ref: int, n_ref: int, confidence: float) -> tuple[float, float]:
    """Newcombe's (1998) hybrid score interval (method 10) for (pos_batch / n_batch) - (pos_ref / n_ref)."""
    lo, hi = compare.newcombe(pos_batch, n_batch, pos_ref, n_ref, confidence)
    return float(lo), float(hi)


def _reference(n_own: np.ndarray, n_peers: np.ndarray, minimum: int) -> np.ndarray:
    """Per cell: 0 own history, 1 peers' history, -1 neither has ``minimum`` judgments."""
    return np.where(n_own >= minimum, 0, np.where(n_peers >= minimum, 1, -1))


def simultaneous(confidence: float, m: int) -> float:
    """Each of ``m`` intervals at this confidence holds together with probability at least ``confidence``
    (Bonferroni): a batch from honest labelers then fails a shift check at most 1 - confidence of the time, however
    many labelers and failure modes it has."""
    return 1 - (1 - confidence) / max(m, 1)


REFERENCES = np.array(["own history", "peers' history"], dtype=object)


def rate_shift(engine: DuckDBEngine, cfg: Config, space: LabelSpace, out: BatchChecks) -> None:
    """``positive_rate_shift`` (an acceptable label is known) or ``label_rate_shift`` (each label's rate)."""
    c = cfg.contracts
    t = engine.query("contracts_label_rates").to_pandas()
    keys = ["labeler_id", "failure_mode"]
    totals = t.groupby(keys, sort=False, dropna=False)[["n_batch", "n_own", "n_all"]].transform("sum")
    t = t.assign(tot_batch=totals["n_batch"], tot_own=totals["n_own"], tot_peers=totals["n_all"] - totals["n_own"],
                 n_peers=t["n_all"] - t["n_own"])
    positive = space.positive if space.space in ("binary", "nominal") else None
    if positive is not None:
        t = t[t["label"] == positive]
    ref = _reference(t["tot_own"].to_numpy(), t["tot_peers"].to_numpy(), c.shift_min_history)
    keep = (t["tot_batch"].to_numpy() >= c.shift_min_batch) & (ref >= 0)
    t, ref = t[keep], ref[keep]
    own = ref == 0
    k_ref = np.where(own, t["n_own"], t["n_peers"]).astype(float)
    n_ref = np.where(own, t["tot_own"], t["tot_peers"]).astype(float)
    confidence = simultaneous(c.shift_confidence, len(t))
    lo, hi = compare.newcombe(t["n_batch"], t["tot_batch"], k_ref, n_ref, confidence)
    rate_b = t["n_batch"].to_numpy(dtype=float) / np.maximum(t["tot_batch"].to_numpy(dtype=float), 1)
    rate_r = k_ref / np.maximum(n_ref, 1)
    b_lo, b_hi = compare.wilson(t["n_batch"], t["tot_batch"])
    r_lo, r_hi = compare.wilson(k_ref, n_ref)
    frame = pd.DataFrame({"labeler_id": t["labeler_id"].to_numpy(), "failure_mode": t["failure_mode"].to_numpy(),
                          "label": t["label"].to_numpy(), "reference": REFERENCES[ref] if len(ref) else [],
                          "n_batch": t["tot_batch"].to_numpy(dtype=int), "rate_batch": rate_b,
                          "batch_rate_ci_low": b_lo, "batch_rate_ci_high": b_hi,
                          "n_reference": n_ref.astype(int), "rate_reference": rate_r,
                          "reference_rate_ci_low": r_lo, "reference_rate_ci_high": r_hi, "shift": rate_b - rate_r,
                          "ci_low": lo, "ci_high": hi, "beyond_chance": ((lo > 0) | (hi < 0)).astype(int)})
    m = c.max_positive_shift
    if positive is not None:
        frame = frame.drop(columns=["label"])
        name, what = "positive_rate_shift", f"rate of {positive!r}"
    else:
        name, what = "label_rate_shift", "rate of any label"
    index = tuple(x for x in ("labeler_id", "failure_mode", "label", "reference", "rate_batch", "batch_rate_ci_low",
                              "batch_rate_ci_high", "n_batch", "rate_reference", "reference_rate_ci_low",
                              "reference_rate_ci_high", "n_reference", "ci_low", "ci_high") if x in frame.columns)
    spec = Spec(name, "batch",
                f"no labeler's {what} on a failure mode shifts from their history (or their peers') by more than "
                f"{m:g} beyond chance", "shift",
                lambda g: g.ExpectColumnValuesToBeBetween(column="shift", min_value=-m, max_value=m,
                                                          row_condition=column("beyond_chance") == 1),
                column="shift", bound=f"|shift| <= {m:g} (or its simultaneous {c.shift_confidence:.0%} Newcombe "
                                      "interval contains 0)",
                index_columns=index, details=frame.to_dict("records"),
                note=f"95% Wilson intervals of each rate; Newcombe (1998) hybrid score interval of the difference "
                     f"of rates (ci_low, ci_high), at {confidence:.4g} "
                     f"confidence each (Bonferroni over the {len(frame):,} comparisons, so that an honest batch "
                     f"fails with probability at most {1 - c.shift_confidence:.0%}); labeler × failure modes "
                     f"with at least {c.shift_min_batch} judgments in the batch and {c.shift_min_history} in the "
                     "store")
    _shift_spec(out, spec, frame, c)


def _shift_spec(out: BatchChecks, spec: Spec, frame: pd.DataFrame, c: ContractsConfig) -> None:
    out.specs.append(spec)
    if frame.empty:
        out.cannot[spec.expectation] = (
            f"nothing to compare with: no labeler × failure mode has {c.shift_min_batch} judgments in the batch "
            f"and {c.shift_min_history} in the store (own or peers')")
    out.frames["shift"] = frame


def mean_shift(engine: DuckDBEngine, cfg: Config, space: LabelSpace, out: BatchChecks) -> None:
    """``mean_label_shift`` for ordinal and numeric labels: the mean label (category steps, or the scale's units)
    per labeler × failure mode against their own history (or peers'), Welch's t interval; violated when the shift
    exceeds ``max_mean_shift`` history standard deviations and the interval excludes 0."""
    c = cfg.contracts
    if space.space == "ordinal" or space.numbers is None:
        scores = np.arange(space.n_values, dtype=float)
        unit = "category steps"
    else:
        scores = np.asarray(space.numbers, dtype=float)
        unit = "the scale's units"
    engine.register("label_scores", pa.table({"label": pa.array(space.labels, pa.string()),
                                              "score": pa.array(scores, pa.float64())}))
    t = engine.query("contracts_score_moments").to_pandas()
    for stat in ("n", "s1", "s2"):
        t[f"{stat}_peers"] = t[f"{stat}_all"] - t[f"{stat}_own"]
    ref = _reference(t["n_own"].to_numpy(), t["n_peers"].to_numpy(), c.shift_min_history)
    keep = (t["n_batch"].to_numpy() >= c.shift_min_batch) & (ref >= 0)
    t, ref = t[keep], ref[keep]
    own = ref == 0

    def moments(prefix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = t[f"n_{prefix}"].to_numpy(dtype=float)
        s1, s2 = t[f"s1_{prefix}"].to_numpy(dtype=float), t[f"s2_{prefix}"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s1 / n
            var = np.maximum(s2 - n * mean * mean, 0) / (n - 1)
        return mean, var, n

    mb, vb, nb = moments("batch")
    mo, vo, no = moments("own")
    mp, vp, np_ = moments("peers")
    mr, vr, nr = np.where(own, mo, mp), np.where(own, vo, vp), np.where(own, no, np_)
    confidence = simultaneous(c.shift_confidence, len(t))
    lo, hi, p = compare.welch(mb, vb, nb, mr, vr, nr, confidence)
    sd = np.sqrt(np.maximum(vr, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        half_b = stats.t.ppf(0.975, np.maximum(nb - 1, 1)) * np.sqrt(vb / nb)
        half_r = stats.t.ppf(0.975, np.maximum(nr - 1, 1)) * np.sqrt(vr / nr)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.where(sd > 0, (mb - mr) / np.where(sd > 0, sd, 1), np.where(mb == mr, 0.0, np.inf))
    frame = pd.DataFrame({"labeler_id": t["labeler_id"].to_numpy(), "failure_mode": t["failure_mode"].to_numpy(),
                          "reference": REFERENCES[ref] if len(ref) else [], "n_batch": nb.astype(int),
                          "mean_batch": mb, "batch_mean_ci_low": mb - half_b, "batch_mean_ci_high": mb + half_b,
                          "n_reference": nr.astype(int), "mean_reference": mr, "reference_mean_ci_low": mr - half_r,
                          "reference_mean_ci_high": mr + half_r, "shift": mb - mr,
                          "ci_low": lo, "ci_high": hi, "p_value": p, "standardized_shift": std,
                          "beyond_chance": ((lo > 0) | (hi < 0)).astype(int)})
    m = c.max_mean_shift
    spec = Spec("mean_label_shift", "batch",
                f"no labeler's mean label on a failure mode moves from their history (or their peers') by more "
                f"than {m:g} standard deviations beyond chance", "shift",
                lambda g: g.ExpectColumnValuesToBeBetween(column="standardized_shift", min_value=-m, max_value=m,
                                                          row_condition=column("beyond_chance") == 1),
                column="standardized_shift",
                bound=f"|shift| <= {m:g} SD of the reference (or its simultaneous {c.shift_confidence:.0%} Welch "
                      "interval contains 0)",
                index_columns=("labeler_id", "failure_mode", "reference", "mean_batch", "batch_mean_ci_low",
                               "batch_mean_ci_high", "n_batch", "mean_reference", "reference_mean_ci_low",
                               "reference_mean_ci_high", "n_reference", "ci_low", "ci_high"),
                details=frame.to_dict("records"),
                note=f"mean label in {unit}; 95% t intervals of each mean; Welch (1947) t interval of the "
                     f"difference of means (ci_low, ci_high), at "
                     f"{confidence:.4g} confidence each (Bonferroni over the {len(frame):,} comparisons); labeler × "
                     f"failure modes with at least {c.shift_min_batch} judgments in the batch and "
                     f"{c.shift_min_history} in the store")
    _shift_spec(out, spec, frame, c)


def checks(engine: DuckDBEngine, cfg: Config, label_counts: list[dict] | None = None) -> BatchChecks:
    """The batch expectations; ``label_counts``: the rows of ``contracts_label_values`` when the caller already
    read them (the check does, for the allowed labels)."""
    out = BatchChecks()
    rows = engine.query("contracts_label_values").to_pylist() if label_counts is None else label_counts
    space = labelspace.build({r["label"]: int(r["n_labels"]) for r in rows}, cfg)
    overlap(engine, cfg, out)
    honeypot(engine, cfg, out)
    agreement_check(engine, cfg, space, out)
    if space.ordered:
        mean_shift(engine, cfg, space, out)
    else:
        rate_shift(engine, cfg, space, out)
    out.frames[METRICS] = pd.DataFrame([out.metrics])
    return out
