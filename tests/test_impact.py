"""Impact: eval scores against today's and audited gold on a case computed by hand, and the pattern bootstrap
checked against a plain item bootstrap."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from evalaudit import impact
from evalaudit.config import Config
from tests.helpers import context

GOLD = pa.table({
    "item_id": ["a", "b", "c", "d", "e"],
    "failure_mode": ["x", "x", "x", "y", "y"],
    "gold_label": ["pass", "pass", "fail", "fail", "pass"],
    "audited_label": ["pass", "fail", None, "fail", "pass"],
    "audited_status": ["unchanged", "rederived", "excluded_no_judgment", "unchanged", "unchanged"],
})
PREDICTIONS = [
    {"model_version": "m1", "item_id": i, "prediction": p}
    for i, p in zip("abcde", ["pass", "pass", "pass", "fail", "fail"], strict=True)
] + [{"model_version": "m1", "item_id": "zzz", "prediction": "pass"}]  # not a gold item: ignored


def run(cfg: Config | None = None) -> dict:
    ctx = context(cfg, predictions=PREDICTIONS)
    ctx.tables["gold_items"] = GOLD
    out = impact.stage(ctx)
    return {(r["model_version"], r["failure_mode"]): r for r in out.tables["impact"].to_pylist()}, out


def test_scores_by_hand():
    rows, _ = run()
    # current: a ok, b ok, c wrong, d ok, e wrong -> 3/5; audited: a ok, b wrong, (c excluded), d ok, e wrong -> 2/4
    r = rows[("m1", "all")]
    assert (r["score_current"], r["score_audited"], r["n_items"], r["n_audited"], r["n_excluded"]) == (
        pytest.approx(0.6), pytest.approx(0.5), 5, 4, 1)
    assert r["delta"] == pytest.approx(0.1)  # docs/outputs.md: current − audited
    x = rows[("m1", "x")]
    assert (x["score_current"], x["score_audited"]) == (pytest.approx(2 / 3), pytest.approx(0.5))
    assert x["n_gold_changed"] == 2  # b changed, c excluded
    y = rows[("m1", "y")]
    assert (y["score_current"], y["score_audited"], y["delta"]) == (0.5, 0.5, 0.0)
    assert r["ci_low"] <= r["delta"] <= r["ci_high"]


def test_same_seed_same_interval():
    a, _ = run()
    b, _ = run()
    assert a[("m1", "all")]["ci_low"] == b[("m1", "all")]["ci_low"]


def test_no_predictions_is_said_not_guessed():
    ctx = context()
    ctx.tables["gold_items"] = GOLD
    out = impact.stage(ctx)
    assert out.tables == {} and out.summary["impact"]["computed"] is False


def test_pattern_bootstrap_equals_item_bootstrap_in_distribution():
    """Resampling items and resampling their (current, audited) patterns are the same bootstrap."""
    rng = np.random.default_rng(7)
    n = 3000
    current = rng.random(n) < 0.8
    audited = np.where(rng.random(n) < 0.1, -1, (rng.random(n) < 0.7).astype(int))
    counts = np.array([np.sum((current == c) & (audited == a)) for c, a in impact.PATTERNS])
    lo, hi = impact.bootstrap_delta(counts, 4000, 0.95, np.random.default_rng(1))
    deltas = []
    r2 = np.random.default_rng(2)
    for _ in range(4000):
        idx = r2.integers(0, n, n)
        c, a = current[idx], audited[idx]
        deltas.append(c.mean() - a[a >= 0].mean())
    naive_lo, naive_hi = np.quantile(deltas, [0.025, 0.975])
    assert lo == pytest.approx(naive_lo, abs=0.004) and hi == pytest.approx(naive_hi, abs=0.004)


def test_material_inflation_is_a_finding():
    many = pa.table({
        "item_id": [f"i{k}" for k in range(400)], "failure_mode": ["x"] * 400,
        "gold_label": ["pass"] * 400,
        "audited_label": ["pass"] * 300 + ["fail"] * 100,
        "audited_status": ["unchanged"] * 300 + ["rederived"] * 100,
    })
    preds = [{"model_version": v, "item_id": f"i{k}", "prediction": "pass"} for v in ("m1", "m2") for k in range(400)]
    ctx = context(predictions=preds)
    ctx.tables["gold_items"] = many
    out = impact.stage(ctx)
    (overall, per_fm) = sorted(out.findings, key=lambda f: f.failure_mode or "")
    assert overall.failure_mode is None and per_fm.failure_mode == "x"
    assert per_fm.kind == "eval_score_inflation" and per_fm.severity == "high"
    assert per_fm.effect == pytest.approx(0.25) and per_fm.ci_low < 0.25 < per_fm.ci_high
    assert per_fm.details["model_version"] == "m2" and "flatters" in per_fm.message
