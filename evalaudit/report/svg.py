"""Static SVG charts for the report, rendered server-side.

Why hand-written SVG rather than altair/vega-lite inline: the report must open offline and stay small, and a
strict Content-Security-Policy (no script but our one hashed sort/filter script) is the simplest guarantee that a
hostile labeler id cannot execute. Inlining the vega bundle costs ~0.9 MB and needs script execution for every
chart; vl-convert SVG rendering would add a 30 MB native dependency and ~50 ms per chart. The charts we need —
heatmap, interval (forest) plot, line chart, grouped bars — are a few dozen lines each.

Every user-supplied string passes through :func:`esc` (``html.escape`` with quotes) before it lands in SVG text,
``<title>`` tooltips or attributes. Charts return :class:`markupsafe.Markup` so the template does not escape twice.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

FONT = 'font-family="system-ui,sans-serif" font-size="11"'
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def esc(value: object) -> str:
    """Text or attribute content, escaped (``& < > " '``)."""
    return html.escape(str(value), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (Heckbert 1990, "Nice numbers for graph labels", Graphics Gems)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k0, k1 = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    digits = max(0, 3 - math.floor(math.log10(step)))
    return [round(k * step, digits) for k in range(k0, max(k1, k0 + 1) + 1)]


def _fmt_tick(v: float) -> str:
    return f"{v:.3g}" if v != 0 else "0"


def num(v: float | None, sci: bool = False) -> str:
    """A number as a reviewer reads it: 3 significant figures (thousands with separators, no exponent above 1,000);
    ``sci`` (p- and q-values) always in scientific notation, 3 significant figures."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    v = float(v)
    if sci:
        return f"{v:.2e}" if v != 0 else "0"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


#: px per character at font-size 11 (system-ui; an upper bound for digits and lower-case letters)
CHAR_W = 7.0
#: px a vertical label needs beside its neighbour (its font height plus a gap)
LINE_W = 14.0


def category_labels(xs: Sequence[float], labels: Sequence[str], y: float, ordered: bool) -> tuple[list[str], float]:
    """Axis labels for categories at pixel positions ``xs`` along a horizontal axis at ``y``, never overlapping:
    when they fit side by side they are drawn horizontally; otherwise an ordered axis (dates, runs, releases) shows
    every k-th label (first and last kept), and a nominal one (failure modes) turns them vertical, thinned only if
    even vertical labels would touch. Returns the SVG elements and the height the labels take below ``y``."""
    if not labels:
        return [], 0.0
    spacing = (xs[-1] - xs[0]) / (len(xs) - 1) if len(xs) > 1 else float("inf")
    widest = CHAR_W * max(len(str(t)) for t in labels) + 8
    out: list[str] = []
    if widest <= spacing or ordered:
        step = 1 if widest <= spacing else max(1, math.ceil(widest / spacing))
        shown = list(range(0, len(labels), step))
        if shown[-1] != len(labels) - 1:
            if (len(labels) - 1 - shown[-1]) * spacing >= widest:
                shown.append(len(labels) - 1)
            elif len(shown) > 1:
                shown[-1] = len(labels) - 1  # end on the last category instead of the one too close to it
        for i in shown:
            out.append(f'<text class="tick tick-x" x="{xs[i]:.1f}" y="{y + 16:.1f}" '
                       f'text-anchor="middle">{esc(labels[i])}</text>')
        return out, 18.0
    step = max(1, math.ceil(LINE_W / spacing))
    for i in range(0, len(labels), step):
        out.append(f'<text class="tick tick-x" transform="translate({xs[i] + 4:.1f},{y + 6:.1f}) rotate(-90)" '
                   f'text-anchor="end">{esc(labels[i])}</text>')
    return out, widest + 4


@dataclass
class Scale:
    """Linear map from data [d0, d1] to pixels [r0, r1]."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        span = self.d1 - self.d0 or 1.0
        return self.r0 + (v - self.d0) / span * (self.r1 - self.r0)


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" {FONT}><title>{esc(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")


def _x_axis(sx: Scale, ticks: list[float], y: float, label: str, width: float) -> list[str]:
    out = [f'<line x1="{sx.r0:.1f}" x2="{sx.r1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#444"/>']
    for t in ticks:
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}" stroke="#444"/>'
                   f'<text class="tick tick-x" x="{x:.1f}" y="{y + 15:.1f}" text-anchor="middle">'
                   f'{esc(_fmt_tick(t))}</text>')
    out.append(f'<text x="{(sx.r0 + sx.r1) / 2:.1f}" y="{y + 30:.1f}" text-anchor="middle" '
               f'font-weight="600">{esc(label)}</text>')
    return out


