"""The check result model: one `ExpectationResult` per expectation, gathered in a `CheckResult`.

Both are plain data, JSON-ready (``to_json``) and printable for a person (``to_text``), so the CLI, the offline
validation page, the quarantine's ``validation.json`` and the gold stage's summary all present the same facts.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

#: status of one expectation
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class ExpectationResult:
    """One expectation and what the data did against it."""

    #: stable short name, e.g. ``label_in_allowed_values`` (docs/contracts.md lists them all)
    expectation: str
    #: ``row`` (each judgment), ``batch`` (a metric of the whole batch) or ``gold`` (the gold set)
    level: str
    #: what is expected, as one sentence for a person
    description: str
    status: str
    #: the Great Expectations expectation type that decided it (None when skipped before validation)
    gx_type: str | None = None
    column: str | None = None
    #: rows (or labelers, items ...) checked and the number that violate the expectation
    element_count: int | None = None
    unexpected_count: int | None = None
    #: the measured value for metric expectations (a share, an alpha ...)
    observed: Any = None
    #: the bound it is held to, e.g. ``>= 0.667`` or ``in {fail, pass}``
    bound: str | None = None
    #: up to ``[contracts] examples`` offending rows: ``{"row": 17, "labeler_id": ..., <column>: value}``
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: why it was skipped, or extra context (sample sizes, the comparison used ...)
    note: str | None = None
    #: metric expectations: the per-labeler (or per-failure-mode) values behind the verdict
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != FAILED

    def to_json(self) -> dict[str, Any]:
        return {**_fields_json(self), "passed": self.passed}

    def headline(self) -> str:
        """``✗ description — 3 of 1,000 rows`` style first line."""
        mark = {PASSED: "ok  ", FAILED: "FAIL", SKIPPED: "skip"}[self.status]
        line = f"{mark} {self.description}"
        if self.status == FAILED and self.unexpected_count is not None and self.element_count:
            unit = "rows" if self.level == "row" else "cases"
            line += (f" — {self.unexpected_count:,} of {self.element_count:,} {unit} "
                     f"({100 * self.unexpected_count / self.element_count:.3g}%)")
        if self.observed is not None and not isinstance(self.observed, (list, dict)):
            line += f" [observed {fmt_value(self.observed)}{', expected ' + self.bound if self.bound else ''}]"
        return line


@dataclass
class CheckResult:
    """The outcome of `evalaudit check` on one batch file."""

    path: str
    sha256: str
    n_rows: int
    #: ``passed``, ``failed``, or ``already_in_store`` (these exact bytes were ingested before: nothing to do)
    status: str
    results: list[ExpectationResult] = field(default_factory=list)
    checked_at: str = ""
    evalaudit_version: str = ""
    config: str | None = None
    promoted: bool = False
    rows_added: int = 0
    #: where a failing batch was kept with this result (``--promote``), else None
    quarantine_dir: str | None = None
    #: columns of the file that are not canonical `labels` columns (ingest does not store them)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != FAILED

    @property
    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.status == FAILED]

    def to_json(self) -> dict[str, Any]:
        doc = _fields_json(self, skip="results")
        doc["passed"] = self.passed
        doc["n_expectations"] = len(self.results)
        doc["n_failed"] = len(self.failed)
        doc["results"] = [r.to_json() for r in self.results]
        return doc

    def to_text(self) -> str:
        """Every failed expectation with its counts and example rows, then the ones that held or were skipped."""
        name = self.path
        if self.status == "already_in_store":
            return (f"{name}: already in the store (sha256 {self.sha256[:12]}…); nothing to check or promote")
        head = (f"{name}: {'PASSED' if self.passed else 'FAILED'} — {len(self.failed)} of {len(self.results)} "
                f"expectations violated ({self.n_rows:,} rows, sha256 {self.sha256[:12]}…)")
        out = [head]
        if self.failed:
            out.append("rows are numbered from 0, the first data row after any header")
        for r in self.failed:
            out.append(r.headline())
            if r.note:
                out.append(f"     {r.note}")
            for ex in r.examples:
                out.append(f"     {example_text(ex)}")
            if r.unexpected_count and len(r.examples) < r.unexpected_count and r.examples:
                out.append(f"     … and {r.unexpected_count - len(r.examples):,} more")
        for r in self.results:
            if r.status != FAILED:
                out.append(r.headline() + (f" ({r.note})" if r.status == SKIPPED and r.note else ""))
        if self.ignored_columns:
            out.append(f"columns not checked and not stored (not part of labels): {', '.join(self.ignored_columns)}")
        if self.promoted:
            out.append(f"promoted: {self.rows_added:,} rows added to the store")
        if self.quarantine_dir:
            out.append(f"not promoted: the batch is kept whole, with this result, in {self.quarantine_dir}")
        return "\n".join(out)


def example_text(ex: dict[str, Any]) -> str:
    """``row 17: label 'maybe' (item i3, labeler l2)`` — an example in words."""
    ex = dict(ex)
    head = f"row {ex.pop('row')}: " if "row" in ex else ""
    who = []
    for key, word in (("item_id", "item"), ("labeler_id", "labeler"), ("failure_mode", "failure mode")):
        if key in ex and ex[key] is not None:
            who.append(f"{word} {ex.pop(key)}")
        else:
            ex.pop(key, None)
    values = ", ".join(f"{k} {fmt_value(v)}" for k, v in ex.items())
    if not values:
        return head + ", ".join(who)
    return head + values + (f" ({', '.join(who)})" if who else "")


def fmt_value(v: Any) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "n/a"
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _fields_json(obj: Any, skip: str = "") -> dict[str, Any]:
    """The dataclass's fields, JSON-ready. Not ``dataclasses.asdict``, which deep-copies every value first: a
    large batch's shift details (tens of thousands of records) were copied twice and cleaned once."""
    return {f.name: clean(getattr(obj, f.name)) for f in fields(obj) if f.name != skip}


def clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to None, timestamps to ISO text, recursively."""
    kind = type(value)  # the plain types of a details record first: exact types, so numpy's subclasses go below
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {str(k): clean(v) for k, v in value.items()}
    if kind is list:
        return [clean(v) for v in value]
    if isinstance(value, np.datetime64):  # .item() of a nanosecond datetime64 is an int: convert explicitly
        import pandas as pd  # here, not at the top: `evalaudit run` reads results without needing pandas

        return None if np.isnat(value) else pd.Timestamp(value).tz_localize("UTC").isoformat()
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if hasattr(value, "isoformat") and not isinstance(value, str):
        try:
            return value.isoformat()
        except (ValueError, NotImplementedError, OverflowError):
            # a pandas timestamp beyond Python's year 9999 (epoch milliseconds read as seconds land in year 56302,
            # and the check shows such a row as an example): numpy writes any year; DuckDB's timestamps are UTC
            return np.datetime_as_string(value.to_datetime64()) + ("+00:00" if value.tzinfo is not None else "")
    if isinstance(value, Decimal):  # DuckDB returns SUMs as HUGEINT/DECIMAL
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is not None and type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value
