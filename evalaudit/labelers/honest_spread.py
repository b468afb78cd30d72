"""The honest spread of labelers as an explicit variance-components model: the null the combined leniency tests
are referred to.

Why: honest labelers differ a little in accuracy, so their true differences from peers are small but not zero,
and with hundreds of tests the theoretical null flags the tails of that spread. The empirical null (Efron 2004;
:func:`evalaudit.labelers.severity.empirical_null`) allows for it by widening every test by one factor sigma0 in
z units. That is the wrong shape when labelers hold very different shares: an honest difference of 1.4 points is
0.6 standard errors for a labeler with 450 judgments and 1.4 for one with 2,250, so one factor is too wide for the
first (power lost) and too narrow for the second (honest heavy labelers flagged). And a labeler's honest
difference is largely the *labeler's* — their accuracy shows on every failure mode they judge — so their other
failure modes tell what is honest for them.

Model (a two-level random-effects model, as in meta-analysis; DerSimonian & Laird 1986 for the one-level form,
Paule & Mandel 1982 for the moment equation): the combined effect of labeler l on failure mode f is
``x_lf = u_l + v_lf + e_lf`` with ``u_l ~ N(0, tau_u^2)`` (the labeler's honest level), ``v_lf ~ N(0, tau_v^2)``
(its honest variation between failure modes) and ``e_lf ~ N(0, s_lf^2)`` (sampling error, the row's standard
error). Different failure modes are different items, so rows of one labeler are independent given ``u_l``.

- ``tau_v^2``: a robust Paule–Mandel moment on the differences between two rows of the same labeler,
  ``x_lf - x_lg ~ N(0, 2 tau_v^2 + s_lf^2 + s_lg^2)``: the value at which the standardised differences have the
  winsorised second moment of a standard normal (Huber's proposal 2: nearly the efficiency of the sum of squares,
  while the few biased rows count at most c^2 each and do not set the honest spread). ``tau_u^2``: the same
  moment on the rows themselves, ``x_lf ~ N(0, tau_u^2 + tau_v^2 + s_lf^2)``. Each failure mode's median effect
  is taken out first (failure modes as fixed effects of a two-way layout: a heavy labeler biased on one failure
  mode shifts the peer rate of everyone else there). Both are 0 when the rows spread no more than their standard
  errors, so the test is never wider than the data ask for; with fewer than ``min_tests`` rows (or pairs) the
  level is not estimated (0; without pairs the whole spread is put between failure modes, so no labeler is its
  own reference). Tried first and not kept: the median absolute moment (the empirical null's MAD), too noisy —
  the benchmark's labelers have no spread between failure modes, and it estimated 0.006–0.014.
- Each labeler is judged against the spread of the *other* labelers: tau_u^2 and tau_v^2 are estimated once per
  labeler without its rows (:func:`components_without_each`; the deleted residual of regression and meta-analysis
  diagnostics, Cook & Weisberg 1982, Viechtbauer & Cheung 2010). Winsorised, a biased row still counts up to c^2
  per pair, and with tens of labelers a heavy lenient labeler's own row widened the spread it was judged against
  (the benchmark's honest labelers have no spread between failure modes; with the lenient labeler in the moments
  tau_v was ~0.008 in half the runs, without it mostly 0).
- The test of row (l, f) conditions on the labeler's other rows g (the best linear unbiased predictor of ``u_l``,
  Henderson 1975): with ``d_g = tau_v^2 + s_lg^2``, ``A = sum 1/d_g``, ``B = sum x_lg/d_g``, under "honest"
  ``x_lf`` has mean ``m = tau_u^2 B / (1 + tau_u^2 A)`` (the labeler's own level, shrunk toward the peers' 0) and
  variance ``V = tau_u^2 / (1 + tau_u^2 A) + tau_v^2 + s_lf^2``; ``z = (x_lf - m) / sqrt(V)``. Without other rows
  this is the one-level random-effects test ``x / sqrt(tau^2 + s^2)``.
- Biased rows are nobody's reference (as biased peers are nobody's peer): a first pass flags rows at BH q < 0.05;
  a labeler's flagged rows leave the reference of its other rows. A labeler whose remaining rows are themselves
  beyond the honest spread of the other labelers (their pooled level ``B/A`` against ``N(0, tau_u^2 + 1/A)``,
  BH q < 0.05 over labelers) — lenient on every failure mode, say — gets no own reference: their rows are tested
  against the peers' 0 with the full honest variance ``tau_u^2 + tau_v^2 + s^2``, so a labeler lenient everywhere
  is not excused by its own leniency.

The reported effect is the excess over the labeler's own honest level, ``x - m``, with the interval
``x - m ± z_{0.975} sqrt(V)``: it excludes 0 exactly when the test rejects.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from evalaudit.multiplicity import bh

#: Huber's proposal 2: the winsorising point (in standard deviations) and E[min(Z^2, c^2)] for a standard normal Z
_HUBER_C = 2.5
_HUBER_BETA = float((2 * stats.norm.cdf(_HUBER_C) - 1) - 2 * _HUBER_C * stats.norm.pdf(_HUBER_C)
                    + 2 * _HUBER_C**2 * stats.norm.sf(_HUBER_C))


#: fewer rows (or within-labeler pairs of rows) than this and the spread is not estimated (as the empirical null's)
MIN_TESTS = 50


def pairs(group) -> int:
    """How many pairs of rows share a group (a labeler seen on two failure modes gives one)."""
    _, k = np.unique(np.asarray(group), return_counts=True)
    return int(np.sum(k * (k - 1) // 2))


def _robust_tau2(x: np.ndarray, base_var: np.ndarray, scale: float = 1.0) -> float:
    """The smallest tau^2 >= 0 at which ``z = x / sqrt(base_var + scale tau^2)`` has the winsorised second moment
    of a standard normal, ``mean(min(z^2, c^2)) = E min(Z^2, c^2)`` with c = 2.5 (Huber's proposal 2, Huber 1964,
    Ann. Math. Statist. 35: a scale estimate nearly as efficient as the sum of squares — the Paule–Mandel moment —
    under the normal, and not moved much by the few biased rows, which count at most c^2 each)."""
    ok = np.isfinite(x) & np.isfinite(base_var) & (base_var > 0)
    x, v = x[ok], base_var[ok]

    def excess(t2: float) -> float:
        return float(np.mean(np.minimum(x * x / (v + scale * t2), _HUBER_C**2))) - _HUBER_BETA

    if len(x) == 0 or excess(0.0) <= 0:
        return 0.0
    hi = float(np.median(x * x)) + 1e-12
    while excess(hi) > 0:
        hi *= 4
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-10))


def _layout(x: np.ndarray, se: np.ndarray, group: np.ndarray, column: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x with each failure mode's median taken out, the usable rows, and every pair of usable rows within a group
    as two index arrays)."""
    ok = np.isfinite(x) & np.isfinite(se) & (se > 0)
    if column is not None:
        col = np.asarray(column, np.int64)
        x = x.copy()
        for c in np.unique(col[ok]):
            m = ok & (col == c)
            x[m] -= np.median(x[m])
    idx = np.nonzero(ok)[0]
    idx = idx[np.argsort(group[idx], kind="stable")]
    g = group[idx]
    # every pair of rows within a group (groups are small: a labeler's failure modes), group after group, each
    # group's in np.triu_indices order; built once per group size, not once per group
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    size = np.diff(np.r_[starts, len(g)])
    n_pairs = size * (size - 1) // 2
    at = np.r_[0, np.cumsum(n_pairs)[:-1]]  # where each group's pairs go
    a_out = np.empty(int(n_pairs.sum()), dtype=np.int64)
    b_out = np.empty_like(a_out)
    for k in np.unique(size[size >= 2]):
        a, b = np.triu_indices(int(k), 1)
        which = size == k
        where = at[which][:, None] + np.arange(len(a))
        a_out[where] = idx[starts[which][:, None] + a]
        b_out[where] = idx[starts[which][:, None] + b]
    return x, ok, a_out, b_out


