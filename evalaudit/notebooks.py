"""Helpers the marimo notebooks (`notebooks/*.py`) share: where the store is, one audit run per store, and small
selections of the audit's tables. docs/notebooks.md describes the notebooks.

Nothing here computes a statistic: every number comes from the stages of :mod:`evalaudit.pipeline` (the same code
`evalaudit run` uses), so a notebook and the report cannot disagree. What lives here is plumbing a cell should not
repeat: reading ``--store`` from the command line, running the stages once, re-running the gold stages with a
different set of excluded labelers, filtering tables by the user's selection, and exposing that selection to SQL
cells as a one-row view (so editable ``mo.sql`` cells read it with a join, never with values formatted into text).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from evalaudit import pipeline
from evalaudit.config import Config
from evalaudit.config import load as load_config
from evalaudit.engine import DuckDBEngine
from evalaudit.errors import UnusableInput
from evalaudit.findings import SEVERITIES, Finding, severity_rank, sort_key
from evalaudit.relabel import has_flag
from evalaudit.report import svg
from evalaudit.store import Store

DEFAULT_STORE = "data/demo"
#: name of the one-row view holding the user's current selection (failure_mode, labeler_id; NULL = all)
SELECTION_VIEW = "nb_selection"
#: the sentinel a dropdown shows for "no filter"
ALL = "(all)"

FINDINGS_COLUMNS = ("severity", "kind", "labeler_id", "failure_mode", "effect", "ci_low", "ci_high", "q_value", "n",
                    "evidence", "message")
_FINDINGS_SCHEMA = pa.schema([
    ("severity", pa.string()), ("kind", pa.string()), ("labeler_id", pa.string()), ("failure_mode", pa.string()),
    ("effect", pa.float64()), ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("q_value", pa.float64()),
    ("n", pa.int64()), ("evidence", pa.string()), ("message", pa.string()),
])


def marimo_args() -> Mapping[str, Any]:
    """``mo.cli_args()`` when a marimo runtime is running the notebook, else {} (a cell run on its own, e.g. by
    the benchmark through ``cell.run()``); :func:`cli_value` then reads ``sys.argv``."""
    import marimo as mo

    try:
        return mo.cli_args()
    except Exception:  # marimo raises ContextNotInitializedError outside its runtime
        return {}


def cli_value(args: Mapping[str, Any] | None, name: str, default: str | None = None,
              argv: Sequence[str] | None = None) -> str | None:
    """The value of ``--name`` for a notebook.

    ``args`` is ``mo.cli_args()`` (what follows ``--`` under `marimo run/edit/export`); as a plain script
    (`python notebooks/audit.py --store DIR`) marimo's parsing can miss it, so ``argv`` (default ``sys.argv``)
    is read too: ``--name VALUE`` or ``--name=VALUE``."""
    if args:
        value = args.get(name)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        if value not in (None, "", True):
            return str(value)
    words = list(sys.argv[1:] if argv is None else argv)
    flag = f"--{name}"
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return default


@dataclass
class Audit:
    """One audit of a store, held for a notebook session: the engine over the store's views, the settings, and
    every stage's tables and findings (a :class:`evalaudit.pipeline.Context`)."""

    store: Path
    cfg: Config
    engine: DuckDBEngine
    ctx: pipeline.Context
    _agreement_cache: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    _answers: pa.Table | None = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pa.Table]:
        return self.ctx.tables

    def answers(self) -> pa.Table | None:
        """Each model version's answer per item (named query ``impact_answers``), fetched once: re-deriving the
        gold re-scores the same answers."""
        if self._answers is None and self.engine.has_table("predictions"):
            self._answers = self.engine.query("impact_answers")
        return self._answers

    @property
    def findings(self) -> list[Finding]:
        return sorted(self.ctx.findings, key=sort_key)

    @property
    def summary(self) -> dict[str, Any]:
        return self.ctx.summary

    def failure_modes(self) -> list[str]:
        """Failure modes with judgments in the store, sorted."""
        return [r[0] for r in self.engine.con.execute(
            "SELECT DISTINCT failure_mode FROM labels WHERE failure_mode IS NOT NULL ORDER BY failure_mode"
        ).fetchall()]

    def labelers(self) -> list[str]:
        """Labelers with judgments in the store: flagged ones first (by their most severe finding), then by id."""
        everyone = [r[0] for r in self.engine.con.execute(
            "SELECT DISTINCT labeler_id FROM labels ORDER BY labeler_id").fetchall()]
        worst: dict[str, int] = {}
        for f in self.ctx.findings:
            if f.labeler_id:
                worst[f.labeler_id] = max(worst.get(f.labeler_id, -1), severity_rank(f.severity))
        return sorted(everyone, key=lambda lab: (-worst.get(lab, -1), lab))


