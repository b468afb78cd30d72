"""`evalaudit.toml` -> validated settings with defaults (SPEC §3).

Every setting has a default, so a store audits with no config at all. A key the config does not know is an error
naming the key and the file (a typo must not silently fall back to a default). docs/config.md lists every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from evalaudit.errors import UnusableInput

LEVELS = ("nominal", "ordinal", "interval", "ratio")


@dataclass
class LabelsConfig:
    #: the label that means the graded output is acceptable ("lenient" = says it more often than peers); for ordinal
    #: and numeric labels "high" or "low", the better end of the scale; unset = inferred where unambiguous
    #: (evalaudit.labelspace)
    positive: str | None = None
    #: the allowed labels; empty = those already in the store
    values: list[str] = field(default_factory=list)
    #: measurement level of the labels, for agreement coefficients
    level: str = "nominal"
    #: ordinal categories, lowest first (level = "ordinal")
    order: list[str] = field(default_factory=list)


@dataclass
class GoldConfig:
    #: the guideline version in force; gold labeled only under another one is stale
    current_guideline: str | None = None
    #: gold older than this many days is stale (0 = no age limit)
    max_age_days: int = 0
    #: the date ages and labeler activity are judged at, ISO 8601 (unset = the time of the run); set it to make
    #: re-runs reproducible over days
    as_of: str | None = None


@dataclass
class AgreementConfig:
    #: a slice whose alpha interval lies wholly below this is a `low_agreement` finding (Krippendorff 2004: 0.667)
    alpha_min: float = 0.667
    #: bootstrap resamples (items resampled) for confidence intervals
    bootstrap: int = 1000
    #: confidence level of every interval
    confidence: float = 0.95
    #: time window for the `window` scope: "week", "month" or "day"
    window: str = "week"
    #: slices with fewer pairable items (items with >= 2 labels) are reported as too small, not as a number
    min_items: int = 30
    #: labeler pairs need this many shared items to enter the pairwise Cohen matrix
    min_pair_items: int = 20


@dataclass
class LeniencyConfig:
    """[leniency]: labeler leniency / severity tests and their severity rules (docs/labelers.md)."""

    #: a test needs at least this many comparable items (shared, honeypot, single-label or modelled)
    min_items: int = 20
    #: high severity: q-value below this, |effect| at least effect_high and >= gold_items_high gold items affected
    q_high: float = 0.01
    effect_high: float = 0.10
    gold_items_high: int = 50
    #: medium severity: q-value below this and |effect| at least effect_medium
    q_medium: float = 0.01
    effect_medium: float = 0.05
    #: low severity: any other test with q-value below this
    q_low: float = 0.05
    #: strata of the assignment (Cochran–Mantel–Haenszel) comparison: "week" or "batch"
    strata: str = "week"
    #: Dawid–Skene: pseudo-judgments pulling each labeler's confusion matrix toward the failure mode's pool
    ds_prior_strength: float = 4.0
    #: Dawid–Skene: stop when item posteriors move less than this on average, or after ds_max_iter EM steps
    ds_tol: float = 1e-4
    ds_max_iter: int = 50
    #: a failure mode needs this many items with >= 2 labels or a honeypot answer for Dawid–Skene (else majority)
    ds_min_items: int = 20


@dataclass
class DriftConfig:
    """[drift]: change in a labeler's leniency over time (CUSUM change-point test on weekly discordance)."""

    #: a change is a finding when its BH q-value is below this ...
    q_max: float = 0.01
    #: ... and the effect after differs from the effect before by at least this much
    min_change: float = 0.10
    #: labeler × failure modes need this many judgments and weeks to be tested
    min_judgments: int = 50
    min_weeks: int = 4


@dataclass
class ConcentrationConfig:
    """[concentration]: how much of a failure mode's gold rests on one labeler."""

    #: gold weight share (each gold item split equally among its labelers) of a failure mode, or of all gold,
    #: that makes a medium finding ...
    share_medium: float = 0.10
    #: ... and a high one
    share_high: float = 0.25
    #: on a single failure mode the thresholds are these
    fm_share_medium: float = 0.20
    fm_share_high: float = 0.40
    #: ... provided it is also at least this many times the fair share 1 / (labelers on that failure mode)
    fair_share_ratio: float = 3.0
    #: failure modes with fewer gold items are not assessed
    min_gold_items: int = 30


@dataclass
class SpamConfig:
    """[spam]: spam (chance-level agreement, answer patterns, implausible speed) and collusion."""

    #: labelers need this many comparable items (or judgments, for patterns) to be assessed
    min_items: int = 30
    #: chance-level: the upper confidence bound of Cohen's kappa against consensus is below this
    kappa_max: float = 0.2
    #: alternating: the share of consecutive judgments that switch label is at least this
    switch_rate_min: float = 0.9
    #: implausibly fast: median duration below this fraction of the median duration of all judgments
    duration_ratio: float = 0.2
    #: collusion: labeler pairs need this many shared items
    min_pair_items: int = 20
    #: collusion: BH q-value below this and observed disagreements at most this fraction of those expected
    collusion_q: float = 0.001
    collusion_ratio: float = 0.4


