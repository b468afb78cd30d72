"""The report's sections, built from the findings document and whatever stage tables the run produced.

Each builder reads its tables defensively (columns beyond docs/outputs.md may be absent) and returns a :class:`Section`;
a missing table gives a section that says "not computed" and why. Charts aggregate first — no per-item data goes
into a chart — and tables are capped (the full data is in the Parquet files beside the report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup

from evalaudit import impact as impact_mod
from evalaudit.frames import distinct_codes
from evalaudit.gold import flagged_labelers, is_flagged
from evalaudit.history import runs as history_runs
from evalaudit.report import seed, svg

#: rows shown per table; the Parquet files hold the rest
MAX_ROWS = 300
MAX_FOREST = 40
MAX_DRIFT_CHARTS = 12
MAX_TREND_SERIES = 8


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    total: int
    caption: str = ""
    source: str = ""  # the Parquet file with every row

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    missing: str | None = None
    charts: list[Markup] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _rows(table: pa.Table, columns: list[str], limit: int = MAX_ROWS) -> list[list[Any]]:
    cols = [c for c in columns if c in table.column_names]
    sub = table.select(cols).slice(0, limit).to_pylist()
    return [[_cell(r.get(c)) for c in cols] for r in sub]


def _cell(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d") if (v.hour, v.minute, v.second) == (0, 0, 0) else v.strftime("%Y-%m-%d %H:%M")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def table_of(table: pa.Table, columns: list[str], caption: str, source: str = "",
             limit: int = MAX_ROWS) -> Table:
    cols = [c for c in columns if c in table.column_names]
    return Table(cols, _rows(table, cols, limit), table.num_rows, caption, source)


def _sorted(table: pa.Table, keys: list[tuple[str, str]]) -> pa.Table:
    keys = [(k, o) for k, o in keys if k in table.column_names]
    return table.sort_by(keys) if keys else table


def _top(table: pa.Table, keys: list[tuple[str, str]], k: int) -> pa.Table:
    """The first ``k`` rows of ``table`` in ``keys`` order, without sorting the whole table (nulls last)."""
    keys = [(c, o) for c, o in keys if c in table.column_names]
    if not keys or table.num_rows <= k:
        return _sorted(table, keys)
    first = keys[0][0]
    valid = table.filter(pc.is_valid(table[first]))
    picked = valid.take(pc.select_k_unstable(valid, k=min(k, valid.num_rows), sort_keys=keys))
    if picked.num_rows < k:
        picked = pa.concat_tables([picked, table.filter(pc.is_null(table[first])).slice(0, k - picked.num_rows)])
    return _sorted(picked, keys)


def _f(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


# -- findings ------------------------------------------------------------------------------------------------


def findings_section(doc: dict[str, Any]) -> Section:
    s = doc["summary"]
    sev = s.get("by_severity", {})
    sec = Section("findings", "What needs action",
                  f"{s.get('n_findings', 0)} findings: {sev.get('high', 0)} high, {sev.get('medium', 0)} medium, "
                  f"{sev.get('low', 0)} low. Most severe first; each names its method (evidence) and its interval.")
    cols = ["severity", "change", "kind", "labeler_id", "failure_mode", "effect", "ci_low", "ci_high", "q_value",
            "n", "message", "evidence", "key"]
    findings = doc["findings"]
    rows = [[_history_link(f.get(c)) if c == "key" else _cell(f.get(c)) for c in cols]
            for f in findings[:MAX_ROWS * 2]]
    sec.tables.append(Table(cols, rows, len(findings), "Findings (sort by any column; filter by text)",
                            "findings.json"))
    return sec


# -- history trends ------------------------------------------------------------------------------------------


def trends_section(history: pa.Table | None, current_flagged: list[tuple[str, str | None]]) -> Section:
    """Headline metrics across the runs of the history; the labelers' effect lines are those of the labelers this
    run flags (``current_flagged``: :func:`evalaudit.gold.flagged_labelers` of its findings)."""
    sec = Section("trends", "Trends across runs")
    if history is None or history.num_rows == 0 or len(set(history["run_id"].to_pylist())) < 2:
        sec.missing = "not computed: this is the first run recorded in the history (trends start at the second)"
        return sec
    runs = history_runs(history)
    rows = _history_rows(history)
    sec.intro = (f"{len(runs)} runs from {runs[0][0]:%Y-%m-%d %H:%M} to {runs[-1][0]:%Y-%m-%d %H:%M} UTC "
                 "(history.parquet beside the report).")

    def series(metric: str, key) -> dict[str, list[tuple[str, float | None]]]:
        out: dict[str, list[tuple[str, float | None]]] = {}
        for r in rows:
            if r["metric"] == metric:
                k = key(r)
                if k is not None:
                    out.setdefault(k, []).append((r["run_at"].strftime("%m-%d %H:%M:%S"), r["value"]))
        return out

    alpha = series("agreement_alpha", lambda r: r["failure_mode"])
    if alpha:
        keep = ["all", *sorted(k for k in alpha if k != "all")][:MAX_TREND_SERIES]
        sec.charts.append(svg.lines({k: alpha[k] for k in keep if k in alpha},
                                    title="Krippendorff's alpha per run (overall and by failure mode)",
                                    x_label="run (UTC)", y_label="alpha"))
    # which (labeler, failure mode) of the effect rows this run flags: asked once per distinct pair, not per row
    # (the history holds a row per pair and run)
    pairs = list({(r["labeler_id"], r["failure_mode"]) for r in rows if r["metric"] == "labeler_effect"})
    shown = {p for p, f in zip(pairs, is_flagged(current_flagged, [p[0] for p in pairs], [p[1] for p in pairs]),
                               strict=True) if f}
    eff = series("labeler_effect", lambda r: f"{r['labeler_id']} · {r['failure_mode']}"
                 if (r["labeler_id"], r["failure_mode"]) in shown else None)
    if eff:
        keep = sorted(eff)[:MAX_TREND_SERIES]
        sec.charts.append(svg.lines({k: eff[k] for k in keep}, title="Effect of each flagged labeler per run",
                                    x_label="run (UTC)", y_label="effect (Δ positive rate)"))
    infl = series("eval_score_inflation", lambda r: r["model_version"])
    if infl:
        keep = sorted(infl)[:MAX_TREND_SERIES]
        sec.charts.append(svg.lines({k: infl[k] for k in keep}, title="Eval score inflation per run",
                                    x_label="run (UTC)", y_label="delta = current − audited"))
    if not sec.charts:
        sec.notes.append("No headline metric was recorded in more than one run yet.")
    per_finding = finding_history(rows, runs[-1][1])
    if per_finding is not None:
        sec.tables.append(per_finding)
    return sec


def _history_rows(history: pa.Table) -> list[dict[str, Any]]:
    """``history.to_pylist()``, each distinct run_at made a datetime once: the history holds a row per finding and
    labeler per run, and converting every row's time zone-aware timestamp took most of the section's time."""
    at, index = distinct_codes(history["run_at"])
    rows = history.drop_columns(["run_at"]).to_pylist()
    for r, i in zip(rows, index.tolist(), strict=True):
        r["run_at"] = at[i] if i >= 0 else None
    return rows


def _history_link(key: Any) -> Any:
    """A finding's key as a link to its row in the trends section's per-finding history."""
    if not key:
        return None
    return Markup('<a href="#trends">{}</a>').format(key)


def finding_history(rows: list[dict[str, Any]], current_run: str, last: int = 6) -> Table | None:
    """Each finding of the current run across the runs of the history (``metric = "finding"`` rows, by key):
    when it was first seen, in how many runs, and its effect in the last few runs."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["metric"] == "finding" and r.get("key"):
            by_key.setdefault(r["key"], []).append(r)
    current = [k for k, rs in by_key.items() if any(r["run_id"] == current_run for r in rs)]
    if not current:
        return None
    out = []
    for k in current:
        rs = sorted(by_key[k], key=lambda r: r["run_at"])
        now = rs[-1]
        effects = " → ".join(fmt_effect(r["value"]) for r in rs[-last:])
        out.append([k, now["severity"], now["kind"], now.get("labeler_id"), now.get("failure_mode"),
                    f"{rs[0]['run_at']:%Y-%m-%d %H:%M}", len(rs), effects])
    out.sort(key=lambda row: (-row[6], row[0]))
    cols = ["key", "severity", "kind", "labeler_id", "failure_mode", "first seen (UTC)", "runs", "effect per run"]
    return Table(cols, out[:MAX_ROWS], len(out), f"Each finding across runs (effect in its last {last} runs)",
                 "history.parquet")


