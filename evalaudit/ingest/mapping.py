"""The column mapping of an ingest (``--map SOURCE=CANONICAL``): parsed from its pairs and checked against the
file and the table before any row is read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from evalaudit import schema
from evalaudit.errors import UnusableInput
from evalaudit.ingest.readers import Source


def parse_map(pairs: Iterable[str]) -> dict[str, str]:
    """``["SRC=DST", ...]`` -> {SRC: DST}; UnusableInput on a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise UnusableInput(f"column mapping {pair!r}: write it as SOURCE_COLUMN=CANONICAL_COLUMN",
                                options=("mapping",))
        out[src.strip()] = dst.strip()
    return out


def apply_map(src: Source, table: schema.Table, mapping: Mapping[str, str]) -> dict[str, str]:
    """Source column -> stored column name, checking the mapping against the file and the table."""
    names = {c: c for c in src.columns}
    allowed = set(table.user_columns)
    for old, new in mapping.items():
        if old not in names:
            raise UnusableInput(
                f"{src.path}: the column mapping names column {old!r}, which the file does not have "
                f"(it has: {', '.join(src.columns) or 'no columns'})", options=("mapping",)
            )
        if table.name not in schema.OPEN_TABLES and new not in allowed:
            raise UnusableInput(
                f"column mapping {old}={new}: {new!r} is not a column of table {table.name} "
                f"(columns: {', '.join(table.user_columns)})", options=("mapping",)
            )
        if new in names and new not in mapping:
            raise UnusableInput(f"{src.path}: has a column {new!r} already, so the column mapping {old}={new} is "
                                "ambiguous", options=("mapping",))
        names[old] = new
    targets = [v for v in names.values()]
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise UnusableInput(f"{src.path}: the column mapping gives more than one column the name {', '.join(dupes)}",
                            options=("mapping",))
    present = set(names.values())
    missing = [c for c in table.required if c not in present]
    if missing:
        hints = [f"{c} (found {s!r}: map it as {s}={c})" for c in missing for s in src.columns
                 if s.lower().replace(" ", "_") == c]
        raise UnusableInput(
            f"{src.path}: missing required column(s) {', '.join(hints or missing)} for table {table.name} "
            f"(columns found: {', '.join(src.columns) or 'none'}; rename one with a column mapping "
            f"SOURCE={missing[0]})",
            options=("mapping",),
        )
    return names