@dataclass
class ContractsConfig:
    """[contracts]: what a new labeling batch must satisfy to enter the store (`evalaudit check`, docs/contracts.md),
    and what the gold set must satisfy (gold expectations of `evalaudit run`)."""

    #: batch window start (ISO 8601 date or time, UTC when no zone): judgments labeled earlier violate the
    #: contract; unset = no lower bound
    window_start: str | None = None
    #: batch window end (ISO 8601; a bare date means the end of that day): judgments labeled later violate it;
    #: unset = no upper bound
    window_end: str | None = None
    #: share of the batch's items that at least two labelers of the batch judged must be at least this (0 =
    #: not checked)
    min_overlap: float = 0.0
    #: absolute floor: each labeler's accuracy on the batch's honeypot items (items with a `honeypot_label`) must
    #: be at least this
    min_honeypot_accuracy: float = 0.7
    #: labelers with fewer honeypot judgments in the batch (or, for the relative check, in the history) are
    #: listed but not held to min_honeypot_accuracy or compared with the history
    min_honeypot_items: int = 10
    #: when the absolute floors (min_alpha, min_honeypot_accuracy) apply: "without_history" (default) only when
    #: the store has no history to compare the batch with (a first batch), "always" as well as the relative checks
    absolute_floors: str = "without_history"
    #: absolute floor: Krippendorff's alpha on the batch's items judged by two or more of its labelers must be at
    #: least this (Krippendorff 2004: 0.667)
    min_alpha: float = 0.667
    #: relative check: the batch's alpha may be lower than the history's (same failure modes; the same labelers
    #: where they judged items together before) by at most this, beyond what chance at the batch's size explains
    max_alpha_drop: float = 0.05
    #: relative check: a labeler's honeypot accuracy in the batch may be lower than in their own (or their peers')
    #: history by at most this, beyond chance
    max_honeypot_drop: float = 0.1
    #: confidence of the one-sided tests against the history (agreement and honeypot accuracy)
    history_confidence: float = 0.95
    #: item-bootstrap resamples behind the standard errors of the batch's and the history's alpha
    alpha_resamples: int = 1000
    #: the history's alpha is measured on at most this many of the most recently judged items (its standard error
    #: is already small long before; the cap bounds the cost on large stores)
    history_max_items: int = 20000
    #: ordinal and numeric labels: a labeler's mean label on a failure mode may move from their history by at
    #: most this many of the history's standard deviations, unless the move is within chance (Welch's t-test)
    max_mean_shift: float = 0.5
    #: agreement is checked only when the batch has at least this many items judged by two or more labelers
    min_alpha_items: int = 30
    #: a labeler's positive rate (or, with no acceptable label known, each label's rate) on a failure mode in the
    #: batch may differ from their own history (or, without enough history, their peers') by at most this, unless
    #: the difference is within chance
    max_positive_shift: float = 0.15
    #: confidence of the Newcombe interval that decides whether a shift beyond max_positive_shift is more than
    #: chance
    shift_confidence: float = 0.95
    #: labeler × failure modes with fewer judgments in the batch are not checked for a shift
    shift_min_batch: int = 30
    #: judgments in the store a labeler needs on a failure mode to be compared with their own history (else
    #: with peers)
    shift_min_history: int = 50
    #: failed expectations show this many example rows (row number, values, labeler id)
    examples: int = 20
    #: gold expectation: share of gold items that are stale (labeled only under another guideline, or older
    #: than [gold] max_age_days) at most this
    gold_max_stale_share: float = 0.25
    #: gold expectation: share of a failure mode's gold resting on one labeler (each item's weight split among
    #: its labelers) at most this
    gold_max_labeler_share: float = 0.5
    #: gold expectation: share of gold items judged by a single labeler at most this
    gold_max_single_labeled_share: float = 0.5
    #: failure modes with fewer gold items are not held to gold_max_labeler_share
    gold_min_items: int = 30


@dataclass
class RunConfig:
    #: seed of every resampling, so a re-run on an unchanged store gives the same numbers
    seed: int = 20240601
    #: cap on DuckDB's working memory in `evalaudit run` (hash tables, sorts); beyond it DuckDB spills to a temporary
    #: directory. The default keeps a 10M-judgment audit under 3 GiB at no measurable cost (below about 2400MB
    #: the items stage starts to spill and slows by a third; benchmarks/RESULTS.md). Empty: DuckDB's own default
    #: (80% of RAM) — faster on much larger stores when memory is plentiful. The environment variable
    #: EVALAUDIT_MEMORY_LIMIT, when set, overrides this.
    memory_limit: str = "2500MB"


