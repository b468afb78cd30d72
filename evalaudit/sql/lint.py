"""Lint named queries for constructs outside the portable subset (docs/portable_sql.md).

The subset was measured on DuckDB and Spark 3.5/4.x: queries inside it run unchanged on both with identical results;
the constructs below either fail on one engine or silently change meaning. sqlglot parses each query (it is not used
to translate — transpiling was measured to change the meaning of several functions) and the linter walks the tree;
a few constructs are caught on the text, where the parser normalises them away (``::`` casts).

`python -m evalaudit.sql.lint` prints every problem; tests/test_sql_portable.py fails on any.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from evalaudit import sql as named_sql

#: Functions that do not exist on one engine or mean something else there (lower-case names).
FORBIDDEN_FUNCTIONS = {
    "list": "list aggregates differ between engines", "list_contains": "list functions are DuckDB-only",
    "list_value": "list functions are DuckDB-only", "array_agg": "list aggregates differ between engines",
    "string_agg": "string_agg is DuckDB-only", "arg_max": "use max_by", "arg_min": "use min_by",
    "quantile": "use percentile_cont ... WITHIN GROUP", "quantile_cont": "use percentile_cont ... WITHIN GROUP",
    "quantile_disc": "use percentile_cont ... WITHIN GROUP", "epoch": "epoch functions differ",
    "epoch_ms": "epoch functions differ", "date_diff": "date_diff on timestamps differs",
    "datediff": "date_diff on timestamps differs", "dayofweek": "Sunday is 0 in DuckDB, 1 in Spark",
    "isodow": "Sunday is 0 in DuckDB, 1 in Spark", "week": "week numbering differs",
    "strftime": "strftime is DuckDB-only", "strptime": "strptime is DuckDB-only", "len": "len() is DuckDB-only",
    "range": "range() differs", "generate_series": "not portable", "first": "first(... ORDER BY) differs",
    "read_parquet": "no file paths in queries: register views", "read_csv": "no file paths in queries",
    "to_json": "JSON functions differ", "regexp_full_match": "DuckDB-only", "unnest": "unnest differs",
}
#: AST node types outside the subset, with the reason. Function names are checked on the text instead, because
#: the parser normalises aliases (it reads the portable max_by as its ArgMax node).
FORBIDDEN_NODES: dict[type, str] = {
    exp.Qualify: "QUALIFY is not in Spark",
    exp.Lambda: "lambdas are not portable",
    exp.IntDiv: "// differs between engines",
    exp.Mod: "% differs between engines (use a CASE)",
}
TEXT_RULES = [
    (re.compile(r"::"), ":: casts are DuckDB-only; write CAST(x AS T)"),
    (re.compile(r"\bEXCLUDE\s*\(", re.I), "* EXCLUDE is DuckDB-only"),
    (re.compile(r"\bCOLUMNS\s*\(", re.I), "COLUMNS() is DuckDB-only"),
    (re.compile(r"\bUNION\s+(ALL\s+)?BY\s+NAME\b", re.I), "UNION BY NAME is DuckDB-only"),
    (re.compile(r"\bASOF\b", re.I), "ASOF JOIN is DuckDB-only"),
]


@dataclass
class Problem:
    query: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"evalaudit/sql/{self.query}.sql:{self.line}: {self.message}"


def _strip_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", lambda m: " " * len(m.group(0)), text)


_FUNCTION_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def _blank_strings(text: str) -> str:
    """String literals blanked out, so a value like 'range(' is not read as a call."""
    return re.sub(r"'(?:[^']|'')*'", lambda m: "'" + " " * (len(m.group(0)) - 2) + "'", text)


def _line_of(text: str, needle: str) -> int:
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else 1


def _safe_divisor(node: exp.Expression) -> bool:
    """A divisor that cannot be zero (a non-zero literal) or is guarded by NULLIF."""
    node = node.unnest()
    if isinstance(node, exp.Literal) and node.is_number:
        return float(node.this) != 0
    if isinstance(node, exp.Nullif):
        return True
    if isinstance(node, exp.Cast):
        return _safe_divisor(node.this)
    return False


def lint_text(name: str, text: str) -> list[Problem]:
    """Problems of one query's text (``{column}``-style identifier placeholders are linted as a plain column)."""
    problems: list[Problem] = []
    code = _strip_comments(text)
    for m in _FUNCTION_CALL.finditer(_blank_strings(code)):
        fname = m.group(1).lower()
        if fname in FORBIDDEN_FUNCTIONS:
            problems.append(Problem(name, code.count("\n", 0, m.start()) + 1,
                                    f"{fname}(): {FORBIDDEN_FUNCTIONS[fname]}"))
    for pattern, message in TEXT_RULES:
        for m in pattern.finditer(code):
            problems.append(Problem(name, code.count("\n", 0, m.start()) + 1, message))
    parsed_text = re.sub(r"\{(\w+)\}", r"\1", code)
    try:
        tree = sqlglot.parse_one(parsed_text, read="duckdb")
    except sqlglot.errors.ParseError as e:
        return [*problems, Problem(name, 1, f"does not parse: {str(e).splitlines()[0]}")]
    for node in tree.walk():
        for kind, message in FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                problems.append(Problem(name, _line_of(code, node.sql("duckdb").split("(")[0][:20]), message))
        if isinstance(node, exp.Div) and not _safe_divisor(node.expression):
            problems.append(Problem(name, _line_of(code, node.expression.sql("duckdb")[:15]),
                                    f"division by {node.expression.sql('duckdb')!r} may divide by zero: "
                                    "guard it with NULLIF(…, 0)"))
    return problems


def lint_all() -> list[Problem]:
    problems: list[Problem] = []
    for name in named_sql.names():
        problems += lint_text(name, named_sql.load(name))
    return problems


def main() -> int:
    problems = lint_all()
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {len(named_sql.names())} named queries", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
