"""Batch-level expectations (issue 7 §2): metrics of the whole batch, computed with DuckDB against the store
(named queries ``contracts_*``), gathered into small frames and checked by Great Expectations like any other frame.

- **overlap**: share of the batch's items that two or more of its labelers judged, at least ``min_overlap``.
- **honeypot accuracy**: per labeler, share of their honeypot judgments matching the known answer, at least
  ``min_honeypot_accuracy`` (labelers with fewer than ``min_honeypot_items`` honeypots are listed, not held to it).
  The exact (Clopper–Pearson 1934) interval is shown beside each accuracy so a reader can judge small samples.
- **agreement**: Krippendorff's alpha (Krippendorff 2011) on the batch's overlapping items, at the configured
  measurement level, via `evalaudit.agreement` — the same code `evalaudit run` uses — at least ``min_alpha``.
- **positive-rate shift**: per labeler × failure mode, the batch's positive rate minus the labeler's own history
  (or, with too little own history, their peers' history on the failure mode). A shift violates the contract when
  it exceeds ``max_positive_shift`` *and* its Newcombe (1998, method 10) interval for a difference of independent
  proportions excludes 0, so sampling noise in a small batch does not fail a vendor. Peers are a coarser reference
  than the labeler's own history (different items), which the result notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from evalaudit import agreement, labelspace
from evalaudit.config import Config
from evalaudit.contracts.gx import Spec, column
from evalaudit.engine import DuckDBEngine


@dataclass
class BatchChecks:
    specs: list[Spec] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: expectation name -> why it cannot run
    cannot: dict[str, str] = field(default_factory=dict)


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def overlap(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    r = engine.query("contracts_overlap").to_pylist()[0]
    n_items, n_over = int(r["n_items"] or 0), int(r["n_overlap_items"] or 0)
    share = _ratio(n_over, n_items)
    bound = cfg.contracts.min_overlap
    spec = Spec("overlap_share", "batch", f"at least {bound:.0%} of the batch's items are judged by two or more "
                "of its labelers", "overlap",
                lambda g: g.ExpectColumnValuesToBeBetween(column="overlap_share", min_value=bound),
                column="overlap_share", bound=f">= {bound:g}", index_columns=("n_items", "n_overlap_items"),
                observed=share, scalar=True, note=f"{n_over:,} of {n_items:,} items")
    out.specs.append(spec)
    if bound <= 0:
        out.cannot[spec.expectation] = f"[contracts] min_overlap is 0 (observed {n_over:,} of {n_items:,} items)"
    elif not n_items:
        out.cannot[spec.expectation] = "the batch has no items"
    out.frames["overlap"] = pd.DataFrame({"overlap_share": [share], "n_items": [n_items],
                                          "n_overlap_items": [n_over]})


def honeypot(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    from statsmodels.stats.proportion import proportion_confint

    c = cfg.contracts
    t = engine.query("contracts_honeypot") if engine.has_table("items") else pa.table(
        {"labeler_id": pa.array([], pa.string()), "n_honeypots": pa.array([], pa.int64()),
         "n_correct": pa.array([], pa.int64())})
    n = np.asarray(t.column("n_honeypots").to_pylist(), dtype=float)
    k = np.asarray(t.column("n_correct").to_pylist(), dtype=float)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="beta") if len(n) else (np.array([]), np.array([]))
    frame = pd.DataFrame({"labeler_id": t.column("labeler_id").to_pylist(), "n_honeypots": n.astype(int),
                          "n_correct": k.astype(int), "accuracy": np.where(n > 0, k / np.maximum(n, 1), np.nan),
                          "ci_low": lo, "ci_high": hi})
    details = frame.assign(held_to_bound=frame["n_honeypots"] >= c.min_honeypot_items).to_dict("records")
    judged = frame[frame["n_honeypots"] >= c.min_honeypot_items].reset_index(drop=True)
    bound = c.min_honeypot_accuracy
    spec = Spec("honeypot_accuracy", "batch",
                f"each labeler's accuracy on honeypot items is at least {bound:.0%}", "honeypot",
                lambda g: g.ExpectColumnValuesToBeBetween(column="accuracy", min_value=bound),
                column="accuracy", bound=f">= {bound:g}",
                index_columns=("labeler_id", "n_honeypots", "n_correct", "ci_low", "ci_high"), details=details,
                note=f"labelers with at least {c.min_honeypot_items} honeypot judgments; 95% Clopper–Pearson "
                     "intervals shown")
    out.specs.append(spec)
    if frame.empty:
        out.cannot[spec.expectation] = "the batch judges no honeypot items (items with a honeypot_label)"
    elif judged.empty:
        out.cannot[spec.expectation] = (f"no labeler judged {c.min_honeypot_items} or more honeypot items "
                                        f"(most: {int(frame['n_honeypots'].max())})")
    out.frames["honeypot"] = judged


def agreement_check(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    c = cfg.contracts
    judgments = engine.query("contracts_overlap_judgments")
    n_items = len(set(judgments.column("item_id").to_pylist())) if judgments.num_rows else 0
    alpha = pct = None
    if n_items >= max(c.min_alpha_items, 1):
        alpha = agreement.krippendorff_alpha(judgments, level=cfg.labels.level, order=cfg.labels.order or None)
        pct = agreement.percent_agreement(judgments)
    bound = c.min_alpha
    spec = Spec("agreement_alpha", "batch",
                f"Krippendorff's alpha ({cfg.labels.level}) on the batch's overlapping items is at least {bound:g}",
                "agreement", lambda g: g.ExpectColumnValuesToBeBetween(column="alpha", min_value=bound),
                column="alpha", bound=f">= {bound:g}", index_columns=("n_items", "percent_agreement"),
                observed=alpha, scalar=True,
                note=f"{n_items:,} items judged by two or more labelers of the batch"
                     + (f"; percent agreement {pct:.3f}" if pct is not None else ""))
    out.specs.append(spec)
    if alpha is None:
        out.cannot[spec.expectation] = (f"only {n_items:,} items are judged by two or more labelers of the batch "
                                        f"(at least {c.min_alpha_items} needed)")
    out.frames["agreement"] = pd.DataFrame({"alpha": [alpha], "n_items": [n_items], "percent_agreement": [pct]})


def shift_interval(pos_batch: int, n_batch: int, pos_ref: int, n_ref: int, confidence: float) -> tuple[float, float]:
    """Interval for (pos_batch / n_batch) - (pos_ref / n_ref): Newcombe's (1998) hybrid score method 10, from
    statsmodels — a Wald interval misbehaves for rates near 0 or 1, which positive rates of eval labels often are."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    lo, hi = confint_proportions_2indep(pos_batch, n_batch, pos_ref, n_ref, method="newcomb", compare="diff",
                                        alpha=1 - confidence)
    return float(lo), float(hi)


