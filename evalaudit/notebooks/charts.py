"""Chart adapters: the report's static SVG charts (:mod:`evalaudit.report.svg`) and altair charts with interval bands
for ``mo.ui.altair_chart``, fed from the audit's tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from evalaudit.findings import Finding
from evalaudit.notebooks.views import best_leniency
from evalaudit.report import svg


def leniency_map(leniency: pa.Table, labeler_ids: Sequence[str], failure_modes: Sequence[str],
                 q_max: float = 0.05) -> str:
    """Heatmap (static SVG) of the effect per labeler × failure mode, from :func:`best_leniency`; cells whose
    q-value is not below ``q_max`` are drawn grey so the map shows what is significant."""
    best = best_leniency(leniency)
    values: dict[tuple[str, str], float | None] = {}
    for r in best.to_pylist():
        q = r["q_value"]
        values[(r["labeler_id"], r["failure_mode"])] = r["effect"] if q is not None and q < q_max else None
    shown = [v for v in values.values() if v is not None]
    span = max([0.05, *(abs(v) for v in shown)])
    return str(svg.heatmap(list(labeler_ids), list(failure_modes), values,
                           title=f"Leniency: effect vs peers (q < {q_max:g}; grey = not significant or not tested)",
                           x_label="failure mode", y_label="labeler", value_label="effect",
                           vmin=-span, vmax=span, ordered=False))


def lines_chart(table: pa.Table, x: str, ys: Mapping[str, str], title: str, y_label: str,
                y_range: tuple[float, float] | None = None) -> str:
    """A static SVG line chart of columns ``ys`` (legend name -> column) of ``table`` over column ``x``."""
    xs = [v.isoformat()[:10] if hasattr(v, "isoformat") else str(v) for v in table[x].to_pylist()] \
        if table.num_rows else []
    series = {name: list(zip(xs, table[col].to_pylist(), strict=True)) for name, col in ys.items()
              if col in table.column_names}
    return str(svg.lines(series, title=title, x_label=x, y_label=y_label, y_range=y_range))


def band_chart(rows: Sequence[Mapping[str, Any]], *, x: str, y: str, lo: str, hi: str, series: str | None,
               title: str, x_title: str, y_title: str, band_title: str, order: Sequence[str] | None = None,
               width: int = 560, height: int = 260) -> Any:
    """An altair line chart of ``y`` over ``x`` (categorical, in ``order`` or as given), one line per ``series``
    value, with the interval ``lo``..``hi`` as a translucent band — for ``mo.ui.altair_chart``, which renders it
    with the vega bundled in marimo's frontend (no network) and makes a clicked point or legend entry a selection
    other cells read. Axis labels are thinned by vega (labelOverlap) so none overlap; numbers in tooltips carry 3
    significant figures."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame([{k: (v.isoformat()[:10] if hasattr(v, "isoformat") else v) for k, v in r.items()}
                         for r in rows])
    xs = list(order) if order is not None else list(dict.fromkeys(
        (r[x].isoformat()[:10] if hasattr(r[x], "isoformat") else r[x]) for r in rows))
    names = list(dict.fromkeys(r[series] for r in rows)) if series else []
    color = (alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(domain=names, range=list(svg.PALETTE[:len(names)])))
             if series else alt.value(svg.PALETTE[0]))
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:O", sort=xs, title=x_title, axis=alt.Axis(labelOverlap="greedy", labelAngle=0)),
        color=color)
    band = base.mark_area(opacity=0.18).encode(y=alt.Y(f"{lo}:Q", title=y_title, scale=alt.Scale(zero=False)),
                                               y2=alt.Y2(f"{hi}:Q"))
    tips = [alt.Tooltip(f"{x}:O", title=x_title), alt.Tooltip(f"{y}:Q", title=y_title, format=".3g"),
            alt.Tooltip(f"{lo}:Q", title=f"{band_title} low", format=".3g"),
            alt.Tooltip(f"{hi}:Q", title=f"{band_title} high", format=".3g")]
    if series:
        tips.insert(0, alt.Tooltip(f"{series}:N"))
    line = base.mark_line(point=True).encode(y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
                                             tooltip=tips)
    return alt.layer(band, line).properties(title=alt.TitleParams(title, subtitle=f"band: {band_title}"),
                                            width=width, height=height)


def seed_chart(impact: pa.Table | None, findings: Sequence[Finding]) -> Any:
    """The seed chart (evalaudit.report.seed) as altair, stacked per failure mode with material inflation (the
    whole eval when none): score per model version in release order, today's vs audited gold, Wilson bands."""
    import altair as alt

    from evalaudit.report import seed

    if impact is None or impact.num_rows == 0:
        return None
    modes = [m for m in seed.inflated_modes(findings) if m != "all"][:4] or ["all"]
    charts = []
    for fm in modes:
        rows = seed.release_scores(impact, fm)
        charts.append(band_chart(
            rows, x="model_version", y="score", lo="ci_low", hi="ci_high", series="gold",
            order=list(dict.fromkeys(r["model_version"] for r in rows)),
            title=f"Eval score on {'the whole eval' if fm == 'all' else fm}: today's vs audited gold",
            x_title="model version (release order)", y_title="score (share correct)", band_title=seed.METHOD))
    return charts[0] if len(charts) == 1 else alt.vconcat(*charts)


def intervals_chart(table: pa.Table, label_columns: Sequence[str], title: str, x_label: str,
                    q_max: float = 0.05) -> str:
    """Forest plot (static SVG) of ``effect`` with ``ci_low``..``ci_high`` per row; rows with q < q_max in red."""
    items = []
    for r in table.to_pylist():
        if r.get("effect") is None:
            continue
        q = r.get("q_value")
        items.append(svg.Interval(" · ".join(str(r[c]) for c in label_columns), float(r["effect"]), r.get("ci_low"),
                                  r.get("ci_high"), marked=q is not None and q < q_max,
                                  note=f"q {q:.3g}, n {r.get('n')}" if q is not None else ""))
    return str(svg.intervals(items, title=title, x_label=x_label))


def score_chart(impact: pa.Table) -> str:
    """The seed chart (static SVG) for the whole eval: each model version's score against today's and audited gold,
    in release order, with Wilson bands (evalaudit.report.seed)."""
    from evalaudit.report import seed

    return str(seed.svg_chart(seed.release_scores(impact, "all"), "all"))