def fmt_effect(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.3g}"


# -- agreement -----------------------------------------------------------------------------------------------


def agreement_section(tables: dict[str, pa.Table], alpha_min: float) -> Section:
    sec = Section("agreement", "Agreement by failure mode",
                  "Chance-corrected agreement among labelers on items with at least two labels. Intervals are "
                  "bootstrap intervals over items (method in ci_method). "
                  f"Krippendorff (2004, §12.7) asks for alpha ≥ {alpha_min:g} before drawing tentative conclusions.")
    t = tables.get("agreement")
    if t is None:
        sec.missing = "not computed: the agreement stage did not run"
        return sec
    if t.num_rows == 0 or not {"scope", "slice", "metric", "value"} <= set(t.column_names):
        sec.missing = "not computed: no items carry two or more labels"
        return sec
    alpha = t.filter(pc.equal(t["metric"], "krippendorff_alpha"))
    fm = alpha.filter(pc.equal(alpha["scope"], "failure_mode"))
    overall = alpha.filter(pc.equal(alpha["scope"], "overall"))
    items = []
    for r in overall.to_pylist() + _sorted(fm, [("slice", "ascending")]).to_pylist():
        if r["value"] is None:
            continue
        label = "all failure modes" if r["scope"] == "overall" else r["slice"]
        hi = _f(r.get("ci_high"))
        items.append(svg.Interval(label, float(r["value"]), _f(r.get("ci_low")), hi,
                                  marked=hi is not None and hi < alpha_min, note=f"n_items {r.get('n_items')}"))
    if items:
        sec.charts.append(svg.intervals(items[:MAX_FOREST + 1], ref=alpha_min,
                                        title="Krippendorff's alpha by failure mode, 95% bootstrap interval "
                                              "(red: interval below the threshold)",
                                        x_label="Krippendorff's alpha"))
    by_cell = tables.get("agreement_failure_mode_window")
    if by_cell is not None and by_cell.num_rows:
        chart, note = failure_mode_window_heatmap(by_cell, alpha_min)
        sec.charts.append(chart)
        if note:
            sec.notes.append(note)
    window = t.filter(pc.equal(t["scope"], "window"))
    if window.num_rows:
        cols = sorted({str(s) for s in window["slice"].to_pylist() if s is not None})
        metrics = sorted(set(window["metric"].to_pylist()))
        values = {(r["metric"], str(r["slice"])): _f(r["value"]) for r in window.to_pylist()}
        sec.charts.append(svg.heatmap(metrics, cols, values,
                                      title="All failure modes together: each coefficient per time window",
                                      x_label="window start (UTC)", y_label="coefficient",
                                      value_label="value", vmin=min(0.0, alpha_min - 0.5), vmax=1.0))
    cols = ["scope", "slice", "metric", "level", "value", "ci_low", "ci_high", "n_items", "n_labels", "ci_method",
            "note"]
    rank = {s: i for i, s in enumerate(("overall", "failure_mode", "vendor", "window", "batch"))}
    ordered = t.append_column("_rank", pa.array([rank.get(s, 9) for s in t["scope"].to_pylist()], pa.int64()))
    ordered = _sorted(ordered, [("_rank", "ascending"), ("slice", "ascending"), ("metric", "ascending")])
    sec.tables.append(table_of(ordered, cols, "Every coefficient, by scope and slice", "agreement.parquet"))
    pairs = tables.get("agreement_pairs")
    if pairs is not None and pairs.num_rows:
        sec.tables.append(table_of(_sorted(pairs, [("kappa", "ascending")]),
                                   ["labeler_a", "labeler_b", "n_items", "kappa", "percent_agreement", "weights"],
                                   "Pairwise Cohen's kappa (Cohen 1960), lowest first"))
    return sec


