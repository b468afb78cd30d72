"""What changed since the previous run of the same report: new, persisting and resolved findings (docs/outputs.md).

A scheduled audit's reader wants the difference ("two new problems since yesterday, one resolved"), and a
scheduled job should fail only on what is new. The previous run is the latest run of the same ``--out`` name in
the history (:mod:`evalaudit.history`), which records each finding's ``key``; a finding is ``persisting`` when its
key was there, else ``new``; a key of the previous run that is gone is *resolved*.

``summary["changes"]`` (rendered by the report's "Since the last run" block and by ``summary.md``)::

    {"previous_run": {"run_id", "run_at"} | None,   # None: first run of this report (or history off)
     "comparable": bool,                             # False: the previous run predates finding keys
     "new": [{"key", "kind", "severity", "message"}, ...],       # most severe first
     "resolved": [{"key", "kind", "severity", "message"}, ...],  # the previous run's message
     "n_new", "n_resolved", "n_persisting": int,
     "moved": [{"key", "kind", "labeler_id", "failure_mode", "message", "effect_before", "effect_now",
                "delta", "relative_change"}, ...],   # persisting findings whose effect moved most (top MAX_MOVED)
     "moved_method": str}

``summary["resolved"]`` is the documented list (docs/outputs.md) of the resolved keys and messages (the same entries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import history
from evalaudit.findings import Finding, mark_changes, severity_rank, sort_key

#: persisting findings listed as "moved most"
MAX_MOVED = 5
MOVED_METHOD = ("persisting findings ranked by relative change of effect, |now − before| / |before| (effects of "
                "different kinds have different units, so the ranking is unit-free); each keeps its own units")


@dataclass
class PreviousRun:
    """The previous run of a report as the history recorded it."""

    run_id: str
    run_at: datetime
    #: False when that run was recorded before finding keys existed (nothing to compare with)
    keyed: bool
    #: key -> the history row of that finding (kind, severity, message, value = effect, ...)
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)


def previous_run(past: pa.Table | None) -> PreviousRun | None:
    """The latest run in ``past`` (history rows of one report), or None when there is none."""
    if past is None or past.num_rows == 0:
        return None
    run_at, run_id = history.runs(past)[-1]
    rows = past.filter(pc.equal(past["run_id"], run_id)).to_pylist()
    keyed = any(r["metric"] == "findings_keyed" for r in rows)
    findings = {r["key"]: r for r in rows if r["metric"] == "finding" and r["key"]}
    return PreviousRun(run_id, run_at, keyed, findings)


def mark(found: list[Finding], prev: PreviousRun | None) -> None:
    """Set each finding's ``change`` against ``prev`` (all ``new`` without a comparable previous run)."""
    mark_changes(found, set(prev.findings) if prev is not None and prev.keyed else None)


def _entry(key: str, kind: str, severity: str, message: str | None) -> dict[str, Any]:
    return {"key": key, "kind": kind, "severity": severity, "message": message or ""}


def _moved(found: list[Finding], prev: PreviousRun) -> list[dict[str, Any]]:
    out = []
    for f in found:
        before = prev.findings.get(f.key or "", {}).get("value")
        if f.change != "persisting" or before is None or f.effect is None or not math.isfinite(f.effect):
            continue
        delta = f.effect - before
        if delta == 0:
            continue
        relative = abs(delta) / abs(before) if before else math.inf
        out.append({"key": f.key, "kind": f.kind, "labeler_id": f.labeler_id, "failure_mode": f.failure_mode,
                    "message": f.message, "effect_before": before, "effect_now": f.effect, "delta": delta,
                    "relative_change": None if math.isinf(relative) else relative, "_rank": relative})
    out.sort(key=lambda m: (-m["_rank"], m["key"]))
    for m in out:
        del m["_rank"]
    return out[:MAX_MOVED]


def summarize(found: list[Finding], prev: PreviousRun | None) -> dict[str, Any]:
    """``summary["changes"]`` for findings already marked by :func:`mark` (see the module docstring)."""
    ordered = sorted(found, key=sort_key)
    comparable = prev is not None and prev.keyed
    current = {f.key for f in found}
    resolved = []
    if comparable:
        gone = [r for k, r in prev.findings.items() if k not in current]
        gone.sort(key=lambda r: (-severity_rank(r["severity"]), r["kind"], r["key"]))
        resolved = [_entry(r["key"], r["kind"], r["severity"], r["message"]) for r in gone]
    new = [_entry(f.key or "", f.kind, f.severity, f.message) for f in ordered if f.change == "new"]
    return {
        "previous_run": None if prev is None else {"run_id": prev.run_id, "run_at": prev.run_at.isoformat()},
        "comparable": comparable,
        "new": new,
        "resolved": resolved,
        "n_new": len(new),
        "n_resolved": len(resolved),
        "n_persisting": sum(1 for f in found if f.change == "persisting"),
        "moved": _moved(ordered, prev) if comparable else [],
        "moved_method": MOVED_METHOD,
    }
