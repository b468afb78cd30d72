"""Running expectations with Great Expectations 1.x, offline and quietly.

Why GX at all: it is the maintained vocabulary of data expectations (in-set, not-null, between, compound
uniqueness, column-pair order ...) with a result format that counts unexpected rows and returns example rows by
index columns — exactly what a vendor needs to fix a batch. What GX 1.24 cannot do here (docs/contracts.md) shapes this
module:

- it validates pandas DataFrames only (no DuckDB source; polars is refused), so every frame is Arrow -> pandas;
- batch-level metrics are computed in DuckDB and the resulting small frames are validated like any other;
- it is imported only here, inside functions, because its import alone takes seconds and `evalaudit --help` and
  `ingest` must stay fast (tests/test_contracts_cli.py checks that importing the CLI does not import it);
- analytics are disabled (``GX_ANALYTICS_ENABLED=False`` before import, and the context's setting) and the context
  is ephemeral (nothing written, nothing fetched); progress bars are turned off through the context's
  ``progress_bars`` setting, since they ignore ``TQDM_DISABLE``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from evalaudit.contracts.result import FAILED, PASSED, SKIPPED, ExpectationResult, clean

#: builds the GX expectation object from the ``great_expectations.expectations`` module
Builder = Callable[[Any], Any]


@dataclass
class Spec:
    """One expectation to run: which frame, how to build the GX expectation, and how to present its result."""

    expectation: str
    level: str
    description: str
    frame: str
    build: Builder
    column: str | None = None
    bound: str | None = None
    #: columns identifying an offending row in examples (those present in the frame are used)
    index_columns: Sequence[str] = ("source_row", "item_id", "labeler_id")
    #: frame columns whose value per unexpected row is reported in examples besides the checked one
    note: str | None = None
    observed: Any = None
    #: a one-row metric frame (overlap share, alpha ...): the observed value and the bound say it all, so the
    #: result carries no examples and no row counts
    scalar: bool = False
    details: list[dict[str, Any]] = field(default_factory=list)


@cache
def _gx() -> tuple[Any, Any]:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # GX imports pyspark's Spark Connect modules whenever pyspark is installed (the [spark] extra). Their import
    # takes a process whose __main__ has neither __spec__ nor __file__ (`python -c`, pytest-xdist workers) for a
    # doctest run and calls sys.exit(0) when grpc is missing; an interactive-looking sys.ps1 for the length of the
    # import keeps that check from firing, and the missing grpc then surfaces as the ImportError GX expects.
    main = sys.modules.get("__main__")
    looks_like_doctest = (main is not None and getattr(main, "__spec__", None) is None
                          and not hasattr(main, "__file__") and not hasattr(sys, "ps1"))
    if looks_like_doctest:
        sys.ps1 = ""
    try:
        with warnings.catch_warnings():  # GX imports optional backends (pyspark ...) that warn about versions
            warnings.simplefilter("ignore")
            import great_expectations as gx
            import great_expectations.expectations as gxe
    finally:
        if looks_like_doctest:
            del sys.ps1
    return gx, gxe


def column(name: str) -> Any:
    """A GX row-condition column (``column("x").is_null()``), the non-deprecated form of row conditions."""
    _gx()
    from great_expectations.expectations.row_conditions import Column

    return Column(name)


def _context() -> Any:
    gx, _ = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    # an ephemeral context is never saved, yet each added data source, asset or batch definition serialises its
    # whole configuration to YAML for an in-memory store (a tenth of a 400-row check's time): skip that round trip
    ctx._save_project_config = lambda: None
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ctx.variables.analytics_enabled = False
    return ctx


def skipped(spec: Spec, why: str) -> ExpectationResult:
    return ExpectationResult(spec.expectation, spec.level, spec.description, SKIPPED, column=spec.column,
                             bound=spec.bound, note=why, observed=spec.observed, details=spec.details)


def validate(frames: dict[str, pd.DataFrame], specs: Sequence[Spec], examples: int) -> list[ExpectationResult]:
    """Run each spec against its frame — one GX suite per frame, one validation each — and translate the results,
    in spec order.

    Cost is kept proportionate: one data source, one asset and one batch definition serve every frame (each
    addition makes even an ephemeral context serialise its configuration), and a frame's expectations share one
    suite whose example rows carry the union of their index columns (each result keeps only its own).

    Each frame is validated with GX's ``BASIC`` result format (success, row counts), which is all a holding
    expectation reports; the expectations that do not hold and list example rows are then validated again, on
    the same frame, with ``SUMMARY``, whose positions of the unexpected rows name the examples. ``SUMMARY`` for
    every expectation cost about 10 ms each (GX builds the index-list and index-query metrics of each one), half
    of a 400-row check's validation, for lists that only a failing expectation shows. A frame whose expectations
    are all one-row metrics (observed value against a bound, no counts, no examples) needs only ``BOOLEAN_ONLY``."""
    ctx = _context()
    definition = (ctx.data_sources.add_pandas("evalaudit").add_dataframe_asset("frames")
                  .add_batch_definition_whole_dataframe("whole"))
    out: dict[int, ExpectationResult] = {}
    for frame_name in dict.fromkeys(s.frame for s in specs):
        frame = frames[frame_name]
        mine = [(i, s) for i, s in enumerate(specs) if s.frame == frame_name]
        if not frame.index.equals(pd.RangeIndex(len(frame))):
            frame = frame.reset_index(drop=True)  # GX reports unexpected rows by index label: make it the position
        index = [c for c in dict.fromkeys(c for _, s in mine for c in s.index_columns) if c in frame.columns]
        light = "BOOLEAN_ONLY" if all(s.scalar for _, s in mine) else "BASIC"
        results = _run_suite(definition, frame_name, frame, mine, {"result_format": light})
        again = [(i, s) for i, s in mine if not (s.scalar or results[i].success)]
        if again:
            # GX reports the unexpected rows by their index (here the frame position), the first ``examples`` of
            # them; the example rows are read from those positions here. GX's own
            # ``unexpected_index_column_names`` would do the same for every unexpected row, one cell at a time
            # (seconds for thousands of rows, a minute for a batch failing on most of its 200k rows), before the
            # list is cut to ``examples``.
            results.update(_run_suite(definition, frame_name, frame, again,
                                      {"result_format": "SUMMARY", "partial_unexpected_count": examples}))
        for i, _ in mine:
            own = [c for c in index if c in specs[i].index_columns]
            out[i] = _translate(specs[i], results[i], examples, frame, own if index else None)
    return [out[i] for i in range(len(specs))]


def _run_suite(definition: Any, name: str, frame: pd.DataFrame, specs: Sequence[tuple[int, Spec]],
               result_format: dict[str, Any]) -> dict[int, Any]:
    """GX's results of ``specs`` (spec number -> result) validated as one suite on ``frame``."""
    gx, gxe = _gx()
    from great_expectations.validator.v1_validator import Validator

    suite = gx.ExpectationSuite(name=name)
    for i, s in specs:
        expectation = s.build(gxe)
        expectation.meta = {"evalaudit_spec": i}  # GX does not keep the order results come back in
        suite.add_expectation(expectation)
    # GX's validator over the batch definition, as ``Batch.validate`` builds it: fetching the batch first
    # (``get_batch``) would build the same batch twice
    res = Validator(batch_definition=definition, batch_parameters={"dataframe": frame},
                    result_format=result_format).validate_expectation_suite(suite)
    return {int(r.expectation_config.meta["evalaudit_spec"]): r for r in res.results}


