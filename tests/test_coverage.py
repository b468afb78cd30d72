"""Coverage: PSI and Jensen–Shannon by hand, Newcombe's interval against statsmodels, findings for a failure mode
production has and the gold set lacks."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from evalaudit import coverage, intervals
from tests.helpers import context


def test_psi_by_hand():
    total, terms = coverage.psi(np.array([50, 50]), np.array([80, 20]))
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert total == pytest.approx(expected)
    assert terms.sum() == pytest.approx(total)
    assert coverage.psi(np.array([10, 30]), np.array([10, 30]))[0] == 0


def test_psi_is_finite_when_a_value_is_missing_from_one_side():
    total, _ = coverage.psi(np.array([100, 0]), np.array([90, 10]))
    assert math.isfinite(total) and total > 0.25


@pytest.mark.parametrize("x1, n1, x2, n2", [(5, 100, 20, 100), (0, 50, 7, 300), (40, 40, 10, 12), (3, 9, 3, 9)])
def test_newcombe_interval_matches_statsmodels(x1, n1, x2, n2):
    lo, hi = intervals.newcombe(x2, n2, x1, n1)  # coverage's orientation: production share - eval share
    ref_lo, ref_hi = confint_proportions_2indep(x2, n2, x1, n1, method="newcomb", compare="diff")
    assert (lo, hi) == (pytest.approx(ref_lo, abs=1e-12), pytest.approx(ref_hi, abs=1e-12))


def test_stage_finds_missing_and_under_covered_failure_modes():
    gold = pa.table({"item_id": [f"g{k}" for k in range(300)],
                     "failure_mode": ["a"] * 200 + ["b"] * 95 + ["c"] * 5})
    production = ([{"failure_mode": "a"}] * 400 + [{"failure_mode": "b"}] * 300 + [{"failure_mode": "c"}] * 200
                  + [{"failure_mode": "d"}] * 100)
    ctx = context(production=production)
    ctx.tables["gold_items"] = gold
    out = coverage.stage(ctx)
    rows = {r["value"]: r for r in out.tables["coverage"].to_pylist()}
    assert rows["d"]["n_eval"] == 0 and rows["d"]["production_share"] == pytest.approx(0.1)
    assert rows["a"]["eval_share"] == pytest.approx(200 / 300)
    # the difference production - eval with Newcombe's interval of the counts (statsmodels' above)
    for v, n_eval, n_prod in (("a", 200, 400), ("c", 5, 200), ("d", 0, 100)):
        lo, hi = confint_proportions_2indep(n_prod, 1000, n_eval, 300, method="newcomb", compare="diff")
        assert (rows[v]["ci_low"], rows[v]["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    named = {f.failure_mode: f for f in out.findings}
    assert named[None].details["psi"] == pytest.approx(out.summary["coverage"]["failure_mode"]["psi"])
    assert named["d"].severity == "high" and "absent from the gold set" in named["d"].message
    assert named["c"].severity == "high"  # 20% of production, 1.7% of gold
    assert "a" not in named and "b" not in named  # over-covered or roughly matched: not a finding
    js = out.summary["coverage"]["failure_mode"]["js_distance"]
    assert 0 < js < 1


def test_shared_slice_columns_are_compared_too():
    gold = pa.table({"item_id": ["g1", "g2", "g3", "g4"], "failure_mode": ["a"] * 4})
    ctx = context(items=[{"item_id": "g1"}, {"item_id": "g2"}, {"item_id": "g3"}, {"item_id": "g4"}],
                  production=[{"failure_mode": "a"}] * 4)
    # slice columns beyond the canonical ones arrive as extra text columns of items and production
    eng = ctx.engine
    eng.register("items", eng.sql("SELECT *, CASE WHEN item_id = 'g1' THEN 'de' ELSE 'en' END AS locale FROM items"))
    eng.register("production", eng.sql("SELECT *, 'de' AS locale FROM production"))
    ctx.tables["gold_items"] = gold
    out = coverage.stage(ctx)
    locale = {r["value"]: r for r in out.tables["coverage"].to_pylist() if r["slice_column"] == "locale"}
    assert locale["de"]["eval_share"] == 0.25 and locale["de"]["production_share"] == 1.0


def test_no_production_is_said():
    ctx = context()
    ctx.tables["gold_items"] = pa.table({"item_id": ["g"], "failure_mode": ["a"]})
    assert coverage.stage(ctx).summary["coverage"]["computed"] is False
