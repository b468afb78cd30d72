"""Severity: the empirical null of many labeler × failure-mode tests, and the rules that turn evidence into one
finding per labeler × failure mode.

The q-values are Benjamini–Hochberg's (Benjamini & Hochberg 1995, JRSS B 57(1), step-up procedure) from
:func:`evalaudit.multiplicity.bh`; tests without a p-value (NaN) take no part and get a NaN q-value.

Severity (thresholds passed in as :class:`Thresholds`, set in ``[leniency]``, docs/labelers.md):
- high: q < q_high, |effect| >= effect_high, >= gold_items_high of the labeler's gold items on that failure mode,
  and the row is a combined one (or direct: overlap, honeypot, or the Dawid–Skene model);
- medium: q < q_medium and |effect| >= effect_medium, from such a row; or, from a combined row, q <
  q_medium_combined and the whole confidence interval beyond ±effect_negligible (a minimum-effect test; the
  combined row's q-value and interval are already against the honest spread of labelers,
  :mod:`evalaudit.labelers.honest_spread`, or its own empirical null); an assignment row alone stays
  low (it assumes random assignment, which only a declaration and the balance check vouch for — and then the
  assignment evidence is inside the combined row);
- low: any other test with q < q_low.
Where the leniency table has ``combined`` rows (:mod:`evalaudit.labelers.combine`: one test per labeler × failure
mode from the kinds, BH over those tests), a finding is graded on the combined row — it contains the assignment
evidence only where assignment is declared random and balanced — and on the assignment row alone (which stays
low); the kinds' rows are listed in the finding's details as its parts. Without combined rows every row is graded.
Per labeler × failure mode the row giving the highest severity is the finding's headline (ties: combined, overlap,
honeypot, dawid_skene, assignment, then the smaller q): :func:`headlines`. The findings' words are written by the
stage (:mod:`evalaudit.labelers.findings`); this module knows no configuration and no findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

EVIDENCE_ORDER = ("combined", "overlap", "honeypot", "dawid_skene", "assignment")
DIRECT = frozenset({"combined", "overlap", "honeypot", "dawid_skene"})
_RANK = {"high": 2, "medium": 1, "low": 0}


class Thresholds(NamedTuple):
    """The grading thresholds (plain numbers; the stage takes them from ``[leniency]``, docs/config.md)."""

    #: high: q-value below q_high, |effect| at least effect_high, at least gold_items_high gold items affected
    q_high: float
    effect_high: float
    gold_items_high: int
    #: medium: q-value below q_medium and |effect| at least effect_medium
    q_medium: float
    effect_medium: float
    #: medium also, for a combined row: q-value below q_medium_combined and the whole interval beyond
    #: ±effect_negligible
    q_medium_combined: float
    effect_negligible: float
    #: low: any other test with a q-value below q_low
    q_low: float

    @classmethod
    def of(cls, settings: object) -> Thresholds:
        """The thresholds read by name from any object that has them as attributes (the ``[leniency]`` settings)."""
        return cls(**{k: getattr(settings, k) for k in cls._fields})


def empirical_null(p_values, effects, min_tests: int = 50) -> tuple[np.ndarray, float]:
    """p-values against an empirical null (Efron 2004, "Large-scale simultaneous hypothesis testing: the choice
    of a null hypothesis", JASA 99, §2–3): honest labelers differ a little in accuracy, so their true effects are
    small but not zero, and with hundreds of tests the theoretical N(0, 1) null flags the tails of that honest
    spread. Signed z-scores are rescaled by the robust spread of the bulk, sigma0 = MAD / 0.6745 (never below 1,
    so the correction can only make tests more conservative), centred at 0 because effects are already relative to
    peers. With fewer than ``min_tests`` tests the theoretical null is kept. Returns (p-values, sigma0)."""
    p = np.asarray(p_values, dtype=float)
    e = np.asarray(effects, dtype=float)
    ok = np.isfinite(p) & np.isfinite(e)
    if ok.sum() < min_tests:
        return p, 1.0
    z = np.where(e >= 0, 1.0, -1.0) * stats.norm.isf(np.clip(p, 1e-300, 1.0) / 2)
    mad = np.median(np.abs(z[ok] - np.median(z[ok])))
    sigma0 = max(1.0, float(mad / 0.6744897501960817))
    out = np.where(ok, 2 * stats.norm.sf(np.abs(z) / sigma0), p)
    return out, sigma0


def grade(evidence: str, q: float, effect: float, gold_items: int, t: Thresholds,
          scale: float = 1.0, ci: tuple[float, float] | None = None) -> str | None:
    """The severity one evidence row earns, or None when it is not significant. ``scale``: effects on ordered
    scales are judged as a share of the scale's width (so ``effect_medium = 0.05`` is 10 points on -100..100).
    ``ci``: the row's confidence interval; a combined row is also medium when q < q_medium_combined and the whole
    interval lies beyond the negligible band ±effect_negligible (a minimum-effect test: the data rule out an
    effect as small as honest labelers' differences, so no point-estimate floor is needed)."""
    if not np.isfinite(q) or not np.isfinite(effect):
        return None
    size = abs(effect) / scale
    if (evidence in DIRECT and q < t.q_high and size >= t.effect_high and gold_items >= t.gold_items_high):
        return "high"
    if evidence != "assignment" and q < t.q_medium and size >= t.effect_medium:
        return "medium"
    if evidence == "combined" and ci is not None and q < t.q_medium_combined:
        near = min(abs(ci[0]), abs(ci[1])) / scale if np.sign(ci[0]) == np.sign(ci[1]) else 0.0
        if near > t.effect_negligible:
            return "medium"
    if q < t.q_low:
        return "low"
    return None


@dataclass
class Headline:
    """One graded labeler × failure mode: its severity, the headline row (a leniency-table row as a dict), every row
    of the pair (``group``), whether the graded rows of the headline's label agree in sign, and its gold items."""

    key: tuple[str, str]
    severity: str
    head: dict[str, Any]
    group: list[dict[str, Any]]
    agrees_in_sign: bool
    gold_items: int


def headlines(leniency: pa.Table, gold_items: dict[tuple[str, str], int], t: Thresholds, mode: str = "positive",
              scale: float = 1.0) -> list[Headline]:
    """One :class:`Headline` per labeler × failure mode with a graded row (see the module docstring for which rows
    are graded). ``gold_items`` maps (labeler, failure mode) to the gold items they labeled there.

    ``mode`` (see :mod:`evalaudit.labelers.stage`): "positive" — the rate of the acceptable label; "shift" — the
    shift toward the better end of an ordered scale (effects graded as a share of ``scale``, the scale's width);
    "per_label" — rows per label: the headline is the graded row of largest effect, preferring an over-use."""
    q_all = np.asarray(leniency["q_value"].to_numpy(zero_copy_only=False), dtype=float)
    ev_all = np.asarray(leniency["evidence"].to_pylist(), dtype=object)
    has_combined = bool(np.any(ev_all == "combined"))
    # only labeler × failure modes with at least one significant row can yield a finding; all their rows go along
    sig = leniency.filter(pa.array(np.nan_to_num(q_all, nan=1.0) < max(t.q_low, t.q_medium, t.q_high,
                                                                        t.q_medium_combined)))
    keys = pc.binary_join_element_wise(leniency["labeler_id"], leniency["failure_mode"], "\x1f")
    sig_keys = pc.unique(pc.binary_join_element_wise(sig["labeler_id"], sig["failure_mode"], "\x1f"))
    rows = leniency.filter(pc.is_in(keys, value_set=sig_keys)).to_pylist()
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        by_key.setdefault((r["labeler_id"], r["failure_mode"]), []).append(r)
    out = []
    for key, group in by_key.items():
        gold = int(gold_items.get(key, 0))
        graded = []
        for r in group:
            if has_combined and r["evidence"] not in ("combined", "assignment"):
                continue
            sev = grade(r["evidence"], _nan(r["q_value"]), _nan(r["effect"]), gold, t, scale,
                        (_nan(r["ci_low"]), _nan(r["ci_high"])))
            if sev is not None:
                graded.append((sev, r))
        if not graded:
            continue
        if mode == "per_label":  # the clearest over-use first: one label over-used is the bias to name
            graded.sort(key=lambda sr: (-_RANK[sr[0]], sr[1]["effect"] <= 0, -abs(sr[1]["effect"]),
                                        EVIDENCE_ORDER.index(sr[1]["evidence"]), sr[1]["q_value"]))
        else:
            graded.sort(key=lambda sr: (-_RANK[sr[0]], EVIDENCE_ORDER.index(sr[1]["evidence"]),
                                        sr[1]["q_value"]))
        sev, head = graded[0]
        label = head.get("label")
        signs = {np.sign(r["effect"]) for _, r in graded if r.get("label") == label}
        out.append(Headline(key, sev, head, group, len(signs) == 1, gold))
    return out


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)
