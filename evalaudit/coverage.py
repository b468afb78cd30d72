"""Coverage: does the eval set's mix of failure modes (and of any other slice column that items and production
share) still match production traffic?

Overall, per slice column: the population stability index, PSI = sum over values of (p - q) ln(p / q) (Siddiqi
2006, *Credit Risk Scorecards*, ch. 8; conventional reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major shift),
and the Jensen–Shannon distance (scipy.spatial.distance.jensenshannon, base 2, so 0..1). Zero shares are replaced
by 0.5 / n before the PSI's logarithm (a half pseudo-count, so a value absent from one side gives a large but
finite term); the JS distance needs no smoothing.

Per value: the share in the eval set and in production, the difference with Newcombe's hybrid-score interval
(Newcombe 1998, Stat Med 17:873, method 10, built from scipy's Wilson intervals: :func:`evalaudit.intervals.newcombe`
— scipy has no interval for a difference of proportions), a chi-square test of the 2×2 table (value vs rest, eval vs
production; scipy.stats.chi2_contingency, Yates-corrected) and Benjamini–Hochberg q-values across the values
(:func:`evalaudit.multiplicity.bh`).

The usual drift libraries do not run on this stack (Evidently 0.7 fails to import under pandas 3, whylogs crashes
under NumPy 2), so the few statistics needed are taken from scipy directly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

from evalaudit.findings import Finding
from evalaudit.intervals import newcombe
from evalaudit.multiplicity import bh
from evalaudit.sql import quote_ident
from evalaudit.stage import Context, StageResult

COVERAGE_SCHEMA = pa.schema([
    ("slice_column", pa.string()), ("value", pa.string()), ("n_eval", pa.int64()), ("eval_share", pa.float64()),
    ("n_production", pa.int64()), ("production_share", pa.float64()), ("difference", pa.float64()),
    ("ci_low", pa.float64()), ("ci_high", pa.float64()), ("p_value", pa.float64()), ("q_value", pa.float64()),
    ("psi_term", pa.float64()),
])


def psi(eval_counts: np.ndarray, prod_counts: np.ndarray) -> tuple[float, np.ndarray]:
    """Population stability index of two count vectors over the same values, and each value's term."""
    p = _smoothed_shares(eval_counts)
    q = _smoothed_shares(prod_counts)
    terms = (q - p) * np.log(q / p)
    return float(terms.sum()), terms


def _smoothed_shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return np.where(counts > 0, counts, 0.5) / (total + 0.5 * (counts == 0).sum())


def compare(column: str, values: list[str], n_eval: np.ndarray, n_prod: np.ndarray,
            confidence: float) -> tuple[pa.Table, dict]:
    """The per-value comparison table and the overall PSI / JS distance of one slice column."""
    e_tot, p_tot = int(n_eval.sum()), int(n_prod.sum())
    total_psi, terms = psi(n_eval, n_prod)
    rows = []
    for v, e, q, term in zip(values, n_eval.tolist(), n_prod.tolist(), terms.tolist(), strict=True):
        lo, hi = (float(x) for x in newcombe(q, p_tot, e, e_tot, confidence))  # production - eval
        table = np.array([[e, e_tot - e], [q, p_tot - q]])
        # an empty row or column means both shares are 0 or both are 1: no difference to test
        testable = (table.sum(axis=0) > 0).all() and (table.sum(axis=1) > 0).all()
        p_value = float(chi2_contingency(table).pvalue) if testable else 1.0
        rows.append((column, v, e, e / e_tot, q, q / p_tot, q / p_tot - e / e_tot, lo, hi, p_value, term))
    p_values = np.array([r[9] for r in rows])
    q_values = bh(p_values)
    table = pa.Table.from_pylist(
        [dict(zip(COVERAGE_SCHEMA.names, (*r[:10], float(qv), r[10]), strict=True))
         for r, qv in zip(rows, q_values, strict=True)], schema=COVERAGE_SCHEMA)
    js = float(jensenshannon(n_eval / e_tot, n_prod / p_tot, base=2))
    return table, {"psi": total_psi, "js_distance": js, "n_eval": e_tot, "n_production": p_tot,
                   "n_values": len(values)}


