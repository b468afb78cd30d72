"""The items notebook's gold form: which labelers' judgments the audited gold sets aside (the audit's one rule,
:func:`evalaudit.gold.flagged`, at a severity floor the user picks, with labelers added or kept) and the gold
re-derived for that choice (:func:`evalaudit.gold.rederive`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalaudit import gold, pipeline
from evalaudit.config import Config
from evalaudit.notebooks.session import Audit


def gold_defaults(audit: Audit) -> dict[str, Any]:
    """The gold form's values that reproduce the run: severity floor medium, nobody added or kept, the configured
    thresholds."""
    return {"severity": gold.MIN_SEVERITY, "exclude": [], "spare": [],
            "posterior": audit.cfg.items.consensus_min_posterior, "material": audit.cfg.impact.material}


def flagged_labeler_ids(audit: Audit) -> list[str]:
    """Labelers the set-aside rule names at any severity (those a user may choose to keep)."""
    return sorted({lab for lab, _, _ in exclusions(audit, "low")})


def exclusions(audit: Audit, min_severity: str, also: Sequence[str] = (), keep: Sequence[str] = ()
               ) -> list[tuple[str, str | None, Any]]:
    """The (labeler, failure mode | None, since | None) whose judgments the audited gold sets aside: the run's own
    rule (:func:`evalaudit.gold.flagged` — a drift finding sets aside only judgments after its change point) at
    ``min_severity``, plus every judgment of the labelers in ``also``, minus the labelers in ``keep``. At "medium"
    (the run's floor) and nothing added or kept, this is exactly the run's ``flagged_labelers`` table."""
    table = gold.flagged(audit.ctx.findings, [*audit.cfg.labelers.exclude, *also], min_severity, keep)
    return gold.triples(table)


def regold(audit: Audit, excluded: Sequence[tuple[str, str | None] | tuple[str, str | None, Any]] | None,
           cfg: Config | None = None) -> pipeline.Context:
    """The audit's gold re-derived with ``excluded`` as the flagged labelers (see :func:`exclusions`) and optionally
    other settings (:func:`evalaudit.gold.rederive`); the audit's own Context when nothing differs from the run."""
    return gold.rederive(audit.ctx, excluded, cfg, audit.answers)
