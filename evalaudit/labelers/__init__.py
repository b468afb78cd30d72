"""Labeler forensics: for every labeler × failure mode, whether they pass outputs more (lenient) or less (severe)
often than peers judging comparable items, how sure we are, since when, and how much of the gold rests on them —
plus drift, concentration, spam and collusion. docs/labelers.md explains every method.

Laid out like :mod:`evalaudit.agreement`: :mod:`~evalaudit.labelers.stage` orchestrates the audit stage
(:func:`stage`), :mod:`~evalaudit.labelers.findings` writes its findings, :mod:`~evalaudit.labelers.labeler_stats`
assembles the ``labeler_stats`` table, and one module per method returns arrays and tables (judgments, reference,
overlap, honeypot, assignment, dawid_skene, truth_bias, shift, combine, leniency, severity, drift, concentration,
spam, consensus). Which labelers are flagged is :func:`evalaudit.gold.flagged_labelers` (re-exported here).
"""

from evalaudit.gold import flagged_labelers
from evalaudit.labelers.stage import stage

__all__ = ["flagged_labelers", "stage"]
