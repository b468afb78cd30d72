"""One labeler's profile for the labeler notebook: their rows of the labelers stage's tables and their findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.notebooks.session import Audit
from evalaudit.notebooks.views import empty_leniency, findings_table, where

WORKLOAD_COLUMNS = ("failure_mode", "n_judgments", "share_of_judgments", "n_gold_items", "share_of_gold",
                    "positive_rate", "median_duration_s", "first_labeled_at", "last_labeled_at", "flagged",
                    "max_severity")
CONCENTRATION_COLUMNS = ("failure_mode", "n_gold_items", "n_sole_gold_items", "fm_gold_items", "share_of_gold",
                         "gold_weight", "gold_weight_share", "hhi_gold")
LENIENCY_COLUMNS = ("failure_mode", "evidence", "effect", "ci_low", "ci_high", "p_value", "q_value", "n",
                    "labeler_rate", "peer_rate", "method")


@dataclass
class LabelerProfile:
    """Everything the audit says about one labeler, as tables selected from the stages' outputs."""

    labeler_id: str
    #: the labeler's ``labeler_stats`` row over all failure modes (failure_mode = 'all'), as a dict
    overall: dict[str, Any]
    workload: pa.Table
    leniency: pa.Table
    honeypot: pa.Table
    drift: pa.Table
    drift_series: pa.Table
    concentration: pa.Table
    pairs: pa.Table
    findings: pa.Table
    #: failure modes the labeler has a weekly series on, and the one to show first (a drifting one, else the
    #: busiest)
    failure_modes: list[str]
    default_failure_mode: str | None


def _cols(table: pa.Table | None, columns: Sequence[str]) -> pa.Table:
    if table is None:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return table.select([c for c in columns if c in table.column_names])


def labeler_profile(audit: Audit, labeler_id: str) -> LabelerProfile:
    """Select one labeler's rows from the audit's tables (labeler_stats, leniency, drift, drift_series,
    labeler_pairs) and findings."""
    t = audit.tables
    stats = where(t.get("labeler_stats", pa.table({"labeler_id": pa.array([], pa.string())})), labeler_id=labeler_id)
    overall_rows = where(stats, failure_mode="all").to_pylist() if "failure_mode" in stats.column_names else []
    per_fm = stats.filter(pc.not_equal(stats["failure_mode"], "all")) if "failure_mode" in stats.column_names \
        else stats
    per_fm = per_fm.sort_by([("n_judgments", "descending")]) if "n_judgments" in per_fm.column_names else per_fm
    leniency = where(t.get("leniency", empty_leniency()), labeler_id=labeler_id)
    leniency = leniency.sort_by([("failure_mode", "ascending"), ("evidence", "ascending")])
    drift = _cols(where(t["drift"], labeler_id=labeler_id) if "drift" in t else None,
                  ("failure_mode", "change_date", "effect_before", "effect_after", "change", "statistic", "p_value",
                   "q_value", "n"))
    series = where(t["drift_series"], labeler_id=labeler_id) if "drift_series" in t else \
        pa.table({"failure_mode": pa.array([], pa.string()), "week": pa.array([], pa.date32())})
    series = series.sort_by([("failure_mode", "ascending"), ("week", "ascending")])
    fms = sorted(set(series["failure_mode"].to_pylist()))
    drifting = [r["failure_mode"] for r in drift.to_pylist()] if drift.num_rows else []
    busiest = [r["failure_mode"] for r in per_fm.to_pylist() if r.get("failure_mode") in fms]
    default = next(iter(drifting + busiest + fms), None)
    pairs = t.get("labeler_pairs")
    if pairs is not None and pairs.num_rows:
        mine = pc.or_(pc.equal(pairs["labeler_a"], labeler_id), pc.equal(pairs["labeler_b"], labeler_id))
        pairs = pairs.filter(pc.fill_null(mine, False)).sort_by("q_value")
    else:
        pairs = pa.table({"labeler_a": pa.array([], pa.string())})
    return LabelerProfile(
        labeler_id=labeler_id,
        overall=overall_rows[0] if overall_rows else {},
        workload=_cols(per_fm, WORKLOAD_COLUMNS),
        leniency=_cols(leniency, LENIENCY_COLUMNS),
        honeypot=_cols(where(leniency, evidence="honeypot"), LENIENCY_COLUMNS),
        drift=drift,
        drift_series=series,
        concentration=_cols(per_fm, CONCENTRATION_COLUMNS),
        pairs=pairs,
        findings=findings_table(audit.findings, labeler_id=labeler_id),
        failure_modes=fms,
        default_failure_mode=default,
    )
