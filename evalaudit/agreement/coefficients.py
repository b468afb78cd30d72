"""Agreement coefficients from label-count patterns, vectorised over many weightings of the patterns at once.

Every function takes ``counts`` (P × q label counts of the distinct patterns) and ``weights`` (R × P): row r
says how many items of each pattern sample r holds. Row = the pattern multiplicities gives the point estimate;
rows = multinomial draws give an item bootstrap (see :mod:`evalaudit.agreement.bootstrap`). Each returns R
values.

Why hand-written: scipy.stats has none of these coefficients; the maintained packages (krippendorff,
statsmodels, irrCAC) take a dense item × rater or item × category table (krippendorff's memory grows with
items × q²), and none evaluates a thousand bootstrap weightings in one pass. The tests pin every function to
those packages and to published examples.

Conventions (documented in docs/agreement.md):
- *No variation* - every pairable label identical, so chance agreement is 1 / expected disagreement is
  0 - makes alpha and the kappas 0/0. We return 1.0: the observed agreement is perfect and there is no
  evidence of any disagreement. Gwet's AC1/AC2 reach 1.0 by their own formula in that case (pe = 0). The stage
  marks such slices with a note, so 1.0 is never read as "reliable" without context.
- Fewer than one pairable item (an item with at least two labels) gives NaN: there is nothing to measure. The
  public functions turn that into a ValueError and the stage into a "too few pairable items" note.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from evalaudit.agreement.kernels import Kernel

Matrix = np.ndarray | Kernel


def _dense(matrix: Matrix | None) -> np.ndarray | None:
    return matrix.matrix() if isinstance(matrix, Kernel) else matrix


def _kernel(matrix: Matrix) -> Kernel:
    return matrix if isinstance(matrix, Kernel) else Kernel.from_matrix(matrix)


def _pairable(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray) -> tuple:
    """(counts, weights, m) of the patterns with at least two labels; counts stay CSR when given so."""
    m = np.asarray(counts.sum(axis=1), dtype=float).ravel()
    pair = m >= 2
    c = counts[pair] if sparse.issparse(counts) else np.asarray(counts, dtype=float)[pair]
    return c, np.asarray(weights, dtype=float)[:, pair], m[pair]


def _margins(c: np.ndarray | sparse.csr_matrix, w: np.ndarray) -> np.ndarray:
    """(R, q): the label totals of each weighting of the patterns, ``w @ c``."""
    if sparse.issparse(c):
        return np.asarray((c.T @ w.T).T, dtype=float)
    return w @ c


def _ordinal_midranks(c: np.ndarray | sparse.csr_matrix, w: np.ndarray, m: np.ndarray, marg: np.ndarray) -> tuple:
    """Observed and expected disagreement at Krippendorff's ordinal level without a (patterns × q × q) coincidence
    array: with the cumulative value frequencies N_g, ``δ_ck = Σ_{g=c}^{k} n_g - (n_c + n_k)/2 = M_k - M_c`` where
    ``M_g = N_g - n_g/2`` (the mid-rank of value g), so the ordinal metric is the interval metric on each sample's
    mid-ranks, and ``Σ_ck a_c a_k (M_c - M_k)² = 2(Σa · Σa M² - (Σa M)²)``."""
    n = marg.sum(axis=1)
    mid = np.cumsum(marg, axis=1) - marg / 2.0 - (n / 2.0)[:, None]  # centred: differences are unchanged
    s1 = np.asarray(c @ mid.T)  # (P, R)
    s2 = np.asarray(c @ (mid**2).T)
    per = 2.0 * (m[:, None] * s2 - s1 * s1) / (m - 1.0)[:, None]
    d_obs = np.einsum("rp,pr->r", w, per)
    d_exp = 2.0 * (n * (marg * mid**2).sum(axis=1) - (marg * mid).sum(axis=1) ** 2)
    return d_obs, d_exp


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def _chance_corrected(pa: np.ndarray, pe: np.ndarray) -> np.ndarray:
    """(pa - pe) / (1 - pe), with 1.0 when pe == 1 (then pa == 1 too: no variation)."""
    one = np.isclose(pe, 1.0, rtol=0, atol=1e-13)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (pa - pe) / np.where(one, 1.0, 1.0 - pe)
    return np.where(one, np.where(np.isnan(pa), np.nan, 1.0), value)


# -- Krippendorff's alpha ------------------------------------------------------------------------------------
def alpha(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray, delta2: Matrix | None) -> np.ndarray:
    """Krippendorff's alpha from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability", §A-C): ``o_ck = Σ_u n_uc (n_uk - [c=k]) / (m_u - 1)`` over pairable units,
    ``n_c = Σ_k o_ck``, ``alpha = 1 - (n - 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck``.

    ``delta2`` is the q×q squared-difference metric; None means Krippendorff's ordinal metric, which depends
    on the value frequencies n_g of each sample: ``δ_ck = Σ_{g=c}^{k} n_g - (n_c + n_k)/2`` (§B). Any
    agreement-weight matrix w gives a "weighted alpha" through ``δ² = 1 - w`` (as irrCAC does).

    ``counts`` in CSR form (many distinct labels) takes the same formulas through
    :class:`~evalaudit.agreement.kernels.Kernel` forms and, at the ordinal level, mid-ranks (no q×q array).
    """
    if sparse.issparse(counts):
        c, w, m = _pairable(counts, weights)
        marg = _margins(c, w)
        n = marg.sum(axis=1)
        if delta2 is None:
            d_obs, d_exp = _ordinal_midranks(c, w, m, marg)
        else:
            kernel = _kernel(delta2)
            d_obs = w @ (kernel.pattern_forms(c) / (m - 1.0))
            d_exp = kernel.marginal_forms(marg)
        return _alpha_value(n, d_obs, d_exp, marg)
    delta2 = _dense(delta2)
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pair = m >= 2
    c, w = counts[pair], np.asarray(weights, dtype=float)[:, pair]
    denom = m[pair] - 1.0
    marg = w @ c  # (R, q): n_c, the value frequencies among pairable values
    n = marg.sum(axis=1)
    if delta2 is not None:
        # Σ_ck o_ck δ²_ck per pattern: (n_u^T δ² n_u - Σ_c n_uc δ²_cc) / (m_u - 1); δ²_cc = 0 for every metric
        d_pat = np.einsum("pc,ck,pk->p", c, delta2, c) / denom
        d_obs = w @ d_pat
        d_exp = np.einsum("rc,ck,rk->r", marg, delta2, marg)
    else:
        d_obs, d_exp = _ordinal_midranks(c, w, m[pair], marg)
    return _alpha_value(n, d_obs, d_exp, marg)


def _alpha_value(n: np.ndarray, d_obs: np.ndarray, d_exp: np.ndarray, marg: np.ndarray) -> np.ndarray:
    # one value among the pairable labels: no variation, whatever rounding the closed forms left in d_exp
    d_exp = np.where((marg > 0).sum(axis=1) <= 1, 0.0, d_exp)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1.0 - (n - 1.0) * d_obs / np.where(d_exp > 0, d_exp, 1.0)
    value = np.where(d_exp > 0, value, 1.0)  # no variation among pairable values: 1.0 by convention
    return np.where(n >= 2, value, np.nan)


# -- the Fleiss / Gwet family: same observed agreement, different chance agreement
# ----------------------------
def observed_agreement(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray, agree: Matrix) -> np.ndarray:
    """Gwet's (weighted) percent agreement: the mean over pairable items of
    ``Σ_k n_ik (Σ_l w_kl n_il - 1) / (m_i (m_i - 1))``
    (Gwet 2014, ch. 2-3, irrCAC `pa`; with w = I it is Fleiss 1971's P̄)."""
    if sparse.issparse(counts):
        c, w, m = _pairable(counts, weights)
        pa_pat = (_kernel(agree).pattern_forms(c) - m) / (m * (m - 1.0))
        return _safe_ratio(w @ pa_pat, w.sum(axis=1))
    agree = _dense(agree)
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    pair = m >= 2
    c, w = counts[pair], np.asarray(weights, dtype=float)[:, pair]
    pa_pat = np.einsum("pk,pk->p", c, c @ agree.T - 1.0) / (m[pair] * (m[pair] - 1.0))
    return _safe_ratio(w @ pa_pat, w.sum(axis=1))


def classification_shares(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """π_k: the mean over items (with at least one label) of the share of the item's labels that are k
    (Gwet 2014, ch. 2; equals Fleiss' p_j when every item has the same number of labels). (R, q)."""
    w = np.asarray(weights, dtype=float)
    if sparse.issparse(counts):
        m = np.asarray(counts.sum(axis=1), dtype=float).ravel()
        shares = sparse.diags(1.0 / m) @ counts
        return _safe_ratio(_margins(shares, w), w.sum(axis=1)[:, None] * np.ones((1, counts.shape[1])))
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    shares = counts / m[:, None]
    return _safe_ratio(w @ shares, w.sum(axis=1)[:, None] * np.ones((1, counts.shape[1])))


def fleiss_kappa(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray, agree: Matrix) -> np.ndarray:
    """Fleiss' kappa (Fleiss 1971): ``(P̄ - P_e) / (1 - P_e)`` with ``P_e = Σ_kl w_kl π_k π_l``.

    With items of varying label counts this is Gwet's generalisation for missing ratings (Gwet 2014, ch. 2;
    irrCAC ``fleiss.kappa.raw``):
    P̄ over items with >= 2 labels, π over all labeled items. Identical to Fleiss (1971) when every item has
    the same number of labels."""
    pa = observed_agreement(counts, weights, agree)
    pi = classification_shares(counts, weights)
    pe = _kernel(agree).marginal_forms(pi)
    return _chance_corrected(pa, pe)


def gwet_ac(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray, agree: Matrix, q: int) -> np.ndarray:
    """Gwet's AC1 (w = identity; Gwet 2008) and AC2 (weighted; Gwet 2014, ch. 3):
    ``pe = T_w / (q (q - 1)) · Σ_k π_k (1 - π_k)`` with ``T_w = Σ_kl w_kl`` and q the number of categories of
    the label set (not only those observed). With a single category AC is 1.0 (irrCAC uses pe = 1 - 1e-15)."""
    pa = observed_agreement(counts, weights, agree)
    if q < 2:
        return np.where(np.isnan(pa), np.nan, 1.0)
    pi = classification_shares(counts, weights)
    pe = _kernel(agree).total() / (q * (q - 1.0)) * (pi * (1.0 - pi)).sum(axis=1)
    return _chance_corrected(pa, pe)


def brennan_prediger(counts: np.ndarray | sparse.csr_matrix, weights: np.ndarray, agree: Matrix,
                     q: int) -> np.ndarray:
    """Brennan & Prediger (1981) coefficient, weighted as in Gwet (2014, ch. 3): ``pe = T_w / q²``."""
    pa = observed_agreement(counts, weights, agree)
    pe = np.full_like(pa, _kernel(agree).total() / float(q * q))
    return _chance_corrected(pa, pe)