def _unexpected_rows(r: Any, positions: list[Any], frame: pd.DataFrame, index: list[str]) -> list[dict[str, Any]]:
    """The unexpected rows at ``positions`` of ``frame`` as GX's ``unexpected_index_column_names`` lists them: the
    expectation's own columns first, then the index columns."""
    kw = r.expectation_config.kwargs
    domain = ([kw["column"]] if "column" in kw else [kw["column_A"], kw["column_B"]] if "column_A" in kw
              else list(kw.get("column_list") or []))
    columns = [c for c in dict.fromkeys([*domain[:1], *index, *domain[1:]]) if c in frame.columns]
    return [{c: frame.at[p, c] for c in columns} for p in positions]


def _translate(spec: Spec, r: Any, examples: int, frame: pd.DataFrame, index: list[str] | None
               ) -> ExpectationResult:
    """The evalaudit record of one GX result; ``index``: the columns that identify an offending row for this
    spec (those of its frame), None when no spec of the frame names any (its examples are then the values)."""
    result = dict(r.result or {})
    exc = r.exception_info or {}
    if exc.get("raised_exception"):
        # an expectation that could not be evaluated is a failure of the contract, said plainly
        return ExpectationResult(spec.expectation, spec.level, spec.description, FAILED,
                                 gx_type=r.expectation_config.type, column=spec.column, bound=spec.bound,
                                 note=f"could not be evaluated: {str(exc.get('exception_message'))[:300]}")
    # GX lists bare frame positions, which say nothing to a reader: the rows at those positions do
    positions = [p for p in result.get("partial_unexpected_index_list") or [] if isinstance(p, (int, np.integer))]
    rows = _unexpected_rows(r, positions[:examples], frame, index) if index is not None else []
    ex = [_example(e) for e in rows]
    if not ex and result.get("partial_unexpected_list"):
        ex = [{"value": clean(v)} for v in result["partial_unexpected_list"][:examples]]
    counts = (None, None) if spec.scalar else (_int(result.get("element_count")), _int(result.get("unexpected_count")))
    return ExpectationResult(
        spec.expectation, spec.level, spec.description, PASSED if r.success else FAILED,
        gx_type=r.expectation_config.type, column=spec.column, element_count=counts[0], unexpected_count=counts[1],
        observed=spec.observed, bound=spec.bound, examples=ex if not (r.success or spec.scalar) else [], note=spec.note,
        details=spec.details,
    )


def _example(row: dict[str, Any]) -> dict[str, Any]:
    # ``labeled_at_unparsed`` holds the text of labeled_at that did not parse: show it under its own name
    row = {k.removesuffix("_unparsed"): clean(v) for k, v in row.items()}
    if "source_row" in row:
        row = {"row": row.pop("source_row"), **row}
    return row


def _int(v: Any) -> int | None:
    return None if v is None else int(v)
