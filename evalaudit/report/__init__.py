"""The HTML report (index.html): one self-contained file, every user-supplied string escaped.

This is the plain first version: findings by severity with their evidence, and the store summary. The full report
(charts, sortable tables, history trends) renders from the same findings document and stage tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("evalaudit", "report/templates"),
    autoescape=True,  # every user-supplied string lands escaped
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


_env.filters["fmt"] = fmt


def render(doc: dict[str, Any], ctx: Any = None) -> str:
    return _env.get_template("index.html.j2").render(doc=doc, summary=doc["summary"], findings=doc["findings"])


def write(path: Path, doc: dict[str, Any], ctx: Any = None) -> None:
    path.write_text(render(doc, ctx), encoding="utf-8")
