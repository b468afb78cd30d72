"""The seed chart: "our eval said every release got better — is that true?" For a failure mode, the eval score of
each model version in release order, against today's gold and against audited gold, each with its interval — the
divergence visible at a glance. The report draws it as static SVG, the items notebook with altair; both read the
rows built here, so they show the same numbers.

Release order is the model versions' name order (the order impact.parquet and the findings use). Each score's
interval is the Wilson score interval (scipy.stats.binomtest(...).proportion_ci(method="wilson")) of a share of
``n_items`` (today's gold) or ``n_audited`` (audited gold) items; the interval on their difference — the paired
bootstrap of impact.parquet, ``delta = score_current − score_audited`` (docs/outputs.md) — is carried along for
tooltips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from evalaudit import intervals
from evalaudit.report import svg

CURRENT, AUDITED = "today's gold", "audited gold"
METHOD = "Wilson 95% interval per score"


def wilson(score: float | None, n: int | None, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a share ``score`` of ``n`` items (None when undefined); the one Wilson interval of
    the package, :func:`evalaudit.intervals.wilson`."""
    if score is None or n is None or n <= 0 or not math.isfinite(score):
        return None, None
    lo, hi = intervals.wilson(round(score * n), int(n), confidence)
    return float(lo), float(hi)


def release_scores(impact: pa.Table, failure_mode: str) -> list[dict[str, Any]]:
    """Rows (model_version, gold, score, ci_low, ci_high, n, delta, delta_low, delta_high) for ``failure_mode``
    ('all' = the whole eval), two per model version, in release order."""
    t = impact.filter(pc.equal(impact["failure_mode"], failure_mode))
    out = []
    for r in sorted(t.to_pylist(), key=lambda r: r["model_version"]):
        n_aud = r.get("n_audited", r.get("n_items"))
        for gold, score, n in ((CURRENT, r["score_current"], r["n_items"]), (AUDITED, r["score_audited"], n_aud)):
            lo, hi = wilson(score, n)
            out.append({"model_version": r["model_version"], "gold": gold, "score": score, "ci_low": lo,
                        "ci_high": hi, "n": n, "delta": r.get("delta"), "delta_low": r.get("ci_low"),
                        "delta_high": r.get("ci_high")})
    return out


def inflated_modes(findings: Sequence[Any]) -> list[str]:
    """The failure modes ('all' for the whole eval) with an eval_score_inflation finding, largest effect first;
    ``findings`` are findings.json dicts or Finding objects."""
    def get(f: Any, k: str) -> Any:
        return f.get(k) if isinstance(f, dict) else getattr(f, k, None)
    found = [f for f in findings if get(f, "kind") == "eval_score_inflation"]
    found.sort(key=lambda f: (get(f, "failure_mode") is None, -abs(get(f, "effect") or 0.0)))
    return [get(f, "failure_mode") or "all" for f in found]


def svg_chart(rows: list[dict[str, Any]], failure_mode: str, width: int = 520) -> Markup:
    """The seed chart as static SVG: one line per gold, its Wilson band, release order on x."""
    order = list(dict.fromkeys(r["model_version"] for r in rows))
    series = {g: [(r["model_version"], r["score"]) for r in rows if r["gold"] == g] for g in (CURRENT, AUDITED)}
    bands = {g: [(r["model_version"], r["ci_low"], r["ci_high"]) for r in rows if r["gold"] == g]
             for g in (CURRENT, AUDITED)}
    where = "the whole eval" if failure_mode == "all" else failure_mode
    return svg.lines(series, bands=bands, order=order, band_label=METHOD, width=width, height=250,
                     title=f"Eval score on {where} per model version: today's vs audited gold",
                     x_label="model version (release order)", y_label="score (share correct)")