def failure_mode_window_heatmap(cells: pa.Table, alpha_min: float) -> tuple[Markup, str | None]:
    """Krippendorff's alpha per failure mode (rows) × time window (columns), from the agreement stage's table
    agreement_failure_mode_window; cells without a value (too few pairable items) are grey. Returns the chart
    and a note when rows were capped."""
    rows_all = cells.to_pylist()
    modes = sorted({str(r["failure_mode"]) for r in rows_all})
    shown = modes[:MAX_FOREST]
    keep = set(shown)
    cols = sorted({_cell(r["window_start"]) for r in rows_all})
    values: dict[tuple[str, str], float | None] = {}
    details: dict[tuple[str, str], str] = {}
    for r in rows_all:
        key = (str(r["failure_mode"]), _cell(r["window_start"]))
        if key[0] not in keep:
            continue
        values[key] = _f(r["value"])
        text = f"{r['n_items']:,} items, {r['n_pairable']:,} with 2+ labels"
        lo, hi = _f(r.get("ci_low")), _f(r.get("ci_high"))
        if lo is not None and hi is not None:
            text += f"; interval [{lo:.3f}, {hi:.3f}] ({r.get('ci_method')})"
        if r.get("note"):
            text += f"; {r['note']}"
        details[key] = text
    level = next((str(r["level"]) for r in rows_all if r.get("level")), "nominal")
    unit = next((str(r["window"]) for r in rows_all if r.get("window")), "time window")
    chart = svg.heatmap(shown, cols, values, details=details,
                        title=f"Krippendorff's alpha, {level}, per failure mode per {unit} "
                              "(grey: too few items with 2+ labels)",
                        x_label=f"{unit} start (UTC)", y_label="failure mode",
                        value_label="Krippendorff's alpha", vmin=min(0.0, alpha_min - 0.5), vmax=1.0)
    note = None
    if len(modes) > len(shown):
        note = (f"The heatmap shows {len(shown)} of {len(modes)} failure modes (by name); every cell is in the "
                "agreement stage's table agreement_failure_mode_window.")
    return chart, note


