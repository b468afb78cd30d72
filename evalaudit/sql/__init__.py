"""Named SQL: every query the audit runs lives here as ``<name>.sql``, in the portable subset that runs unchanged on
DuckDB and Spark (see docs/portable_sql.md). Each file opens with a comment saying what one row of its result means.

Queries refer to the store's tables by their view names (``labels``, ``items``, ...), never to file paths, and take
values as named parameters written ``$name`` — bound by the engine, never formatted into the text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

#: named queries whose values are each engine's own (a hash function's), so the engines agree on their row count
#: only; what reads them compares the values with each other (``judgments_key_hashes``: only equal hashes matter)
ENGINE_OWN_VALUES = frozenset({"judgments_key_hashes"})


@cache
def load(name: str) -> str:
    """The text of the named query ``evalaudit/sql/<name>.sql``."""
    try:
        return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"no named query {name!r} in evalaudit/sql") from None


def filled(name: str, /, **fill: str) -> str:
    """The named query ``name``, a template, with each placeholder ``{key}`` replaced by ``fill[key]``: code-owned
    SQL text (expressions, quoted identifiers, CTE names), never user input — values stay bound parameters."""
    text = load(name)
    for placeholder, value in fill.items():
        text = text.replace("{" + placeholder + "}", value)
    return text


def names() -> list[str]:
    """Every named query, sorted."""
    return sorted(
        p.name.removesuffix(".sql") for p in resources.files(__package__).iterdir() if p.name.endswith(".sql")
    )


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted with embedded quotes doubled — the one quoting helper for identifiers."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal with embedded quotes doubled. Only for DDL where a parameter cannot be bound
    (a view's file list); values in queries are always bound parameters."""
    return "'" + str(value).replace("'", "''") + "'"
