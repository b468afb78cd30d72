"""The HTML report (index.html): one self-contained file, every user-supplied string escaped.

It leads with what needs action (findings by severity, each with its evidence), then trends across runs, agreement,
leniency, drift, concentration, stale and poisoned items, coverage and impact — each section rendering from the
stage tables present and saying "not computed" (and why) when one is absent.

Safety, in layers: jinja2 autoescaping for HTML text and attributes; :func:`svg.esc` for chart text; JSON embedded
in ``<script type="application/json">`` escapes ``<``, ``>``, ``&`` and U+2028/9 (so ``</script>`` and ``<!--``
cannot end or comment out the block); and a Content-Security-Policy that allows no network fetch at all and only
the one inline script whose SHA-256 it names — so even a string that slipped through could not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources
from numbers import Number
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
from markupsafe import Markup, escape

from evalaudit import impact as impact_mod
from evalaudit import verdict as verdict_mod
from evalaudit.report import sections as sections_mod
from evalaudit.report import seed, svg

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("evalaudit", "report/templates"),
    autoescape=True,  # every user-supplied string lands escaped
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


#: columns shown in scientific notation (p- and q-values span many orders of magnitude)
SCIENTIFIC = frozenset({"p_value", "q_value"})


def fmt(value: Any, column: str | None = None) -> str:
    """A cell as a reviewer reads it: floats to 3 significant figures (p and q in scientific notation),
    integers with thousands separators, booleans as yes/no."""
    if isinstance(value, Markup):  # a cell the sections built as safe HTML (a link), its text already escaped
        return value
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return svg.num(value, sci=column in SCIENTIFIC)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def row_cells(row: list[Any], columns: list[str]) -> Markup:
    """One table row's cells: a number right-aligned with its raw value in ``data-v`` (the script sorts by it), a
    severity with its class, anything else formatted; every value escaped. One Python call per row, not a Jinja
    expression per cell: a small store's report has 20,000 cells, and that was two thirds of its rendering."""
    out = []
    for i, v in enumerate(row):
        column = columns[i]
        if isinstance(v, Number):  # Jinja's `is number`
            out.append(f'<td class="num" data-v="{escape(v)}">{escape(fmt(v, column))}</td>')
        elif column == "severity":
            out.append(f'<td class="sev-{escape(v)}">{escape(v)}</td>')
        else:
            out.append(f"<td>{escape(fmt(v))}</td>")
    return Markup("".join(out))


_env.filters["fmt"] = fmt
_env.filters["row_cells"] = row_cells


def script_json(value: Any) -> Markup:
    """JSON safe inside an HTML ``<script>`` element: no ``<``, ``>``, ``&``, ``'``, U+2028 or U+2029 left
    literal (``'`` only so that no attribute-breaking fragment of a hostile id appears anywhere in the page)."""
    text = json.dumps(value, allow_nan=False, sort_keys=True, default=str)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return Markup(text)


@cache
def _script() -> tuple[str, str]:
    """The report's one script and its CSP source expression ('sha256-…')."""
    text = resources.files("evalaudit.report").joinpath("templates/report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def render(doc: dict[str, Any], tables: dict[str, pa.Table] | None = None, history: pa.Table | None = None,
           store_tables: set[str] | None = None, alpha_min: float = 0.667, redacted: bool = False) -> str:
    """index.html as a string, from the findings document, the stage tables and the run history."""
    tables = tables or {}
    sections = sections_mod.build(doc, tables, history, store_tables or set(), alpha_min)
    script, script_hash = _script()
    summary = doc["summary"]
    store = summary.get("store") if isinstance(summary.get("store"), dict) else None
    verdict = verdict_mod.build(doc, tables)
    alarm = any(f.get("kind") == "eval_score_inflation" and f.get("severity") in verdict_mod.MATERIAL
                for f in doc["findings"])
    skipped = [s for s in summary.get("skipped") or [] if isinstance(s, dict)]
    return _env.get_template("index.html.j2").render(
        doc=doc, summary=summary, store=store, sections=sections, redacted=redacted,
        summary_json=script_json(summary), script=Markup(script), script_hash=script_hash,
        verdict=verdict, verdict_alarm=alarm, seed_charts=seed_charts(doc, tables), skipped=skipped,
        sign=impact_mod.SIGN,
    )


#: seed charts in the verdict, at most (one per failure mode with material inflation, largest first)
MAX_SEED_CHARTS = 4


def seed_charts(doc: dict[str, Any], tables: dict[str, pa.Table]) -> list[Markup]:
    """The seed chart of every failure mode with an eval_score_inflation finding (evalaudit.report.seed)."""
    impact = tables.get("impact")
    if impact is None or not {"model_version", "failure_mode", "score_current", "score_audited"} <= set(
            impact.column_names):
        return []
    out = []
    for fm in seed.inflated_modes(doc["findings"])[:MAX_SEED_CHARTS]:
        rows = seed.release_scores(impact, fm)
        if rows:
            out.append(seed.svg_chart(rows, fm, width=580))
    return out


def write(path: Path, doc: dict[str, Any], tables: dict[str, pa.Table] | None = None, **kwargs: Any) -> None:
    Path(path).write_text(render(doc, tables, **kwargs), encoding="utf-8")
