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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GWET_WEIGHTS = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Categories:
    """The labels in their order (index = category code) and, when every label is a number, their values."""

    labels: tuple[str, ...]
    #: numeric value of each label, or None when some label is not a number
    values: tuple[float, ...] | None
    #: True when the order was given (``order=``/``[labels] order``) or derived from numeric values
    ordered: bool

    @property
    def q(self) -> int:
        return len(self.labels)

    def index(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def scores(self, what: str) -> np.ndarray:
        """The numbers distances are computed on: the values if numeric, else ranks 1..q of the given
        order."""
        if self.values is not None:
            return np.asarray(self.values, dtype=float)
        if not self.ordered:
            raise ValueError(
                f"{what} needs ordered categories, but the labels ({', '.join(self.labels[:6])}"
                f"{', ...' if self.q > 6 else ''}) are not numbers and no order was given; pass order=[...] "
                "(or set [labels] order)"
            )
        return np.arange(1, self.q + 1, dtype=float)


def build(observed: Sequence[str], declared: Sequence[str] | None = None,
          order: Sequence[str] | None = None) -> Categories:
    """The category set: the observed labels plus any declared ones, ordered by ``order`` when given, else by
    numeric value when every label is a number, else alphabetically (unordered).

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
                             f"({', '.join(order)})")
        ordered_labels = tuple(order)
        numbers = [_as_number(x) for x in ordered_labels]
        values = tuple(float(v) for v in numbers) if all(v is not None for v in numbers) else None
        return Categories(ordered_labels, values, True)
    numbers = {x: _as_number(x) for x in labels}
    if labels and all(v is not None for v in numbers.values()):
        ordered_labels = tuple(sorted(labels, key=lambda x: (numbers[x], x)))
        vals = [numbers[x] for x in ordered_labels]
        if len(set(vals)) != len(vals):
            raise ValueError(f"labels {ordered_labels} name the same number twice (e.g. '1' and '1.0')")
        return Categories(ordered_labels, tuple(float(v) for v in vals), True)  # type: ignore[arg-type]
    return Categories(tuple(sorted(labels)), None, False)


def gwet_weights(name: str, categories: Categories) -> np.ndarray:
    """Gwet's q×q agreement weights (1 on the diagonal, 0 = total disagreement), Gwet (2014) §3.2 /
    irrCAC ``weights``. Distances use the numeric label values when every label is a number, else ranks 1..q
    (as irrCAC does for non-numeric categories)."""
    q = categories.q
    if name == "identity":
        return np.eye(q)
    if name not in GWET_WEIGHTS:
        raise ValueError(f"unknown weights {name!r}; choose one of {', '.join(GWET_WEIGHTS)}")
    if name == "ordinal":  # ranks only, by construction
        k = np.arange(q)
        nkl = np.abs(k[:, None] - k[None, :]) + 1.0
        w = nkl * (nkl - 1) / 2
        return 1 - w / w.max() if w.max() > 0 else np.ones((q, q))
    x = categories.scores(f"{name} weights")
    a, b = x[:, None], x[None, :]
    span = x.max() - x.min() if q else 0.0
    if q < 2 or span == 0:
        return np.ones((q, q))
    if name == "linear":
        return 1 - np.abs(a - b) / span
    if name == "quadratic":
        return 1 - ((a - b) / span) ** 2
    if name == "radical":
        return 1 - np.sqrt(np.abs(a - b)) / np.sqrt(span)
    if name == "ratio":
        if np.any(x == 0):
            raise ValueError("ratio weights are undefined when 0 is a category")
        return 1 - ((a - b) / (a + b)) ** 2 / ((x.max() - x.min()) / (x.max() + x.min())) ** 2
    if name == "circular":
        u = span + 1
        w = np.sin(np.pi * (a - b) / u) ** 2
        return 1 - w / w.max()
    # bipolar
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (a - b) ** 2 / ((a + b - 2 * x.min()) * (2 * x.max() - a - b))
    w = np.where(np.eye(q, dtype=bool), 0.0, w)
    return 1 - w / np.nanmax(w)


def krippendorff_metric(level: str, categories: Categories) -> np.ndarray | None:
    """Krippendorff's squared difference ``delta²_ck`` for the nominal, interval and ratio levels
    (Krippendorff 2011, §B). The ordinal metric depends on the value frequencies, so it is None here and
    built per sample."""
    q = categories.q
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "ordinal":
        categories.scores("Krippendorff's ordinal alpha")  # raises when no order is known
        return None
    if level not in ("interval", "ratio"):
        raise ValueError(f"level must be nominal, ordinal, interval or ratio, not {level!r}")
    if categories.values is None:
        raise ValueError(f"the {level} level needs numeric labels; these are not numbers: "
                         f"{', '.join(categories.labels[:6])}")
    x = np.asarray(categories.values)
    a, b = x[:, None], x[None, :]
    if level == "interval":
        return (a - b) ** 2
    if np.any(x < 0):
        raise ValueError("the ratio level needs non-negative values")
    with np.errstate(divide="ignore", invalid="ignore"):
        d = ((a - b) / (a + b)) ** 2
    return np.nan_to_num(d, nan=0.0)  # 0 vs 0 is no difference