def positive_shift(engine: DuckDBEngine, cfg: Config, out: BatchChecks) -> None:
    c = cfg.contracts
    positive = labelspace.resolve(engine, cfg).positive
    if positive is None:
        return
    rates = engine.query("contracts_positive_rates", positive=positive).to_pylist()
    rows = []
    for raw in rates:
        # SUM gives HUGEINT (Decimal in Python) on DuckDB: counts as int before any arithmetic
        r = {k: (int(v) if k.startswith(("n_", "pos_")) else v) for k, v in raw.items()}
        if r["n_batch"] < c.shift_min_batch:
            continue
        if r["n_own"] >= c.shift_min_history:
            ref, n_ref, pos_ref = "own history", r["n_own"], r["pos_own"]
        elif r["n_peers"] >= c.shift_min_history:
            ref, n_ref, pos_ref = "peers' history", r["n_peers"], r["pos_peers"]
        else:
            continue
        p_batch, p_ref = r["pos_batch"] / r["n_batch"], pos_ref / n_ref
        lo, hi = shift_interval(r["pos_batch"], r["n_batch"], pos_ref, n_ref, c.shift_confidence)
        rows.append({"labeler_id": r["labeler_id"], "failure_mode": r["failure_mode"], "reference": ref,
                     "n_batch": r["n_batch"], "rate_batch": p_batch, "n_reference": n_ref, "rate_reference": p_ref,
                     "shift": p_batch - p_ref, "ci_low": lo, "ci_high": hi,
                     "beyond_chance": int(lo > 0 or hi < 0)})
    frame = pd.DataFrame(rows, columns=["labeler_id", "failure_mode", "reference", "n_batch", "rate_batch",
                                        "n_reference", "rate_reference", "shift", "ci_low", "ci_high",
                                        "beyond_chance"])
    m = c.max_positive_shift
    spec = Spec("positive_rate_shift", "batch",
                f"no labeler's rate of {positive!r} on a failure mode shifts from their history (or "
                f"their peers') by more than {m:g} beyond chance", "shift",
                lambda g: g.ExpectColumnValuesToBeBetween(column="shift", min_value=-m, max_value=m,
                                                          row_condition=column("beyond_chance") == 1),
                column="shift", bound=f"|shift| <= {m:g} (or its {c.shift_confidence:.0%} Newcombe interval "
                                      "contains 0)",
                index_columns=("labeler_id", "failure_mode", "reference", "rate_batch", "rate_reference",
                               "n_batch", "ci_low", "ci_high"),
                details=frame.to_dict("records"),
                note=f"labeler × failure modes with at least {c.shift_min_batch} judgments in the batch and "
                     f"{c.shift_min_history} in the store")
    out.specs.append(spec)
    if frame.empty:
        out.cannot[spec.expectation] = (f"no labeler × failure mode has {c.shift_min_batch} judgments in the batch "
                                        f"and {c.shift_min_history} in the store to compare with")
    out.frames["shift"] = frame


def checks(engine: DuckDBEngine, cfg: Config) -> BatchChecks:
    out = BatchChecks()
    overlap(engine, cfg, out)
    honeypot(engine, cfg, out)
    agreement_check(engine, cfg, out)
    positive_shift(engine, cfg, out)
    return out
