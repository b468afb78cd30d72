"""Agreement coefficients against the reference packages on random sparse data, to 1e-9.

- Krippendorff's alpha, all four levels: the `krippendorff` package (Castro 2017), on its own dense
  coder × unit matrix with NaN for missing judgments.
- Fleiss' kappa: statsmodels.stats.inter_rater.fleiss_kappa, on complete data (every item the same number of
  labels - the only case where statsmodels is right; on missing data we refuse, see test_agreement_published).
- Cohen's kappa, unweighted, linear and quadratic: statsmodels.stats.inter_rater.cohens_kappa.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import inter_rater

from evalaudit import agreement


def sparse_long(rng: np.random.Generator, n_items: int, n_labelers: int, q: int, missing: float,
                numeric: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Long-form judgments and the same data as a labeler × item float matrix (NaN = missing)."""
    truth = rng.integers(0, q, n_items)
    noise = rng.integers(-1, 2, (n_labelers, n_items))
    values = np.clip(truth[None, :] + noise * (rng.random((n_labelers, n_items)) < 0.4), 0, q - 1) + 1.0
    values[rng.random(values.shape) < missing] = np.nan
    lab, item = np.nonzero(~np.isnan(values))
    labels = values[lab, item].astype(int).astype(str) if numeric else np.array(
        [f"c{int(v)}" for v in values[lab, item]])
    df = pd.DataFrame({"item_id": [f"i{i}" for i in item], "labeler_id": [f"l{j}" for j in lab],
                       "label": labels})
    return df, values


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_matches_krippendorff_package(seed: int, level: str) -> None:
    rng = np.random.default_rng(seed)
    q = int(rng.integers(2, 7))
    df, matrix = sparse_long(rng, n_items=int(rng.integers(20, 150)), n_labelers=int(rng.integers(2, 9)), q=q,
                             missing=float(rng.uniform(0.2, 0.7)))
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level,
                                  value_domain=list(np.arange(1.0, q + 1)))
    assert agreement.krippendorff_alpha(df, level=level) == pytest.approx(expected, abs=1e-9)


def test_ordinal_alpha_follows_the_given_order() -> None:
    """Non-numeric labels with an order give the same ordinal alpha as their ranks."""
    rng = np.random.default_rng(42)
    df, matrix = sparse_long(rng, 80, 5, 4, 0.4, numeric=False)
    order = ["c1", "c2", "c3", "c4"]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal",
                                  value_domain=[1.0, 2.0, 3.0, 4.0])
    assert agreement.krippendorff_alpha(df, level="ordinal", order=order) == pytest.approx(expected, abs=1e-9)
    reversed_ = agreement.krippendorff_alpha(df, level="ordinal", order=order[::-1])
    assert reversed_ == pytest.approx(expected, abs=1e-9)  # the ordinal metric is symmetric in direction
    shuffled = agreement.krippendorff_alpha(df, level="ordinal", order=["c2", "c4", "c1", "c3"])
    assert abs(shuffled - expected) > 1e-6
    with pytest.raises(ValueError, match="order"):
        agreement.krippendorff_alpha(df, level="ordinal")


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_matches_statsmodels_on_complete_data(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    q, raters = int(rng.integers(2, 6)), int(rng.integers(2, 7))
    df, matrix = sparse_long(rng, int(rng.integers(10, 120)), raters, q, missing=0.0)
    counts = np.stack([(matrix == c).sum(axis=0) for c in range(1, q + 1)], axis=1)
    expected = inter_rater.fleiss_kappa(counts, method="fleiss")
    assert agreement.fleiss_kappa(df) == pytest.approx(expected, abs=1e-9)
    assert agreement.fleiss_kappa(df, allow_varying=True) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_statsmodels(seed: int, weights: str | None) -> None:
    rng = np.random.default_rng(200 + seed)
    q = int(rng.integers(2, 6))
    df, matrix = sparse_long(rng, int(rng.integers(30, 200)), 4, q, missing=0.3)
    a, b = 1, 3
    both = ~np.isnan(matrix[a]) & ~np.isnan(matrix[b])
    table = np.zeros((q, q))
    np.add.at(table, (matrix[a, both].astype(int) - 1, matrix[b, both].astype(int) - 1), 1)
    used = (table.sum(axis=0) + table.sum(axis=1)) > 0  # statsmodels' table spans the categories we pass
    all_used = set(df["label"])
    keep = np.array([str(c + 1) in all_used for c in range(q)])
    table = table[np.ix_(keep, keep)]
    assert used[keep].any()
    expected = inter_rater.cohens_kappa(table, wt=weights).kappa if weights else inter_rater.cohens_kappa(
        table).kappa
    assert agreement.cohen_kappa(df, f"l{a}", f"l{b}", weights=weights) == pytest.approx(expected, abs=1e-9)


def test_pairwise_cohen_matches_single_pairs() -> None:
    rng = np.random.default_rng(7)
    df, _ = sparse_long(rng, 150, 5, 3, missing=0.3)
    pairs = agreement.pairwise_cohen(df, min_items=20).to_pylist()
    assert len(pairs) == 10
    for row in pairs:
        assert row["labeler_a"] < row["labeler_b"]
        assert row["kappa"] == pytest.approx(agreement.cohen_kappa(df, row["labeler_a"], row["labeler_b"]),
                                             abs=1e-12)
    assert agreement.pairwise_cohen(df, min_items=10_000).num_rows == 0


def test_wide_label_sets_use_the_four_key_packing() -> None:
    """12 labels with up to 6 copies per item do not fit one key (3 bits × 11 slots > 30): the wide
    queries."""
    from evalaudit.agreement.patterns import packing_for

    assert packing_for(12, 6).keys == 4 and packing_for(5, 7).keys == 1 and packing_for(2).keys == 1
    with pytest.raises(ValueError, match="bin the label values"):
        packing_for(300, 1000)
    rng = np.random.default_rng(11)
    df, matrix = sparse_long(rng, 300, 6, 12, missing=0.2)
    for level in ("nominal", "interval"):
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level,
                                      value_domain=list(np.arange(1.0, 13)))
        assert agreement.krippendorff_alpha(df, level=level) == pytest.approx(expected, abs=1e-9)
