"""The label space of a store: which labels exist, how they are measured, and which of them (or which end of the
scale) means "the graded output is acceptable".

Every stage asks this one module instead of reading ``[labels]`` itself, so agreement, leniency, gold, impact and
the report agree on what a label is. The rules (docs/config.md, "Labels"):

- ``space``: ``[labels] level`` decides ordinal / interval / ratio; at the nominal level two labels make a
  ``binary`` space and more make a ``nominal`` one.
- ``positive``: a configured value is used as it is and must be one of the labels (binary / nominal) or
  ``"high"`` / ``"low"`` (ordinal / numeric), else :class:`UnusableInput` naming the labels found. Unset, it is
  inferred only where that is unambiguous: two labels, exactly one of them a conventional acceptable word
  (:data:`ACCEPTABLE_WORDS`). Otherwise it stays ``None`` and the stages measure per label (nominal) or say what
  they could not do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evalaudit.config import Config
from evalaudit.errors import UnusableInput

#: words that, as one of exactly two labels, mark the acceptable one (compared case-insensitively)
ACCEPTABLE_WORDS = ("pass", "passed", "yes", "y", "true", "correct", "accept", "accepted", "good", "safe", "ok",
                    "acceptable", "positive", "valid", "approve", "approved")
#: ``positive`` values that name an end of an ordered scale
SCALE_ENDS = ("high", "low")
#: how many labels ``summary.labels.values`` lists at most
SUMMARY_VALUES = 50


def as_number(text: str | None) -> float | None:
    """The label as a finite number, or None when it is not one (``"-0"``, ``"0"`` and ``"00"`` are all 0.0)."""
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class LabelSpace:
    """What the labels of a store are. ``labels`` are the distinct label strings as stored (observed plus
    ``[labels] values``): in scale order, lowest first, for ordered spaces (``order``, else by number), sorted
    otherwise; ``counts`` the judgments that gave each (0 for a declared label nobody used)."""

    space: str  # "binary" | "nominal" | "ordinal" | "interval" | "ratio"
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    #: the number of each label when every label is one, else None
    numbers: tuple[float, ...] | None
    #: binary / nominal: the acceptable label; ordinal / interval / ratio: "high" or "low"; None when unknown
    positive: str | None
    positive_source: str | None  # "config" | "inferred" | None

    @property
    def ordered(self) -> bool:
        return self.space in ("ordinal", "interval", "ratio")

    @property
    def numeric(self) -> bool:
        return self.space in ("interval", "ratio")

    @property
    def n_values(self) -> int:
        return len(self.labels)

    def summary(self) -> dict[str, Any]:
        """``summary.labels`` of findings.json (docs/outputs.md)."""
        return {"space": self.space, "values": list(self.labels[:SUMMARY_VALUES]), "n_values": self.n_values,
                "positive": self.positive, "positive_source": self.positive_source}

    def describe(self) -> str:
        """One line for a person: the space, how many labels, and the positive label and where it came from."""
        shown = ", ".join(self.labels[:6]) + (", ..." if self.n_values > 6 else "")
        pos = ("no acceptable label known" if self.positive is None
               else f"acceptable = {self.positive!r} ({self.positive_source})")
        return f"{self.space} labels ({self.n_values}: {shown}); {pos}"


def infer_positive(labels: tuple[str, ...]) -> str | None:
    """The acceptable label of a two-label space when exactly one of them is a conventional acceptable word."""
    if len(labels) != 2:
        return None
    hits = [lab for lab in labels if lab.strip().lower() in ACCEPTABLE_WORDS]
    return hits[0] if len(hits) == 1 else None


def build(observed: dict[str, int], cfg: Config) -> LabelSpace:
    """The label space from the observed labels (label -> judgments) and the ``[labels]`` settings."""
    lc = cfg.labels
    where = cfg.source or "the configuration"
    counts = dict(observed)
    for value in lc.values:
        counts.setdefault(str(value), 0)
    level = lc.level
    if level == "ordinal" and lc.order:
        order = [str(o) for o in lc.order]
        labels = tuple(order) + tuple(sorted(set(counts) - set(order)))  # unknown ones: agreement names them
        numbers_list = [as_number(x) for x in labels]
    else:
        numbers_all = {x: as_number(x) for x in counts}
        if counts and all(v is not None for v in numbers_all.values()):
            labels = tuple(sorted(counts, key=lambda x: (numbers_all[x], x)))
        else:
            labels = tuple(sorted(counts))
        numbers_list = [numbers_all[x] for x in labels]
    numbers = tuple(float(v) for v in numbers_list) if labels and all(
        v is not None for v in numbers_list) else None
    space = ("binary" if len(labels) == 2 else "nominal") if level == "nominal" else level
    positive, source = lc.positive, "config" if lc.positive is not None else None
    if positive is not None:
        positive = str(positive)
        allowed = SCALE_ENDS if space in ("ordinal", "interval", "ratio") else labels
        if positive not in allowed:
            found = ", ".join(map(repr, labels[:SUMMARY_VALUES])) + (", ..." if len(labels) > SUMMARY_VALUES else "")
            if space in ("ordinal", "interval", "ratio"):
                raise UnusableInput(f"{where}: [labels] positive = {positive!r} must be \"high\" or \"low\" for "
                                    f"{space} labels (the end of the scale that is better); labels found: {found}")
            raise UnusableInput(f"{where}: [labels] positive = {positive!r} is not among the labels in the store "
                                f"({found})")
    elif space == "binary":
        positive = infer_positive(labels)
        source = "inferred" if positive is not None else None
    return LabelSpace(space=space, labels=labels, counts=tuple(counts[x] for x in labels), numbers=numbers,
                      positive=positive, positive_source=source)


def resolve(engine: Any, cfg: Config) -> LabelSpace:
    """The label space of the store behind ``engine`` (one small query: label -> judgments)."""
    rows = engine.query("agreement_label_values").to_pylist()
    return build({r["label"]: int(r["n_labels"]) for r in rows}, cfg)