# -- labelers ------------------------------------------------------------------------------------------------


def leniency_section(tables: dict[str, pa.Table], doc: dict[str, Any]) -> Section:
    sec = Section("leniency", "Labeler leniency",
                  "Effect = difference in positive rate against peers on comparable items, per kind of evidence "
                  "(overlap, honeypot, assignment, dawid_skene), with its interval and Benjamini–Hochberg "
                  "q-value. Flagged labeler × failure mode pairs are drawn in red.")
    t = tables.get("leniency")
    if t is None:
        sec.missing = "not computed: the labelers stage did not run"
        return sec
    if t.num_rows == 0:
        sec.missing = "not computed: no labeler had enough comparable items to test"
        return sec
    # the pairs flagged on their failure mode (evalaudit.gold's rule); a labeler flagged on every failure mode for
    # spam is not drawn here, where their dozens of leniency rows would crowd out the flagged pairs
    flagged = {pair for pair in flagged_labelers(doc["findings"]) if pair[1] is not None}
    if flagged and {"labeler_id", "failure_mode", "effect"} <= set(t.column_names):
        mask = [(lab, fm) in flagged for lab, fm in zip(t["labeler_id"].to_pylist(), t["failure_mode"].to_pylist(),
                                                          strict=True)]
        sub = _sorted(t.filter(pa.array(mask)), [("labeler_id", "ascending"), ("failure_mode", "ascending")])
        items = [svg.Interval(f"{r['labeler_id']} · {r['failure_mode']} · {r.get('evidence', '')}",
                              float(r["effect"]), _f(r.get("ci_low")), _f(r.get("ci_high")), marked=True,
                              note=f"q {r.get('q_value')}")
                 for r in sub.to_pylist() if _f(r["effect"]) is not None][:MAX_FOREST]
        if items:
            sec.charts.append(svg.intervals(items, title="Flagged labelers: effect with its interval, per evidence",
                                            x_label="effect (difference in positive rate vs peers)"))
    else:
        sec.notes.append("No labeler is flagged (lenient, severe, drifting or spamming at medium severity or above).")
    cols = ["labeler_id", "failure_mode", "evidence", "effect", "ci_low", "ci_high", "p_value", "q_value", "n",
            "method"]
    sec.tables.append(table_of(_sorted(t, [("q_value", "ascending")]), cols,
                               "Leniency tests, most significant first", "leniency.parquet"))
    stats = tables.get("labeler_stats")
    if stats is not None and stats.num_rows:
        num_cols = [c for c in stats.column_names if c not in ("labeler_id", "failure_mode")]
        key = "n_judgments" if "n_judgments" in stats.column_names else None
        sec.tables.append(table_of(_sorted(stats, [(key, "descending")] if key else []),
                                   ["labeler_id", "failure_mode", *num_cols], "Per-labeler statistics"))
    return sec


