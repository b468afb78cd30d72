"""The q×q matrices of agreement statistics (Krippendorff's metrics δ², Gwet's and Cohen's agreement weights) held
as functions of two category codes, so that no statistic needs a q×q array when q is large.

Why: a label space of numeric scores can have thousands of distinct values (scores -100..100, probabilities with
three decimals, ...). A dense q×q matrix per metric, a (patterns × q × q) coincidence array, or a packed count key
per item all stop working somewhere in the hundreds. Every count-based coefficient needs the matrix D only through

- ``c_u^T D c_u`` for each item's label-count vector ``c_u`` (:meth:`Kernel.pattern_forms`; an item with few
  distinct labels touches few cells of D), and
- ``a^T D b`` for marginal vectors (:meth:`Kernel.marginal_forms`, :meth:`Kernel.bilinear`),

and most of the matrices are *affine in a squared difference*, ``D_ij = a + b·(x_i - x_j)² + d·[i = j]``
(nominal δ², identity weights, interval δ², quadratic weights), for which both forms have closed expressions in
``Σc``, ``Σc·x``, ``Σc·x²`` and ``Σc²`` (:class:`Affine`): O(labels), whatever q is. The others (ratio δ², linear,
radical, ratio, circular, bipolar and Gwet's ordinal weights) are evaluated pairwise on the cells an item uses, and
their marginal forms on the dense matrix when q <= DENSE_LIMIT, else in column blocks (O(q²) time, O(q·block)
memory). Krippendorff's ordinal metric depends on each sample's marginals and is handled in
:mod:`evalaudit.agreement.coefficients` (it is the interval metric on mid-ranks).

The definitions are those of :mod:`evalaudit.agreement.categories` (Krippendorff 2011, §B; Gwet 2014, §3.2;
Cohen 1968), which builds its dense matrices from these kernels, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

#: up to this many categories a kernel's dense q×q matrix is built and cached (8 MB of float64 at 1,000)
DENSE_LIMIT = 2048
#: columns per block when a non-affine kernel's marginal forms are evaluated without its dense matrix
BLOCK = 256

Pair = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Affine:
    """``D_ij = a + b·(x_i - x_j)² + d·[i = j]`` on scores ``x`` (centred on their mean, which changes no
    difference and keeps the closed forms' cancellation small)."""

    a: float
    b: float
    d: float
    x: np.ndarray


@dataclass
class Kernel:
    """A q×q matrix given by ``pair(i, j)`` (elementwise on arrays of category codes) and, when it has that
    form, its :class:`Affine` parameters."""

    q: int
    pair: Pair
    affine: Affine | None = None
    _matrix: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_affine(cls, q: int, a: float, b: float, d: float, x: np.ndarray | None = None) -> Kernel:
        xs = np.zeros(q) if x is None else np.asarray(x, dtype=float)
        if xs.size:
            xs = xs - xs.mean()
        aff = Affine(float(a), float(b), float(d), xs)

        def pair(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            return aff.a + aff.b * (aff.x[i] - aff.x[j]) ** 2 + aff.d * (i == j)

        return cls(q, pair, aff)

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Kernel:
        """A kernel around a given dense matrix (callers that already hold one)."""
        m = np.asarray(matrix, dtype=float)
        return cls(m.shape[0], lambda i, j: m[i, j], None, m)

    def matrix(self) -> np.ndarray:
        """The dense q×q matrix (cached). Only for q up to DENSE_LIMIT, or when a caller knows q is small."""
        if self._matrix is None:
            k = np.arange(self.q)
            self._matrix = np.asarray(self.pair(k[:, None], k[None, :]), dtype=float).reshape(self.q, self.q)
        return self._matrix

    # -- forms ---------------------------------------------------------------------------------------------
    def pattern_forms(self, counts: np.ndarray | sparse.csr_matrix) -> np.ndarray:
        """``c_p^T D c_p`` for every row ``c_p`` of ``counts`` (dense or CSR)."""
        if self.affine is not None:
            aff = self.affine
            m = _rowsum(counts)
            s1 = np.asarray(counts @ aff.x).ravel()
            s2 = np.asarray(counts @ (aff.x ** 2)).ravel()
            sq = _rowsum(counts.multiply(counts) if sparse.issparse(counts) else counts * counts)
            return aff.a * m * m + aff.b * 2.0 * (m * s2 - s1 * s1) + aff.d * sq
        if not sparse.issparse(counts):
            if self.q <= DENSE_LIMIT:
                c = np.asarray(counts, dtype=float)
                return np.einsum("pc,ck,pk->p", c, self.matrix(), c)
            counts = sparse.csr_matrix(counts)
        return _sparse_pattern_forms(counts, self.pair)

    def marginal_forms(self, marg: np.ndarray) -> np.ndarray:
        """``a_r^T D a_r`` for every row ``a_r`` of the dense (R, q) array ``marg``."""
        return self.bilinear(marg, marg)

    def bilinear(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``l_r^T D r_r`` for every row pair of the dense (R, q) arrays ``left`` and ``right``."""
        left = np.asarray(left, dtype=float)
        right = np.asarray(right, dtype=float)
        if self.affine is not None:
            aff = self.affine
            nl, nr = left.sum(axis=1), right.sum(axis=1)
            l1, r1 = left @ aff.x, right @ aff.x
            l2, r2 = left @ aff.x ** 2, right @ aff.x ** 2
            return (aff.a * nl * nr + aff.b * (nr * l2 + nl * r2 - 2.0 * l1 * r1)
                    + aff.d * np.einsum("rc,rc->r", left, right))
        if self.q <= DENSE_LIMIT:
            return np.einsum("rc,rc->r", left @ self.matrix(), right)
        out = np.zeros(left.shape[0])
        rows = np.arange(self.q)
        for start in range(0, self.q, BLOCK):
            cols = np.arange(start, min(self.q, start + BLOCK))
            block = self.pair(rows[:, None], cols[None, :])  # (q, block): column block of D
            out += np.einsum("rc,rc->r", left @ block, right[:, cols])
        return out

    def total(self) -> float:
        """``Σ_ij D_ij``."""
        ones = np.ones((1, self.q))
        return float(self.bilinear(ones, ones)[0])


def _rowsum(counts: np.ndarray | sparse.spmatrix) -> np.ndarray:
    return np.asarray(counts.sum(axis=1), dtype=float).ravel()


def _sparse_pattern_forms(counts: sparse.csr_matrix, pair: Pair) -> np.ndarray:
    """``Σ_ij c_i c_j D_ij`` over the nonzero cells of each CSR row: every ordered pair of an item's labels once."""
    counts = sparse.csr_matrix(counts)
    counts.sum_duplicates()
    indptr, idx, val = counts.indptr, counts.indices, counts.data.astype(float)
    sizes = np.diff(indptr)
    row_of = np.repeat(np.arange(counts.shape[0]), sizes)
    per = sizes[row_of]  # for each stored cell, how many cells its row has
    left = np.repeat(np.arange(idx.size), per)
    first = np.repeat(indptr[:-1][row_of], per)
    offset = np.arange(left.size) - np.repeat(np.cumsum(per) - per, per)
    right = first + offset
    values = val[left] * val[right] * pair(idx[left], idx[right])
    return np.bincount(row_of[left], weights=values, minlength=counts.shape[0])