def components(x: np.ndarray, se: np.ndarray, group: np.ndarray, column: np.ndarray | None = None,
               min_tests: int = MIN_TESTS) -> tuple[float, float]:
    """(tau_u^2, tau_v^2): the honest spread between labelers and between one labeler's failure modes (see the
    module docstring). ``group``: per row, the labeler (× label view) code; ``column``: per row, the failure mode
    (× label view) code — each failure mode's median effect is taken out before the spread is measured (a two-way
    layout with failure modes as fixed effects): a heavy labeler biased on one failure mode moves the peer rate
    every other labeler there is compared with, which is no labeler's honest variation."""
    x, se, group = np.asarray(x, float), np.asarray(se, float), np.asarray(group, np.int64)
    if (np.isfinite(x) & np.isfinite(se) & (se > 0)).sum() < min_tests:
        return 0.0, 0.0
    x, ok, a, b = _layout(x, se, group, column)
    s2 = se * se
    if len(a) >= min_tests:
        tau_v2 = _robust_tau2(x[a] - x[b], s2[a] + s2[b], scale=2.0)
        tau_u2 = _robust_tau2(x[ok], s2[ok] + tau_v2)
        return tau_u2, tau_v2
    return 0.0, _robust_tau2(x[ok], s2[ok])


#: above this many (groups × (pairs + rows)) the leave-one-labeler-out roots are one Newton step from the full one
EXACT_WORK = 2_000_000