def drift_section(tables: dict[str, pa.Table]) -> Section:
    sec = Section("drift", "Labeler drift",
                  "Change points in a labeler's weekly positive rate against their peers' (CUSUM-type test, "
                  "q-values by Benjamini–Hochberg). Charts show the drifting labelers' weekly rates.")
    t = tables.get("drift")
    if t is None:
        sec.missing = "not computed: the labelers stage did not run"
        return sec
    if t.num_rows == 0:
        sec.missing = "no labeler drifts: no change point passed the test"
        return sec
    t = _sorted(t, [("q_value", "ascending")])
    series = tables.get("drift_series")
    if series is not None and {"labeler_id", "failure_mode", "week", "rate"} <= set(series.column_names):
        wanted = [(r["labeler_id"], r["failure_mode"]) for r in t.to_pylist()][:MAX_DRIFT_CHARTS]
        near = series.filter(pc.is_in(series["labeler_id"], pa.array(sorted({w[0] for w in wanted}), pa.string())))
        sub = near.to_pylist()
        for lab, fm in wanted:
            pts = [r for r in sub if r["labeler_id"] == lab and r["failure_mode"] == fm]
            data = {"labeler": [(_cell(r["week"]), _f(r["rate"])) for r in pts]}
            if "peer_rate" in series.column_names:
                data["peers"] = [(_cell(r["week"]), _f(r["peer_rate"])) for r in pts]
            sec.charts.append(svg.lines(data, title=f"{lab} · {fm}: weekly positive rate", x_label="week (UTC)",
                                        y_label="positive rate", y_range=(0.0, 1.0), width=420, height=200))
    cols = ["labeler_id", "failure_mode", "change_date", "effect_before", "effect_after", "change", "statistic",
            "p_value", "q_value", "n"]
    sec.tables.append(table_of(t, cols, "Change points", ""))
    return sec


