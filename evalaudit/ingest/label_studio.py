"""Label Studio JSON exports: one label row per annotation.

An export is a JSON array of tasks; each task has ``data`` (the item as imported) and ``annotations``, each with
``completed_by`` (a user id, or an object with ``email``), a ``result`` list and ``created_at``/``lead_time``.
The row number of an annotation (`source_row`) is its 0-based position among all annotations in file order.

Column names produced: ``item_id`` (``data.item_id`` if the task has one, else the task ``id``), ``labeler_id``,
``label`` (the choice of the first ``choices`` result; also ``rating`` and ``number`` results), ``labeled_at``
(annotation ``created_at``), ``duration_s`` (``lead_time``), ``task_id``, and every key of ``data``: canonical names
as they are, others as ``data.<key>`` — so ``--map data.prompt_id=item_id`` can pick another id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput

CANONICAL_DATA_KEYS = {"item_id", "failure_mode", "batch_id", "vendor", "guideline_version"}


def _labeler(completed_by: Any) -> str | None:
    if isinstance(completed_by, dict):
        value = completed_by.get("email") or completed_by.get("username") or completed_by.get("id")
        return None if value is None else str(value)
    return None if completed_by is None else str(completed_by)


def _label(results: Any) -> tuple[str | None, str | None]:
    """(label, problem): the judgment in an annotation's result list."""
    if not isinstance(results, list):
        return None, "annotation has no result list"
    for r in results:
        if not isinstance(r, dict):
            continue
        value = r.get("value") or {}
        kind = r.get("type")
        if kind == "choices":
            choices = value.get("choices") or []
            if len(choices) != 1:
                return None, f"annotation selects {len(choices)} choices where one label is expected"
            return str(choices[0]), None
        if kind in ("rating", "number") and value.get(kind) is not None:
            return str(value[kind]), None
    return None, "annotation has no choices, rating or number result"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_label_studio(doc: Any, path: Path) -> tuple[list[str], dict[str, list[Any]], list[int], list[dict]]:
    """Flatten an export to (columns, column -> values, row numbers, bad rows as dicts)."""
    if isinstance(doc, dict) and "annotations" in doc:
        doc = [doc]
    if not isinstance(doc, list):
        raise UnusableInput(f"{path}: not a Label Studio export (expected a JSON array of tasks)")
    columns = ["item_id", "labeler_id", "label", "labeled_at", "duration_s", "task_id"]
    rows: dict[str, list[Any]] = {c: [] for c in columns}
    numbers: list[int] = []
    bad: list[dict] = []
    n = 0
    for t_index, task in enumerate(doc):
        if not isinstance(task, dict):
            raise UnusableInput(f"{path}: task {t_index} is not a JSON object, so this is not a Label Studio export")
        data = task.get("data") if isinstance(task.get("data"), dict) else {}
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise UnusableInput(f"{path}: task {t_index} has annotations that are not a list")
        for ann in annotations:
            row = n
            n += 1
            raw = json.dumps({"task_id": task.get("id"), "annotation": ann}, ensure_ascii=False, default=str)[:4000]
            if not isinstance(ann, dict):
                bad.append({"row": row, "reason": "annotation is not a JSON object", "raw": raw})
                continue
            if ann.get("was_cancelled"):
                bad.append({"row": row, "reason": "annotation was cancelled (skipped) in Label Studio", "raw": raw})
                continue
            label, problem = _label(ann.get("result"))
            if problem:
                bad.append({"row": row, "reason": problem, "raw": raw, "column": "label"})
                continue
            values: dict[str, Any] = {
                "item_id": _text(data.get("item_id", task.get("id"))),
                "labeler_id": _labeler(ann.get("completed_by")),
                "label": label,
                "labeled_at": _text(ann.get("created_at")),
                "duration_s": _text(ann.get("lead_time")),
                "task_id": _text(task.get("id")),
            }
            for key, value in data.items():
                name = key if key in CANONICAL_DATA_KEYS else f"data.{key}"
                if name != "item_id":
                    values[name] = _text(value)
            k = len(numbers)
            for key in values:
                if key not in rows:
                    columns.append(key)
                    rows[key] = [None] * k
            for key, col in rows.items():
                col.append(values.get(key))
            numbers.append(row)
    return columns, rows, numbers, bad
