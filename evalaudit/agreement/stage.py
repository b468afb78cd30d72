"""The agreement stage of `evalaudit run`: every coefficient over the whole store and per failure mode, batch,
vendor and time window, with item-bootstrap intervals; Krippendorff's alpha per failure mode × time window
(table agreement_failure_mode_window, for the report's heatmap); the pairwise Cohen matrix; `low_agreement`
findings.

Slices are sets of *judgments*: the batch slice "b7" holds the judgments delivered in batch b7, and agreement
there is agreement among those judgments (an item half-labeled in b7 and half in b8 contributes its b7 labels
to b7 only). The window slice holds the judgments made in that window; when every item has one failure mode,
the window scope's patterns are summed from the failure mode × window cells instead of queried again.
Judgments without a batch_id or vendor are left out of the batch or vendor scope (they still count in every
other scope); failure_mode is never null in the store ('unspecified'). Judgments without labeled_at are left out of
the window scope and the failure mode × window table, and ``summary.skipped`` says how many.

Repeated judgments (one labeler, one item, twice): every query reads the view ``judgments`` (registered once per
run, :func:`evalaudit.stage.define_judgments`), where each labeler's latest judgment of an item counts - the same
policy as every other stage.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from evalaudit.agreement import api
from evalaudit.agreement import bootstrap as boot
from evalaudit.agreement import coefficients as coef
from evalaudit.agreement import patterns as pat
from evalaudit.agreement.categories import Categories, build, gwet_kernel, krippendorff_kernel
from evalaudit.agreement.kernels import Kernel
from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.errors import UnusableInput
from evalaudit.findings import Finding
from evalaudit.frames import require_columns, to_arrow
from evalaudit.schema import UNSPECIFIED
from evalaudit.stage import Context, StageResult, define_judgments, skip

#: Gwet's weights used for AC2 at each non-nominal level (named in the `level` column as "gwet_<name>").
AC2_WEIGHTS = {"ordinal": "ordinal", "interval": "quadratic", "ratio": "ratio"}
#: Cohen weights for the pairwise matrix at each level.
COHEN_FOR_LEVEL: dict[str, str | None] = {"nominal": None, "ordinal": "linear", "interval": "quadratic",
                                          "ratio": "quadratic"}

SCHEMA = pa.schema(
    [
        ("scope", pa.string()),
        ("slice", pa.string()),
        ("metric", pa.string()),
        ("level", pa.string()),
        ("value", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("n_items", pa.int64()),
        ("n_labels", pa.int64()),
        ("n_pairable", pa.int64()),
        ("ci_method", pa.string()),
        ("n_resamples", pa.int64()),
        ("note", pa.string()),
    ]
)
PAIRS_SCHEMA = api.PAIRS_SCHEMA
#: the extra table of Krippendorff's alpha per failure mode × time window (not a scope of agreement.parquet:
#: docs/outputs.md lists those); intervals are item-jackknife normal intervals, cheap enough for ~1,000 cells
FAILURE_MODE_WINDOW_TABLE = "agreement_failure_mode_window"
FAILURE_MODE_WINDOW_SCHEMA = pa.schema(
    [("failure_mode", pa.string()), ("window_start", pa.date32()), ("window", pa.string())]
    + [SCHEMA.field(name) for name in ("metric", "level", "value", "ci_low", "ci_high", "n_items", "n_labels",
                                       "n_pairable", "ci_method", "note")]
)


@dataclass(frozen=True)
class Metric:
    name: str
    level: str
    kind: str  # alpha | ac | fleiss | pa
    delta2: Kernel | None = None
    agree: Kernel | None = None


def metrics_for(level: str, categories: Categories) -> list[Metric]:
    """The coefficients reported per slice at the configured measurement level."""
    ident = gwet_kernel("identity", categories)
    out = [Metric("krippendorff_alpha", level, "alpha", delta2=krippendorff_kernel(level, categories))]
    out.append(Metric("gwet_ac1", "nominal", "ac", agree=ident))
    if level != "nominal":
        w = AC2_WEIGHTS[level]
        out.append(Metric("gwet_ac2", f"gwet_{w}", "ac", agree=gwet_kernel(w, categories)))
    out.append(Metric("fleiss_kappa", "nominal", "fleiss", agree=ident))
    out.append(Metric("percent_agreement", "nominal", "pa", agree=ident))
    return out


def _evaluate(metric: Metric, counts: Any, weights: np.ndarray, q: int) -> np.ndarray:
    if metric.kind == "alpha":
        return coef.alpha(counts, weights, metric.delta2)
    assert metric.agree is not None
    if metric.kind == "ac":
        return coef.gwet_ac(counts, weights, metric.agree, q)
    if metric.kind == "fleiss":
        return coef.fleiss_kappa(counts, weights, metric.agree)
    return coef.observed_agreement(counts, weights, metric.agree)


#: rows of resample weights evaluated at once, so (rows × patterns) arrays stay around 40 MB
CHUNK_CELLS = 5_000_000


def _per_row(metric: Metric, counts: Any, q: int) -> int:
    """Cells of the largest intermediate arrays per weighting row: the (R, q) margins and the (patterns, R)
    per-pattern sums (ordinal alpha's mid-ranks)."""
    return 2 * max(counts.shape[0], q)


def _evaluate_chunked(metric: Metric, counts: Any, weights: np.ndarray, q: int) -> np.ndarray:
    per_row = _per_row(metric, counts, q)
    step = max(1, CHUNK_CELLS // max(1, per_row))
    return np.concatenate([_evaluate(metric, counts, weights[i:i + step], q)
                           for i in range(0, len(weights), step)])


def slice_rows(scope: str, name: str, patterns: pat.Patterns, metrics: list[Metric], categories: Categories,
               cfg: Config) -> list[dict[str, Any]]:
    """The agreement.parquet rows of one slice: every metric, its bootstrap interval, counts and notes."""
    acfg = cfg.agreement
    base = {"scope": scope, "slice": name, "n_items": patterns.n_items, "n_labels": patterns.n_labels,
            "n_pairable": patterns.n_pairable}
    if patterns.n_pairable < acfg.min_items:
        note = _too_few(patterns, acfg.min_items)
        return [{**base, "metric": m.name, "level": m.level, "value": None, "ci_low": None, "ci_high": None,
                 "ci_method": None, "n_resamples": None, "note": note} for m in metrics]
    rng = boot.rng_for(cfg.run.seed, scope, name)
    draws = boot.resample_weights(patterns.items, acfg.bootstrap, rng)
    weights = np.vstack([patterns.items[None, :], draws]).astype(float)
    pair = patterns.m >= 2
    no_variation = _no_variation(patterns)
    varying = len(set(patterns.m[pair].tolist())) > 1 or bool((~pair).any())
    rows = []
    for m in metrics:
        values = _evaluate_chunked(m, patterns.counts, weights, categories.q)
        lo, hi, finite = boot.percentile_interval(values[1:], acfg.confidence)
        notes = []
        if no_variation and m.kind in ("alpha", "fleiss"):
            notes.append(NO_VARIATION)
        if m.kind == "fleiss" and varying:
            notes.append("Gwet's generalisation of Fleiss' kappa: items carry different numbers of labels")
        if 0 < finite < acfg.bootstrap:
            notes.append(f"{acfg.bootstrap - finite} resamples had no pairable item and were dropped")
        has_ci = finite > 0
        rows.append({**base, "metric": m.name, "level": m.level, "value": _finite(values[0]),
                     "ci_low": lo if has_ci else None, "ci_high": hi if has_ci else None,
                     "ci_method": boot.METHOD if has_ci else None, "n_resamples": finite if has_ci else None,
                     "note": "; ".join(notes) or None})
    return rows


NO_VARIATION = "no variation: every label on pairable items is the same; 1.0 by convention"


def _too_few(patterns: pat.Patterns, min_items: int) -> str:
    return f"too few pairable items ({patterns.n_pairable} items with 2+ labels; at least {min_items} needed)"


def _no_variation(patterns: pat.Patterns) -> bool:
    return patterns.used(patterns.m >= 2).size <= 1


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _jackknife_values(metric: Metric, patterns: pat.Patterns, q: int) -> np.ndarray:
    """The metric with one item of each pattern left out (one value per pattern), in row blocks of about
    CHUNK_CELLS cells."""
    n = len(patterns.items)
    per_row = _per_row(metric, patterns.counts, q)
    step = max(1, CHUNK_CELLS // max(1, per_row))
    return np.concatenate([_evaluate(metric, patterns.counts, boot.jackknife_weights(patterns.items, a, a + step)
                                     .astype(float), q) for a in range(0, n, step)])


def failure_mode_window_table(cells: dict[tuple[str, ...], pat.Patterns], alpha: Metric, categories: Categories,
                              cfg: Config) -> pa.Table:
    """Krippendorff's alpha per failure mode × window cell (``cells`` keyed by (failure mode, window start
    date)): the same evaluation as agreement.parquet's alpha, the same minimum-items rule and notes, and an
    item-jackknife normal interval in place of the bootstrap (P evaluations per cell instead of 1,000 draws)."""
    acfg = cfg.agreement
    rows = []
    for (failure_mode, start), patterns in sorted(cells.items()):
        row: dict[str, Any] = {"failure_mode": failure_mode, "window_start": date.fromisoformat(start),
                               "window": acfg.window, "metric": alpha.name, "level": alpha.level, "value": None,
                               "ci_low": None, "ci_high": None, "n_items": patterns.n_items,
                               "n_labels": patterns.n_labels, "n_pairable": patterns.n_pairable,
                               "ci_method": None, "note": None}
        rows.append(row)
        if patterns.n_pairable < acfg.min_items:
            row["note"] = _too_few(patterns, acfg.min_items)
            continue
        value = _evaluate(alpha, patterns.counts, patterns.items[None, :].astype(float), categories.q)[0]
        row["value"] = _finite(value)
        left_out = _jackknife_values(alpha, patterns, categories.q)
        interval = boot.jackknife_interval(value, left_out, patterns.items, acfg.confidence, bounds=(-math.inf, 1.0))
        if interval is not None:
            row["ci_low"], row["ci_high"] = interval
            row["ci_method"] = boot.JACKKNIFE_METHOD
        if _no_variation(patterns):
            row["note"] = NO_VARIATION
    return pa.Table.from_pylist(rows, schema=FAILURE_MODE_WINDOW_SCHEMA)


def _describe(scope: str, name: str, window: str = "week") -> str:
    return {
        "overall": "the whole labeling history",
        "failure_mode": f"failure mode {name!r}",
        "batch": f"batch {name!r}",
        "vendor": f"vendor {name!r}",
        "window": f"the {window} starting {name}",
    }[scope]


def low_agreement_findings(rows: list[dict[str, Any]], cfg: Config, level: str) -> list[Finding]:
    """A finding per slice whose alpha interval lies wholly below ``[agreement] alpha_min``.

    Severity: high when even the upper end lies 0.2 or more below the threshold, medium otherwise."""
    threshold = cfg.agreement.alpha_min
    ac1 = {(r["scope"], r["slice"]): r["value"] for r in rows if r["metric"] == "gwet_ac1"}
    out = []
    for r in rows:
        if r["metric"] != "krippendorff_alpha" or r["value"] is None or r["ci_high"] is None:
            continue
        if not np.isfinite(r["ci_high"]) or r["ci_high"] >= threshold:
            continue
        conf = f"{cfg.agreement.confidence:.0%}"
        other = ac1.get((r["scope"], r["slice"]))
        where = _describe(r["scope"], r["slice"], cfg.agreement.window)
        tail = f" (Gwet's AC1 {other:.2f})" if other is not None else ""
        out.append(
            Finding(
                kind="low_agreement",
                severity="high" if r["ci_high"] < threshold - 0.2 else "medium",
                message=(f"Labelers agree poorly on {where}: Krippendorff's "
                         f"alpha ({level}) is {r['value']:.2f} ({conf} CI {r['ci_low']:.2f} to "
                         f"{r['ci_high']:.2f}), "
                         f"below the {threshold:g} threshold{tail}."),
                evidence=(f"Krippendorff's alpha ({level}), {r['n_resamples']} item-bootstrap percentile CI "
                          f"({conf})"),
                failure_mode=r["slice"] if r["scope"] == "failure_mode" else None,
                effect=r["value"],
                ci_low=r["ci_low"],
                ci_high=r["ci_high"],
                n=r["n_items"],
                details={"scope": r["scope"], "slice": r["slice"], "n_pairable": r["n_pairable"],
                         "threshold": threshold, "gwet_ac1": other},
            )
        )
    return out


def _categories(ctx: Context) -> Categories:
    """The categories of the run's label space (``ctx.labels``: observed and declared labels, one definition),
    read as numbers at the ordinal, interval and ratio levels (``-0``, ``0`` and ``00`` are then one value)."""
    labels = ctx.cfg.labels
    try:
        categories = build(ctx.labels.labels, (), labels.order or None, numeric=labels.level != "nominal")
        krippendorff_kernel(labels.level, categories)  # fail early when the level does not fit the labels
    except ValueError as e:
        where = ctx.cfg.source or "the configuration"
        raise UnusableInput(f"{where}: [labels] level = {labels.level!r}: {e}") from None
    return categories


def stage(ctx: Context) -> StageResult:
    """Agreement per slice (tables ``agreement`` and ``agreement_pairs``) and ``low_agreement`` findings."""
    cfg = ctx.cfg
    judged = define_judgments(ctx)
    if not sum(ctx.labels.counts):
        empty = {"agreement": SCHEMA.empty_table(), "agreement_pairs": PAIRS_SCHEMA.empty_table(),
                 FAILURE_MODE_WINDOW_TABLE: FAILURE_MODE_WINDOW_SCHEMA.empty_table()}
        return StageResult(tables=empty, summary={"agreement": {"n_items": 0}})
    categories = _categories(ctx)
    level = cfg.labels.level
    metrics = metrics_for(level, categories)
    packing = pat.prepare(ctx.engine, categories)
    rows: list[dict[str, Any]] = []
    steps = len(pat.SCOPES) + 1
    window = cfg.agreement.window
    # the queries run one after another on a worker thread while this one evaluates the slices of the scopes already
    # loaded: DuckDB (or Spark) works on its own threads, so the numpy bootstrap and the next scan overlap. The rows
    # come in the same order, with the same values, as when everything ran in turn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalaudit-agreement") as sql:
        try:
            base = sql.submit(pat.load_per_item_scopes, ctx.engine, packing, window)
            queued = {"batch": sql.submit(pat.load, ctx.engine, "batch", packing, window)}
            by_cell = sql.submit(pat.load_slicing, ctx.engine, pat.FAILURE_MODE_WINDOW, packing, window)
            pair_cells = sql.submit(api.pair_cells, ctx.engine, cfg.agreement.min_pair_items, categories.q)
            one_pass = base.result()
            if one_pass.vendor is None:  # too many vendors for the one pass
                queued["vendor"] = sql.submit(pat.load, ctx.engine, "vendor", packing, window)
            # the window scope's patterns are summed from the failure mode × window cells when every item has one
            # failure mode (the window query costs as much as the cells' query); else queried
            if not pat.one_failure_mode_per_item(one_pass.overall, one_pass.failure_mode):
                queued["window"] = sql.submit(pat.load, ctx.engine, "window", packing, window)
            loaded = {"overall": one_pass.overall, "failure_mode": one_pass.failure_mode, "vendor": one_pass.vendor}
            for done, scope in enumerate(pat.SCOPES):
                ctx.progress("agreement", done, steps)
                if scope in queued:
                    patterns = queued[scope].result()
                elif scope == "window":
                    patterns = pat.windows_from_cells(by_cell.result())
                else:
                    patterns = loaded[scope]
                    assert patterns is not None  # queued above when the one pass left it out
                for name, p in sorted(patterns.items()):
                    rows.extend(slice_rows(scope, name, p, metrics, categories, cfg))
            cells = by_cell.result()
            ctx.progress("agreement", len(pat.SCOPES), steps)
            alpha = next(m for m in metrics if m.kind == "alpha")
            by_cell_table = failure_mode_window_table(cells, alpha, categories, cfg)
            cohen_w = COHEN_FOR_LEVEL[level]
            pairs = api.pairs_from_cells(pair_cells.result(), categories, cohen_w)
        except BaseException:  # an error or an interrupt: the queries not yet started are not run
            sql.shutdown(wait=True, cancel_futures=True)
            raise
    first = next((r for r in rows if r["scope"] == "overall"), None)
    if first is not None:
        kappas = np.asarray(pairs.column("kappa").to_numpy(zero_copy_only=False), dtype=float)
        kappas = kappas[np.isfinite(kappas)]
        rows.append({**{k: first[k] for k in ("scope", "slice", "n_items", "n_labels", "n_pairable")},
                     "metric": "cohen_kappa", "level": cohen_w or "nominal",
                     "value": float(kappas.mean()) if kappas.size else None, "ci_low": None, "ci_high": None,
                     "ci_method": None, "n_resamples": None,
                     "note": (f"mean of {kappas.size} pairwise Cohen kappas (Light 1971) over labeler pairs "
                              f"sharing at least {cfg.agreement.min_pair_items} items" if kappas.size else
                              f"no labeler pair shares {cfg.agreement.min_pair_items} items")})
    ctx.progress("agreement", steps, steps)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    findings = low_agreement_findings(rows, cfg, level)
    skipped = []
    if judged["n_untimed"]:
        whole = judged["n_untimed"] == judged["n_rows"]
        skipped.append(skip("agreement per time window", (
            "no judgment has labeled_at: there is no window scope and no failure mode x window table" if whole
            else f"{judged['n_untimed']} of {judged['n_rows']} label rows have no labeled_at and are left out of "
                 "the window scope and the failure mode x window table")))
    return StageResult(tables={"agreement": table, "agreement_pairs": pairs,
                               FAILURE_MODE_WINDOW_TABLE: by_cell_table},
                       findings=findings, summary={"agreement": _summary(rows, pairs, findings, cfg)},
                       skipped=skipped)


def _summary(rows: list[dict[str, Any]], pairs: pa.Table, findings: list[Finding],
             cfg: Config) -> dict[str, Any]:
    def overall(metric: str) -> dict[str, Any] | None:
        return next((r for r in rows if r["scope"] == "overall" and r["metric"] == metric), None)

    alpha = overall("krippendorff_alpha")
    slices = {(r["scope"], r["slice"]) for r in rows}
    too_small = {(r["scope"], r["slice"]) for r in rows
                 if r["value"] is None and r["metric"] != "cohen_kappa"}
    out: dict[str, Any] = {
        "level": cfg.labels.level,
        "krippendorff_alpha": alpha["value"] if alpha else None,
        "alpha_ci": [alpha["ci_low"], alpha["ci_high"]] if alpha else None,
        "n_items": alpha["n_items"] if alpha else 0,
        "n_pairable": alpha["n_pairable"] if alpha else 0,
        "n_slices": len(slices),
        "n_too_small": len(too_small),
        "n_low_agreement": len(findings),
        "n_labeler_pairs": pairs.num_rows,
        "bootstrap": cfg.agreement.bootstrap,
        "ci_method": boot.METHOD,
        "confidence": cfg.agreement.confidence,
    }
    for metric in ("gwet_ac1", "gwet_ac2", "fleiss_kappa", "percent_agreement", "cohen_kappa"):
        r = overall(metric)
        if r is not None:
            out[metric] = r["value"]
    return out


def agreement_table(data: Any, cfg: Config | None = None, seed: int | None = None) -> StageResult:
    """Run the agreement stage on any long-form table (pandas, polars, pyarrow, DuckDB relation) - the same
    numbers `evalaudit run` writes. Missing optional columns are treated as absent (failure_mode
    'unspecified', no batch, no vendor; without labeled_at there is no window scope)."""
    cfg = cfg or Config()
    if seed is not None:
        cfg.run.seed = seed
    table = to_arrow(data)
    require_columns(table, ["item_id", "labeler_id", "label"])
    n = table.num_rows
    cols = {c: api._table(table, need_labeler=True).column(c) for c in ("item_id", "labeler_id", "label")}
    for name, default in (("failure_mode", UNSPECIFIED), ("batch_id", None), ("vendor", None)):
        if name in table.column_names:
            col = table.column(name).cast(pa.string())
            if name == "failure_mode":
                col = pa.compute.fill_null(col, UNSPECIFIED)
        else:
            col = pa.array([default] * n, type=pa.string())
        cols[name] = col
    cols["labeled_at"] = (table.column("labeled_at") if "labeled_at" in table.column_names
                          else pa.nulls(n, pa.timestamp("us", tz="UTC")))
    # provenance for the repeated-judgments policy: the table's row order is the order "stored"
    cols["ingested_at"] = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    cols["source_file"] = pa.nulls(n, pa.string())
    cols["source_row"] = pa.array(np.arange(n, dtype=np.int64))
    engine = engine_for_tables({"labels": pa.table(cols)})
    try:
        return stage(Context(engine=engine, cfg=cfg))
    finally:
        engine.close()