def arg(name: str, default: str | None = None) -> str | None:
    """The notebook's ``--name`` value (:func:`cli_value` over :func:`marimo_args`)."""
    return cli_value(marimo_args(), name, default)


def audit_from_args() -> Audit:
    """The audit of the store the notebook was opened on (``--store``, default data/demo; ``--config``), run
    under a spinner: the first load of the audit, labeler and items notebooks."""
    import marimo as mo

    store_dir = arg("store", DEFAULT_STORE)
    with mo.status.spinner(title=f"Auditing {store_dir} …"):
        return load_audit(store_dir, arg("config"))


def load_audit(store_dir: str | Path, config: str | Path | Config | None = None,
               stages: list[tuple[str, pipeline.Stage]] | None = None) -> Audit:
    """Open the store and run the audit's stages on it (all of :func:`evalaudit.pipeline.stages` by default).

    The engine stays open for the notebook's SQL cells (``audit.engine.con``); the stage tables ``consensus``
    and ``items`` are registered as views beside the store's so those cells can join them."""
    store = Store.open(store_dir)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (make one with `evalaudit demo --store "
                            f"{store.root}` or `evalaudit ingest`)")
    cfg = config if isinstance(config, Config) else load_config(config)
    engine = store.engine()
    ctx = pipeline.Context(engine=engine, cfg=cfg)
    pipeline.run_stages(ctx, stages)
    for name in ("consensus", "items"):
        if name in ctx.tables:
            engine.register(f"audit_{name}", ctx.tables[name])
    select(engine, None, None, ctx.labels.positive)
    return Audit(store.root, cfg, engine, ctx)


def select(engine: DuckDBEngine, failure_mode: str | None, labeler_id: str | None, positive: str = "pass") -> str:
    """Set the one-row view :data:`SELECTION_VIEW` (columns failure_mode, labeler_id — NULL = no filter — and
    positive, the `[labels] positive` label) and return its name. SQL cells filter with
    ``WHERE (s.failure_mode IS NULL OR l.failure_mode = s.failure_mode)`` after a
    ``CROSS JOIN`` of the view: the values are data, never formatted into the query text."""
    engine.register(SELECTION_VIEW, pa.table({
        "failure_mode": pa.array([chosen(failure_mode)], pa.string()),
        "labeler_id": pa.array([chosen(labeler_id)], pa.string()),
        "positive": pa.array([positive], pa.string()),
    }))
    return SELECTION_VIEW


def chosen(value: str | None) -> str | None:
    """A dropdown's value as a filter: None for :data:`ALL` or nothing chosen."""
    return None if value in (None, "", ALL) else value


def empty_leniency() -> pa.Table:
    from evalaudit.labelers.evidence import LENIENCY_SCHEMA

    return LENIENCY_SCHEMA.empty_table()


def top_labelers(leniency: pa.Table, n: int) -> list[str]:
    """Up to ``n`` labelers of ``leniency``, those with the most significant test first (smallest q-value, then
    largest absolute effect) — the rows worth showing on a map of thousands of labelers."""
    best: dict[str, tuple[float, float]] = {}
    for r in leniency.select(["labeler_id", "q_value", "effect"]).to_pylist():
        key = (r["q_value"] if r["q_value"] is not None else 2.0, -abs(r["effect"] or 0.0))
        if r["labeler_id"] not in best or key < best[r["labeler_id"]]:
            best[r["labeler_id"]] = key
    return [lab for lab, _ in sorted(best.items(), key=lambda kv: (kv[1], kv[0]))][:n]


