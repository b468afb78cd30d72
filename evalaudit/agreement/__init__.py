"""Agreement among labelers: Krippendorff's alpha (all four levels), Fleiss', Cohen's and Conger's kappa,
Gwet's AC1/AC2, Brennan-Prediger and percent agreement - from long-form judgments, per slice, with
item-bootstrap intervals. See docs/agreement.md for formulas, sources and conventions.

Public API (docs/agreement.md)::

    from evalaudit import agreement
    agreement.krippendorff_alpha(data, level="nominal", order=None)
    agreement.fleiss_kappa(data)
    agreement.cohen_kappa(data, a, b, weights=None)
    agreement.gwet_ac1(data); agreement.gwet_ac2(data, weights="quadratic")
    agreement.percent_agreement(data)
    agreement.pairwise_cohen(data, min_items=20)

and the audit stage :func:`stage` (tables ``agreement`` and ``agreement_pairs``, ``low_agreement`` findings).
"""

from evalaudit.agreement.api import (
    brennan_prediger,
    cohen_kappa,
    conger_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    krippendorff_alpha,
    pairwise_cohen,
    percent_agreement,
    weighted_alpha,
)
from evalaudit.agreement.categories import gwet_weights
from evalaudit.agreement.stage import agreement_table, stage

__all__ = [
    "agreement_table",
    "brennan_prediger",
    "cohen_kappa",
    "conger_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac2",
    "gwet_weights",
    "krippendorff_alpha",
    "pairwise_cohen",
    "percent_agreement",
    "stage",
    "weighted_alpha",
]
