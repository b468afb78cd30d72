"""The agreement queries stay in the portable SQL subset (docs: shared PORTABLE_SQL.md) and say what a row
means."""

from __future__ import annotations

import re

import pytest
import sqlglot

from evalaudit import sql

NAMES = [n for n in sql.names() if n.startswith("agreement_")]
FORBIDDEN = [r"::", r"\bQUALIFY\b", r"//", r"%", r"\bepoch", r"\bstrftime\b", r"\bdate_diff\b", r"\blist\(",
             r"\bstring_agg\b", r"\bEXCLUDE\b", r"\bCOLUMNS\(", r"read_parquet", r"\barg_(max|min)\b",
             r"\bquantile_", r"\bNULLS FIRST\b"]


def test_there_are_agreement_queries() -> None:
    assert {"agreement_patterns_overall", "agreement_patterns_wide_window", "agreement_pairs"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_portable_and_documented(name: str) -> None:
    text = sql.load(name)
    assert text.startswith("-- One row:"), "each query opens with what one row of its result means"
    body = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    for pattern in FORBIDDEN:
        assert not re.search(pattern, body, flags=re.IGNORECASE), pattern
    assert " / " not in body, "no bare division"
    for dialect in ("duckdb", "spark"):
        sqlglot.parse_one(text, read=dialect)
