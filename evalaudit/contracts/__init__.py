"""Data contracts: what a new labeling batch must satisfy before it enters the store (`evalaudit check`), and what
the gold set itself must satisfy (the gold expectations stage of `evalaudit run`). See docs/contracts.md.

Public API::

    from evalaudit.contracts import check_batch, gold_stage
    result = check_batch("batch.csv", "store/", cfg, promote_batch=True, docs="out/")   # -> CheckResult
    result.passed, result.to_text(), result.to_json()
    gold_stage(ctx)                                                                     # -> StageResult

Batch-level expectations judge the batch against the store's own history (`evalaudit.contracts.batch_expectations`,
statistics in `evalaudit.contracts.compare`). Great Expectations is imported only when expectations run (see
`evalaudit.contracts.gx`); the gold-set expectations (`evalaudit.contracts.gold`) read the items and labelers
stages' tables and do not need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalaudit.contracts.check import check_batch
    from evalaudit.contracts.gold import gold_expectations, gold_stage
    from evalaudit.contracts.result import CheckResult, ExpectationResult

__all__ = ["CheckResult", "ExpectationResult", "check_batch", "gold_expectations", "gold_stage"]

#: public name -> the submodule defining it, imported on first use: `evalaudit run` reaches this package for the
#: gold stage and the report's Wilson interval, and must not pay for the batch check's pandas and scipy.stats
_HOME = {"check_batch": "check", "gold_expectations": "gold", "gold_stage": "gold", "CheckResult": "result",
         "ExpectationResult": "result"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