def where(table: pa.Table, **equals: str | None) -> pa.Table:
    """Rows of ``table`` whose columns equal the given values; a None or :data:`ALL` value does not filter."""
    mask = None
    for column, value in equals.items():
        value = chosen(value)
        if value is None or column not in table.column_names:
            continue
        m = pc.fill_null(pc.equal(table[column], value), False)
        mask = m if mask is None else pc.and_(mask, m)
    return table if mask is None else table.filter(mask)


def findings_table(findings: Sequence[Finding], failure_mode: str | None = None, labeler_id: str | None = None,
                   kinds: Sequence[str] | None = None) -> pa.Table:
    """The findings as a table (most severe first), optionally only those naming this failure mode / labeler."""
    rows = [{c: getattr(f, c) for c in FINDINGS_COLUMNS} for f in sorted(findings, key=sort_key)
            if (kinds is None or f.kind in kinds)]
    return where(pa.Table.from_pylist(rows, schema=_FINDINGS_SCHEMA), failure_mode=failure_mode,
                 labeler_id=labeler_id)


def agreement_over_time(audit: Audit, failure_mode: str | None, metric: str = "krippendorff_alpha") -> pa.Table:
    """Agreement per time window (``[agreement] window``): the run's ``window`` scope over all failure modes, or,
    for one failure mode, the agreement stage run on that failure mode's judgments alone (same coefficients,
    same item bootstrap; cached per failure mode for the session)."""
    fm = chosen(failure_mode)
    if fm is None:
        table = audit.tables.get("agreement")
    else:
        if fm not in audit._agreement_cache:
            from evalaudit.agreement.stage import agreement_table

            labels = audit.engine.sql(
                "SELECT item_id, labeler_id, label, labeled_at FROM labels WHERE failure_mode = $fm", fm=fm)
            audit._agreement_cache[fm] = agreement_table(labels, copy.deepcopy(audit.cfg)).tables["agreement"]
        table = audit._agreement_cache[fm]
    if table is None or table.num_rows == 0:
        return pa.table({"slice": pa.array([], pa.string())})
    out = where(where(table, scope="window"), metric=metric)
    return out.sort_by("slice")


def best_leniency(leniency: pa.Table) -> pa.Table:
    """One leniency row per labeler × failure mode: the kind of evidence with the smallest q-value (ties: the
    larger n). The map shows this row; the labeler notebook shows every kind."""
    if leniency.num_rows == 0:
        return leniency
    t = leniency.append_column("_q", pc.fill_null(leniency["q_value"], 2.0))
    t = t.sort_by([("labeler_id", "ascending"), ("failure_mode", "ascending"), ("_q", "ascending"),
                   ("n", "descending")])
    keys = list(zip(t["labeler_id"].to_pylist(), t["failure_mode"].to_pylist(), strict=True))
    first = [i for i, k in enumerate(keys) if i == 0 or k != keys[i - 1]]
    return t.take(pa.array(first, pa.int64())).drop_columns(["_q"])


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


def formats(table: Any) -> dict[str, Any]:
    """``format_mapping`` for ``mo.ui.table``: every float column to 3 significant figures, p- and q-values in
    scientific notation (the report's rule, evalaudit.report.svg.num) — no 17-digit floats on screen."""
    if table is None or not hasattr(table, "schema"):
        return {}
    return {f.name: (lambda v, sci=f.name in ("p_value", "q_value"): svg.num(v, sci=sci))
            for f in table.schema if pa.types.is_floating(f.type)}


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


