"""`evalaudit.toml` -> validated settings with defaults (docs/config.md).

Every setting has a default, so a store audits with no config at all. A key the config does not know is an error
naming the key and the file (a typo must not silently fall back to a default). docs/config.md lists every key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
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
class LabelersConfig:
    """[labelers]: labelers to set aside whatever the findings say."""

    #: labeler ids whose judgments the audited gold always sets aside, on every failure mode, as if flagged (a
    #: labeler rotated off for cause, a vendor whose work is under review); their judgments stay in the store
    exclude: list[str] = field(default_factory=list)
    #: how items reach labelers within a failure mode and week: "unknown" (label rates on items nobody else judged
    #: stay weak, "assignment" evidence is capped at low) or "random" (declared random: that evidence joins the
    #: combined test at full strength, after a balance check of each labeler's items; docs/labelers.md)
    assignment: str = "unknown"


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
    #: ... or, for a combined row (one test from all the evidence kinds), q-value below this and the whole
    #: confidence interval beyond ±effect_negligible (the data rule out an effect as small as honest labelers'
    #: differences in accuracy make); the point estimate then needs no floor
    q_medium_combined: float = 0.05
    effect_negligible: float = 0.01
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
    #: directory. 1500MB costs no measurable time at 10M judgments (the items stage asks for its items a part at a
    #: time) and keeps DuckDB's share of a 30M run at the size of a 10M run's: 30M judgments then peak at 1.8 GiB in
    #: the agreement stage instead of 2.7, the labeler-pair self-join spilling (about 8 s of a 100 s run;
    #: benchmarks/RESULTS.md). Empty: DuckDB's own default (80% of RAM) — faster on much larger stores when memory
    #: is plentiful. The environment variable EVALAUDIT_MEMORY_LIMIT, when set, overrides this.
    memory_limit: str = "1500MB"


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
    labelers: LabelersConfig = field(default_factory=LabelersConfig)
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
        """Check every value for type and range; raise one UnusableInput listing every problem found."""
        problems = validation_problems(self)
        if problems:
            raise UnusableInput(_listing(self.source or "the configuration", problems))
        return self


# -- validation ------------------------------------------------------------------------------------------------
# Why by rule and not one check per key: ~90 keys share a handful of meanings (a count, a probability, a q-value,
# a non-negative size), so a key's name says its range; the few exceptions are listed. All problems are collected
# in one pass (like pandera's lazy validation), so a user fixes a config in one edit, not one error at a time.

#: enumerated settings: section.key -> allowed values
CHOICES: dict[str, tuple[str, ...]] = {
    "labels.level": LEVELS, "agreement.window": ("day", "week", "month"), "leniency.strata": ("week", "batch"),
    "labelers.assignment": ("unknown", "random"),
}
#: settings that are dates or times (ISO 8601 text, or a TOML date / date-time)
DATES = ("gold.as_of", "contracts.window_start", "contracts.window_end")
#: counts that must be at least 1 (the others may be 0)
POSITIVE_COUNTS = ("agreement.min_items", "agreement.min_pair_items", "agreement.bootstrap", "leniency.min_items",
                   "leniency.ds_max_iter", "leniency.ds_min_items", "drift.min_judgments", "drift.min_weeks",
                   "spam.min_items", "spam.min_pair_items", "impact.min_items")
#: agreement coefficients and kappas: between -1 and 1
COEFFICIENTS = ("agreement.alpha_min", "spam.kappa_max", "contracts.min_alpha")
#: probabilities that must lie strictly between 0 and 1 (confidence levels) or in (0, 1] (q-value cut-offs)
OPEN_UNIT = ("agreement.confidence", "contracts.shift_confidence")
_SHARE_WORDS = ("share", "rate", "accuracy", "overlap", "posterior")
#: the largest seed numpy's generators take
MAX_SEED = 2**32 - 1
#: below this DuckDB cannot run an audit at all
MIN_MEMORY_BYTES = 64 * 2**20
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> int | None:
    """A size such as '2500MB', '3GB' or '3GiB' in bytes; None when it is not one (DuckDB's grammar)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def memory_problem(text: str, name: str) -> str | None:
    """Why ``text`` is not a usable memory limit (empty = DuckDB's default), else None."""
    if text.strip() == "":
        return None
    n = memory_bytes(text)
    if n is None:
        return f"{name} must be a size such as '2500MB' or '3GB', not {text!r}"
    if n < MIN_MEMORY_BYTES:
        return f"{name} = {text!r} is too small to run an audit (at least {MIN_MEMORY_BYTES // 2**20}MB)"
    return None


def _range_problem(key: str, name: str, value: float) -> str | None:
    """The range a numeric setting must lie in, from its name (see the rules above)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name} must be a finite number, not {value!r}"
    short = key.split(".", 1)[1]
    if key == "run.seed":
        return None if 0 <= value <= MAX_SEED else f"{name} must lie between 0 and {MAX_SEED}, not {value!r}"
    if key in COEFFICIENTS:
        return None if -1 <= value <= 1 else f"{name} must lie between -1 and 1, not {value!r}"
    if key in OPEN_UNIT:
        return None if 0 < value < 1 else f"{name} must lie strictly between 0 and 1, not {value!r}"
    if short.startswith("q_") or short.endswith("_q") or short == "q_max":
        return None if 0 < value <= 1 else f"{name} is a q-value cut-off and must lie in (0, 1], not {value!r}"
    if (any(w in short for w in _SHARE_WORDS) and not short.endswith("_ratio")) or short == "under_ratio":
        return None if 0 <= value <= 1 else f"{name} is a share and must lie between 0 and 1, not {value!r}"
    if key in POSITIVE_COUNTS or short == "ds_tol":
        return None if value > 0 else f"{name} must be greater than 0, not {value!r}"
    return None if value >= 0 else f"{name} must not be negative, not {value!r}"


def _date_value(value: Any) -> str | None:
    """A TOML date / date-time or ISO 8601 text as ISO text; None when it is neither."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return text
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return None
        return text
    return None


def _expected(default: Any, f: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, list):
        return "a list of strings"
    return "a string"


def _check_value(obj: Any, section: str, f: Any, default: Any, problems: list[str]) -> None:
    """Check (and normalise in place: ints to floats, TOML dates to text) one setting; append any problem."""
    key = f"{section}.{f.name}"
    name = f"[{section}] {f.name}"
    value = getattr(obj, f.name)
    if key in DATES:
        if value is None:
            return
        text = _date_value(value)
        if text is None:
            problems.append(f"{name} must be an ISO 8601 date or time such as 2024-06-01, not {value!r}")
        else:
            setattr(obj, f.name, text or None)
        return
    if value is None:
        if default is not None:
            problems.append(f"{name} must be {_expected(default, f)}, not empty")
        return
    if default is None or isinstance(default, str):
        if not isinstance(value, str):
            problems.append(f"{name} must be a string (in quotes), not {value!r}")
            return
    elif isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad = value if not isinstance(value, list) else [v for v in value if not isinstance(v, str)]
            problems.append(f"{name} must be a list of strings (each in quotes), not {bad!r}")
            return
        if len(set(value)) != len(value):
            problems.append(f"{name} lists a value twice")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            problems.append(f"{name} must be true or false, not {value!r}")
            return
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name} must be a whole number, not {value!r}")
            return
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{name} must be a number, not {value!r}")
            return
        value = float(value)
        setattr(obj, f.name, value)
    if key in CHOICES and value not in CHOICES[key]:
        problems.append(f"{name} must be one of {', '.join(CHOICES[key])}, not {value!r}")
    if key == "run.memory_limit":
        problem = memory_problem(value, name)
        if problem:
            problems.append(problem)
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = _range_problem(key, name, value)
        if problem:
            problems.append(problem)


