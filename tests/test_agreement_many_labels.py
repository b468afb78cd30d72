"""Agreement on label spaces with many distinct values (docs/agreement.md): exact, no limit on the number of values, and
the sparse route (unpacked counts, kernel forms, mid-ranks) equal to the packed dense one wherever both apply.

References: the `krippendorff` package (Castro 2017) on its dense coder × unit matrix; statsmodels' Cohen kappa;
the dense route of this package (itself pinned to irrCAC and published examples in the other agreement tests).
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from evalaudit import agreement
from evalaudit.agreement import patterns as pat
from evalaudit.agreement.stage import agreement_table
from evalaudit.config import Config


def scores(rng: np.random.Generator, n_items: int, n_labelers: int, values: np.ndarray, missing: float,
           spread: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric judgments drawn around a per-item truth from ``values``: long form (labels as text) and the
    labeler × item float matrix (NaN = missing) the krippendorff package takes."""
    truth = rng.integers(0, len(values), n_items)
    noise = np.rint(rng.normal(0, spread, (n_labelers, n_items))).astype(int)
    idx = np.clip(truth[None, :] + noise, 0, len(values) - 1)
    matrix = values[idx].astype(float)
    matrix[rng.random(matrix.shape) < missing] = np.nan
    lab, item = np.nonzero(~np.isnan(matrix))
    df = pd.DataFrame({"item_id": [f"i{i}" for i in item], "labeler_id": [f"l{j}" for j in lab],
                       "label": [f"{v:g}" for v in matrix[lab, item]]})
    return df, matrix