@dataclass
class ItemsConfig:
    #: gold contradicts the consensus when the Dawid–Skene posterior of the other label is at least this
    consensus_min_posterior: float = 0.9
    #: poisoned_items severity: share of a failure mode's gold items poisoned (medium, high) ...
    poisoned_share_medium: float = 0.02
    poisoned_share_high: float = 0.05
    #: ... and at least this many poisoned items (medium, high); fewer gives a low finding
    poisoned_n_medium: int = 20
    poisoned_n_high: int = 50
    #: stale_items severity: share of all gold items stale for one reason (medium, high)
    stale_share_medium: float = 0.03
    stale_share_high: float = 0.10
    #: a stale reason needs at least this many items to be a finding
    stale_min_items: int = 10


@dataclass
class CoverageConfig:
    #: population stability index of the failure-mode mix, eval set vs production: medium and high (Siddiqi 2006)
    psi_medium: float = 0.1
    psi_high: float = 0.25
    #: a failure mode is under-covered when its eval share is below this fraction of its production share ...
    under_ratio: float = 0.5
    #: ... it holds at least this share of production ...
    min_production_share: float = 0.01
    #: ... and the difference is significant (BH q-value over failure modes below this)
    q_max: float = 0.05


@dataclass
class ImpactConfig:
    #: eval_score_inflation when |score_current - score_audited| is at least this (medium) or high, CI excluding 0
    material: float = 0.02
    high: float = 0.05
    #: failure modes need this many audited items for a finding
    min_items: int = 30


@dataclass
class Config:
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    agreement: AgreementConfig = field(default_factory=AgreementConfig)
    run: RunConfig = field(default_factory=RunConfig)
    leniency: LeniencyConfig = field(default_factory=LeniencyConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    concentration: ConcentrationConfig = field(default_factory=ConcentrationConfig)
    spam: SpamConfig = field(default_factory=SpamConfig)
    contracts: ContractsConfig = field(default_factory=ContractsConfig)
    items: ItemsConfig = field(default_factory=ItemsConfig)
    coverage: CoverageConfig = field(default_factory=CoverageConfig)
    impact: ImpactConfig = field(default_factory=ImpactConfig)
    #: where the settings came from (None = defaults)
    source: str | None = None

    def validate(self) -> Config:
        where = self.source or "the configuration"
        if self.labels.level not in LEVELS:
            raise UnusableInput(f"{where}: [labels] level must be one of {', '.join(LEVELS)}, "
                                f"not {self.labels.level!r}")
        if self.labels.level == "ordinal" and self.labels.order and len(set(self.labels.order)) != len(
            self.labels.order
        ):
            raise UnusableInput(f"{where}: [labels] order lists a category twice")
        if not 0 < self.agreement.confidence < 1:
            raise UnusableInput(f"{where}: [agreement] confidence must lie between 0 and 1")
        if self.agreement.window not in ("day", "week", "month"):
            raise UnusableInput(f"{where}: [agreement] window must be day, week or month")
        if self.leniency.strata not in ("week", "batch"):
            raise UnusableInput(f"{where}: [leniency] strata must be week or batch")
        return self


def _build(cls: type, data: dict[str, Any], where: str, section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known or key == "source":
            raise UnusableInput(f"{where}: unknown key {key!r} in [{section}] (known: {', '.join(known)})")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:  # pragma: no cover - dataclass kwargs already checked
        raise UnusableInput(f"{where}: [{section}] {e}") from None


def _check_types(obj: Any, where: str, section: str) -> None:
    defaults = type(obj)()
    for f in fields(obj):
        value, default = getattr(obj, f.name), getattr(defaults, f.name)
        if default is None or value is None:
            continue
        expected = type(default)
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if isinstance(value, bool) and expected is not bool:
            ok = False
        if not ok:
            raise UnusableInput(
                f"{where}: [{section}] {f.name} must be a {expected.__name__}, not {value!r}"
            )
        if isinstance(default, float) and isinstance(value, int):
            setattr(obj, f.name, float(value))


def load(path: str | Path | None) -> Config:
    """Read and validate `evalaudit.toml`; None gives the defaults."""
    if path is None:
        return Config().validate()
    path = Path(path)
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnusableInput(f"{where}: config file not found") from None
    except UnicodeDecodeError:
        raise UnusableInput(f"{where}: config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise UnusableInput(f"{where}: not valid TOML ({e})") from None
    sections = {f.name: f for f in fields(Config) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for name, data in raw.items():
        if name not in sections:
            raise UnusableInput(f"{where}: unknown section [{name}] (known: {', '.join(sections)})")
        if not isinstance(data, dict):
            raise UnusableInput(f"{where}: [{name}] must be a table of settings")
        section_cls = sections[name].default_factory  # type: ignore[misc]
        obj = _build(section_cls, data, where, name)
        _check_types(obj, where, name)
        kwargs[name] = obj
    return Config(**kwargs, source=where).validate()