def judges_section(tables: dict[str, pa.Table], doc: dict[str, Any]) -> Section:
    """Model judges (labelers.kind = model) beside the people: agreement with the people's majority per failure
    mode, and the change from each judge's previous version (evalaudit.judges)."""
    from evalaudit import judges

    sec = Section("judges", "LLM judges beside people",
                  f"Each model judge against the people's majority label on the items both judged: "
                  f"{judges.KAPPA_METHOD}; {judges.AGREEMENT_METHOD}. {judges.CHANGE_METHOD}. Judges are also "
                  "labelers in every section above (leniency, drift, concentration).")
    t = tables.get("judges")
    if t is None or t.num_rows == 0:
        n = (doc["summary"].get("judges") or {}).get("judges", 0) if isinstance(doc["summary"].get("judges"),
                                                                                 dict) else 0
        sec.missing = ("no model judge: no labeler is marked kind = model in the labelers table" if not n else
                       "not computed: no model judge judged an item a person also judged (see Not checked)")
        return sec
    rows = [r for r in _sorted(t, [("judge_id", "ascending"), ("failure_mode", "ascending")]).to_pylist()
            if r["failure_mode"] != judges.ALL and _f(r["kappa"]) is not None]
    items = [svg.Interval(f"{r['judge_id']} · {r['failure_mode']}", float(r["kappa"]), _f(r["kappa_ci_low"]),
                          _f(r["kappa_ci_high"]), marked=_f(r["kappa_change_ci_high"]) is not None
                          and r["kappa_change_ci_high"] < 0, note=f"n {r['n_items']}") for r in rows][:MAX_FOREST]
    if items:
        sec.charts.append(svg.intervals(items, title="Cohen's kappa vs the people's majority (red: below the "
                                        "previous version)",
                                        x_label="Cohen's kappa vs the people's majority", ref=None))
    cols = ["judge_id", "failure_mode", "n_items", "n_tied", "kappa", "kappa_ci_low", "kappa_ci_high",
            "percent_agreement", "agreement_ci_low", "agreement_ci_high"]
    sec.tables.append(table_of(_sorted(t, [("judge_id", "ascending"), ("failure_mode", "ascending")]), cols,
                               "Agreement with the people, per judge and failure mode", "judges.parquet"))
    changed = t.filter(pc.is_valid(t["previous_version"]))
    if changed.num_rows:
        sec.tables.append(table_of(_sorted(changed, [("kappa_change", "ascending")]),
                                   ["judge_id", "previous_version", "failure_mode", "kappa_change",
                                    "kappa_change_ci_low", "kappa_change_ci_high", "agreement_change",
                                    "agreement_change_ci_low", "agreement_change_ci_high"],
                                   "Change from the previous version, largest drop first", "judges.parquet"))
    return sec


def concentration_section(tables: dict[str, pa.Table], doc: dict[str, Any]) -> Section:
    sec = Section("concentration", "Concentration",
                  "How much of each failure mode's gold rests on few labelers (shares of judgments and gold items; "
                  "Herfindahl–Hirschman index in the summary).")
    found = [f for f in doc["findings"] if f["kind"] == "labeler_concentration"]
    stats = tables.get("labeler_stats")
    if stats is None and not found:
        sec.missing = "not computed: the labelers stage did not run"
        return sec
    hhi = doc["summary"].get("labelers", {}).get("concentration") if isinstance(
        doc["summary"].get("labelers"), dict) else None
    if isinstance(hhi, dict) and hhi:
        nested = {k: v for k, v in hhi.items() if isinstance(v, dict)}
        flat = {k: v for k, v in hhi.items() if isinstance(v, (int, float))}
        if nested:  # {failure_mode: {"hhi_judgments": .., "hhi_gold": .., ...}}
            keys = sorted(nested, key=lambda k: (k != "all", k))[:MAX_FOREST]
            measures = sorted({m for v in nested.values() for m, x in v.items()
                               if m.startswith("hhi") and isinstance(x, (int, float))})
            if measures:
                sec.charts.append(svg.grouped_bars(
                    keys, {m: [_f(nested[k].get(m)) for k in keys] for m in measures},
                    title="Herfindahl–Hirschman index of labeler shares, per failure mode",
                    x_label="HHI (1/number of labelers = even spread, 1 = one labeler)", y_label="failure mode"))
            eff = [k for k in keys if isinstance(nested[k].get("effective_labelers_gold"), (int, float))]
            if eff:
                sec.notes.append("Effective number of labelers behind the gold (1/HHI): " + ", ".join(
                    f"{k} {nested[k]['effective_labelers_gold']:.1f}" for k in eff) + ".")
        elif flat:
            keys = sorted(flat)[:MAX_FOREST]
            sec.charts.append(svg.grouped_bars(keys, {"HHI": [float(flat[k]) for k in keys]},
                                               title="Herfindahl–Hirschman index of judgment shares",
                                               x_label="HHI (0 = spread, 1 = one labeler)", y_label="slice"))
    cols = ["severity", "labeler_id", "failure_mode", "effect", "n", "message", "evidence"]
    sec.tables.append(Table(cols, [[_cell(f.get(c)) for c in cols] for f in found[:MAX_ROWS]], len(found),
                            "Concentration findings"))
    if stats is not None:
        share_cols = [c for c in stats.column_names if "share" in c]
        if share_cols:
            sec.tables.append(table_of(_sorted(stats, [(share_cols[0], "descending")]),
                                       ["labeler_id", "failure_mode", *share_cols], "Largest shares"))
    return sec


