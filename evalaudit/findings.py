"""The Finding record (docs/outputs.md), severity order, and findings.json.

A finding carries its evidence — method, effect, interval, q-value, n — so the report, the JSON and the notebooks
present the same facts without recomputing them.

Identity across runs (docs/outputs.md ``key``/``change``): a finding's ``key`` is a hash of *what* the problem is — its
kind, labeler, failure mode and the slice or label it is about (:data:`KEY_DETAILS`) — never of its numbers, so a
scheduled run can tell a new problem from one it already reported. Keys are computed on the finding as written
(after ``--redact-labelers``), so redacted runs keep stable keys under the same redaction secret and never hash a
real labeler id into the output.
"""

from __future__ import annotations

import hashlib
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
#: `change` values: against the previous run of the same report in the history (`new` on a first run)
CHANGES = ("new", "persisting")
#: ``details`` entries that name the slice or label a finding is about (part of its identity, unlike its numbers):
#: the coverage slice column and value, the agreement scope and slice, the label of a per-label leniency, the
#: second labeler of a colluding pair, the stale-item reason, the failed gold expectation.
KEY_DETAILS = ("slice_column", "value", "scope", "slice", "label", "labeler_b", "reason", "expectation")


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
    #: stable identity across runs (:func:`assign_keys`); set when the findings document is built
    key: str | None = None
    #: "new" or "persisting" against the previous run (:func:`mark_changes`)
    change: str | None = None

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


#: Fields that a kind fills only as an attribution when a single value is involved (the poisoned items' one
#: flagged labeler, the stale items' one failure mode): they change with the data, not with the problem, so they
#: stay out of its identity. Without this, a second flagged labeler would turn every poisoned-items finding "new".
KEY_IGNORES: dict[str, tuple[str, ...]] = {"poisoned_items": ("labeler_id",), "stale_items": ("failure_mode",)}


def identity(f: Finding) -> tuple[Any, ...]:
    """What a finding is about, without its numbers: kind, labeler, failure mode, and the slice/label details."""
    ignored = KEY_IGNORES.get(f.kind, ())
    return (f.kind, None if "labeler_id" in ignored else f.labeler_id,
            None if "failure_mode" in ignored else f.failure_mode,
            *((k, str(f.details[k])) for k in KEY_DETAILS if f.details.get(k) is not None))


def finding_key(f: Finding) -> str:
    """The stable key of a finding: the kind and 16 hex digits of SHA-256 of its identity."""
    digest = hashlib.sha256(json.dumps(identity(f), default=str).encode("utf-8")).hexdigest()
    return f"{f.kind}:{digest[:16]}"


def assign_keys(findings: list[Finding]) -> list[Finding]:
    """Set every finding's ``key``. Two findings of the same identity (a stage reporting one slice twice) get
    ``#2``, ``#3``... in severity order, so keys are unique within a run and still stable across runs."""
    seen: dict[str, int] = {}
    for f in sorted(findings, key=sort_key):
        base = finding_key(f)
        seen[base] = seen.get(base, 0) + 1
        f.key = base if seen[base] == 1 else f"{base}#{seen[base]}"
    return findings


def mark_changes(findings: list[Finding], previous_keys: set[str] | None) -> list[Finding]:
    """Set ``change``: ``persisting`` when the key was among ``previous_keys`` (the previous run's), else ``new``
    (also on a first run, when ``previous_keys`` is None)."""
    for f in findings:
        f.change = "persisting" if previous_keys is not None and f.key in previous_keys else "new"
    return findings


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
    """The findings.json document of docs/outputs.md"""
    ordered = sorted(findings, key=sort_key)
    return {
        "evalaudit_version": __version__,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(),
        "summary": _clean(summary(ordered, extra_summary)),
        "findings": [f.to_json() for f in ordered],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def exceeds(findings: list[Finding], fail_on: str, only_new: bool = False) -> bool:
    """True when any finding is at or above the `--fail-on` severity (with ``only_new``, any *new* finding: the
    `--fail-on-new` rule, so a scheduled job fails once per problem, not every night for a known one)."""
    if fail_on == "never":
        return False
    floor = severity_rank(fail_on)
    return any(severity_rank(f.severity) >= floor and (not only_new or f.change != "persisting") for f in findings)
