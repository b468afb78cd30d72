"""Prodigy ``db-out`` JSONL: one label row per accepted or rejected answer.

Format (Prodigy's documentation, "Annotation task formats" and "db-out"; https://prodi.gy/docs/api-interfaces and
https://prodi.gy/docs/recipes#db-out): one JSON task per line with ``_input_hash`` (identical inputs share it),
``_task_hash``, ``answer`` (``accept`` | ``reject`` | ``ignore``), ``_timestamp`` (Unix seconds), ``_annotator_id``
and ``_session_id`` (``<dataset>-<session name>``), ``_view_id`` and ``meta``. Two kinds of task:

- **binary** (no ``options``): the annotator says whether ``label`` applies; ``accept`` is yes and ``reject`` a real
  no. The stored label is the answer (``accept``/``reject``); ``--question`` picks the Prodigy ``label`` when a file
  holds several.
- **choice** (``options`` present): the label is the one option id in ``accept``; ``reject`` rejects the task (bad
  input, cannot judge), not an option, so it is not a judgment: quarantined, and the summary says so.

``ignore`` is a skip: quarantined. Several accepted options (``choice_style: multiple``) are a multi-label answer:
quarantined, never flattened. Columns: ``item_id`` (``meta.item_id``/``item_id`` when the task has one, else
``_input_hash``), ``labeler_id`` (``_annotator_id``, else ``_session_id``), ``label``, ``labeled_at``
(``_timestamp``), ``batch_id`` (``_session_id``), ``task_hash``, ``prodigy_label``, ``view_id``, and the keys of
``meta`` (canonical names as they are, others as ``meta.<key>``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput
from evalaudit.ingest.tool_rows import (
    ReadOptions,
    Rows,
    json_text,
    meta_columns,
    one_label,
    other_questions_note,
    pick_question,
)

ANSWERS = ("accept", "reject", "ignore")


def looks_like_prodigy(obj: Any) -> bool:
    """A JSON object that is a Prodigy annotation: hashes and an answer."""
    return isinstance(obj, dict) and "answer" in obj and ("_input_hash" in obj or "_task_hash" in obj)


def _tasks(path: Path, rows: Rows) -> list[tuple[int, dict[str, Any]]]:
    tasks: list[tuple[int, dict[str, Any]]] = []
    i = -1
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            if not line.strip():
                continue
            i += 1
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                rows.reject(i, "not valid JSON", line.rstrip("\r\n"), None)
                continue
            if not isinstance(obj, dict):
                rows.reject(i, "is not a JSON object", line.rstrip("\r\n"), None)
                continue
            tasks.append((i, obj))
    if not tasks and i >= 0:
        raise UnusableInput(f"{path}: not a Prodigy db-out export (no line holds a JSON task) (input)")
    return tasks


def read_prodigy(path: Path, options: ReadOptions) -> Rows:
    rows = Rows.of("item_id", "labeler_id", "label", "labeled_at", "batch_id")
    tasks = _tasks(path, rows)
    binary_labels = [str(t["label"]) for _, t in tasks if "options" not in t and t.get("label") is not None
                     and t.get("answer") in ("accept", "reject")]
    question = None
    if binary_labels and (options.question is not None or len(set(binary_labels)) > 1):
        question = pick_question(path, binary_labels, options.question, "Prodigy label")
    rejected_choices = 0
    for i, task in tasks:
        answer = task.get("answer")
        if answer not in ANSWERS:
            rows.reject(i, f"Prodigy answer is {answer!r}, not accept, reject or ignore", task)
            continue
        if answer == "ignore":
            rows.reject(i, "answer was ignore (skipped) in Prodigy", task)
            continue
        is_choice = "options" in task
        if is_choice:
            if answer == "reject":
                rejected_choices += 1
                rows.reject(i, "choice task rejected in Prodigy (the task itself, not an option; not a judgment)", task)
                continue
            accepted = task.get("accept") or []
            if not isinstance(accepted, list) or not accepted:
                rows.reject(i, "choice task accepted with no option selected", task)
                continue
            label, problem = one_label(accepted if len(accepted) > 1 else accepted[0])
        else:
            if question is not None and str(task.get("label")) != question:
                continue
            label, problem = answer, None
        if problem:
            rows.reject(i, problem, task)
            continue
        meta = meta_columns(task.get("meta"))
        item = task.get("item_id", meta.pop("item_id", None))
        values: dict[str, Any] = {
            "item_id": json_text(item if item is not None else task.get("_input_hash")),
            "labeler_id": task.get("_annotator_id") or task.get("_session_id"),
            "label": label,
            "labeled_at": task.get("_timestamp"),
            "batch_id": task.get("_session_id"),
            "task_hash": task.get("_task_hash"),
            "prodigy_label": None if is_choice else task.get("label"),
            "view_id": task.get("_view_id"),
        }
        for key in ("failure_mode", "guideline_version", "vendor"):
            if key in task:
                values[key] = task[key]
        values.update({k: v for k, v in meta.items() if k not in values or values[k] is None})
        rows.add(i, values)
    if note := other_questions_note(question, binary_labels, "Prodigy label"):
        rows.notes.append(note)
    if rejected_choices:
        rows.notes.append(f"{rejected_choices} Prodigy choice answer(s) 'reject' were taken as rejecting the task "
                          "itself (Prodigy's meaning on choice tasks), not as a label, and quarantined")
    return rows