def components_without_each(x: np.ndarray, se: np.ndarray, group: np.ndarray, column: np.ndarray | None = None,
                            min_tests: int = MIN_TESTS) -> tuple[np.ndarray, np.ndarray]:
    """Per group code g (``0 .. group.max()``): (tau_u^2, tau_v^2) as :func:`components` estimates them from every
    other group's rows — the spread a labeler is judged against is the other labelers' (leave one labeler out).

    Why: a labeler's own rows are part of the moments, and a biased row counts in them up to c^2 per pair even
    winsorised; with tens of labelers that widens the very spread the row is judged against (a lenient heavy
    labeler raised the estimated spread between failure modes from 0 to ~0.008 in the benchmark, where honest
    labelers have none). Tested against the spread estimated without it, a row is the externally studentised
    (deleted) residual of regression diagnostics (Cook & Weisberg 1982, "Residuals and Influence in Regression",
    §2.2) and of random-effects meta-analysis, where tau^2 is re-estimated without the study
    (Viechtbauer & Cheung 2010, Res. Synth. Methods 1, 112–125). Each failure mode's median is taken out over all
    rows (a median moves little without one labeler's row). The roots are solved exactly per group while that is
    cheap (groups × (pairs + rows) <= :data:`EXACT_WORK`); beyond, by one Newton step from the all-rows root,
    exact to second order in the group's share of the moment (at most 1 / (groups - 1) of the pairs when the
    labelers see equally many failure modes)."""
    x, se, group = np.asarray(x, float), np.asarray(se, float), np.asarray(group, np.int64)
    n_g = int(group.max(initial=-1)) + 1
    tu, tv = np.zeros(n_g), np.zeros(n_g)
    if n_g == 0:
        return tu, tv
    x, ok, a, b = _layout(x, se, group, column)
    s2 = se * se
    rows = np.nonzero(ok)[0]
    rows_in = np.bincount(group[rows], minlength=n_g)
    pairs_in = np.bincount(group[a], minlength=n_g)
    n_rows_wo, n_pairs_wo = len(rows) - rows_in, len(a) - pairs_in
    exact = n_g * (len(a) + len(rows)) <= EXACT_WORK
    # tau_v^2 on the pairs of the other groups (the groups with too few such pairs put the spread between failure
    # modes on the rows, as components() does)
    with_pairs = n_pairs_wo >= min_tests
    tv[with_pairs] = _roots_without(x[a] - x[b], s2[a] + s2[b], group[a], n_g, 2.0, exact)[with_pairs]
    no_pairs = ~with_pairs & (n_rows_wo >= min_tests)
    if no_pairs.any():
        tv[no_pairs] = _roots_without(x[rows], s2[rows], group[rows], n_g, 1.0, exact)[no_pairs]
    # tau_u^2 on the other groups' rows: the root in t' = tau_v^2 + tau_u^2 of the rows' moment (their variance
    # s^2 + t'), less the group's tau_v^2 — the same root as components() solves for tau_u^2 given tau_v^2
    total = _roots_without(x[rows], s2[rows], group[rows], n_g, 1.0, exact)
    tu[with_pairs] = np.maximum(total - tv, 0.0)[with_pairs]
    few = n_rows_wo < min_tests
    tu[few], tv[few] = 0.0, 0.0
    return tu, tv


