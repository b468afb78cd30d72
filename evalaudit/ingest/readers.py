"""Readers: one per source format, each turning a file into rows with their 0-based source row number.

A reader returns a `Source`: either a Parquet file DuckDB scans directly (fast path: streamed, never materialised in
Python), or an Arrow table of text columns plus the rows it could not read (quarantined with a reason). A file that
cannot be read at all raises UnusableInput with one sentence naming the file and what is wrong.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from evalaudit.errors import UnusableInput, first_line, input_error
from evalaudit.ingest import hf, tools
from evalaudit.ingest.label_studio import read_label_studio
from evalaudit.ingest.tool_rows import ReadOptions

FORMATS = ("auto", "parquet", "csv", "jsonl", "label-studio", *tools.TOOL_FORMATS)
ROW = "__row"  # the column carrying the 0-based source row through normalisation


@dataclass
class BadRow:
    row: int
    reason: str
    raw: str
    column: str | None = None


@dataclass
class Source:
    path: Path
    format: str
    columns: list[str]
    #: a Parquet file scanned by DuckDB (columns typed as stored) ...
    parquet: Path | None = None
    #: ... or the rows as an Arrow table with a ROW column: text for the text formats, native types for the
    #: Hugging Face shapes and --melt (evalaudit.ingest.hf)
    table: pa.Table | None = None
    bad_rows: list[BadRow] = field(default_factory=list)
    #: what a tool reader assumed where its export cannot tell (printed in the ingest summary)
    notes: list[str] = field(default_factory=list)
    #: labelers the export says are models (LLM judges): labeler_id -> kind, for the labelers table
    kinds: dict[str, str] = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """The format of ``path`` from its name, falling back to its first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return tools.parquet_format(path)
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return _object_format(path, lines=True)
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"PAR1"):
        return tools.parquet_format(path)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return tools.sniff(path, "label-studio")
    if text.startswith(b"{"):
        return _object_format(path)
    if suffix == ".json":
        return tools.sniff(path, "label-studio")
    raise UnusableInput(
        f"{path}: cannot tell its format from the name or contents; name it: {'|'.join(FORMATS[1:])}",
        options=("fmt",),
    )


def _object_format(path: Path, lines: bool = False) -> str:
    """A file that starts with ``{``: JSON Lines when its first line is a whole JSON object (unless that object is
    a Label Studio task, or a record of another tool: evalaudit.ingest.tools.object_format), else one JSON document
    spread over lines — a Label Studio export of a single task or another tool's document, told by its keys."""
    with open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        obj = json.loads(first.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError):
        return "jsonl" if lines else tools.sniff(path, "label-studio")
    if isinstance(obj, dict) and "annotations" in obj:
        return "label-studio"
    return tools.object_format(obj) or "jsonl"


#: column names an input may not use: the reader's row counter and the provenance evalaudit records itself
RESERVED = (ROW, "source_file", "source_sha256", "source_row", "ingested_at")


def check_columns(path: Path, columns: list[str]) -> None:
    """Refuse a source whose columns repeat a name or use a reserved one: the stored value would silently be one
    of two columns, or evalaudit's own provenance would be overwritten by the user's."""
    names = [c if c.strip() else "(blank)" for c in columns]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise UnusableInput(f"{path}: names column(s) {', '.join(repr(d) if d != '(blank)' else d for d in dupes)} "
                            "more than once; give each column its own name (input)")
    reserved = [c for c in columns if c in RESERVED]
    if reserved:
        raise UnusableInput(f"{path}: has column(s) {', '.join(reserved)}, which evalaudit reserves for the "
                            "provenance it records itself; rename or drop them (input)")


