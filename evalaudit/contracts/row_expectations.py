"""Row-level expectations: what every judgment of a batch must satisfy (docs/contracts.md, "Row expectations"), as Great
Expectations specs.

Each expectation is a stock GX 1.x expectation on the batch's rows; where a row needs the store to be judged (is
this judgment already stored? was this labeler engaged on that day?) the store fact is joined onto the row in DuckDB
first (named query ``contracts_rows``) and GX checks the joined column, so every verdict names its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from evalaudit import schema
from evalaudit.config import Config
from evalaudit.contracts.batch import Batch
from evalaudit.contracts.gx import Spec, column
from evalaudit.errors import UnusableInput

ROWS, UNREADABLE = "rows", "unreadable"

#: the columns of the row frame handed to GX (absent canonical columns are left out, so their absence shows)
FRAME_COLUMNS = ("source_row", "item_id", "labeler_id", "label", "labeled_at", "guideline_version",
                 "labeled_at_unparsed", "duration_s_unparsed", "stored_file", "labeler_active_from",
                 "labeler_active_to")


def parse_window(value: str | None, key: str, end: bool, where: str) -> datetime | None:
    """A [contracts] window bound as a UTC datetime; a bare date as ``window_end`` means the end of that day."""
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UnusableInput(f"{where}: [contracts] {key} = {value!r} is not an ISO 8601 date or time") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    dt = ts.to_pydatetime()
    if end and len(value.strip()) <= 10:  # a bare date: the whole day belongs to the window
        dt = dt + timedelta(days=1) - timedelta(microseconds=1)
    return dt


def frames(batch: Batch, rows: pa.Table) -> dict[str, pd.DataFrame]:
    """The pandas frames GX validates: the rows (only columns the file has, plus derived ones) and the records the
    reader could not read."""
    derived = {"source_row", "labeled_at_unparsed", "duration_s_unparsed", "stored_file", "labeler_active_from",
               "labeler_active_to"}
    keep = [c for c in FRAME_COLUMNS if c in derived or c in batch.present]
    unreadable = pd.DataFrame({
        "source_row": pd.Series([b.row for b in batch.bad_rows], dtype="int64"),
        "reason": pd.Series([b.reason for b in batch.bad_rows], dtype="object"),
    })
    return {ROWS: rows.select(keep).to_pandas(), UNREADABLE: unreadable}


def specs(batch: Batch, cfg: Config, allowed: Sequence[str], known_labelers: Sequence[str] | None,
          now: datetime, store_guideline: str | None = None) -> tuple[list[Spec], dict[str, str]]:
    """The row expectations for this batch, and the ones that cannot run (name -> why) because a column is
    absent or nothing is configured to compare with. ``store_guideline``: the guideline of the store's most recent
    judgment, the current one when ``[gold] current_guideline`` is not configured."""
    present = set(batch.present)
    out: list[Spec] = []
    cannot: dict[str, str] = {}

    def add(spec: Spec, needs: Sequence[str] = ()) -> None:
        missing = [c for c in needs if c not in present]
        if missing:
            cannot[spec.expectation] = f"the batch has no {', '.join(missing)} column"
            spec.frame = ""
        out.append(spec)

    add(Spec("records_readable", "row", "every record of the file can be read", UNREADABLE,
             lambda g: g.ExpectColumnValuesToBeNull(column="reason"), column="reason",
             index_columns=("source_row",)))
    for col in schema.LABELS.required:
        add(Spec(f"column_present:{col}", "row", f"the batch has the column {col}", ROWS,
                 lambda g, c=col: g.ExpectColumnToExist(column=c), column=col, index_columns=()))
    for col in schema.LABELS.required:
        add(Spec(f"not_null:{col}", "row", f"every row has a value in {col}", ROWS, _not_null(col), column=col), [col])
    add(Spec("labeled_at_parseable", "row",
             "labeled_at is a timestamp (ISO 8601 or epoch seconds) between 1970 and 2100", ROWS,
             lambda g: g.ExpectColumnValuesToBeNull(column="labeled_at_unparsed"), column="labeled_at"),
        ["labeled_at"])
    if "duration_s" in present:
        add(Spec("duration_s_numeric", "row", "duration_s, when given, is a non-negative number", ROWS,
                 lambda g: g.ExpectColumnValuesToBeNull(column="duration_s_unparsed"), column="duration_s"))
    values = sorted(set(allowed))
    shown = "{" + ", ".join(values) + "}"
    spec = Spec("label_in_allowed_values", "row", f"label is one of {shown}", ROWS,
                lambda g: g.ExpectColumnValuesToBeInSet(column="label", value_set=values), column="label",
                bound=f"in {shown}")
    if not values:
        cannot[spec.expectation] = "no [labels] values are configured and the store holds no labels yet"
    add(spec, ["label"])
    add(Spec("unique_in_batch", "row", "each labeler judges each item at most once in the batch", ROWS,
             lambda g: g.ExpectCompoundColumnsToBeUnique(column_list=["item_id", "labeler_id"]),
             column="item_id, labeler_id"), ["item_id", "labeler_id"])
    add(Spec("not_already_in_store", "row", "no judgment (item_id, labeler_id) is already in the store", ROWS,
             lambda g: g.ExpectColumnValuesToBeNull(column="stored_file"), column="item_id, labeler_id"),
        ["item_id", "labeler_id"])
    add(Spec("labeled_at_not_in_future", "row", f"labeled_at is not in the future (after {now:%Y-%m-%d %H:%M} UTC)",
             ROWS, lambda g: g.ExpectColumnValuesToBeBetween(column="labeled_at", max_value=now),
             column="labeled_at", bound=f"<= {now.isoformat()}"), ["labeled_at"])
    where = cfg.source or "the configuration"
    start = parse_window(cfg.contracts.window_start, "window_start", False, where)
    end = parse_window(cfg.contracts.window_end, "window_end", True, where)
    if start and end and start > end:
        raise UnusableInput(f"{where}: [contracts] window_start lies after window_end")
    if start or end:
        bound = f"{start.isoformat() if start else '…'} .. {end.isoformat() if end else '…'}"
        add(Spec("labeled_at_in_window", "row", f"labeled_at lies in the batch window {bound}", ROWS,
                 lambda g: g.ExpectColumnValuesToBeBetween(column="labeled_at", min_value=start, max_value=end),
                 column="labeled_at", bound=bound), ["labeled_at"])
    if known_labelers is not None:
        known = sorted(set(known_labelers))
        add(Spec("labeler_known", "row", "labeler_id is listed in the labelers table", ROWS,
                 lambda g: g.ExpectColumnValuesToBeInSet(column="labeler_id", value_set=known),
                 column="labeler_id", bound=f"one of {len(known)} known labelers"), ["labeler_id"])
        add(Spec("labeler_active_from", "row", "labeled_at is on or after the labeler's active_from", ROWS,
                 lambda g: g.ExpectColumnPairValuesAToBeGreaterThanB(
                     column_A="labeled_at", column_B="labeler_active_from", or_equal=True,
                     ignore_row_if="either_value_is_missing"), column="labeled_at"),
            ["labeler_id", "labeled_at"])
        add(Spec("labeler_active_to", "row", "labeled_at is on or before the labeler's active_to", ROWS,
                 lambda g: g.ExpectColumnPairValuesAToBeGreaterThanB(
                     column_A="labeler_active_to", column_B="labeled_at", or_equal=True,
                     ignore_row_if="either_value_is_missing"), column="labeled_at"),
            ["labeler_id", "labeled_at"])
    current = cfg.gold.current_guideline or store_guideline
    if current:
        source = "" if cfg.gold.current_guideline else " (the store's most recent judgment's)"
        add(Spec("guideline_version_given", "row", "every row states its guideline_version", ROWS,
                 lambda g: g.ExpectColumnValuesToNotBeNull(column="guideline_version"),
                 column="guideline_version"), ["guideline_version"])
        add(Spec("guideline_current", "row", f"guideline_version is the current one, {current!r}{source}", ROWS,
                 lambda g: g.ExpectColumnValuesToBeInSet(column="guideline_version", value_set=[current]),
                 column="guideline_version", bound=f"= {current!r}"), ["guideline_version"])
    return out, cannot


def _not_null(col: str) -> Any:
    """Not-null on ``col``; for labeled_at only on rows whose text is absent (unparseable text is reported by
    ``labeled_at_parseable``, so a row is not counted twice)."""
    if col == "labeled_at":
        return lambda g: g.ExpectColumnValuesToNotBeNull(column=col,
                                                         row_condition=column("labeled_at_unparsed").is_null())
    return lambda g: g.ExpectColumnValuesToNotBeNull(column=col)