def impact_rows(impact: pa.Table, picked: Any = None) -> pa.Table:
    """impact.parquet rows of the model versions picked in the seed chart (a pandas frame or list of row dicts
    from ``mo.ui.altair_chart(...).value``); every row when nothing is picked."""
    versions: list[str] = []
    if picked is not None and len(picked):
        rows = picked.to_dict("records") if hasattr(picked, "to_dict") else list(picked)
        versions = sorted({str(r["model_version"]) for r in rows if r.get("model_version") is not None})
    out = impact.filter(pc.is_in(impact["model_version"], pa.array(versions, pa.string()))) if versions else impact
    return out.sort_by([("model_version", "ascending"), ("failure_mode", "ascending")])


def score_chart(impact: pa.Table) -> str:
    """The seed chart (static SVG) for the whole eval: each model version's score against today's and audited gold,
    in release order, with Wilson bands (evalaudit.report.seed)."""
    from evalaudit.report import seed

    return str(seed.svg_chart(seed.release_scores(impact, "all"), "all"))


def gold_defaults(audit: Audit) -> dict[str, Any]:
    """The gold form's values that reproduce the run: severity floor medium, nobody added or kept, the configured
    thresholds."""
    return {"severity": "medium", "exclude": [], "spare": [],
            "posterior": audit.cfg.items.consensus_min_posterior, "material": audit.cfg.impact.material}


def flagged_labeler_ids(audit: Audit) -> list[str]:
    """Labelers the set-aside rule names at any severity (those a user may choose to keep)."""
    return sorted({lab for lab, _, _ in exclusions(audit, "low")})


def exclusions(audit: Audit, min_severity: str, also: Sequence[str] = (), keep: Sequence[str] = ()
               ) -> list[tuple[str, str | None, Any]]:
    """The (labeler, failure mode | None, since | None) whose judgments the audited gold sets aside: the run's own
    rule (:func:`evalaudit.items.flagged_from_findings` — a drift finding sets aside only judgments after its
    change point) applied to the findings at or above ``min_severity``, plus every judgment of the labelers in
    ``also``, minus the labelers in ``keep``. At "medium" (the run's floor) and nothing added or kept, this is
    exactly the run's ``flagged_labelers`` table."""
    from evalaudit import items

    floor = severity_rank(min_severity)
    # the run's rule sets aside medium and above: findings at/above the chosen floor are offered to it as at least
    # medium, the others as low (still seen, as the run sees them, when it decides what is set aside whole)
    chosen_findings = [replace(f, severity=SEVERITIES[max(severity_rank(f.severity), 1)]
                               if severity_rank(f.severity) >= floor else "low") for f in audit.ctx.findings]
    ctx = pipeline.Context(engine=audit.engine, cfg=audit.cfg, findings=chosen_findings)
    kept = set(keep)
    rows = [r for r in items.flagged_from_findings(ctx).to_pylist() if r["labeler_id"] not in kept]
    rows += [{"labeler_id": lab, "failure_mode": None, "since": None} for lab in also if lab not in kept]
    table = items.flagged_table([(r["labeler_id"], r["failure_mode"], r["since"]) for r in rows])
    return _triples(table)


def _triples(flagged: pa.Table) -> list[tuple[str, str | None, Any]]:
    return sorted(((r["labeler_id"], r["failure_mode"], r["since"]) for r in flagged.to_pylist()),
                  key=lambda k: (k[0], k[1] or ""))