def _roots_without(x: np.ndarray, base_var: np.ndarray, unit_group: np.ndarray, n_groups: int, scale: float,
                   exact: bool) -> np.ndarray:
    """Per group g, :func:`_robust_tau2` of the entries whose ``unit_group`` is not g (exact, or one Newton step
    from the all-entries root; see :func:`components_without_each`)."""
    keep = np.isfinite(x) & np.isfinite(base_var) & (base_var > 0)
    x, v, ug = x[keep], base_var[keep], unit_group[keep]
    out = np.zeros(n_groups)
    if exact:
        order = np.argsort(ug, kind="stable")
        x, v, ug = x[order], v[order], ug[order]
        bounds = np.searchsorted(ug, np.arange(n_groups + 1))
        for g in range(n_groups):
            lo, hi = bounds[g], bounds[g + 1]
            out[g] = _robust_tau2(np.r_[x[:lo], x[hi:]], np.r_[v[:lo], v[hi:]], scale)
        return out
    t = _robust_tau2(x, v, scale)
    c2 = _HUBER_C**2
    q = x * x / (v + scale * t)
    inside = q < c2
    term = np.minimum(q, c2) - _HUBER_BETA
    slope = np.where(inside, -scale * q / (v + scale * t), 0.0)
    h = term.sum() - np.bincount(ug, weights=term, minlength=n_groups)
    dh = slope.sum() - np.bincount(ug, weights=slope, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(dh < 0, t - h / dh, t)
    return np.maximum(step, 0.0)


def conditional_z(x: np.ndarray, se: np.ndarray, group: np.ndarray, reference: np.ndarray, tau_u2, tau_v2
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, m, V) of every row given the ``reference`` rows of its group other than itself. ``tau_u2``, ``tau_v2``:
    numbers, or per row (equal within a group)."""
    x, se = np.asarray(x, float), np.asarray(se, float)
    tau_u2 = np.asarray(tau_u2, float)
    d = tau_v2 + se * se
    use = reference & np.isfinite(x) & np.isfinite(d) & (d > 0)
    n_g = int(group.max(initial=-1)) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(use, 1 / d, 0.0)
        A = np.bincount(group, weights=inv, minlength=n_g)[group] - inv
        B = np.bincount(group, weights=np.where(use, x * inv, 0.0), minlength=n_g)[group] - np.where(use, x * inv,
                                                                                                      0.0)
        A, B = np.maximum(A, 0.0), np.where(A > 0, B, 0.0)
        m = tau_u2 * B / (1 + tau_u2 * A)
        V = tau_u2 / (1 + tau_u2 * A) + d
        z = (x - m) / np.sqrt(V)
    return z, m, V


def test(x, se, group, column=None, tau: tuple[float, float] | None = None, q_ref: float = 0.05,
         min_tests: int = MIN_TESTS) -> dict[str, np.ndarray]:
    """Two-sided p-values of every row against the honest spread with the labeler's own reference (module
    docstring), and the excess ``x - m`` with its standard error ``sqrt(V)``. ``group``: labeler (× label view)
    code per row. Each group is judged against the spread of the other groups (:func:`components_without_each`);
    ``tau``: (tau_u^2, tau_v^2) given for every group instead. Returns ``p``, ``effect``, ``se``, ``tau_u2``,
    ``tau_v2`` (per row: the spread it was judged against), ``own_reference`` (per row: was the labeler's level
    used)."""
    x, se = np.asarray(x, float), np.asarray(se, float)
    group = np.unique(np.asarray(group), return_inverse=True)[1].astype(np.int64)
    if column is not None:
        column = np.unique(np.asarray(column), return_inverse=True)[1].astype(np.int64)
    n_g = int(group.max(initial=-1)) + 1
    if tau is None:
        tu_g, tv_g = components_without_each(x, se, group, column, min_tests)
    else:
        tu_g, tv_g = np.full(n_g, float(tau[0])), np.full(n_g, float(tau[1]))
    tau_u2, tau_v2 = tu_g[group], tv_g[group]
    ok = np.isfinite(x) & np.isfinite(se) & (se > 0)
    z1, _, _ = conditional_z(x, se, group, ok, tau_u2, tau_v2)
    flagged = ok & (np.nan_to_num(bh(np.where(ok, 2 * stats.norm.sf(np.abs(z1)), np.nan)), nan=1.0) < q_ref)
    ref = ok & ~flagged
    # the labeler's pooled level from its reference rows, against the honest spread of labelers
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(ref, 1 / (tau_v2 + se * se), 0.0)
        A = np.bincount(group, weights=inv, minlength=n_g)
        B = np.bincount(group, weights=np.where(ref, x * inv, 0.0), minlength=n_g)
        p_lab = np.where(A > 0, 2 * stats.norm.sf(np.abs(B / A) / np.sqrt(tu_g + 1 / A)), np.nan)
    beyond = np.nan_to_num(bh(p_lab), nan=1.0) < q_ref
    ref &= ~beyond[group]
    z, m, V = conditional_z(x, se, group, ref, tau_u2, tau_v2)
    with np.errstate(invalid="ignore"):
        p = np.where(ok, 2 * stats.norm.sf(np.abs(z)), np.nan)
    own = ~beyond[group] & (tau_u2 > 0)
    return {"p": p, "effect": np.where(ok, x - m, x), "se": np.where(ok, np.sqrt(V), se), "tau_u2": tau_u2,
            "tau_v2": tau_v2, "own_reference": own}
