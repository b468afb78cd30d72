"""The [contracts] settings checked before any expectation runs, in a module of its own so that the run's gold-set
stage can check them without importing the batch check (pandas, scipy.stats and Great Expectations' helpers)."""

from __future__ import annotations

from evalaudit.config import Config
from evalaudit.errors import UnusableInput


def validate_config(cfg: Config) -> None:
    """UnusableInput naming the [contracts] key whose value cannot be a bound."""
    c, where = cfg.contracts, cfg.source or "the configuration"
    shares = ("min_overlap", "min_honeypot_accuracy", "max_positive_shift", "gold_max_stale_share",
              "gold_max_labeler_share", "gold_max_single_labeled_share", "max_honeypot_drop")
    for key in shares:
        if not 0 <= getattr(c, key) <= 1:
            raise UnusableInput(f"{where}: [contracts] {key} must lie between 0 and 1, not {getattr(c, key)!r}")
    for key in ("shift_confidence", "history_confidence"):
        if not 0 < getattr(c, key) < 1:
            raise UnusableInput(f"{where}: [contracts] {key} must lie strictly between 0 and 1")
    if c.absolute_floors not in ("without_history", "always"):
        raise UnusableInput(f'{where}: [contracts] absolute_floors must be "without_history" or "always", not '
                            f"{c.absolute_floors!r}")
    for key in ("max_alpha_drop", "max_mean_shift"):
        if getattr(c, key) < 0:
            raise UnusableInput(f"{where}: [contracts] {key} must not be negative, not {getattr(c, key)!r}")
    for key in ("min_honeypot_items", "min_alpha_items", "shift_min_batch", "shift_min_history", "examples",
                "gold_min_items", "alpha_resamples", "history_max_items"):
        if getattr(c, key) < 1:
            raise UnusableInput(f"{where}: [contracts] {key} must be at least 1, not {getattr(c, key)!r}")
    if not -1 <= c.min_alpha <= 1:
        raise UnusableInput(f"{where}: [contracts] min_alpha must lie between -1 and 1, not {c.min_alpha!r}")