def regold(audit: Audit, excluded: Sequence[tuple[str, str | None] | tuple[str, str | None, Any]] | None,
           cfg: Config | None = None) -> pipeline.Context:
    """Re-run the gold stages (items, impact) with ``excluded`` as the flagged labelers — (labeler, failure
    mode or None for all their judgments, and optionally since when; see :func:`exclusions`) — and optionally
    other settings (``cfg``: moved thresholds). ``excluded`` None keeps the audit's own flagged labelers. Returns
    a new Context (the audit's own when nothing differs from the run); the audit's is untouched. The labelers
    stage's tables (consensus, Dawid–Skene) are reused, not recomputed."""
    from evalaudit import impact, items

    same_cfg = cfg is None or cfg == audit.cfg
    run_flagged = audit.tables.get("flagged_labelers")
    if same_cfg and (excluded is None or (run_flagged is not None and
                                          _triples(items.flagged_table(list(excluded))) == _triples(run_flagged))):
        return audit.ctx  # the run already derived exactly this gold
    keep = {k: v for k, v in audit.tables.items() if k not in ("items", "gold_items", "impact", "flagged_labelers")}
    gold_kinds = {"poisoned_items", "stale_items", "eval_score_inflation"}
    new_cfg = cfg or audit.cfg
    ctx = pipeline.Context(engine=audit.engine, cfg=new_cfg, tables=keep,
                           findings=[f for f in audit.ctx.findings if f.kind not in gold_kinds])
    if excluded is not None:
        ctx.tables["flagged_labelers"] = items.flagged_table(list(excluded))
    elif run_flagged is not None:
        ctx.tables["flagged_labelers"] = run_flagged
    answers = audit.answers()
    if answers is not None:
        ctx.tables["impact_answers"] = answers
    run_items = audit.tables.get("items")
    if run_items is not None and new_cfg.gold == audit.cfg.gold and new_cfg.labels == audit.cfg.labels:
        # only who is flagged or an items/impact threshold moved: re-derive what depends on them (seconds at 10M)
        def gold_stage(c: pipeline.Context) -> pipeline.StageResult:
            return items.rederive(c, run_items)
    else:
        gold_stage = items.stage
    pipeline.run_stages(ctx, [("items", gold_stage), ("impact", impact.stage)])
    return ctx


def relabel_queue(items_table: pa.Table, top: int | None = None) -> pa.Table:
    """The re-labeling queue as `evalaudit relabel` exports it: gold items that are not honeypots, by
    ``relabel_priority`` (see :mod:`evalaudit.relabel`)."""
    from evalaudit.relabel import COLUMNS

    t = items_table.filter(pc.and_(pc.invert(pc.fill_null(items_table["is_honeypot"], False)),
                                   pc.is_valid(items_table["gold_label"])))
    t = t.sort_by("relabel_priority").select(list(COLUMNS))
    return t.slice(0, top) if top is not None else t


def filter_items(audit: Audit, items_table: pa.Table, flags: Sequence[str] = (), failure_mode: str | None = None,
                 labeler_id: str | None = None) -> pa.Table:
    """Gold items carrying every one of ``flags``, of ``failure_mode``, judged by ``labeler_id`` (None = any):
    the same selection as `evalaudit relabel --flag/--failure-mode/--labeler`."""
    from evalaudit.relabel import select

    fm, lab = chosen(failure_mode), chosen(labeler_id)
    return select(audit.engine, items_table, [fm] if fm else (), [lab] if lab else (), flags)


#: row mask "the list column flags contains flag" (the relabel module's, so notebook and CLI filter alike)
_has_flag = has_flag


def flag_names() -> tuple[str, ...]:
    from evalaudit.items import FLAGS

    return FLAGS


def pct(value: float | None) -> str:
    """A share as a percentage for a stat tile; "n/a" when absent."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


WORKLOAD_COLUMNS = ("failure_mode", "n_judgments", "share_of_judgments", "n_gold_items", "share_of_gold",
                    "positive_rate", "median_duration_s", "first_labeled_at", "last_labeled_at", "flagged",
                    "max_severity")
CONCENTRATION_COLUMNS = ("failure_mode", "n_gold_items", "n_sole_gold_items", "fm_gold_items", "share_of_gold",
                         "gold_weight", "gold_weight_share", "hhi_gold")
LENIENCY_COLUMNS = ("failure_mode", "evidence", "effect", "ci_low", "ci_high", "p_value", "q_value", "n",
                    "labeler_rate", "peer_rate", "method")


@dataclass
class LabelerProfile:
    """Everything the audit says about one labeler, as tables selected from the stages' outputs."""

    labeler_id: str
    #: the labeler's ``labeler_stats`` row over all failure modes (failure_mode = 'all'), as a dict
    overall: dict[str, Any]
    workload: pa.Table
    leniency: pa.Table
    honeypot: pa.Table
    drift: pa.Table
    drift_series: pa.Table
    concentration: pa.Table
    pairs: pa.Table
    findings: pa.Table
    #: failure modes the labeler has a weekly series on, and the one to show first (a drifting one, else the
    #: busiest)
    failure_modes: list[str]
    default_failure_mode: str | None


