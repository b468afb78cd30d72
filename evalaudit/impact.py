"""Impact: what the labeler findings do to the eval score of each model version.

For every model version in `predictions`, overall (`failure_mode = 'all'`) and per failure mode:
``score_current`` = share of gold items whose prediction equals today's gold; ``score_audited`` = the same against
the audited gold, which re-derives the gold of every item touched by a flagged labeler from the other labelers'
judgments (majority; see evalaudit.items) — items left with no judgment, or tied, are counted (`n_excluded`) and
excluded, never guessed. ``delta`` = score_current - score_audited (docs/outputs.md, one sign everywhere: positive means
today's gold flatters the model — inflation; :data:`SIGN` states it once for the report, notebooks and docs).

The interval on ``delta`` is a percentile bootstrap over items (paired: both scores from the same resample).
Because an item enters the two scores only through its pattern (correct now 0/1, correct audited 0/1/excluded),
a resample of items is a multinomial draw over at most six patterns; 1,000 resamples cost microseconds whatever
the number of items (hand-written for that reason: scipy.stats.bootstrap would resample the items themselves).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.findings import Finding
from evalaudit.stage import Context, StageResult, skip

IMPACT_SCHEMA = pa.schema([
    ("model_version", pa.string()), ("failure_mode", pa.string()), ("score_current", pa.float64()),
    ("score_audited", pa.float64()), ("delta", pa.float64()), ("ci_low", pa.float64()), ("ci_high", pa.float64()),
    ("n_items", pa.int64()), ("n_audited", pa.int64()), ("n_excluded", pa.int64()), ("n_gold_changed", pa.int64()),
])
ALL = "all"
#: the one sign convention (docs/outputs.md), quoted by the report, the notebooks and the verdict
SIGN = "delta = score_current − score_audited (positive: today's gold flatters the model)"
#: what "correct" means, said in the summary
CORRECT = "the prediction is the gold label (exact match)"
CORRECT_NUMERIC = ("the prediction is the gold value (exact match as numbers: a score is correct only when it equals "
                   "the gold score; for scores, read the eval's own metric too)")
# pattern order: (correct_current, correct_audited) with -1 = excluded
PATTERNS = ((0, 0), (0, 1), (1, 0), (1, 1), (0, -1), (1, -1))


def scores(counts: np.ndarray) -> tuple[float, float]:
    """(score_current, score_audited) from pattern counts (shape (..., 6)); NaN where undefined."""
    counts = np.asarray(counts, dtype=float)
    cur_c = np.array([p[0] for p in PATTERNS], dtype=float)
    aud_mask = np.array([p[1] >= 0 for p in PATTERNS], dtype=float)
    aud_c = np.array([max(p[1], 0) for p in PATTERNS], dtype=float)
    n = counts.sum(axis=-1)
    n_aud = (counts * aud_mask).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts * cur_c).sum(axis=-1) / n, (counts * aud_c).sum(axis=-1) / n_aud


def bootstrap_delta(counts: np.ndarray, resamples: int, confidence: float,
                    rng: np.random.Generator) -> tuple[float, float]:
    """Percentile interval of score_current - score_audited over item resamples (multinomial over patterns)."""
    n = int(counts.sum())
    if n == 0 or resamples <= 0:
        return float("nan"), float("nan")
    draws = rng.multinomial(n, counts / n, size=resamples)
    current, audited = scores(draws)
    deltas = current - audited
    deltas = deltas[np.isfinite(deltas)]
    if not len(deltas):
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(deltas, [alpha, 1 - alpha])
    return float(lo), float(hi)


def stage(ctx: Context) -> StageResult:
    """Eval score per model version, current vs audited gold; findings `eval_score_inflation`."""
    if not ctx.engine.has_table("predictions") or "gold_items" not in ctx.tables:
        return StageResult(summary={"impact": {"computed": False, "reason": "no predictions in the store"}})
    from evalaudit.items import MANY_VALUES_REASON, many_values

    if many_values(ctx):
        reason = f"{MANY_VALUES_REASON}; a score also rarely equals the gold score exactly"
        return StageResult(summary={"impact": {"computed": False, "reason": reason}},
                           skipped=[skip("impact", reason)])
    ctx.engine.register("gold_items", ctx.tables["gold_items"])
    # each version's answers do not depend on the gold: a caller re-deriving the gold many times (the items
    # notebook) hands them in once as ctx.tables["impact_answers"]; the run computes them here and lets them go
    answers = ctx.tables.get("impact_answers")
    ctx.engine.register("impact_answers", answers if answers is not None else ctx.engine.query("impact_answers"))
    numeric = ctx.labels.numeric
    raw = ctx.engine.query("impact_patterns", numeric=1 if numeric else 0)
    ctx.engine.drop("impact_answers")
    groups: dict[tuple[str, str], np.ndarray] = {}
    index = {p: i for i, p in enumerate(PATTERNS)}
    for row in raw.to_pylist():
        audited = -1 if row["correct_audited"] is None else int(row["correct_audited"])
        for key in ((row["model_version"], row["failure_mode"]), (row["model_version"], ALL)):
            groups.setdefault(key, np.zeros(len(PATTERNS), dtype=np.int64))[
                index[(int(row["correct_current"]), audited)]] += int(row["n"])
    gold_changed = _gold_changed(ctx.tables["gold_items"])
    rng = np.random.default_rng(ctx.cfg.run.seed)
    resamples, confidence = ctx.cfg.agreement.bootstrap, ctx.cfg.agreement.confidence
    rows = []
    for (model, fm) in sorted(groups, key=lambda k: (k[0], k[1] != ALL, k[1])):
        counts = groups[(model, fm)]
        current, audited = scores(counts)
        lo, hi = bootstrap_delta(counts, resamples, confidence, rng)
        n_excluded = int(counts[4] + counts[5])
        rows.append({"model_version": model, "failure_mode": fm, "score_current": float(current),
                     "score_audited": float(audited), "delta": float(current - audited), "ci_low": lo, "ci_high": hi,
                     "n_items": int(counts.sum()), "n_audited": int(counts.sum()) - n_excluded,
                     "n_excluded": n_excluded, "n_gold_changed": gold_changed.get(fm, 0)})
    table = pa.Table.from_pylist(rows, schema=IMPACT_SCHEMA)
    for column in ("score_audited", "delta", "ci_low", "ci_high"):  # NaN (undefined) -> null in the Parquet
        i = table.schema.get_field_index(column)
        arr = table.column(i).to_numpy()
        table = table.set_column(i, column, pa.array(arr, pa.float64(), mask=~np.isfinite(arr)))
    findings = _findings(ctx, rows)
    versions = sorted({r["model_version"] for r in rows})
    trend = {v: {"current": next(r["score_current"] for r in rows if r["model_version"] == v
                                 and r["failure_mode"] == ALL),
                 "audited": next(r["score_audited"] for r in rows if r["model_version"] == v
                                 and r["failure_mode"] == ALL)} for v in versions}
    return StageResult(tables={"impact": table}, findings=findings,
                       summary={"impact": {"computed": True, "model_versions": versions, "overall": trend,
                                           "correct": CORRECT_NUMERIC if numeric else CORRECT,
                                           "method": f"percentile bootstrap over items, {resamples} resamples"}})


def _gold_changed(gold_items: pa.Table) -> dict[str, int]:
    """Per failure mode (and 'all'): gold items whose audited gold differs from today's (excluded ones too)."""
    audited, gold = gold_items.column("audited_label"), gold_items.column("gold_label")
    same = pc.fill_null(pc.equal(audited, gold), pc.and_(pc.is_null(audited), pc.is_null(gold)))
    changed = gold_items.filter(pc.invert(same))
    counts = changed.group_by("failure_mode").aggregate([("failure_mode", "count")]).to_pylist()
    out = {r["failure_mode"]: r["failure_mode_count"] for r in counts}
    if changed.num_rows:
        out[ALL] = changed.num_rows
    return out


