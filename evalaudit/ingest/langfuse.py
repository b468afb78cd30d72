"""Langfuse scores (``GET /api/public/v2/scores`` or ``/v3/scores`` pages): one label row per human score.

A score (Langfuse API reference, "Scores"; the shape of langfuse-python's ``langfuse.api`` models) has ``id``,
``name`` (the question), ``dataType`` (``NUMERIC`` | ``CATEGORICAL`` | ``BOOLEAN``), ``value`` / ``stringValue``,
``source``, ``authorUserId``, ``timestamp``, ``queueId``, ``configId``, ``comment``, ``metadata`` and what it
scores: ``traceId`` / ``observationId`` / ``sessionId`` (v2) or ``subject: {kind, id, traceId}`` (v3). The file is
one API page (``{"data": [...], "meta": {...}}``), a JSON array of scores, or JSON Lines of scores.

``source`` says who scored:

- ``ANNOTATION`` — a person in the Langfuse UI or an annotation queue: a judgment, labeler ``authorUserId``.
- ``EVAL`` — an LLM-as-a-judge evaluator: a judgment of a labeler of kind ``model`` only with ``--include-judges``
  (else quarantined with that reason); the labeler is the judge's name and version, ``<judge>@<version>``, read
  from the score's ``metadata`` (``evaluator``/``judge``/``model`` and ``evaluator_version``/``judge_version``/
  ``version``/``model_version``), else ``eval:<score name>``.
- ``API`` — scores sent by code, typically end-user feedback: not a labeler's judgment, quarantined.

Columns: ``item_id`` (the observation scored, else the trace, else the session), ``labeler_id``, ``label``
(``stringValue`` of a categorical score, or its ``value`` in v3; ``true``/``false`` for a boolean score;
``value`` of a numeric one), ``labeled_at`` (``timestamp``),
``batch_id`` (``queueId``), ``guideline_version`` (``configId``: the score config that defines the scale),
``trace_id``, ``score_id``, ``comment``, and the keys of ``metadata``. ``--question`` picks the score ``name``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput
from evalaudit.ingest.tool_rows import (
    ReadOptions,
    Rows,
    meta_columns,
    one_label,
    other_questions_note,
    pick_question,
)

JUDGE_NAME_KEYS = ("evaluator", "evaluator_name", "judge", "model")
JUDGE_VERSION_KEYS = ("evaluator_version", "judge_version", "version", "model_version")


def looks_like_score(obj: Any) -> bool:
    """A JSON object that is a Langfuse score."""
    return (isinstance(obj, dict) and "name" in obj and "source" in obj
            and ("traceId" in obj or "subject" in obj or "sessionId" in obj or "dataType" in obj))


def load_scores(path: Path, doc: Any) -> list[Any]:
    """The scores of a parsed document: an API page, or an array."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return doc["data"]
    if isinstance(doc, list):
        return doc
    if looks_like_score(doc):
        return [doc]
    raise UnusableInput(f"{path}: not a Langfuse scores export (expected an API page {{\"data\": [...]}}, "
                        "an array of scores or JSON Lines of scores) (input)")


def _subject(score: dict[str, Any]) -> tuple[str | None, str | None]:
    """(item id, trace id) of what the score grades."""
    subject = score.get("subject")
    if isinstance(subject, dict):
        return (None if subject.get("id") is None else str(subject["id"])), subject.get("traceId") or (
            subject.get("id") if subject.get("kind") == "trace" else None)
    trace = score.get("traceId")
    return score.get("observationId") or trace or score.get("sessionId"), trace


def _judge(score: dict[str, Any]) -> tuple[str, bool]:
    """(labeler id of an EVAL score, whether a version was found)."""
    meta = score.get("metadata") if isinstance(score.get("metadata"), dict) else {}
    name = next((str(meta[k]) for k in JUDGE_NAME_KEYS if meta.get(k)), None) or f"eval:{score.get('name')}"
    version = next((str(meta[k]) for k in JUDGE_VERSION_KEYS if meta.get(k)), None)
    return (f"{name}@{version}" if version else name), version is not None


def _label(score: dict[str, Any]) -> tuple[str | None, str | None]:
    kind = str(score.get("dataType") or "").upper()
    if kind == "BOOLEAN":  # v2 writes value 1/0 with stringValue "True"/"False", v3 a JSON boolean
        value = score.get("value")
        if isinstance(value, (bool, int, float)) and not (isinstance(value, float) and value != value):
            return ("true" if value else "false"), None
        return None, f"boolean score has no true/false value ({value!r})"
    if kind == "CATEGORICAL" or (not kind and score.get("stringValue") is not None):
        return one_label(score.get("stringValue") if score.get("stringValue") is not None else score.get("value"))
    if kind in ("", "NUMERIC"):
        return one_label(score.get("value"))
    return None, f"Langfuse score of data type {kind} is not a label (numeric, categorical or boolean)"


def read_langfuse(path: Path, scores: list[tuple[int, Any]], options: ReadOptions) -> Rows:
    """Rows of ``scores``, (row number, parsed score) pairs in file order."""
    rows = Rows.of("item_id", "labeler_id", "label", "labeled_at", "batch_id", "guideline_version")
    wanted = ("ANNOTATION", "EVAL") if options.include_judges else ("ANNOTATION",)
    names = [str(s.get("name")) for _, s in scores if isinstance(s, dict) and s.get("source") in wanted]
    question = pick_question(path, names, options.question, "score name") if names else None
    unversioned = 0
    for i, score in scores:
        if not isinstance(score, dict):
            rows.reject(i, "score is not a JSON object", score, None)
            continue
        source = score.get("source")
        if source == "API":
            rows.reject(i, "API score (end-user or code feedback) is not a labeler's judgment", score)
            continue
        if source == "EVAL" and not options.include_judges:
            rows.reject(i, "EVAL score (an LLM judge) is not ingested without --include-judges", score)
            continue
        if source not in ("ANNOTATION", "EVAL"):
            rows.reject(i, f"Langfuse score source {source!r} is not ANNOTATION or EVAL", score)
            continue
        if str(score.get("name")) != question:
            continue
        item, trace = _subject(score)
        if item is None:
            rows.reject(i, "score names no trace, observation or session", score, "item_id")
            continue
        if source == "EVAL":
            labeler, versioned = _judge(score)
            unversioned += not versioned
            rows.kinds[labeler] = "model"
        else:
            labeler = score.get("authorUserId")
        label, problem = _label(score)
        if problem:
            rows.reject(i, problem, score)
            continue
        values: dict[str, Any] = {
            "item_id": item,
            "labeler_id": labeler,
            "label": label,
            "labeled_at": score.get("timestamp"),
            "batch_id": score.get("queueId"),
            "guideline_version": score.get("configId"),
            "trace_id": trace,
            "score_id": score.get("id"),
            "comment": score.get("comment"),
        }
        values.update({k: v for k, v in meta_columns(score.get("metadata")).items() if k not in values})
        rows.add(i, values)
    if note := other_questions_note(question, names, "score name"):
        rows.notes.append(note)
    if unversioned:
        rows.notes.append(f"{unversioned} EVAL score(s) carry no judge version in their metadata; their labeler is "
                          "the judge's name alone, so versions of that judge are not told apart")
    return rows


def parse_lines(path: Path) -> list[tuple[int, Any]]:
    """(row, score) pairs of a JSON Lines file; a line that is not JSON is kept as its text to be rejected."""
    out: list[tuple[int, Any]] = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                try:
                    out.append((len(out), json.loads(line)))
                except (ValueError, RecursionError):
                    out.append((len(out), line.rstrip("\r\n")[:2000]))
    return out
