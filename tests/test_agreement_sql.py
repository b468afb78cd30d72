"""The agreement queries stay in the portable SQL subset (docs: shared PORTABLE_SQL.md) and say what a row
means. The pattern queries are templates (agreement_patterns, agreement_patterns_wide) filled per scope by
evalaudit/agreement/patterns.py: what must hold is checked on every scope's filled-in text, which is what the
engines run."""

from __future__ import annotations

import re

import pytest
import sqlglot

from evalaudit import sql
from evalaudit.agreement import api
from evalaudit.agreement import patterns as pat
from evalaudit.sql.lint import lint_text

NAMES = [n for n in sql.names() if n.startswith("agreement_")]
TEMPLATES = {"agreement_patterns": pat.packing_for(2), "agreement_patterns_wide": pat.packing_for(40, 3),
             "agreement_item_counts": pat.unpacked(40)}
#: the other templates: the text each is filled with, for a few sizes (vendors; categories)
FILLED = {
    "agreement_per_item_scopes": ({"vendor_columns", "parts", "part_m", "part_k"},
                                  [pat.per_item_scopes_sql(n) for n in (0, 1, pat.VENDOR_COLUMNS_MAX)]),
    "agreement_pairs": ({"cell_keys", "cell_group", "cell_order", "cell_columns"},
                        [api.pair_sql(q) for q in (*range(1, api.PAIR_COLUMNS_MAX_LABELS + 2), None)]),
}
SLICINGS = {**pat.SCOPES, "failure_mode_window": pat.FAILURE_MODE_WINDOW}
FORBIDDEN = [r"::", r"\bQUALIFY\b", r"//", r"%", r"\bepoch", r"\bstrftime\b", r"\bdate_diff\b", r"\blist\(",
             r"\bstring_agg\b", r"\bEXCLUDE\b", r"\bCOLUMNS\(", r"read_parquet", r"\barg_(max|min)\b",
             r"\bquantile_", r"\bNULLS FIRST\b"]


def test_there_are_agreement_queries() -> None:
    assert {"agreement_patterns", "agreement_patterns_wide", "agreement_pairs"} <= set(NAMES)
    assert {packing.query for packing in TEMPLATES.values()} == set(TEMPLATES)
    # one template per packing, not one file per scope
    assert not [n for n in NAMES if n.startswith("agreement_patterns_") and n != "agreement_patterns_wide"]
    assert list(pat.SCOPES) == ["overall", "failure_mode", "batch", "vendor", "window"]  # docs/outputs.md


def _check(text: str) -> None:
    assert text.startswith("-- One row:"), "each query opens with what one row of its result means"
    body = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    for pattern in FORBIDDEN:
        assert not re.search(pattern, body, flags=re.IGNORECASE), pattern
    assert " / " not in body, "no bare division"
    for dialect in ("duckdb", "spark"):
        sqlglot.parse_one(text, read=dialect)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in TEMPLATES and n not in FILLED])
def test_portable_and_documented(name: str) -> None:
    _check(sql.load(name))


@pytest.mark.parametrize("scope", list(SLICINGS))
@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_scope_filled_in_is_portable_and_documented(template: str, scope: str) -> None:
    slicing = SLICINGS[scope]
    text = pat.pattern_sql(slicing, TEMPLATES[template])
    body = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    assert not re.search(r"\{\w+\}", body), "a placeholder was left unfilled"
    _check(text)
    assert lint_text(f"{template}[{scope}]", text) == []
    tree = sqlglot.parse_one(text, read="duckdb")
    assert tree.named_selects[: len(slicing.keys)] == [name for name, _ in slicing.keys]
    where = re.search(r"WHERE (.*)", body).group(1)
    for column in slicing.required:  # the NOT NULL filter of every column the slice reads
        assert f'l."{column}" IS NOT NULL' in where
    if not slicing.required:
        assert where.strip() == "TRUE"


def test_templates_name_only_the_placeholders_the_code_fills() -> None:
    for template in TEMPLATES:
        body = "\n".join(line.split("--", 1)[0] for line in sql.load(template).splitlines())
        assert set(re.findall(r"\{(\w+)\}", body)) == {"slice_exprs", "slices", "slice_filter"}


@pytest.mark.parametrize("name", list(FILLED))
def test_other_templates_filled_in_are_portable_and_documented(name: str) -> None:
    placeholders, texts = FILLED[name]
    body = "\n".join(line.split("--", 1)[0] for line in sql.load(name).splitlines())
    assert set(re.findall(r"\{(\w+)\}", body)) == placeholders
    for text in texts:
        body = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
        assert not re.search(r"\{\w+\}", body), "a placeholder was left unfilled"
        _check(text)
        assert lint_text(name, text) == []
