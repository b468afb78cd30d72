"""The canonical tables of docs/schema.md as pyarrow schemas — the one definition every reader and writer uses.

Each column carries a one-line meaning in its field metadata (``doc``), so the schema documents itself
(``evalaudit.schema.describe()`` prints it, and the docs are generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

#: The failure mode given to judgments and items that name none (docs/schema.md).
UNSPECIFIED = "unspecified"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool
    doc: str


@dataclass(frozen=True)
class Table:
    """A canonical table: its user-supplied columns and the provenance columns evalaudit adds."""

    name: str
    columns: tuple[Column, ...]
    provenance: tuple[Column, ...] = ()

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def user_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        """The stored schema: user columns, then provenance."""
        return pa.schema(
            [
                pa.field(c.name, c.type, nullable=not c.required, metadata={"doc": c.doc})
                for c in (*self.columns, *self.provenance)
            ]
        )

    def column(self, name: str) -> Column:
        for c in (*self.columns, *self.provenance):
            if c.name == name:
                return c
        raise KeyError(name)


PROVENANCE = (
    Column("source_file", pa.string(), True, "the file the row was ingested from (absolute path at ingest)"),
    Column("source_sha256", pa.string(), True, "sha256 of the whole source file; the unit of idempotent ingest"),
    Column("source_row", pa.int64(), True, "0-based row (record, annotation) in that file"),
    Column("ingested_at", TIMESTAMP, True, "when evalaudit ingested it (UTC)"),
)

LABELS = Table(
    "labels",
    (
        Column("item_id", pa.string(), True, "the eval item that was graded"),
        Column("labeler_id", pa.string(), True, "who graded it (an email, a vendor id, a pseudonym)"),
        Column("label", pa.string(), True, "the judgment, e.g. pass/fail or an ordinal value as text"),
        Column("failure_mode", pa.string(), False, "the failure mode / slice the item tests; missing -> unspecified"),
        Column("labeled_at", TIMESTAMP, False, "when the judgment was made (UTC); null when the source has none"),
        Column("batch_id", pa.string(), False, "the labeling batch / delivery it came in"),
        Column("vendor", pa.string(), False, "vendor, contract or team"),
        Column("guideline_version", pa.string(), False, "the rubric / guideline version in force"),
        Column("duration_s", pa.float64(), False, "seconds spent on the judgment"),
    ),
    PROVENANCE,
)

ITEMS = Table(
    "items",
    (
        Column("item_id", pa.string(), True, "the eval item"),
        Column("failure_mode", pa.string(), False, "the failure mode / slice the item tests"),
        Column("created_at", TIMESTAMP, False, "when the item entered the eval set"),
        Column("gold_label", pa.string(), False, "the label the eval uses today; absent -> consensus of labels"),
        Column("honeypot_label", pa.string(), False, "known-correct answer of a control item, else null"),
    ),
    PROVENANCE,
)

LABELERS = Table(
    "labelers",
    (
        Column("labeler_id", pa.string(), True, "the labeler"),
        Column("vendor", pa.string(), False, "vendor, contract or team"),
        Column("active_from", TIMESTAMP, False, "start of their engagement"),
        Column("active_to", TIMESTAMP, False, "end of their engagement; null = still active"),
        Column("kind", pa.string(), False, "human or model (an LLM used as a judge, named `name@version`); "
               "null = human"),
    ),
    PROVENANCE,
)

PREDICTIONS = Table(
    "predictions",
    (
        Column("model_version", pa.string(), True, "the evaluated system's version"),
        Column("item_id", pa.string(), True, "the eval item"),
        Column("prediction", pa.string(), True, "what the system answered, in the label space of `label`"),
    ),
    PROVENANCE,
)

PRODUCTION = Table(
    "production",
    (
        Column("failure_mode", pa.string(), True, "the failure mode of a production request"),
        Column("observed_at", TIMESTAMP, False, "when it was observed"),
    ),
    PROVENANCE,
)

TABLES: dict[str, Table] = {t.name: t for t in (LABELS, ITEMS, LABELERS, PREDICTIONS, PRODUCTION)}

#: Tables whose extra (non-canonical) columns are kept as text: slice columns (locale, product, ...) that coverage
#: compares between the eval set (items) and production (docs/schema.md: "plus any other slice columns").
OPEN_TABLES = frozenset({"production", "items"})

QUARANTINE = pa.schema(
    [
        pa.field("table", pa.string(), metadata={"doc": "the table the row was meant for"}),
        pa.field("source_file", pa.string(), metadata={"doc": "the file it came from"}),
        pa.field("source_sha256", pa.string(), metadata={"doc": "sha256 of that file"}),
        pa.field("source_row", pa.int64(), metadata={"doc": "0-based row in that file"}),
        pa.field("column", pa.string(), metadata={"doc": "the column at fault, if one"}),
        pa.field("reason", pa.string(), metadata={"doc": "why the row was rejected, one sentence"}),
        pa.field("raw", pa.string(), metadata={"doc": "the row as read, JSON"}),
        pa.field("quarantined_at", TIMESTAMP, metadata={"doc": "when it was rejected (UTC)"}),
    ]
)


def get(name: str) -> Table:
    """The canonical table called ``name``; ValueError naming the choices otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; choose one of {', '.join(TABLES)}") from None


def describe() -> str:
    """Markdown tables of every canonical table (used to generate docs/schema.md)."""
    out = []
    for t in TABLES.values():
        out.append(f"### {t.name}\n\n| column | type | required | meaning |\n|---|---|---|---|")
        for c in (*t.columns, *t.provenance):
            kind = "provenance" if c in t.provenance else ("yes" if c.required else "no")
            out.append(f"| {c.name} | {c.type} | {kind} | {c.doc} |")
        out.append("")
    return "\n".join(out)