@pytest.fixture
def chunked_krippendorff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The krippendorff package sums its coincidence matrix over an (units, V, V) array: 900 units × 1,000² values
    would take 7 GB. The sum is over units, each unit's term its own, so summing the package's own function over
    blocks of units is the same computation in bounded memory."""
    from krippendorff import krippendorff as kd

    original = kd._coincidences

    def by_blocks(value_counts: np.ndarray, dtype: np.dtype = np.float64) -> np.ndarray:
        return sum(original(value_counts[a:a + 8], dtype) for a in range(0, len(value_counts), 8))

    monkeypatch.setattr(kd, "_coincidences", by_blocks)


@pytest.mark.usefixtures("chunked_krippendorff")
@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_over_a_thousand_distinct_values_match_the_krippendorff_package(level: str) -> None:
    """6,000 possible values, over 1,000 of them used: the value the reference package computes, to 1e-9.
    (Ordinal and nominal with many labels: the route-equality property test below.)"""
    rng = np.random.default_rng(13)
    values = np.arange(0, 6000) * 0.5 + (1.0 if level == "ratio" else -1500.0)
    df, matrix = scores(rng, n_items=60, n_labelers=25, values=values, missing=0.1, spread=80)
    assert df["label"].nunique() >= 1000
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    got = agreement.krippendorff_alpha(df, level=level)
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.usefixtures("chunked_krippendorff")
def test_the_stage_runs_on_a_thousand_values_with_intervals() -> None:
    """`evalaudit run`'s agreement stage on >= 1,000 distinct numeric values at the interval level: the same alpha
    as the reference package, finite bootstrap intervals around it, the pairwise Cohen table filled."""
    rng = np.random.default_rng(7)
    values = np.arange(-3000, 3000, dtype=float)
    df, matrix = scores(rng, n_items=60, n_labelers=25, values=values, missing=0.1, spread=80)
    assert df["label"].nunique() >= 1000
    cfg = Config()
    cfg.labels.level = "interval"
    cfg.agreement.bootstrap = 200
    result = agreement_table(df, cfg, seed=1)
    rows = result.tables["agreement"].to_pylist()
    alpha = next(r for r in rows if r["scope"] == "overall" and r["metric"] == "krippendorff_alpha")
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    assert alpha["value"] == pytest.approx(expected, abs=1e-9)
    assert alpha["ci_low"] < alpha["value"] < alpha["ci_high"]
    assert result.tables["agreement_pairs"].num_rows == 25 * 24 // 2


def test_numbers_written_differently_are_one_value_at_numeric_levels() -> None:
    """'-0', '0' and '00' (and '1', '1.0') are one value at the ordinal/interval/ratio levels, and three (two)
    labels at the nominal level."""
    df = pd.DataFrame({"item_id": ["a", "a", "b", "b", "c", "c", "d", "d"],
                       "labeler_id": ["x", "y"] * 4,
                       "label": ["-0", "0", "00", "0", "1", "1.0", "1", "0"]})
    same = df.assign(label=df["label"].map(lambda s: str(int(float(s)))))
    for level in ("ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha(df, level=level) == pytest.approx(
            agreement.krippendorff_alpha(same, level=level), abs=1e-12)
    assert agreement.krippendorff_alpha(df, level="nominal") < agreement.krippendorff_alpha(same, level="nominal")


def test_a_clash_at_the_nominal_level_names_only_the_clashing_labels() -> None:
    """At the nominal level '0' and '00' are two labels; a statistic that needs them as numbers names those two,
    not the whole list of labels."""
    from evalaudit.agreement.categories import build

    labels = [str(v) for v in range(100)] + ["00"]
    df = pd.DataFrame({"item_id": [f"i{k // 2}" for k in range(len(labels))],
                       "labeler_id": (["x", "y"] * len(labels))[:len(labels)], "label": labels})
    assert np.isfinite(agreement.gwet_ac1(df))  # identity weights: text labels, no numbers needed
    with pytest.raises(ValueError) as err:
        build(labels, numeric=False).scores("quadratic weights")
    message = str(err.value)
    assert "'0' and '00'" in message and "'57'" not in message


def test_many_labels_no_longer_hit_the_packing_limit() -> None:
    """300 labels with 1,000 copies of one label on one item: the case the packed keys refused."""
    rng = np.random.default_rng(3)
    values = np.arange(300, dtype=float)
    df, _ = scores(rng, 200, 4, values, 0.1, 20)
    heavy = pd.DataFrame({"item_id": ["big"] * 1000, "labeler_id": [f"h{k}" for k in range(1000)],
                          "label": ["5"] * 1000})
    both = pd.concat([df, heavy], ignore_index=True)
    assert np.isfinite(agreement.krippendorff_alpha(both, level="interval"))
    cfg = Config()
    cfg.labels.level = "interval"
    cfg.agreement.bootstrap = 50
    rows = agreement_table(both, cfg, seed=1).tables["agreement"].to_pylist()
    alpha = next(r for r in rows if r["scope"] == "overall" and r["metric"] == "krippendorff_alpha")
    assert alpha["value"] == pytest.approx(agreement.krippendorff_alpha(both, level="interval"), abs=1e-9)


def _all_numbers(df: pd.DataFrame, level: str, weights: str) -> list[float]:
    return [agreement.krippendorff_alpha(df, level=level), agreement.gwet_ac1(df),
            agreement.gwet_ac2(df, weights=weights), agreement.fleiss_kappa(df, allow_varying=True),
            agreement.percent_agreement(df), agreement.brennan_prediger(df, weights=weights),
            agreement.conger_kappa(df, weights=weights), agreement.weighted_alpha(df, weights=weights)]


@st.composite
def label_spaces(draw: st.DrawFn) -> tuple[pd.DataFrame, str, str]:
    """Random label spaces: 2 to 60 labels, numeric (integers, decimals, negative) or text; random sizes,
    missing judgments and repeated labels."""
    q = draw(st.integers(2, 60))
    kind = draw(st.sampled_from(["int", "decimal", "text"]))
    if kind == "int":
        space = sorted(set(draw(st.lists(st.integers(-200, 200), min_size=q, max_size=q))))
        names = [str(v) for v in space]
    elif kind == "decimal":
        space = sorted(set(draw(st.lists(st.integers(1, 5000), min_size=q, max_size=q))))
        names = [f"{v / 100:g}" for v in space]
    else:
        names = [f"c{k}" for k in range(q)]
    n_items = draw(st.integers(3, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = []
    for i in range(n_items):
        k = int(rng.integers(2 if i < 2 else 1, 6))
        centre = int(rng.integers(0, len(names)))
        for j in range(k):
            rows.append((f"i{i}", f"l{j}", names[int(np.clip(centre + rng.integers(-2, 3), 0, len(names) - 1))]))
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    level = "nominal" if kind == "text" else draw(st.sampled_from(["ordinal", "interval", "nominal"]))
    weights = "identity" if kind == "text" else draw(st.sampled_from(["quadratic", "linear", "ordinal", "radical"]))
    return df, level, weights


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(label_spaces())
def test_sparse_route_equals_dense_route_on_random_label_spaces(case: tuple[pd.DataFrame, str, str]) -> None:
    """Every API coefficient on random label spaces is the same number whether the counts take the packed dense
    route or the unpacked sparse one (forced by lowering MANY_LABELS): the two routes cannot drift apart."""
    df, level, weights = case
    pairable = df.groupby("item_id").filter(lambda g: len(g) >= 2)
    if pairable["label"].nunique() < 2:
        return
    dense = _all_numbers(df, level, weights) if df["label"].nunique() <= pat.MANY_LABELS else None
    saved = pat.MANY_LABELS
    pat.MANY_LABELS = 1
    try:
        sparse_ = _all_numbers(df, level, weights)
    finally:
        pat.MANY_LABELS = saved
    if dense is not None:
        assert np.allclose(sparse_, dense, atol=1e-9, rtol=0, equal_nan=True)
    if level != "nominal":
        matrix = df.pivot_table(index="labeler_id", columns="item_id", values="label",
                                aggfunc=lambda s: float(s.iloc[0])).to_numpy(dtype=float)
        if df.groupby(["item_id", "labeler_id"]).size().max() == 1:
            expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
            assert sparse_[0] == pytest.approx(expected, abs=1e-9)


def test_stage_sparse_route_equals_dense_route() -> None:
    """The whole agreement table (every scope, metric, interval) is the same through the unpacked SQL route."""
    rng = np.random.default_rng(5)
    df, _ = scores(rng, 300, 5, np.arange(1.0, 8.0), 0.3, 1.0)
    df["failure_mode"] = np.where(df["item_id"].str[-1].isin(list("01234")), "a", "b")
    df["labeled_at"] = pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(
        df["item_id"].str[1:].astype(int) % 21, unit="D")
    cfg = Config()
    cfg.labels.level = "ordinal"
    cfg.agreement.bootstrap = 100
    dense = agreement_table(df, cfg, seed=3)
    saved = pat.MANY_LABELS
    pat.MANY_LABELS = 1
    try:
        sparse_ = agreement_table(df, cfg, seed=3)
    finally:
        pat.MANY_LABELS = saved
    for name in ("agreement", "agreement_failure_mode_window", "agreement_pairs"):
        a, b = dense.tables[name].to_pandas(), sparse_.tables[name].to_pandas()
        assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
        for col in a.columns:
            if a[col].dtype.kind == "f":
                assert np.allclose(a[col], b[col], atol=1e-9, equal_nan=True), (name, col)
            else:
                assert a[col].tolist() == b[col].tolist(), (name, col)


def test_cohen_kappa_with_many_categories_matches_statsmodels() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 400, 600)
    b = np.clip(a + rng.integers(-5, 6, 600), 0, 399)
    df = pd.DataFrame({"item_id": [f"i{k}" for k in range(600)] * 2, "labeler_id": ["a"] * 600 + ["b"] * 600,
                       "label": [str(v) for v in np.r_[a, b]]})
    cats = np.unique(np.r_[a, b])
    pos = {v: k for k, v in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, ([pos[v] for v in a], [pos[v] for v in b]), 1)
    for weights, sm in ((None, None), ("linear", "linear"), ("quadratic", "quadratic")):
        expected = inter_rater.cohens_kappa(table, wt=sm).kappa if sm else inter_rater.cohens_kappa(table).kappa
        assert agreement.cohen_kappa(df, "a", "b", weights=weights) == pytest.approx(expected, abs=1e-9)