def _y_axis(sy: Scale, ticks: list[float], x: float, label: str, grid_to: float) -> list[str]:
    out = [f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{sy.r0:.1f}" y2="{sy.r1:.1f}" stroke="#444"/>']
    for t in ticks:
        y = sy(t)
        out.append(f'<line x1="{x:.1f}" x2="{grid_to:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text class="tick tick-y" x="{x - 5:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{esc(_fmt_tick(t))}</text>')
    mid = (sy.r0 + sy.r1) / 2
    out.append(f'<text transform="translate({x - 40:.1f},{mid:.1f}) rotate(-90)" text-anchor="middle" '
               f'font-weight="600">{esc(label)}</text>')
    return out


def _color(v: float, vmin: float, vmax: float) -> str:
    """Sequential red (low) → white → blue (high): low agreement stands out."""
    t = 0.5 if vmax <= vmin else min(1.0, max(0.0, (v - vmin) / (vmax - vmin)))
    if t < 0.5:
        k = t / 0.5
        r, g, b = 178 + (247 - 178) * k, 24 + (247 - 24) * k, 43 + (247 - 43) * k
    else:
        k = (t - 0.5) / 0.5
        r, g, b = 247 + (33 - 247) * k, 247 + (102 - 247) * k, 247 + (172 - 247) * k
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def heatmap(rows: Sequence[str], cols: Sequence[str], values: dict[tuple[str, str], float | None], *,
            title: str, x_label: str, y_label: str, value_label: str,
            vmin: float = 0.0, vmax: float = 1.0, details: dict[tuple[str, str], str] | None = None,
            ordered: bool = True) -> Markup:
    """Cells coloured by value (missing = grey), a tooltip per cell (with the cell's ``details`` text, when
    given), a colour legend. Column labels never overlap: thinned when ``ordered`` (time windows), vertical when
    not (failure modes)."""
    label_w = min(260, 14 + 7.0 * max((len(str(r)) for r in rows), default=4))
    cw = max(8.0, min(40.0, 640 / max(len(cols), 1)))
    ch = 18.0
    left, top = label_w + 50, 30
    width = int(left + cw * len(cols) + 30)
    body = [f'<text x="4" y="18" font-weight="600">{esc(title)}</text>']
    for i, r in enumerate(rows):
        y = top + i * ch
        body.append(f'<text class="tick tick-y" x="{left - 5:.1f}" y="{y + ch * 0.7:.1f}" '
                    f'text-anchor="end">{esc(r)}</text>')
        for j, c in enumerate(cols):
            v = values.get((r, c))
            fill = "#ddd" if v is None or not math.isfinite(v) else _color(v, vmin, vmax)
            shown = "not computed" if v is None or not math.isfinite(v) else num(v)
            extra = (details or {}).get((r, c))
            tip = f"{esc(r)} · {esc(c)}: {esc(value_label)} {esc(shown)}" + (f" — {esc(extra)}" if extra else "")
            body.append(f'<rect x="{left + j * cw:.1f}" y="{y:.1f}" width="{cw - 1:.1f}" height="{ch - 1:.1f}" '
                        f'fill="{fill}"><title>{tip}</title></rect>')
    yb = top + ch * len(rows)
    labels, used = category_labels([left + j * cw + cw / 2 for j in range(len(cols))], [str(c) for c in cols], yb,
                                   ordered=ordered)
    body += labels
    yb += used - 18  # the legend below moves down by what vertical labels take beyond one line
    body.append(f'<text x="{left + cw * len(cols) / 2:.1f}" y="{yb + 32:.1f}" text-anchor="middle" '
                f'font-weight="600">{esc(x_label)}</text>')
    body.append(f'<text transform="translate(14,{top + ch * len(rows) / 2:.1f}) rotate(-90)" '
                f'text-anchor="middle" font-weight="600">{esc(y_label)}</text>')
    lx = left
    for k in range(11):
        v = vmin + (vmax - vmin) * k / 10
        body.append(f'<rect x="{lx + k * 16:.0f}" y="{yb + 44:.0f}" width="16" height="10" '
                    f'fill="{_color(v, vmin, vmax)}"/>')
    body.append(f'<text x="{lx:.0f}" y="{yb + 68:.0f}">{esc(_fmt_tick(vmin))}</text>'
                f'<text x="{lx + 176:.0f}" y="{yb + 68:.0f}" text-anchor="end">{esc(_fmt_tick(vmax))}</text>'
                f'<text x="{lx + 186:.0f}" y="{yb + 53:.0f}">{esc(value_label)}</text>')
    return _svg(width, int(yb + 80), title, body)


@dataclass
class Interval:
    label: str
    value: float
    lo: float | None
    hi: float | None
    marked: bool = False
    note: str = ""


def intervals(items: Sequence[Interval], *, title: str, x_label: str, ref: float | None = 0.0) -> Markup:
    """A forest plot: one row per item, point estimate with its interval; marked rows drawn in red."""
    vals = [v for it in items for v in (it.value, it.lo, it.hi) if v is not None and math.isfinite(v)]
    if ref is not None:
        vals.append(ref)
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    ticks = nice_ticks(lo, hi)
    label_w = min(320, 14 + 7.2 * max((len(it.label) for it in items), default=4))
    left, top, row_h, plot_w = label_w + 10, 30, 18, 420
    width = int(left + plot_w + 30)
    height = int(top + row_h * len(items) + 50)
    sx = Scale(ticks[0], ticks[-1], left, left + plot_w)
    body = [f'<text x="4" y="18" font-weight="600">{esc(title)}</text>']
    for t in ticks:
        body.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{top + row_h * len(items)}" '
                    f'stroke="#eee"/>')
    if ref is not None:
        body.append(f'<line x1="{sx(ref):.1f}" x2="{sx(ref):.1f}" y1="{top}" y2="{top + row_h * len(items)}" '
                    f'stroke="#888" stroke-dasharray="3,3"/>')
    for i, it in enumerate(items):
        y = top + i * row_h + row_h / 2
        color = "#b00020" if it.marked else "#1f4e79"
        weight = ' font-weight="600"' if it.marked else ""
        body.append(f'<text class="tick tick-y" x="{left - 5:.1f}" y="{y + 4:.1f}" text-anchor="end"{weight}>'
                    f'{esc(it.label)}</text>')
        tip = f"{it.label}: {num(it.value)}"
        if it.lo is not None and it.hi is not None and math.isfinite(it.lo) and math.isfinite(it.hi):
            tip += f" [{num(it.lo)}, {num(it.hi)}]"
            body.append(f'<line x1="{sx(it.lo):.1f}" x2="{sx(it.hi):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                        f'stroke="{color}" stroke-width="2"/>')
        if it.note:
            tip += f" — {it.note}"
        if math.isfinite(it.value):
            body.append(f'<circle cx="{sx(it.value):.1f}" cy="{y:.1f}" r="4" fill="{color}">'
                        f'<title>{esc(tip)}</title></circle>')
    body += _x_axis(sx, ticks, top + row_h * len(items), x_label, plot_w)
    return _svg(width, height, title, body)


def lines(series: dict[str, Sequence[tuple[str, float | None]]], *, title: str, x_label: str, y_label: str,
          y_range: tuple[float, float] | None = None, width: int = 520, height: int = 240,
          bands: dict[str, Sequence[tuple[str, float | None, float | None]]] | None = None,
          order: Sequence[str] | None = None, band_label: str = "") -> Markup:
    """Line chart over an ordered categorical x (dates as ISO strings sort correctly; ``order`` gives another
    order, e.g. releases); one line per series, each with an optional interval band (``bands[name]`` = (x, lo, hi)
    points, drawn as a translucent area in the series' colour and named in the legend by ``band_label``). X labels
    are thinned so that none overlap (:func:`category_labels`)."""
    bands = bands or {}
    xs = list(order) if order is not None else sorted({x for pts in series.values() for x, _ in pts})
    ys = [y for pts in series.values() for _, y in pts if y is not None and math.isfinite(y)]
    ys += [b for pts in bands.values() for _, lo, hi in pts for b in (lo, hi) if b is not None and math.isfinite(b)]
    lo, hi = y_range if y_range else ((min(ys), max(ys)) if ys else (0.0, 1.0))
    ticks = nice_ticks(lo, hi)
    half = (CHAR_W * max((len(str(x)) for x in xs), default=1) + 8) / 2  # the first and last x labels fit
    left, top, right, bottom = max(64, int(half) + 4), 28, max(24, int(half) + 4), 52
    sx = Scale(0, max(len(xs) - 1, 1), left, width - right)
    if len(xs) == 1:
        sx = Scale(0, 1, (left + width - right) / 2, width - right)
    sy = Scale(ticks[0], ticks[-1], height - bottom, top)
    body = [f'<text x="4" y="16" font-weight="600">{esc(title)}</text>']
    body += _y_axis(sy, ticks, left, y_label, width - right)
    index = {x: i for i, x in enumerate(xs)}
    for k, name in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        band = sorted(((index[x], lo_, hi_) for x, lo_, hi_ in bands.get(name, ()) if x in index
                       and lo_ is not None and hi_ is not None and math.isfinite(lo_) and math.isfinite(hi_)))
        if len(band) == 1:  # one point: an error bar
            i, lo_, hi_ = band[0]
            body.append(f'<line x1="{sx(i):.1f}" x2="{sx(i):.1f}" y1="{sy(lo_):.1f}" y2="{sy(hi_):.1f}" '
                        f'stroke="{color}" stroke-width="6" stroke-opacity="0.3"/>')
        elif band:
            upper = " ".join(f"{sx(i):.1f},{sy(h):.1f}" for i, _, h in band)
            lower = " ".join(f"{sx(i):.1f},{sy(lo_):.1f}" for i, lo_, _ in reversed(band))
            body.append(f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.15" stroke="none"/>')
    for k, (name, pts) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        ivs = {x: (lo_, hi_) for x, lo_, hi_ in bands.get(name, ())}
        coords = [(sx(index[x]), sy(y), x, y) for x, y in sorted(pts, key=lambda p: index.get(p[0], -1))
                  if x in index and y is not None and math.isfinite(y)]
        if coords:
            path = " ".join(f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}" for i, (cx, cy, _, _) in enumerate(coords))
            body.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.8"/>')
            for cx, cy, x, y in coords:
                iv = ivs.get(x)
                extra = f" [{num(iv[0])}, {num(iv[1])}]" if iv and None not in iv else ""
                body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{color}">'
                            f'<title>{esc(name)} · {esc(x)}: {num(y)}{esc(extra)}</title></circle>')
    yb = height - bottom
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{yb}" y2="{yb}" stroke="#444"/>')
    labels, used = category_labels([sx(i) for i in range(len(xs))], [str(x) for x in xs], yb, ordered=True)
    body += labels
    body.append(f'<text x="{(left + width - right) / 2:.1f}" y="{yb + used + 14:.1f}" text-anchor="middle" '
                f'font-weight="600">{esc(x_label)}</text>')
    ly0 = yb + used + 34
    for k, name in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        ly = ly0 + 14 * k
        shade = (f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{color}" fill-opacity="0.15"/>'
                 if name in bands else "")
        body.append(f'{shade}<line x1="{left}" x2="{left + 10}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" '
                    f'stroke-width="2"/><text x="{left + 14}" y="{ly}">{esc(name)}'
                    + (f" (band: {esc(band_label)})" if name in bands and band_label else "") + "</text>")
    return _svg(width, int(ly0 + 14 * len(series)), title, body)


def grouped_bars(categories: Sequence[str], series: dict[str, Sequence[float | None]], *, title: str,
                 x_label: str, y_label: str, intervals_by_series: dict[str, Sequence[tuple[float, float] | None]]
                 | None = None) -> Markup:
    """Horizontal grouped bars: one group per category, one bar per series (e.g. eval vs production share)."""
    names = list(series)
    vals = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    for ivs in (intervals_by_series or {}).values():
        vals += [b for iv in ivs if iv for b in iv if b is not None and math.isfinite(b)]
    lo, hi = min([0.0, *vals]), max([0.0, *vals]) if vals else 1.0
    ticks = nice_ticks(lo, hi)
    label_w = min(260, 14 + 7.0 * max((len(str(c)) for c in categories), default=4))
    bar_h, gap = 10, 8
    group_h = bar_h * len(names) + gap
    left, top, plot_w = label_w + 10, 30, 420
    height = int(top + group_h * len(categories) + 50 + 14 * len(names))
    width = int(left + plot_w + 30)
    sx = Scale(ticks[0], ticks[-1], left, left + plot_w)
    body = [f'<text x="4" y="18" font-weight="600">{esc(title)}</text>']
    for i, c in enumerate(categories):
        y0 = top + i * group_h
        body.append(f'<text class="tick tick-y" x="{left - 5:.1f}" y="{y0 + group_h / 2:.1f}" '
                    f'text-anchor="end">{esc(c)}</text>')
        for k, name in enumerate(names):
            v = series[name][i]
            if v is None or not math.isfinite(v):
                continue
            x0, x1 = sorted((sx(0), sx(v)))
            y = y0 + k * bar_h
            body.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 0.5):.1f}" height="{bar_h - 1}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{esc(c)} · {esc(name)}: {num(v)}</title></rect>')
            iv = (intervals_by_series or {}).get(name, [None] * len(categories))[i]
            if iv and all(b is not None and math.isfinite(b) for b in iv):
                body.append(f'<line x1="{sx(iv[0]):.1f}" x2="{sx(iv[1]):.1f}" y1="{y + bar_h / 2:.1f}" '
                            f'y2="{y + bar_h / 2:.1f}" stroke="#222" stroke-width="1.5"/>')
    yb = top + group_h * len(categories)
    body += _x_axis(sx, ticks, yb, x_label, plot_w)
    for k, name in enumerate(names):
        ly = yb + 50 + 14 * k
        body.append(f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{left + 14}" y="{ly}">{esc(name)}</text>')
    body.append(f'<text transform="translate(12,{top + group_h * len(categories) / 2:.1f}) rotate(-90)" '
                f'text-anchor="middle" font-weight="600">{esc(y_label)}</text>')
    return _svg(width, height, title, body)