def _cols(table: pa.Table | None, columns: Sequence[str]) -> pa.Table:
    if table is None:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return table.select([c for c in columns if c in table.column_names])


def labeler_profile(audit: Audit, labeler_id: str) -> LabelerProfile:
    """Select one labeler's rows from the audit's tables (labeler_stats, leniency, drift, drift_series,
    labeler_pairs) and findings."""
    t = audit.tables
    stats = where(t.get("labeler_stats", pa.table({"labeler_id": pa.array([], pa.string())})), labeler_id=labeler_id)
    overall_rows = where(stats, failure_mode="all").to_pylist() if "failure_mode" in stats.column_names else []
    per_fm = stats.filter(pc.not_equal(stats["failure_mode"], "all")) if "failure_mode" in stats.column_names \
        else stats
    per_fm = per_fm.sort_by([("n_judgments", "descending")]) if "n_judgments" in per_fm.column_names else per_fm
    leniency = where(t.get("leniency", empty_leniency()), labeler_id=labeler_id)
    leniency = leniency.sort_by([("failure_mode", "ascending"), ("evidence", "ascending")])
    drift = _cols(where(t["drift"], labeler_id=labeler_id) if "drift" in t else None,
                  ("failure_mode", "change_date", "effect_before", "effect_after", "change", "statistic", "p_value",
                   "q_value", "n"))
    series = where(t["drift_series"], labeler_id=labeler_id) if "drift_series" in t else \
        pa.table({"failure_mode": pa.array([], pa.string()), "week": pa.array([], pa.date32())})
    series = series.sort_by([("failure_mode", "ascending"), ("week", "ascending")])
    fms = sorted(set(series["failure_mode"].to_pylist()))
    drifting = [r["failure_mode"] for r in drift.to_pylist()] if drift.num_rows else []
    busiest = [r["failure_mode"] for r in per_fm.to_pylist() if r.get("failure_mode") in fms]
    default = next(iter(drifting + busiest + fms), None)
    pairs = t.get("labeler_pairs")
    if pairs is not None and pairs.num_rows:
        mine = pc.or_(pc.equal(pairs["labeler_a"], labeler_id), pc.equal(pairs["labeler_b"], labeler_id))
        pairs = pairs.filter(pc.fill_null(mine, False)).sort_by("q_value")
    else:
        pairs = pa.table({"labeler_a": pa.array([], pa.string())})
    return LabelerProfile(
        labeler_id=labeler_id,
        overall=overall_rows[0] if overall_rows else {},
        workload=_cols(per_fm, WORKLOAD_COLUMNS),
        leniency=_cols(leniency, LENIENCY_COLUMNS),
        honeypot=_cols(where(leniency, evidence="honeypot"), LENIENCY_COLUMNS),
        drift=drift,
        drift_series=series,
        concentration=_cols(per_fm, CONCENTRATION_COLUMNS),
        pairs=pairs,
        findings=findings_table(audit.findings, labeler_id=labeler_id),
        failure_modes=fms,
        default_failure_mode=default,
    )


# -- batch gate ---------------------------------------------------------------------------------------------------
BATCH_SUFFIXES = (".csv", ".parquet", ".jsonl", ".json", ".ndjson")


def check(batch: str | Path, store_dir: str | Path, config: str | Path | Config | None = None,
          promote: bool = False) -> Any:
    """`evalaudit check` on one batch file (:func:`evalaudit.contracts.check_batch`); with ``promote`` a passing
    batch is appended to the store (and a failing one kept whole in quarantine), exactly as ``--promote``."""
    from evalaudit.contracts import check_batch

    cfg = config if isinstance(config, Config) else load_config(config)
    return check_batch(batch, store_dir, cfg, promote_batch=promote)