def validation_problems(cfg: Config) -> list[str]:
    """Every problem of ``cfg``'s values, one sentence fragment each, in section order."""
    problems: list[str] = []
    for sf in fields(cfg):
        obj = getattr(cfg, sf.name)
        if not is_dataclass(obj):
            continue
        defaults = type(obj)()
        for f in fields(obj):
            _check_value(obj, sf.name, f, getattr(defaults, f.name), problems)
        # a medium threshold must not be stricter than the high one (q-values excepted: smaller is stricter)
        for f in fields(obj):
            if f.name.endswith("_medium") and not f.name.startswith("q_"):
                high = f.name.removesuffix("_medium") + "_high"
                lo, hi = getattr(obj, f.name), getattr(obj, high, None)
                if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
                    problems.append(f"[{sf.name}] {f.name} ({lo}) must not exceed {high} ({hi})")
    labels = cfg.labels
    if isinstance(labels.order, list) and len(set(labels.order)) != len(labels.order):
        problems.append("[labels] order lists a category twice")
    return problems


def _listing(where: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return f"{where}: {len(problems)} problems: " + "; ".join(problems)


#: environment variables evalaudit reads, and how each is checked
ENVIRONMENT = {
    "EVALAUDIT_THREADS": "a whole number of DuckDB threads, 0 = one per core",
    "EVALAUDIT_MEMORY_LIMIT": "DuckDB's memory cap for `evalaudit run`, e.g. 1500MB; overrides [run] memory_limit",
}


def environment_problems(env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem of evalaudit's environment variables (ENVIRONMENT), checked like config values."""
    env = os.environ if env is None else env
    problems = []
    threads = env.get("EVALAUDIT_THREADS")
    if threads is not None and threads.strip() != "" and (
        not re.fullmatch(r"\s*[0-9]+\s*", threads) or int(threads) > 4096
    ):
        problems.append(f"EVALAUDIT_THREADS must be a whole number from 0 to 4096, not {threads!r}")
    mem = env.get("EVALAUDIT_MEMORY_LIMIT")
    if mem is not None:
        problem = memory_problem(mem, "EVALAUDIT_MEMORY_LIMIT")
        if problem:
            problems.append(problem)
    return problems


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Raise one UnusableInput listing every problem of evalaudit's environment variables."""
    problems = environment_problems(env)
    if problems:
        raise UnusableInput(_listing("environment", problems))


def _build(cls: type, data: dict[str, Any], where: str, section: str, problems: list[str]) -> Any:
    known = {f.name for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            problems.append(f"unknown key {key!r} in [{section}] (known: {', '.join(sorted(known))})")
            continue
        kwargs[key] = value
    return cls(**kwargs)


def load(path: str | Path | None) -> Config:
    """Read and validate `evalaudit.toml` and the environment; None gives the defaults.

    Every problem (unknown sections and keys, wrong types, values out of range, bad environment variables) is
    listed in one UnusableInput."""
    if path is None:
        check_environment()
        return Config().validate()
    path = Path(path)
    where = str(path)
    if path.exists():
        from evalaudit.paths import check_input

        check_input(path, "config file")
        if path.is_dir():
            raise UnusableInput(f"{where}: is a directory, not a config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnusableInput(f"{where}: config file not found") from None
    except UnicodeDecodeError:
        raise UnusableInput(f"{where}: config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise UnusableInput(f"{where}: not valid TOML ({e})") from None
    except RecursionError:
        raise UnusableInput(f"{where}: not valid TOML (nested too deeply)") from None
    except OSError as e:
        raise UnusableInput(f"{where}: config file cannot be read ({(e.strerror or str(e)).lower()})") from None
    sections = {f.name: f for f in fields(Config) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    problems: list[str] = []
    for name, data in raw.items():
        if name not in sections:
            problems.append(f"unknown section [{name}] (known: {', '.join(sections)})")
            continue
        if not isinstance(data, dict):
            problems.append(f"[{name}] must be a table of settings")
            continue
        section_cls = sections[name].default_factory  # type: ignore[misc]
        kwargs[name] = _build(section_cls, data, where, name, problems)
    cfg = Config(**kwargs, source=where)
    problems += validation_problems(cfg) + environment_problems()
    if problems:
        raise UnusableInput(_listing(where, problems))
    return cfg

