"""Every named query stays in the portable SQL subset (docs/portable_sql.md), says what one row means, and is used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalaudit import sql as named_sql
from evalaudit.sql.lint import lint_all, lint_text

PACKAGE = Path(named_sql.__file__).resolve().parent.parent


@pytest.mark.parametrize("text, message", [
    ("SELECT CAST(a AS INT), a::INT FROM t", ":: casts"),
    ("SELECT x / y FROM t", "may divide by zero"),
    ("SELECT x / (y - 1) FROM t", "may divide by zero"),
    ("SELECT x % 2 FROM t", "%"),
    ("SELECT x // 2 FROM t", "//"),
    ("SELECT * FROM t QUALIFY row_number() OVER (ORDER BY a) = 1", "QUALIFY"),
    ("SELECT list(a) FROM t", "list()"),
    ("SELECT arg_max(a, b) FROM t", "arg_max()"),
    ("SELECT string_agg(a, ',') FROM t", "string_agg()"),
    ("SELECT quantile_cont(a, 0.5) FROM t", "quantile_cont()"),
    ("SELECT strftime(ts, '%Y') FROM t", "strftime()"),
    ("SELECT dayofweek(ts) FROM t", "dayofweek()"),
    ("SELECT date_diff('day', a, b) FROM t", "date_diff()"),
    ("SELECT * EXCLUDE (a) FROM t", "EXCLUDE"),
    ("SELECT * FROM read_parquet('x.parquet')", "read_parquet()"),
    ("SELECT a FROM t UNION BY NAME SELECT a FROM u", "UNION BY NAME"),
    ("SELECT len(a) FROM t", "len()"),
])
def test_the_linter_catches_each_construct(text, message):
    problems = lint_text("example", text)
    assert any(message in p.message for p in problems), problems


@pytest.mark.parametrize("text", [
    "SELECT x / NULLIF(y, 0), x / 2.0, max_by(a, b), count_if(a > 1), percentile_cont(0.5) WITHIN GROUP "
    "(ORDER BY a), CAST(a AS DOUBLE) FROM t",
    "SELECT SUM(CASE WHEN a THEN 1 ELSE 0 END) AS n, 'range(' AS s FROM t GROUP BY b ORDER BY n DESC NULLS LAST",
])
def test_the_linter_accepts_the_subset(text):
    assert lint_text("example", text) == []


def test_every_named_query_is_portable():
    problems = lint_all()
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("name", named_sql.names())
def test_every_named_query_says_what_a_row_means(name):
    first = named_sql.load(name).lstrip().splitlines()[0]
    assert first.startswith("-- ") and re.search(r"\b(one row|row)\b", first, re.I), first


def test_every_named_query_is_used():
    """A query is used when its name, or a prefix it is composed from (a quoted string ending in "_"), appears
    in the package's code."""
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    literals = set(re.findall(r"[\"']([a-z0-9_]+)[\"']", source))
    prefixes = {lit for lit in literals if lit.endswith("_")}
    unused = [n for n in named_sql.names() if n not in literals and not any(n.startswith(p) for p in prefixes)]
    assert not unused, unused