def _shared_slice_columns(ctx: Context) -> list[str]:
    eng = ctx.engine
    if not hasattr(eng, "columns"):
        return []
    from evalaudit import schema

    canonical = set(schema.ITEMS.user_columns) | set(schema.PRODUCTION.user_columns) | {
        c.name for c in schema.PROVENANCE}
    shared = set(eng.columns("items")) & set(eng.columns("production"))
    return sorted(shared - canonical)


def stage(ctx: Context) -> StageResult:
    """Compare the gold set's mix with production; findings `coverage_drift`."""
    if not ctx.engine.has_table("production") or "gold_items" not in ctx.tables:
        return StageResult(summary={"coverage": {"computed": False,
                                                 "reason": "no production sample in the store"}})
    ctx.engine.register("gold_items", ctx.tables["gold_items"])
    cfg = ctx.cfg.coverage
    confidence = ctx.cfg.agreement.confidence
    tables, summary, findings = [], {}, []
    mixes = [("failure_mode", ctx.engine.query("coverage_mix"))]
    for column in _shared_slice_columns(ctx):
        text = _slice_sql(column)
        mixes.append((column, ctx.engine.sql(text)))
    for column, mix in mixes:
        if mix.num_rows == 0 or sum(mix.column("n_eval").to_pylist()) == 0 \
                or sum(mix.column("n_production").to_pylist()) == 0:
            continue
        values = [str(v) for v in mix.column("value").to_pylist()]
        n_eval = np.asarray(mix.column("n_eval").to_pylist(), dtype=np.int64)
        n_prod = np.asarray(mix.column("n_production").to_pylist(), dtype=np.int64)
        table, overall = compare(column, values, n_eval, n_prod, confidence)
        tables.append(table)
        summary[column] = overall
        findings += _findings(column, table, overall, cfg)
    result = pa.concat_tables(tables) if tables else COVERAGE_SCHEMA.empty_table()
    return StageResult(tables={"coverage": result}, findings=findings,
                       summary={"coverage": {"computed": bool(tables), **summary}})


def _slice_sql(column: str) -> str:
    """Eval vs production counts for a shared slice column (identifier quoted; no values in the text)."""
    from evalaudit import sql

    return sql.filled("coverage_slice_mix", column=quote_ident(column))


def _findings(column: str, table: pa.Table, overall: dict, cfg) -> list[Finding]:
    out = []
    what = "failure modes" if column == "failure_mode" else f"values of {column}"
    if overall["psi"] >= cfg.psi_medium:
        out.append(Finding(
            kind="coverage_drift", severity="high" if overall["psi"] >= cfg.psi_high else "medium",
            effect=overall["psi"], n=overall["n_eval"],
            evidence=(f"population stability index of the mix of {what}, gold set vs production sample "
                      f"(Jensen–Shannon distance {overall['js_distance']:.3f}); census, no interval"),
            message=(f"The gold set's mix of {what} has drifted from production: PSI {overall['psi']:.2f} "
                     f"({'major' if overall['psi'] >= cfg.psi_high else 'moderate'} shift)."),
            details={"slice_column": column, "psi": overall["psi"], "js_distance": overall["js_distance"]},
        ))
    for row in table.to_pylist():
        under = (row["eval_share"] < cfg.under_ratio * row["production_share"]
                 and row["production_share"] >= cfg.min_production_share and row["q_value"] < cfg.q_max)
        if not under:
            continue
        missing = row["n_eval"] == 0
        ratio = row["production_share"] / row["eval_share"] if row["eval_share"] else float("inf")
        out.append(Finding(
            kind="coverage_drift", severity="high" if missing or ratio >= 4 else "medium",
            failure_mode=row["value"] if column == "failure_mode" else None,
            effect=row["difference"], ci_low=row["ci_low"], ci_high=row["ci_high"], p_value=row["p_value"],
            q_value=row["q_value"], n=row["n_eval"],
            evidence=("production share minus gold-set share, Newcombe hybrid-score 95% interval; chi-square test "
                      "of the 2×2 table, BH q-value across values"),
            message=(f"{column} {row['value']} is {row['production_share']:.1%} of production but "
                     + ("absent from the gold set." if missing else f"only {row['eval_share']:.1%} of the gold set.")),
            details={"slice_column": column, "value": row["value"], "eval_share": row["eval_share"],
                     "production_share": row["production_share"], "n_production": row["n_production"]},
        ))
    return out
