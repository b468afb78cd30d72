"""Invariants of the agreement coefficients under hypothesis: relabeling categories, permuting labelers and
items, duplicating the data; and the exactness of the pattern representation the bootstrap relies on."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evalaudit import agreement
from evalaudit.agreement import coefficients as coef
from evalaudit.agreement.patterns import Patterns

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def judgments(draw: st.DrawFn, min_q: int = 2) -> pd.DataFrame:
    """Sparse long-form judgments: up to 25 items, up to 6 labelers, 2-5 labels, one label per (item,
    labeler); at least two items carry two labels, and at least two distinct labels occur on them."""
    q = draw(st.integers(min_q, 5))
    n_items = draw(st.integers(2, 25))
    n_labelers = draw(st.integers(2, 6))
    rows = []
    for i in range(n_items):
        who = draw(st.lists(st.integers(0, n_labelers - 1), min_size=1 if i > 1 else 2, max_size=n_labelers,
                            unique=True))
        for j in who:
            rows.append((f"i{i}", f"l{j}", str(draw(st.integers(1, q)))))
    df = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    pairable = df.groupby("item_id").filter(lambda g: len(g) >= 2)
    if pairable["label"].nunique() < 2:
        df.loc[df.index[0], "label"] = "1" if df.loc[df.index[0], "label"] != "1" else "2"
        pairable = df.groupby("item_id").filter(lambda g: len(g) >= 2)
    assume(pairable["label"].nunique() >= 2)
    return df


def nominal_numbers(df: pd.DataFrame) -> dict[str, float]:
    return {
        "alpha": agreement.krippendorff_alpha(df),
        "ac1": agreement.gwet_ac1(df),
        "fleiss": agreement.fleiss_kappa(df, allow_varying=True),
        "pa": agreement.percent_agreement(df),
    }


@SETTINGS
@given(df=judgments(), data=st.data())
def test_relabeling_categories_changes_nothing_nominal(df: pd.DataFrame, data: st.DataObject) -> None:
    labels = sorted(df["label"].unique())
    new = data.draw(st.permutations([f"cat-{x}" for x in labels]))
    renamed = df.assign(label=df["label"].map(dict(zip(labels, new, strict=True))))
    before, after = nominal_numbers(df), nominal_numbers(renamed)
    for k in before:
        assert after[k] == pytest.approx(before[k], abs=1e-12), k


@SETTINGS
@given(df=judgments(), seed=st.integers(0, 2**32 - 1))
def test_permuting_rows_labelers_and_items_changes_nothing(df: pd.DataFrame, seed: int) -> None:
    rng = np.random.default_rng(seed)
    items = df["item_id"].unique()
    labelers = df["labeler_id"].unique()
    item_map = dict(zip(items, rng.permutation([f"x{k}" for k in range(len(items))]), strict=True))
    lab_map = dict(zip(labelers, rng.permutation([f"y{k}" for k in range(len(labelers))]), strict=True))
    shuffled = df.sample(frac=1.0, random_state=seed % 2**31).assign(
        item_id=lambda d: d["item_id"].map(item_map), labeler_id=lambda d: d["labeler_id"].map(lab_map))
    before, after = nominal_numbers(df), nominal_numbers(shuffled)
    for k in before:
        assert after[k] == pytest.approx(before[k], abs=1e-12), k
    for level in ("ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha(shuffled, level=level) == pytest.approx(
            agreement.krippendorff_alpha(df, level=level), abs=1e-12)
    a, b = labelers[0], labelers[1]
    shared = set(df[df.labeler_id == a].item_id) & set(df[df.labeler_id == b].item_id)
    if shared:
        assert agreement.cohen_kappa(shuffled, lab_map[a], lab_map[b]) == pytest.approx(
            agreement.cohen_kappa(df, a, b), abs=1e-12, nan_ok=True)


@SETTINGS
@given(df=judgments())
def test_duplicating_the_data(df: pd.DataFrame) -> None:
    """Every item copied under a new id: the mean-based coefficients do not move; alpha moves exactly by its
    small-sample factor, (1 - a2) = (1 - a1) (2n - 1) / (2 (n - 1)), n = pairable values (Krippendorff
    2011)."""
    double = pd.concat([df, df.assign(item_id=df["item_id"] + "-copy")], ignore_index=True)
    before, after = nominal_numbers(df), nominal_numbers(double)
    for k in ("ac1", "fleiss", "pa"):
        assert after[k] == pytest.approx(before[k], abs=1e-12), k
    sizes = df.groupby("item_id").size()
    n = int(sizes[sizes >= 2].sum())
    assert 1 - after["alpha"] == pytest.approx((1 - before["alpha"]) * (2 * n - 1) / (2 * (n - 1)), abs=1e-12)


@SETTINGS
@given(df=judgments())
def test_ranges(df: pd.DataFrame) -> None:
    v = nominal_numbers(df)
    assert 0.0 <= v["pa"] <= 1.0
    for k in ("alpha", "ac1", "fleiss"):
        assert math.isfinite(v[k]) and v[k] <= 1.0 + 1e-12


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.lists(st.integers(0, 4), min_size=3, max_size=3), min_size=3, max_size=30),
       seed=st.integers(0, 2**32 - 1))
def test_pattern_weights_equal_resampled_items(counts: list[list[int]], seed: int) -> None:
    """The bootstrap's premise: a resample of items, evaluated on the raw items, equals the same resample
    expressed as pattern multiplicities."""
    matrix = np.asarray(counts, dtype=np.int64)
    matrix = matrix[matrix.sum(axis=1) > 0]
    if len(matrix) == 0:
        return
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(matrix), len(matrix))
    resampled = matrix[draw]
    pats = Patterns.from_item_counts(matrix)
    index = {tuple(row): k for k, row in enumerate(pats.counts)}
    w = np.zeros((1, len(pats.items)))
    for i in draw:
        w[0, index[tuple(matrix[i])]] += 1
    raw = Patterns.from_item_counts(resampled)
    eye = np.eye(3)
    for fn in (lambda c, ww: coef.alpha(c, ww, 1 - eye), lambda c, ww: coef.alpha(c, ww, None),
               lambda c, ww: coef.gwet_ac(c, ww, eye, 3), lambda c, ww: coef.fleiss_kappa(c, ww, eye)):
        direct = fn(raw.counts, raw.items[None, :].astype(float))[0]
        via_weights = fn(pats.counts, w)[0]
        assert via_weights == pytest.approx(direct, abs=1e-12, nan_ok=True)


def test_identical_ratings_give_one_not_nan() -> None:
    """No variation: every coefficient is defined (1.0 by the documented convention), never NaN or an
    error."""
    df = pd.DataFrame({"item_id": ["a", "a", "b", "b", "b", "c"],
                       "labeler_id": ["x", "y", "x", "y", "z", "x"], "label": ["pass"] * 6})
    assert agreement.krippendorff_alpha(df) == 1.0
    assert agreement.gwet_ac1(df) == 1.0
    assert agreement.fleiss_kappa(df, allow_varying=True) == 1.0
    assert agreement.percent_agreement(df) == 1.0
    assert agreement.cohen_kappa(df, "x", "y") == 1.0
    numeric = df.assign(label="3")
    for level in ("ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha(numeric, level=level) == 1.0


def test_no_pairable_item_is_a_clear_error() -> None:
    df = pd.DataFrame({"item_id": ["a", "b"], "labeler_id": ["x", "y"], "label": ["pass", "fail"]})
    with pytest.raises(ValueError, match="two or more labels"):
        agreement.krippendorff_alpha(df)
