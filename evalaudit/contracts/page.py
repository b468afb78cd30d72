"""The offline validation page: one self-contained HTML file rendered by evalaudit from a `CheckResult`.

Why not GX's own Data Docs: they load Bootstrap, jQuery and Vega from public CDNs and a logo from GX's servers, so
they neither open offline nor stay private (docs/contracts.md, "Output"). This page has inline CSS, no script, no
external reference (its Content-Security-Policy forbids any), and every user-supplied string is escaped by Jinja2's
autoescape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

from evalaudit.contracts.result import CheckResult, fmt_value

PAGE = "index.html"

#: the page template; kept in this module so it ships with the package (no package-data entry needed)
TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>evalaudit check — {{ r.path }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.meta { color: #555; } code { font-size: 90%; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: .3rem; font-weight: 600; }
.passed { background: #e3f4e6; color: #17622a; } .failed { background: #fde5e4; color: #9b1c15; }
.skipped { background: #eee; color: #555; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
section.exp { border-left: 4px solid #d33; padding-left: .8rem; margin: 1rem 0; }
</style>
</head>
<body>
<h1>Data contract check
<span class="badge {{ 'passed' if r.passed else 'failed' }}">{{ 'PASSED' if r.passed else 'FAILED' }}</span></h1>
<p class="meta"><code>{{ r.path }}</code> · {{ "{:,}".format(r.n_rows) }} rows · sha256 <code>{{ r.sha256 }}</code><br>
checked {{ r.checked_at }} by evalaudit {{ r.evalaudit_version }}
{% if r.config %} with <code>{{ r.config }}</code>{% endif %} ·
{{ failed|length }} of {{ r.results|length }} expectations violated.
{% if r.promoted %}<br>Promoted: {{ "{:,}".format(r.rows_added) }} rows added to the store.{% endif %}
{% if r.quarantine_dir %}<br>Not promoted: kept whole in <code>{{ r.quarantine_dir }}</code>.{% endif %}</p>
<p class="meta">Rows are numbered from 0: row 0 is the first data row after any header.</p>

{% if failed %}<h2>Violated expectations</h2>{% endif %}
{% for e in failed %}
<section class="exp">
<h3>{{ e.description }}</h3>
<p><code>{{ e.expectation }}</code>{% if e.gx_type %} · <code>{{ e.gx_type }}</code>{% endif %}
{% if e.unexpected_count is not none and e.element_count %}
 · {{ "{:,}".format(e.unexpected_count) }} of {{ "{:,}".format(e.element_count) }} violate it{% endif %}
{% if e.observed is not none %} · observed {{ e.observed|fmt }}{% endif %}
{% if e.bound %} · expected {{ e.bound }}{% endif %}</p>
{% if e.note %}<p class="meta">{{ e.note }}</p>{% endif %}
{% if e.examples %}
{% set cols = e.examples|columns %}
<table><thead><tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for ex in e.examples %}<tr>{% for c in cols %}<td>{{ ex.get(c)|fmt }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% if e.unexpected_count and e.unexpected_count > e.examples|length %}
<p class="meta">… and {{ "{:,}".format(e.unexpected_count - e.examples|length) }} more
(the first {{ e.examples|length }} are shown).</p>{% endif %}
{% endif %}
</section>
{% endfor %}

<h2>All expectations</h2>
<table><thead><tr><th>status</th><th>level</th><th>expectation</th><th>violations</th><th>observed</th>
<th>bound</th><th>note</th></tr></thead>
<tbody>
{% for e in r.results %}<tr><td><span class="badge {{ e.status }}">{{ e.status }}</span></td><td>{{ e.level }}</td>
<td>{{ e.description }}<br><code>{{ e.expectation }}</code></td>
<td class="num">{% if e.unexpected_count is not none %}{{ "{:,}".format(e.unexpected_count) }}
 / {{ "{:,}".format(e.element_count or 0) }}{% endif %}</td>
<td class="num">{% if e.observed is not none %}{{ e.observed|fmt }}{% endif %}</td>
<td>{{ e.bound or '' }}</td><td>{{ e.note or '' }}</td></tr>
{% endfor %}
</tbody></table>

{% for e in r.results if e.details %}
<h2>{{ e.description }} — per case</h2>
{% set cols = e.details|columns %}
<table><thead><tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for d in e.details %}<tr>{% for c in cols %}<td>{{ d.get(c)|fmt }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% endfor %}
</body>
</html>
"""


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    return fmt_value(v) if v is not None else ""


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def render(result: CheckResult) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader({"validation.html.j2": TEMPLATE}), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = _fmt
    env.filters["columns"] = _columns
    doc = result.to_json()
    return env.get_template("validation.html.j2").render(r=doc, failed=[e for e in doc["results"]
                                                                        if e["status"] == "failed"])


def write(directory: str | Path, result: CheckResult) -> Path:
    """Write ``DIRECTORY/index.html`` (created if absent; replaced atomically)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    dest = d / PAGE
    tmp = d / f".{PAGE}.tmp"
    tmp.write_text(render(result), encoding="utf-8")
    os.replace(tmp, dest)
    return dest