def trend(rows: list[dict]) -> dict:
    """From the first to the last model version (release order = name order): the change of the score against
    today's gold and against audited gold, and whether they point in opposite directions (the trend the team
    believed reverses once the gold is audited) — stated in one sentence for the finding and the verdict."""
    ordered = sorted((r for r in rows if np.isfinite(r["score_current"]) and np.isfinite(r["score_audited"])),
                     key=lambda r: r["model_version"])
    if len(ordered) < 2:
        return {"reversed": False, "sentence": ""}
    first, last = ordered[0], ordered[-1]
    cur = last["score_current"] - first["score_current"]
    aud = last["score_audited"] - first["score_audited"]
    reversed_ = cur * aud < 0 and max(abs(cur), abs(aud)) >= 0.005

    def word(d: float) -> str:
        return "rises" if d > 0 else "falls"

    sentence = (f"from {first['model_version']} to {last['model_version']} it {word(cur)} against today's gold "
                f"({first['score_current']:.1%} → {last['score_current']:.1%}) but {word(aud)} against audited gold "
                f"({first['score_audited']:.1%} → {last['score_audited']:.1%})") if reversed_ else ""
    return {"first": first["model_version"], "last": last["model_version"], "current_change": cur,
            "audited_change": aud, "reversed": bool(reversed_), "sentence": sentence}


