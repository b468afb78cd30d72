"""Argilla exports (2.x records and Hugging Face datasets, 1.x FeedbackDataset): one label row per submitted response.

Shapes read (argilla 2.8's ``argilla.records._io.GenericIO`` and ``HFDatasetsIO``; Argilla 1.x
``FeedbackDataset.format_as("datasets")``):

- **2.x flattened** — ``dataset.records.to_list(flatten=True)`` as JSON/JSONL, and ``to_datasets()`` / ``to_hub``
  Parquet: per question ``<q>.responses`` (values), ``<q>.responses.users`` (user UUIDs) and
  ``<q>.responses.status`` (``submitted`` | ``discarded`` | ``draft``) as parallel lists; fields and metadata are
  top-level keys.
- **2.x nested** — ``to_list(flatten=False)`` / ``to_json``: ``responses: {<q>: [{"value", "user_id"}]}`` with **no
  status**: discarded and draft responses cannot be told from submitted ones. They are read as submitted and the
  summary says so (export with ``flatten=True`` or ``to_datasets()`` to keep the status).
- **1.x** — per question a column ``<q>`` of ``[{"user_id", "value", "status"}]``, with ``external_id`` and
  ``metadata`` (JSON text).

Only ``submitted`` responses are judgments; ``discarded`` and ``draft`` go to quarantine with that reason. A list value
(a ``MultiLabelQuestion``) is a multi-label answer: quarantined, never flattened. Argilla exports carry no response
time (it lives only in the server's API), so ``labeled_at`` is null and the summary says so. Columns: ``item_id``
(``item_id`` field/metadata if present, else the record ``id``, 1.x ``external_id``), ``labeler_id`` (the user's
UUID), ``label``, canonical metadata keys (``failure_mode``, ``batch_id``, ``vendor``, ``guideline_version``),
``record_status``, and every other scalar field / metadata as ``record.<key>``. ``--question`` picks the question.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput
from evalaudit.ingest.tool_rows import (
    CANONICAL_META_KEYS,
    ReadOptions,
    Rows,
    json_text,
    one_label,
    other_questions_note,
    pick_question,
)

SUFFIX = ".responses"
_SKIP_KEYS = {"id", "status", "_server_id", "external_id", "fields", "metadata", "suggestions", "responses",
              "vectors", "score"}


def _is_v1_answers(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, dict) and "user_id" in v and "value" in v for v in value))


def looks_like_argilla(record: Any) -> bool:
    """A record of any of the three shapes."""
    if not isinstance(record, dict):
        return False
    if any(isinstance(k, str) and k.endswith(SUFFIX) for k in record):
        return True
    if isinstance(record.get("responses"), dict) and ("fields" in record or "_server_id" in record):
        return True
    return any(_is_v1_answers(v) for v in record.values())


def argilla_columns(names: list[str]) -> bool:
    """A Parquet schema written by ``to_datasets()``: some ``<q>.responses`` column."""
    return any(n.endswith(SUFFIX) for n in names)


def _responses(record: dict[str, Any]) -> tuple[dict[str, list[tuple[Any, Any, Any]]], bool]:
    """{question: [(value, user, status or None)]} of a record, and whether the shape carries a status."""
    out: dict[str, list[tuple[Any, Any, Any]]] = {}
    has_status = True
    flat = [k for k in record if isinstance(k, str) and k.endswith(SUFFIX)]
    if flat:
        for key in flat:
            q = key[: -len(SUFFIX)]
            values = record.get(key) or []
            users = record.get(f"{key}.users") or []
            statuses = record.get(f"{key}.status")
            if statuses is None:
                has_status = has_status and not values
                statuses = [None] * len(values)
            n = max(len(values), len(users), len(statuses))
            pad = [None] * n
            out[q] = list(zip((list(values) + pad)[:n], (list(users) + pad)[:n], (list(statuses) + pad)[:n],
                              strict=True))
        return out, has_status
    if isinstance(record.get("responses"), dict):
        for q, answers in record["responses"].items():
            answers = answers if isinstance(answers, list) else []
            out[q] = [(a.get("value"), a.get("user_id"), a.get("status")) if isinstance(a, dict) else (a, None, None)
                      for a in answers]
            has_status = has_status and all(isinstance(a, dict) and "status" in a for a in answers)
        return out, has_status
    for q, answers in record.items():
        if _is_v1_answers(answers):
            out[q] = [(a.get("value"), a.get("user_id"), a.get("status")) for a in answers]
    return out, True


def _record_values(record: dict[str, Any], questions: set[str]) -> dict[str, Any]:
    """The item and metadata columns of a record (all shapes)."""
    scalars: dict[str, Any] = {}
    nested = [record.get("fields"), record.get("metadata")]
    for source in nested:
        if isinstance(source, str):
            try:
                source = json.loads(source)
            except ValueError:
                source = None
        if isinstance(source, dict):
            scalars.update(source)
    for key, value in record.items():
        if key in _SKIP_KEYS or key.startswith("_") or any(key == q or key.startswith(f"{q}.") or
                                                          key.startswith(f"{q}-") for q in questions):
            continue
        scalars[key] = value
    values: dict[str, Any] = {}
    for key, value in scalars.items():
        if isinstance(value, (dict, list)):
            continue
        values[key if key in CANONICAL_META_KEYS else f"record.{key}"] = value
    item = values.pop("item_id", None)
    if item is None:
        item = record.get("id") if record.get("id") is not None else record.get("external_id")
    values["item_id"] = item
    values["record_status"] = record.get("status")
    return values


def read_argilla(path: Path, records: list[Any], options: ReadOptions) -> Rows:
    """Rows of ``records`` (parsed dicts in file order)."""
    rows = Rows.of("item_id", "labeler_id", "label")
    parsed: list[tuple[dict[str, Any], dict[str, list[tuple[Any, Any, Any]]]]] = []
    no_status = False
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise UnusableInput(f"{path}: record {i} is not a JSON object, so this is not an Argilla export (input)")
        responses, has_status = _responses(record)
        no_status = no_status or (not has_status and any(responses.values()))
        parsed.append((record, responses))
    answered = [q for _, responses in parsed for q, answers in responses.items() if answers]
    question = pick_question(path, answered, options.question, "question")
    all_questions = {q for _, responses in parsed for q in responses}
    n = 0
    assumed = 0
    for record, responses in parsed:
        base = None
        for value, user, status in responses.get(question, []):
            row, n = n, n + 1
            raw = {"id": record.get("id", record.get("external_id")), "question": question, "value": value,
                   "user_id": user, "status": status}
            if status is None:
                assumed += 1
            elif status != "submitted":
                what = "discarded" if status == "discarded" else "a draft" if status == "draft" else repr(status)
                rows.reject(row, f"response was {what} in Argilla (not submitted)", raw)
                continue
            label, problem = one_label(value)
            if problem:
                rows.reject(row, problem, raw)
                continue
            if base is None:
                base = _record_values(record, all_questions)
            rows.add(row, {**base, "labeler_id": json_text(user), "label": label})
    others = [q for _, responses in parsed for q, answers in responses.items() for _ in answers]
    if note := other_questions_note(question, others):
        rows.notes.append(note)
    if no_status:
        rows.notes.append(f"this Argilla export has no response status (a non-flattened export): {assumed} "
                          "response(s) were taken as submitted, so discarded or draft ones may be among them; export "
                          "with records.to_list(flatten=True) or to_datasets() to keep the status")
    if n:
        rows.notes.append("Argilla exports carry no response time (only its server API has it): labeled_at is null, "
                          "and analyses over time leave these judgments out")
    return rows
