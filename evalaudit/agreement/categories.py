"""The category set of a labeling history: which labels exist, in what order, as which numbers; and the
agreement weight matrices that depend on them.

Two families of distance are kept apart on purpose, because the anchors mix them up:

- Krippendorff's *metrics* (``delta²``) for alpha at the nominal, ordinal, interval and ratio levels
  (Krippendorff 2011, "Computing Krippendorff's alpha-reliability", §B "metrics"); the ordinal metric depends
  on the marginal frequencies of the values and is built in :mod:`evalaudit.agreement.coefficients`.
- Gwet's *agreement weights* ``w`` (identity, linear, quadratic, ordinal, radical, ratio, circular,
  bipolar) for AC2, weighted Fleiss / Brennan-Prediger / percent agreement (Gwet 2014, *Handbook of
  Inter-Rater Reliability*, 4th ed., ch. 3, §3.2 and table 3.2.1; the same formulas as irrCAC's ``weights.R``
  /
  ``irrCAC.weights``). Gwet's "ordinal" weights are *not* Krippendorff's ordinal metric: they use ranks only,
  not the marginals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalaudit.agreement.kernels import BLOCK, Kernel, Pair
from evalaudit.labelspace import as_number

GWET_WEIGHTS = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")


@dataclass(frozen=True)
class Categories:
    """The labels in their order (index = category code) and, when every label is a number, their values.

    At a numeric reading (``numeric=True`` in :func:`build`: the ordinal, interval and ratio levels and numeric
    weights) labels that name the same number (``-0``, ``0``, ``00``) are one category: ``labels`` holds the
    first of them in text order and ``aliases`` maps every label as stored to its code."""

    labels: tuple[str, ...]
    #: numeric value of each label, or None when some label is not a number
    values: tuple[float, ...] | None
    #: True when the order was given (``order=``/``[labels] order``) or derived from numeric values
    ordered: bool
    #: every stored label -> its category code, when some labels share a category (else the labels themselves)
    aliases: tuple[tuple[str, int], ...] = ()
    #: pairs of labels that name the same number but stay apart (a nominal reading): named if numbers are needed
    clashes: tuple[tuple[str, str], ...] = ()

    @property
    def q(self) -> int:
        return len(self.labels)

    def index(self) -> dict[str, int]:
        """Every stored label -> its category code."""
        out = {label: i for i, label in enumerate(self.labels)}
        out.update(self.aliases)
        return out

    def codes(self) -> tuple[list[str], list[int]]:
        """(label, code) of every stored label, for the codes view the pattern queries join."""
        index = self.index()
        return list(index), list(index.values())

    def scores(self, what: str) -> np.ndarray:
        """The numbers distances are computed on: the values if numeric, else ranks 1..q of the given
        order."""
        if self.values is not None:
            return np.asarray(self.values, dtype=float)
        if self.clashes:
            a, b = self.clashes[0]
            raise ValueError(f"{what} needs the labels as numbers, but {a!r} and {b!r} name the same number; "
                             "read them as numbers (an ordinal, interval or ratio level) or make them distinct")
        if not self.ordered:
            raise ValueError(
                f"{what} needs ordered categories, but the labels ({', '.join(self.labels[:6])}"
                f"{', ...' if self.q > 6 else ''}) are not numbers and no order was given; pass order=[...] "
                "(or set [labels] order)"
            )
        return np.arange(1, self.q + 1, dtype=float)


def build(observed: Sequence[str], declared: Sequence[str] | None = None,
          order: Sequence[str] | None = None, numeric: bool = True) -> Categories:
    """The category set: the observed labels plus any declared ones, ordered by ``order`` when given, else by
    numeric value when every label is a number, else alphabetically (unordered).

    With ``numeric`` (the default; False for a nominal reading) labels naming the same number are one category;
    without it they stay apart and only a statistic that needs numbers names the clash.
    A label missing from a given ``order`` is an error naming it: an ordinal statistic cannot place it.
    """
    labels = set(observed) | set(declared or ())
    if order:
        order = [str(o) for o in order]
        if len(set(order)) != len(order):
            raise ValueError("order lists a category twice")
        missing = sorted(labels - set(order))
        if missing:
            raise ValueError(f"label(s) {', '.join(map(repr, missing[:5]))} are not in the given order "
                             f"({', '.join(order[:20])}{', ...' if len(order) > 20 else ''})")
        ordered_labels = tuple(order)
        numbers = [as_number(x) for x in ordered_labels]
        values = tuple(float(v) for v in numbers) if all(v is not None for v in numbers) else None
        if values is not None and len(set(values)) != len(values):
            values = None  # an explicit order of labels that repeat a number: ranks, not numbers
        return Categories(ordered_labels, values, True)
    numbers = {x: as_number(x) for x in labels}
    if labels and all(v is not None for v in numbers.values()):
        ordered_labels = sorted(labels, key=lambda x: (numbers[x], x))
        distinct: list[str] = []
        aliases: list[tuple[str, int]] = []
        clashes: list[tuple[str, str]] = []
        for label in ordered_labels:
            if distinct and numbers[label] == numbers[distinct[-1]]:
                if numeric:
                    aliases.append((label, len(distinct) - 1))
                    continue
                clashes.append((distinct[-1], label))
            distinct.append(label)
        if clashes:
            return Categories(tuple(sorted(labels)), None, False, clashes=tuple(clashes))
        return Categories(tuple(distinct), tuple(float(numbers[x]) for x in distinct),  # type: ignore[arg-type]
                          True, tuple(aliases))
    return Categories(tuple(sorted(labels)), None, False)


def gwet_kernel(name: str, categories: Categories) -> Kernel:
    """Gwet's q×q agreement weights (1 on the diagonal, 0 = total disagreement), Gwet (2014) §3.2 /
    irrCAC ``weights``, as a :class:`~evalaudit.agreement.kernels.Kernel`. Distances use the numeric label values
    when every label is a number, else ranks 1..q (as irrCAC does for non-numeric categories)."""
    q = categories.q
    if name == "identity":
        return Kernel.from_affine(q, 0.0, 0.0, 1.0)
    if name not in GWET_WEIGHTS:
        raise ValueError(f"unknown weights {name!r}; choose one of {', '.join(GWET_WEIGHTS)}")
    ones = Kernel.from_affine(q, 1.0, 0.0, 0.0)
    if name == "ordinal":  # ranks only, by construction
        wmax = q * (q - 1) / 2.0
        if wmax <= 0:
            return ones

        def ordinal(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            nkl = np.abs(i - j) + 1.0
            return 1 - nkl * (nkl - 1) / 2 / wmax

        return Kernel(q, ordinal)
    x = categories.scores(f"{name} weights")
    span = float(x.max() - x.min()) if q else 0.0
    if q < 2 or span == 0:
        return ones
    if name == "quadratic":
        return Kernel.from_affine(q, 1.0, -1.0 / span**2, 0.0, x)
    if name == "linear":
        return Kernel(q, lambda i, j: 1 - np.abs(x[i] - x[j]) / span)
    if name == "radical":
        return Kernel(q, lambda i, j: 1 - np.sqrt(np.abs(x[i] - x[j])) / np.sqrt(span))
    if name == "ratio":
        if np.any(x == 0):
            raise ValueError("ratio weights are undefined when 0 is a category")
        top = ((x.max() - x.min()) / (x.max() + x.min())) ** 2
        return Kernel(q, lambda i, j: 1 - ((x[i] - x[j]) / (x[i] + x[j])) ** 2 / top)
    if name == "circular":
        u = span + 1

        def circ(i: np.ndarray, j: np.ndarray) -> np.ndarray:
            return np.sin(np.pi * (x[i] - x[j]) / u) ** 2

        wmax = _grid_max(q, circ)
        return Kernel(q, lambda i, j: 1 - circ(i, j) / wmax)

    def bip(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        a, b = x[i], x[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (a - b) ** 2 / ((a + b - 2 * x.min()) * (2 * x.max() - a - b))
        return np.where(i == j, 0.0, w)

    wmax = _grid_max(q, bip)
    return Kernel(q, lambda i, j: 1 - bip(i, j) / wmax)


def _grid_max(q: int, fn: Pair) -> float:
    """The largest finite value of ``fn`` over the q×q grid, in row blocks (no q×q array)."""
    best = -np.inf
    cols = np.arange(q)
    for start in range(0, q, BLOCK):
        rows = np.arange(start, min(q, start + BLOCK))
        block = fn(rows[:, None], cols[None, :])
        block = block[np.isfinite(block)]
        if block.size:
            best = max(best, float(block.max()))
    return best


def gwet_weights(name: str, categories: Categories) -> np.ndarray:
    """Gwet's agreement weights as a dense q×q matrix (:func:`gwet_kernel`)."""
    return gwet_kernel(name, categories).matrix()