def expectations_table(result: Any) -> pa.Table:
    """One row per expectation of a check result: name, level, status, counts, observed value and bound."""
    rows = [{"expectation": r.expectation, "level": r.level, "status": r.status,
             "unexpected": r.unexpected_count, "of": r.element_count,
             "observed": None if r.observed is None else str(r.observed), "bound": r.bound,
             "description": r.description, "note": r.note} for r in result.results]
    schema = pa.schema([("expectation", pa.string()), ("level", pa.string()), ("status", pa.string()),
                        ("unexpected", pa.int64()), ("of", pa.int64()), ("observed", pa.string()),
                        ("bound", pa.string()), ("description", pa.string()), ("note", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Example rows or per-labeler details of an expectation (dicts with mixed values) as a table of text, so
    a column mixing numbers and words still displays."""
    from evalaudit.contracts.result import clean

    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    return pa.table({c: pa.array([None if r.get(c) is None else str(clean(r.get(c))) for r in rows], pa.string())
                     for c in columns})


SHIFT_EXPECTATIONS = ("positive_rate_shift", "label_rate_shift", "mean_label_shift")


def labeler_shift(result: Any) -> pa.Table:
    """The batch's labelers against their history: the per labeler × failure mode rows behind the label-shift
    expectation of the label space (batch rate or mean, reference's, shift and its simultaneous interval)."""
    for r in result.results:
        if r.expectation in SHIFT_EXPECTATIONS and r.details:
            return pa.Table.from_pylist(r.details)
    return pa.table({"labeler_id": pa.array([], pa.string())})


def beside_history(result: Any) -> pa.Table:
    """Every relative verdict of a check with the batch's value beside the history's, each with its interval and
    sample size (:mod:`evalaudit.contracts.batch_expectations`): agreement, honeypot accuracy per labeler and
    reference. Values are rounded text so the table reads at a glance."""
    def num(v: Any) -> str | None:
        return None if v is None else f"{v:.3f}"

    def interval(lo: Any, hi: Any) -> str | None:
        return None if lo is None or hi is None else f"[{lo:.3f}, {hi:.3f}]"

    rows = []
    for r in result.results:
        if r.expectation == "agreement_vs_history" and r.details:
            d = r.details[0]
            rows.append({"check": r.expectation, "status": r.status, "measure": "Krippendorff's alpha",
                         "who": d["history_labelers"], "batch": num(d["alpha_batch"]),
                         "batch_interval": interval(d["batch_ci_low"], d["batch_ci_high"]),
                         "n_batch": d["n_items_batch"], "history": num(d["alpha_history"]),
                         "history_interval": interval(d["history_ci_low"], d["history_ci_high"]),
                         "n_history": d["n_items_history"], "test": f"p = {d['p_value']:.3g}"
                         if d["p_value"] is not None else None})
        elif r.expectation == "honeypot_vs_history":
            for d in r.details:
                rows.append({"check": r.expectation, "status": r.status, "measure": "honeypot accuracy",
                             "who": f"{d['labeler_id']} vs {d['reference']}", "batch": num(d["accuracy_batch"]),
                             "batch_interval": interval(d["batch_ci_low"], d["batch_ci_high"]),
                             "n_batch": d["n_batch"], "history": num(d["accuracy_reference"]),
                             "history_interval": interval(d["reference_ci_low"], d["reference_ci_high"]),
                             "n_history": d["n_reference"], "test": f"q = {d['q_value']:.3g}"})
    schema = pa.schema([("check", pa.string()), ("status", pa.string()), ("measure", pa.string()),
                        ("who", pa.string()), ("batch", pa.string()), ("batch_interval", pa.string()),
                        ("n_batch", pa.int64()), ("history", pa.string()), ("history_interval", pa.string()),
                        ("n_history", pa.int64()), ("test", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


def batch_engine(batch: str | Path, store_dir: str | Path) -> DuckDBEngine:
    """The store's views plus the view ``batch`` (the file read and normalised as ingest would store it, by
    :func:`evalaudit.contracts.batch.load`), for SQL cells comparing the batch with the history."""
    from evalaudit.contracts import batch as batch_mod

    engine = Store.open(store_dir).engine()
    batch_mod.load(engine, Path(batch))
    return engine