def _findings(ctx: Context, rows: list[dict]) -> list[Finding]:
    """One eval_score_inflation finding per failure mode (and overall) where some model version's score moves
    materially and its interval excludes zero; the latest version is named if it moves materially (else the one
    that moves most), and every version's scores are in details — the trend believed and the trend audited."""
    cfg = ctx.cfg.impact
    out = []
    for fm in sorted({r["failure_mode"] for r in rows}, key=lambda f: (f != ALL, f)):
        mine = [r for r in rows if r["failure_mode"] == fm]
        material = [r for r in mine if r["n_audited"] >= cfg.min_items and np.isfinite(r["delta"])
                    and abs(r["delta"]) >= cfg.material and np.isfinite(r["ci_low"])
                    and (r["ci_low"] > 0 or r["ci_high"] < 0)]
        if not material:
            continue
        # the latest model version (by name) is the release a team is deciding on; name it when its move is
        # material, else the version that moves most
        latest = max(mine, key=lambda r: r["model_version"])
        worst = latest if latest in material else max(material, key=lambda r: abs(r["delta"]))
        inflated = worst["delta"] > 0
        move = trend(mine)
        out.append(Finding(
            kind="eval_score_inflation",
            severity="high" if abs(worst["delta"]) >= cfg.high else "medium",
            failure_mode=None if fm == ALL else fm,
            effect=worst["delta"], ci_low=worst["ci_low"], ci_high=worst["ci_high"], n=worst["n_items"],
            evidence=("inflation = eval score against today's gold minus against audited gold (flagged labelers' "
                      f"judgments removed, {worst['n_excluded']} items left without judgment excluded); paired "
                      f"percentile bootstrap over items, {ctx.cfg.agreement.bootstrap} resamples"),
            message=(f"{worst['model_version']} scores {worst['score_current']:.1%} on "
                     f"{'the whole eval' if fm == ALL else fm} against today's gold but "
                     f"{worst['score_audited']:.1%} against audited gold: the eval "
                     f"{'flatters' if inflated else 'understates'} it by {abs(worst['delta']) * 100:.1f} points"
                     + (f"; {move['sentence']}" if move["reversed"] else "") + "."),
            details={"model_version": worst["model_version"], "trend": move,
                     "by_model_version": {r["model_version"]: {"current": r["score_current"],
                                                               "audited": r["score_audited"],
                                                               "delta": r["delta"]} for r in mine}},
        ))
    return out