def krippendorff_kernel(level: str, categories: Categories) -> Kernel | None:
    """Krippendorff's squared difference ``delta²_ck`` for the nominal, interval and ratio levels
    (Krippendorff 2011, §B). The ordinal metric depends on the value frequencies, so it is None here and
    computed per sample (:mod:`evalaudit.agreement.coefficients`)."""
    q = categories.q
    if level == "nominal":
        return Kernel.from_affine(q, 1.0, 0.0, -1.0)
    if level == "ordinal":
        categories.scores("Krippendorff's ordinal alpha")  # raises when no order is known
        return None
    if level not in ("interval", "ratio"):
        raise ValueError(f"level must be nominal, ordinal, interval or ratio, not {level!r}")
    if categories.values is None:
        if categories.clashes:
            categories.scores(f"the {level} level")
        raise ValueError(f"the {level} level needs numeric labels; these are not numbers: "
                         f"{', '.join(_not_numbers(categories.labels)[:6])}")
    x = np.asarray(categories.values)
    if level == "interval":
        return Kernel.from_affine(q, 0.0, 1.0, 0.0, x)
    if np.any(x < 0):
        raise ValueError(f"the ratio level needs non-negative values; found {x.min():g}")

    def ratio(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        a, b = x[i], x[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = ((a - b) / (a + b)) ** 2
        return np.nan_to_num(d, nan=0.0)  # 0 vs 0 is no difference

    return Kernel(q, ratio)


def krippendorff_metric(level: str, categories: Categories) -> np.ndarray | None:
    """Krippendorff's δ² as a dense q×q matrix (:func:`krippendorff_kernel`); None for the ordinal level."""
    kernel = krippendorff_kernel(level, categories)
    return None if kernel is None else kernel.matrix()


def _not_numbers(labels: Sequence[str]) -> list[str]:
    return [x for x in labels if as_number(x) is None] or list(labels)