# -- items ---------------------------------------------------------------------------------------------------


def items_section(tables: dict[str, pa.Table]) -> Section:
    sec = Section("items", "Stale and poisoned gold items",
                  "Gold items whose label rests on flagged labelers or disagrees with consensus (poison_score, "
                  "0..1) or that are stale (superseded guideline, too old, labelers inactive). relabel_priority "
                  "orders them for `evalaudit relabel`.")
    t = tables.get("items")
    if t is None:
        sec.missing = "not computed: the items stage did not run"
        return sec
    names = t.schema.names
    counts: dict[str, int] = {}  # flag -> items, in order of first appearance
    n_rows = n_flagged = 0
    keys = [("relabel_priority", "descending"), ("poison_score", "descending")]
    tops = []
    cols = ["item_id", "failure_mode", "gold_label", "poison_score", "flags", "relabel_priority"]
    cols += [c for c in names if c not in cols][:4]
    # a table in memory, or a dataset over the items.parquet the run wrote: read a batch at a time, and only the
    # columns shown (10M judgments: 0.3 s instead of 1.5 s to decode every column of 2.5M items)
    shown = [c for c in names if c in cols]
    for part in ([t] if isinstance(t, pa.Table) else
                 (pa.Table.from_batches([b]) for b in t.to_batches(columns=shown))):
        n_rows += part.num_rows
        flagged = part
        if "flags" in names and part.num_rows:
            flat = pc.list_flatten(part["flags"])
            for c in (pc.value_counts(flat).to_pylist() if len(flat) else []):
                if c["values"] is not None:
                    counts[c["values"]] = counts.get(c["values"], 0) + c["counts"]
            has_flags = pc.greater(pc.list_value_length(part["flags"]), 0)
            n_flagged += int(pc.sum(has_flags).as_py() or 0)
            flagged = part.filter(has_flags)
        tops.append(_top(flagged, keys, MAX_ROWS))
    if "flags" in names and n_rows:
        ordered = sorted(counts.items(), key=lambda x: -x[1])
        if ordered:
            sec.charts.append(svg.grouped_bars([c[0] for c in ordered], {"items": [float(c[1]) for c in ordered]},
                                               title="Gold items per flag", x_label="items", y_label="flag"))
        sec.intro += f" {n_flagged:,} of {n_rows:,} gold items carry at least one flag."
    top = _top(pa.concat_tables(tops), keys, MAX_ROWS) if tops else t.schema.empty_table()
    tb = table_of(top, cols, "Flagged gold items, highest re-label priority first", "items.parquet")
    tb.total = n_flagged if "flags" in names else n_rows
    sec.tables.append(tb)
    return sec


