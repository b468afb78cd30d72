"""The Finding record (SPEC §5), severity order, and findings.json.

A finding carries its evidence — method, effect, interval, q-value, n — so the report, the JSON and the notebooks
present the same facts without recomputing them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from evalaudit import __version__

KINDS = (
    "labeler_leniency",
    "labeler_severity",
    "labeler_drift",
    "labeler_concentration",
    "labeler_spam",
    "labeler_collusion",
    "low_agreement",
    "poisoned_items",
    "stale_items",
    "coverage_drift",
    "eval_score_inflation",
    "gold_expectation",
)
SEVERITIES = ("low", "medium", "high")
#: `--fail-on` choices, from strictest to laxest; "never" fails on nothing.
FAIL_ON = ("low", "medium", "high", "never")


def severity_rank(severity: str) -> int:
    """0 for low, 1 medium, 2 high."""
    return SEVERITIES.index(severity)


@dataclass
class Finding:
    """One thing the audit found. Keys absent for a kind stay None (null in JSON)."""

    kind: str
    severity: str
    message: str
    evidence: str
    labeler_id: str | None = None
    failure_mode: str | None = None
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    q_value: float | None = None
    n: int | None = None
    #: Kind-specific facts (a slice name, a change date, item ids ...), JSON-serialisable.
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_json(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: they become null; numpy scalars become Python numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, Decimal):  # DuckDB SUM() of integers
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def sort_key(f: Finding) -> tuple:
    """Most severe first, then by kind, then by size of effect."""
    return (-severity_rank(f.severity), KINDS.index(f.kind), -abs(f.effect or 0.0), f.labeler_id or "")


def summary(findings: list[Finding], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts by severity and by kind, plus whatever headline facts the pipeline adds."""
    by_sev = {s: sum(1 for f in findings if f.severity == s) for s in reversed(SEVERITIES)}
    by_kind: dict[str, int] = {}
    for f in findings:
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    return {"n_findings": len(findings), "by_severity": by_sev, "by_kind": by_kind, **(extra or {})}


def document(findings: list[Finding], extra_summary: dict[str, Any] | None = None,
             generated_at: datetime | None = None) -> dict[str, Any]:
    """The findings.json document of SPEC §5."""
    ordered = sorted(findings, key=sort_key)
    return {
        "evalaudit_version": __version__,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(),
        "summary": _clean(summary(ordered, extra_summary)),
        "findings": [f.to_json() for f in ordered],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def exceeds(findings: list[Finding], fail_on: str) -> bool:
    """True when any finding is at or above the `--fail-on` severity."""
    if fail_on == "never":
        return False
    floor = severity_rank(fail_on)
    return any(severity_rank(f.severity) >= floor for f in findings)