def read(path: Path, fmt: str = "auto", options: ReadOptions | None = None) -> Source:
    """Read ``path`` (a regular file: evalaudit.paths.check_input) in format ``fmt``; every way it can fail is
    one UnusableInput naming the file. ``options`` carry --question, --melt and --include-judges."""
    from evalaudit.paths import check_input

    options = options or ReadOptions()
    check_input(path)
    if path.is_dir():
        raise UnusableInput(f"{path}: is a directory, not a file (input)")
    try:
        fmt = detect_format(path) if fmt == "auto" else fmt
        reader = {"parquet": _read_parquet, "csv": _read_csv, "jsonl": _read_jsonl,
                  "label-studio": _read_label_studio}.get(fmt)
        if fmt in tools.TOOL_FORMATS:
            if not tools.is_parquet(path):
                check_utf8(path)
            src = _from_rows(path, fmt, tools.read_tool(path, fmt, options))
        elif reader is None:
            raise UnusableInput(f"{path}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        else:
            src = _reshape(reader(path), options)
    except OSError as e:
        raise input_error(path, e) from None
    except RecursionError:
        raise UnusableInput(f"{path}: nested too deeply to be read (input)") from None
    check_columns(path, src.columns)
    return src


def _from_rows(path: Path, fmt: str, rows: tools.Rows) -> Source:
    return Source(path, fmt, rows.columns, table=_strings_table(rows.columns, rows.values, rows.numbers),
                  bad_rows=[BadRow(**b) for b in rows.bad], notes=rows.notes, kinds=rows.kinds)


def _reshape(src: Source, options: ReadOptions) -> Source:
    """Hugging Face shapes and --melt (evalaudit.ingest.hf): decode ClassLabel integers, explode parallel lists,
    melt a wide table. A plain Parquet file that needs none of this keeps DuckDB's streamed path."""
    table = src.table
    bad = list(src.bad_rows)
    if src.parquet is not None:
        pf = pq.ParquetFile(src.parquet)
        metadata = pf.schema_arrow.metadata
        lists = hf.list_columns(pf.schema_arrow)
        if not (hf.class_labels(metadata) or len(lists) >= 2 or options.melt):
            return src
        table = hf.decode_class_labels(pf.read(), metadata)
        if len(lists) >= 2:
            table, exploded_bad = hf.explode(table, lists)
            bad.extend(BadRow(r, reason, raw) for r, reason, raw in exploded_bad)
        else:
            table = table.append_column(ROW, pa.array(range(table.num_rows), pa.int64()))
    elif not options.melt:
        return src
    if options.melt:
        if bad:
            raise UnusableInput(f"{src.path}: melting needs a whole table, and {len(bad)} record(s) of the file "
                                f"cannot be read (first: record {bad[0].row}: {bad[0].reason}) (input)",
                                options=("melt",))
        table = hf.melt(src.path, table, options.melt)
    columns = [c for c in table.column_names if c != ROW]
    return Source(src.path, src.format, columns, table=table, bad_rows=bad, notes=src.notes, kinds=src.kinds)


# -- Parquet ---------------------------------------------------------------------------------------------------
def _read_parquet(path: Path) -> Source:
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        if pf.metadata.num_rows:  # touch the data pages too (of one column: the cheapest to decode)
            pf.read_row_group(pf.metadata.num_row_groups - 1, columns=[_cheapest_column(pf, names)])
    except Exception as e:  # pyarrow raises several types for damaged files
        raise UnusableInput(f"{path}: not a readable Parquet file ({first_line(e)})") from None
    return Source(path, "parquet", list(names), parquet=path)


def _cheapest_column(pf: pq.ParquetFile, names: list[str]) -> str:
    """The flat column of the last row group that is quickest to read whole: fixed-width values first (a million
    strings become a million Python-visible Arrow strings, 0.3 s; a million numbers are one copy), then the
    fewest bytes."""
    last = pf.metadata.row_group(pf.metadata.num_row_groups - 1)
    flat = sorted((c.physical_type == "BYTE_ARRAY", c.total_uncompressed_size, c.path_in_schema)
                  for c in map(last.column, range(last.num_columns)) if c.path_in_schema in names)
    return flat[0][2] if flat else names[0]


# -- text formats ------------------------------------------------------------------------------------------------
def check_utf8(path: Path) -> None:
    """Raise UnusableInput naming the line of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                line += chunk.count(b"\n", 0, e.start)
                raise UnusableInput(f"{path}: not UTF-8 text (first invalid byte on line {line})") from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UnusableInput(f"{path}: not UTF-8 text (the file ends inside a character)") from None


def _strings_table(columns: list[str], rows: dict[str, list[Any]], row_numbers: list[int]) -> pa.Table:
    arrays = {c: pa.array(rows[c], type=pa.string()) for c in columns}
    arrays[ROW] = pa.array(row_numbers, type=pa.int64())
    return pa.table(arrays)


def _read_csv(path: Path) -> Source:
    check_utf8(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, encoding="utf-8-sig", newline="") as f:
        try:
            header = next(csv.reader(f, delimiter=delimiter), None)
        except csv.Error as e:
            raise UnusableInput(f"{path}: the CSV header cannot be read ({e})") from None
    if not header or not any(h.strip() for h in header):
        raise UnusableInput(f"{path}: empty CSV file (no header row)")
    header = [h.strip() for h in header]
    check_columns(path, header)
    invalid: list[Any] = []
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True,
                invalid_row_handler=lambda row: (invalid.append(row), "skip")[1],
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        invalid.append(None)  # let the exact reader below say which row is at fault
    if not invalid:
        return Source(path, "csv", header, table=table.append_column(ROW, pa.array(range(table.num_rows),
                                                                                     type=pa.int64())))
    return _read_csv_exact(path, header, delimiter)


def _read_csv_exact(path: Path, header: list[str], delimiter: str) -> Source:
    """Record-by-record reader for CSV files with malformed records: exact record numbers, each bad record
    quarantined alone with its raw text, and parsing resumed on the next line.

    pyarrow's fast reader reports physical line numbers, which differ from record numbers once a quoted value
    spans lines. A record is the lines up to where its quotes balance; when they never balance (a quote opened and
    not closed), or a record spanning lines has the wrong number of fields, only its first line is quarantined —
    so one stray quote cannot swallow the rest of the file — and reading resumes on the next line."""
    rows: dict[str, list[Any]] = {c: [] for c in header}
    numbers: list[int] = []
    bad: list[BadRow] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.readlines()
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        with contextlib.suppress(csv.Error, StopIteration):
            next(reader)  # the header, already read
        start = reader.line_num
    record = 0
    i = start
    while i < len(lines):
        if not lines[i].strip("\r\n"):
            i += 1
            continue
        j, quotes = i, lines[i].count('"')
        while quotes % 2 and j + 1 < len(lines):
            j += 1
            quotes += lines[j].count('"')
        text = "".join(lines[i:j + 1])
        if quotes % 2:
            bad.append(BadRow(record, "malformed CSV record (a quote opened on this line is never closed)",
                              lines[i].rstrip("\r\n")[:2000]))
            i, record = i + 1, record + 1
            continue
        try:
            fields = next(csv.reader([text], delimiter=delimiter, strict=True))
        except (csv.Error, StopIteration) as e:
            bad.append(BadRow(record, f"malformed CSV record ({e})", text.rstrip("\r\n")[:2000]))
            i, record = j + 1, record + 1
            continue
        if len(fields) != len(header):
            if j > i:  # the quotes that joined these lines were probably stray: keep only the first line out
                bad.append(BadRow(record, f"malformed CSV record (a quote here joins {j - i + 1} lines into "
                                  f"{len(fields)} fields where the header has {len(header)})",
                                  lines[i].rstrip("\r\n")[:2000]))
                i, record = i + 1, record + 1
                continue
            bad.append(BadRow(record, f"has {len(fields)} fields where the header has {len(header)}",
                              json.dumps(fields, ensure_ascii=False)))
        else:
            for c, v in zip(header, fields, strict=True):
                rows[c].append(v)
            numbers.append(record)
        i, record = j + 1, record + 1
    return Source(path, "csv", header, table=_strings_table(header, rows, numbers), bad_rows=bad)


def _json_text(value: Any) -> str | None:
    """A JSON value as the text a string column stores: strings as they are, other scalars as JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(path: Path) -> Source:
    check_utf8(path)
    columns: list[str] = []
    rows: dict[str, list[Any]] = {}
    numbers: list[int] = []
    bad: list[BadRow] = []
    n_lines = 0
    with open(path, encoding="utf-8-sig") as f:
        i = -1
        for line in f:
            if not line.strip():
                continue
            i += 1
            n_lines += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                bad.append(BadRow(i, f"not valid JSON ({e.msg} at column {e.colno})", line.rstrip("\r\n")[:2000]))
                continue
            except RecursionError:
                bad.append(BadRow(i, "JSON nested too deeply to be read", line.rstrip("\r\n")[:2000]))
                continue
            if not isinstance(obj, dict):
                bad.append(BadRow(i, "is not a JSON object", line.rstrip("\r\n")[:2000]))
                continue
            k = len(numbers)
            for key in obj:
                if key not in rows:
                    columns.append(key)
                    rows[key] = [None] * k
            for key, col in rows.items():
                col.append(_json_text(obj.get(key)))
            numbers.append(i)
    if n_lines and not numbers:
        raise UnusableInput(f"{path}: not JSON Lines (no line holds a JSON object; first problem: "
                            f"record {bad[0].row}: {bad[0].reason})")
    return Source(path, "jsonl", columns, table=_strings_table(columns, rows, numbers), bad_rows=bad)


def _read_label_studio(path: Path) -> Source:
    check_utf8(path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            doc = json.load(f)
    except json.JSONDecodeError as e:
        raise UnusableInput(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply to be read (input)") from None
    columns, rows, numbers, bad = read_label_studio(doc, path)
    return Source(path, "label-studio", columns, table=_strings_table(columns, rows, numbers),
                  bad_rows=[BadRow(**b) for b in bad])