def coverage_section(tables: dict[str, pa.Table], store_tables: set[str]) -> Section:
    sec = Section("coverage", "Coverage against production",
                  "Share of the eval set per failure mode (and other shared slice columns) against its share of "
                  "sampled production traffic; population stability index and Jensen–Shannon distance in the "
                  "summary.")
    t = tables.get("coverage")
    if t is None:
        sec.missing = ("not computed: no production sample in the store" if "production" not in store_tables
                       else "not computed: the coverage stage did not run")
        return sec
    if "slice_column" not in t.column_names and "failure_mode" in t.column_names:  # older one-slice shape
        t = t.append_column("slice_column", pa.array(["failure_mode"] * t.num_rows, pa.string()))
        t = t.append_column("value", t["failure_mode"])
    if {"slice_column", "value", "eval_share", "production_share"} <= set(t.column_names) and t.num_rows:
        columns = sorted(set(t["slice_column"].to_pylist()), key=lambda c: (c != "failure_mode", str(c)))
        for column in columns[:4]:
            o = _sorted(t.filter(pc.equal(t["slice_column"], column)), [("value", "ascending")]).slice(0, MAX_FOREST)
            has_ci = {"ci_low", "ci_high"} <= set(o.column_names)
            sec.charts.append(svg.grouped_bars(
                [str(v) for v in o["value"].to_pylist()],
                {"eval set": [_f(v) for v in o["eval_share"].to_pylist()],
                 "production": [_f(v) for v in o["production_share"].to_pylist()]},
                title=f"Share per {column}: eval set vs production", x_label="share of items / traffic",
                y_label=str(column)))
            if has_ci and "difference" in o.column_names:
                q = o["q_value"].to_pylist() if "q_value" in o.column_names else [None] * o.num_rows
                items = [svg.Interval(str(r["value"]), float(r["difference"]), _f(r["ci_low"]), _f(r["ci_high"]),
                                      marked=qv is not None and qv < 0.05, note=f"q {qv}")
                         for r, qv in zip(o.to_pylist(), q, strict=True) if _f(r["difference"]) is not None]
                if items:
                    sec.charts.append(svg.intervals(
                        items, title=f"Production − eval share per {column}, Newcombe interval (red: q < 0.05)",
                        x_label="difference in share"))
    sec.tables.append(table_of(t, list(t.column_names), "Coverage per slice value (chi-square test, BH q-value)"))
    return sec


def impact_section(tables: dict[str, pa.Table], store_tables: set[str]) -> Section:
    sec = Section("impact", "Eval score per model version: current vs audited gold",
                  "Score = share of items where the prediction equals the gold label; audited gold is re-derived "
                  f"without the flagged labelers' judgments. {impact_mod.SIGN}; its interval is a paired "
                  "percentile bootstrap over items.")
    t = tables.get("impact")
    if t is None:
        sec.missing = ("not computed: no predictions in the store" if "predictions" not in store_tables
                       else "not computed: the impact stage did not run")
        return sec
    if {"model_version", "failure_mode", "score_current", "score_audited"} <= set(t.column_names) and t.num_rows:
        rows = seed.release_scores(t, "all")
        if rows:
            sec.charts.append(seed.svg_chart(rows, "all"))
        o = _sorted(t.filter(pc.equal(t["failure_mode"], "all")), [("model_version", "ascending")])
        if "delta" in o.column_names:
            items = [svg.Interval(str(r["model_version"]), float(r["delta"]), _f(r.get("ci_low")),
                                  _f(r.get("ci_high")),
                                  marked=_f(r.get("ci_low")) is not None and r["ci_low"] > 0)
                     for r in o.to_pylist() if _f(r["delta"]) is not None][:MAX_FOREST]
            if items:
                sec.charts.append(svg.intervals(
                    items, title="Inflation = current − audited score, 95% paired bootstrap interval "
                                 "(red: above 0, today's gold flatters)",
                    x_label="delta = score_current − score_audited (share of items)"))
    cols = ["model_version", "failure_mode", "score_current", "score_audited", "delta", "ci_low", "ci_high",
            "n_items"]
    sec.tables.append(table_of(_sorted(t, [("model_version", "ascending"), ("failure_mode", "ascending")]),
                               cols + [c for c in t.column_names if c not in cols],
                               "Score per model version and failure mode", "impact.parquet"))
    return sec


def build(doc: dict[str, Any], tables: dict[str, pa.Table], history: pa.Table | None, store_tables: set[str],
          alpha_min: float = 0.667) -> list[Section]:
    """Every section of the report, in reading order."""
    return [
        findings_section(doc),
        trends_section(history, flagged_labelers(doc["findings"])),
        agreement_section(tables, alpha_min),
        leniency_section(tables, doc),
        drift_section(tables),
        judges_section(tables, doc),
        concentration_section(tables, doc),
        items_section(tables),
        coverage_section(tables, store_tables),
        impact_section(tables, store_tables),
    ]
