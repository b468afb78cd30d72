"""What every tool-export reader shares: the rows it builds, the options it reads, the question it picks and the one
label it takes from an answer.

A tool export (Argilla, Prodigy, Langfuse, SageMaker Ground Truth) is not a table: one record holds several
people's answers, or answers that are not judgments at all (skipped, discarded, draft). Each reader walks its
records and fills a `Rows`: one row of text columns per judgment, and one quarantined row, with the reason, per
answer that is not one. `source_row` is the answer's 0-based position among all answers of the file, so it is unique
per row (the store's de-duplication keys on it). `notes` are the sentences the ingest summary prints when an export
cannot tell something and the reader had to assume it (docs/ingest.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput

#: the canonical labels columns a tool's free-form metadata may name directly (others are kept as ``meta.<key>``)
CANONICAL_META_KEYS = ("item_id", "failure_mode", "batch_id", "vendor", "guideline_version")


@dataclass(frozen=True)
class ReadOptions:
    """What the user chose on the command line for exports that need a choice."""

    #: the labeling question / score name to ingest when an export has several (``--question``)
    question: str | None = None
    #: also ingest LLM-judge scores (Langfuse ``EVAL``) as judgments of labelers of kind ``model``
    include_judges: bool = False
    #: ``--melt GLOB``: a wide table's columns matching GLOB become judgments
    melt: str | None = None


@dataclass
class Rows:
    """Rows built by a tool reader: text columns in first-seen order, row numbers, rejects and notes."""

    columns: list[str] = field(default_factory=list)
    values: dict[str, list[str | None]] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    #: rejected answers as dicts of evalaudit.ingest.readers.BadRow fields
    bad: list[dict[str, Any]] = field(default_factory=list)
    #: sentences for the summary: what the reader assumed where the export cannot tell
    notes: list[str] = field(default_factory=list)
    #: labelers the export itself says are models (LLM judges): labeler_id -> kind
    kinds: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *names: str) -> Rows:
        """Rows with these columns declared up front, so a file whose every answer is quarantined still has them."""
        return cls(columns=list(names), values={n: [] for n in names})

    def add(self, row: int, values: dict[str, Any]) -> None:
        k = len(self.numbers)
        for key in values:
            if key not in self.values:
                self.columns.append(key)
                self.values[key] = [None] * k
        for key, col in self.values.items():
            col.append(json_text(values.get(key)))
        self.numbers.append(row)

    def reject(self, row: int, reason: str, raw: Any, column: str | None = "label") -> None:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        self.bad.append({"row": row, "reason": reason, "raw": text[:4000], "column": column})


def json_text(value: Any) -> str | None:
    """A JSON value as the text a string column stores: strings as they are, integral floats without ``.0``
    (Langfuse and pandas write the label 3 as 3.0), other scalars and structures as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False, default=str)


def one_label(value: Any) -> tuple[str | None, str | None]:
    """(label, problem): the single label of an answer. A list is a multi-label answer, which evalaudit does not
    flatten into one of its labels (docs/ingest.md, "Multi-label answers"); a structure (a span, a ranking) is not
    a label either."""
    if isinstance(value, list):
        shown = ", ".join(str(v) for v in value[:5]) + (", ..." if len(value) > 5 else "")
        return None, ("multi-label answer (evalaudit stores one label per judgment and never flattens a multi-label "
                      f"answer; docs/ingest.md): {len(value)} labels {shown}")
    if isinstance(value, dict):
        return None, "answer is a structure (a span, a ranking, ...), not one label"
    text = json_text(value)
    if text is None or not text.strip():
        return None, "answer has no value"
    return text, None


def pick_question(path: Path, available: list[str], question: str | None, what: str = "question") -> str:
    """The question to ingest: the one asked for with --question, else the only one; several without --question,
    or a name the export does not have, is one sentence and exit 2 listing them."""
    names = sorted(dict.fromkeys(available))
    listed = ", ".join(repr(n) for n in names) or "none"
    if question is not None:
        if question not in names:
            raise UnusableInput(f"{path}: has no {what} {question!r} (it has: {listed}) (input)",
                                options=("question",))
        return question
    if not names:
        raise UnusableInput(f"{path}: holds no answered {what} (input)")
    if len(names) > 1:
        raise UnusableInput(f"{path}: holds {len(names)} {what}s ({listed}); pick one (input)",
                            options=("question",))
    return names[0]


def other_questions_note(question: str | None, names: list[str], what: str = "question") -> str | None:
    """The summary sentence for answers left unread because they answer another question than ``question``."""
    others = [n for n in names if n != question]
    if question is None or not others:
        return None
    listed = ", ".join(f"{n!r}" for n in sorted(set(others)))
    return (f"{len(others)} answer(s) to other {what}s ({listed}) were not read: this ingest is of {what} "
            f"{question!r} (--question)")


def meta_columns(meta: Any, prefix: str = "meta.") -> dict[str, Any]:
    """A tool's free-form metadata: keys named like canonical columns as they are, others as ``meta.<key>`` (kept
    for --map, not stored unless mapped)."""
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return {}
    if not isinstance(meta, dict):
        return {}
    return {(k if k in CANONICAL_META_KEYS else f"{prefix}{k}"): v for k, v in meta.items()}
