"""Which labeling tool wrote a file, and the dispatch to its reader (docs/ingest.md, "Tool exports").

Recognising a tool from content (``--format auto``): a JSON Lines file by the shape of its first record
(`object_format`); a JSON document by the first key among its first 64 KiB that only one tool writes
(``"annotations"`` Label Studio, ``"answerContent"``/``"workerId"`` SageMaker Ground Truth,
``"traceId"``/``"authorUserId"`` Langfuse, ``"<q>.responses"``/``"_server_id"`` Argilla, ``"_input_hash"``
Prodigy); a Parquet file written by Argilla's ``to_datasets()`` by its ``<q>.responses`` columns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from evalaudit.errors import UnusableInput
from evalaudit.ingest import argilla, langfuse, prodigy, sagemaker
from evalaudit.ingest.tool_rows import ReadOptions, Rows

__all__ = ["TOOL_FORMATS", "Rows", "is_parquet", "object_format", "parquet_format", "read_tool", "sniff"]

TOOL_FORMATS = ("argilla", "prodigy", "langfuse", "sagemaker-gt")

#: key markers, each written by one tool only
_MARKERS = (
    (re.compile(rb'"annotations"\s*:'), "label-studio"),
    (re.compile(rb'"(answerContent|workerId)"\s*:'), "sagemaker-gt"),
    (re.compile(rb'"(traceId|authorUserId|observationId)"\s*:'), "langfuse"),
    (re.compile(rb'"[^"\n]+\.responses(\.users|\.status)?"\s*:|"_server_id"\s*:'), "argilla"),
    (re.compile(rb'"(_input_hash|_task_hash)"\s*:'), "prodigy"),
)


def sniff(path: Path, default: str) -> str:
    """The tool whose key comes first in the file's head, else ``default``."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    found = [(m.start(), fmt) for pattern, fmt in _MARKERS if (m := pattern.search(head))]
    return min(found)[1] if found else default


def object_format(obj: Any) -> str | None:
    """The tool whose record ``obj`` (the first line of a JSON Lines file) is, if any: decided by the record's
    shape, not by one key, so a plain table with a ``workerId`` column stays a table."""
    if sagemaker.looks_like_worker_response(obj):
        return "sagemaker-gt"
    if prodigy.looks_like_prodigy(obj):
        return "prodigy"
    if langfuse.looks_like_score(obj):
        return "langfuse"
    if argilla.looks_like_argilla(obj):
        return "argilla"
    return None


def is_parquet(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def parquet_format(path: Path) -> str:
    """``argilla`` for a Parquet file of Argilla's ``to_datasets()``, else ``parquet``."""
    try:
        names = pq.ParquetFile(path).schema_arrow.names
    except Exception:  # a damaged file: the Parquet reader names the problem
        return "parquet"
    return "argilla" if argilla.argilla_columns(names) else "parquet"


def _document(path: Path) -> tuple[Any, list[tuple[int, Any]] | None]:
    """A JSON file as one document, or (when it is JSON Lines) as its (row, object) lines."""
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    try:
        return json.loads(text), None
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply to be read (input)") from None
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":
            raise UnusableInput(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}) "
                                "(input)") from None
    return None, langfuse.parse_lines(path)


def read_tool(path: Path, fmt: str, options: ReadOptions) -> Rows:
    """The rows of a tool export in format ``fmt``."""
    if fmt == "prodigy":
        return prodigy.read_prodigy(path, options)
    if fmt == "argilla" and is_parquet(path):
        try:
            records = pq.read_table(path).to_pylist()
        except Exception as e:  # pyarrow raises several types for damaged files
            raise UnusableInput(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]}) (input)") from None
        return argilla.read_argilla(path, records, options)
    doc, lines = _document(path)
    if fmt == "argilla":
        records = [obj for _, obj in lines] if lines is not None else doc if isinstance(doc, list) else [doc]
        return argilla.read_argilla(path, records, options)
    if fmt == "langfuse":
        scores = lines if lines is not None else list(enumerate(langfuse.load_scores(path, doc)))
        return langfuse.read_langfuse(path, scores, options)
    if lines is not None:
        raise UnusableInput(f"{path}: a SageMaker Ground Truth worker response is one JSON object, not JSON Lines "
                            "(input)")
    return sagemaker.read_sagemaker(path, doc, options)
