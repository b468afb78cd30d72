"""The synthetic demo history with planted faults (`evalaudit demo`; docs/demo.md).

``generate(seed, n_judgments)`` returns the five canonical tables (user columns only) and ``truth``, the list
of faults planted in them in the shape of ``truth.json`` (docs/demo.md). It is a pure function: no file is written
and the wall clock is never read, so the same seed gives identical tables on every machine.

Why a generative model and not a replayed real history: the demo is the test bed on which every detector must
find every planted fault and flag no honest labeler, so each piece of the model is explicit and documented
here and in docs/demo.md. Honest labelers follow the two-coin model of Dawid & Skene (1979, "Maximum
likelihood estimation of observer error-rates using the EM algorithm", *Applied Statistics* 28(1), §2): each
labeler has a sensitivity P(pass | true pass) and a specificity P(fail | true fail), judgments are independent
given the item's latent true label, and assignment is random within a (week, failure mode) cell, so the pass
rates of labelers on the same slice and weeks are directly comparable. Honest labelers draw both rates from
U(0.95, 0.98): no honest labeler differs from its peers by more than a few points on any failure mode. Each
planted fault is one explicit departure from that model (see ``Plan``).

Everything is vectorised numpy; Python loops run over weeks, days, labelers or model versions, never over
judgments (benchmarks/bench_demo.py measures 1M judgments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats

from evalaudit import schema
from evalaudit.config import AgreementConfig

#: The history ends at this fixed instant (never the wall clock, so output is deterministic per seed).
END = datetime(2026, 10, 31, tzinfo=UTC)
N_WEEKS = 52
#: The history starts exactly 52 weeks before END (2025-11-01T00:00Z).
START = END - timedelta(weeks=N_WEEKS)
HISTORY_DAYS = 7 * N_WEEKS
_US_PER_DAY = 86_400_000_000
_START_US = int(START.timestamp()) * 1_000_000


def _day(d: date) -> float:
    """Days from START to midnight UTC of ``d``."""
    return float((datetime(d.year, d.month, d.day, tzinfo=UTC) - START).days)


@dataclass(frozen=True)
class FailureMode:
    name: str
    #: share of the evaluated outputs in this slice that truly pass
    pass_rate: float
    #: share of eval items in this slice
    eval_share: float
    #: share of production traffic in this slice (differs from eval_share only where coverage drift is
    #: planted)
    production_share: float


#: Twelve failure modes an LLM-eval team would grade. Production over-represents tool_use, retrieval_grounding
#: and, above all, multilingual (which the eval set nearly lacks): the planted coverage drift.
FAILURE_MODES: tuple[FailureMode, ...] = (
    FailureMode("hallucination", 0.62, 0.12, 0.10),
    FailureMode("refusal", 0.78, 0.10, 0.07),
    FailureMode("tool_use", 0.80, 0.07, 0.21),
    FailureMode("math_reasoning", 0.76, 0.10, 0.05),
    FailureMode("code_correctness", 0.68, 0.11, 0.07),
    FailureMode("safety_jailbreak", 0.97, 0.09, 0.04),
    FailureMode("summarization_faithfulness", 0.82, 0.09, 0.06),
    FailureMode("instruction_following", 0.95, 0.09, 0.06),
    FailureMode("multi_turn_coherence", 0.80, 0.06, 0.03),
    FailureMode("retrieval_grounding", 0.79, 0.06, 0.15),
    FailureMode("format_compliance", 0.96, 0.106, 0.04),
    FailureMode("multilingual", 0.81, 0.004, 0.12),
)
MODE_NAMES = tuple(m.name for m in FAILURE_MODES)
#: Vendors and how many labelers each supplies (48 in all).
VENDORS: tuple[tuple[str, int], ...] = (("acme", 14), ("northwind", 14), ("crowdly", 14), ("labelhaus", 6))
#: Guideline versions and the day (from START) each came into force; the last is the current one.
GUIDELINES: tuple[tuple[str, float], ...] = (("v1", 0.0), ("v2", 14.0), ("v3", 35.0))
#: The evaluated model versions, one release every two months, oldest first; each predicts every gold item.
MODEL_VERSIONS = ("m-2025.12", "m-2026.02", "m-2026.04", "m-2026.06", "m-2026.08", "m-2026.10")
POSITIVE, NEGATIVE = "pass", "fail"
#: Bounds of ``n_judgments``: below, the planted faults have too few judgments to exist; above, memory runs out.
MIN_JUDGMENTS, MAX_JUDGMENTS = 1_000, 10_000_000


@dataclass(frozen=True)
class Plan:
    """Every knob of the generative model, with the planted faults' sizes. Defaults are the demo's."""

    # -- items and assignment -------------------------------------------------------------------------------
    #: share of items that are honeypots (controls with a known answer), each graded by 5..10 labelers over
    #: time
    honeypot_share: float = 0.03
    honeypot_labels: tuple[int, int] = (5, 10)
    #: regular items sent to one or two extra labelers in the same batch (partial overlap)
    overlap_one: float = 0.09
    overlap_two: float = 0.04
    #: when v3 came in, items labeled only under v1/v2 were re-sent for one v3 judgment — except this share,
    #: which the campaign missed (the planted superseded-guideline stale items)
    campaign_missed: float = 0.12
    campaign_days: tuple[float, float] = (35.0, 77.0)
    #: honest labelers' sensitivity and specificity are drawn from this range (Dawid & Skene two-coin model)
    honest_accuracy: tuple[float, float] = (0.95, 0.98)
    #: median seconds per judgment of honest labelers, drawn per labeler; log-normal spread around it
    honest_median_s: tuple[float, float] = (30.0, 90.0)
    duration_sigma: float = 0.35

    # -- the seed story: concentrated, lenient, long gone ---------------------------------------------------
    seed_mode: str = "hallucination"
    #: target share of all judgments made by the seed-story labeler
    seed_share: float = 0.11
    #: share of the seed mode's judgments the seed labeler takes while active: it *was* the hallucination
    #: workstream, so over the year about 40% of that mode's gold rests on it
    seed_mode_take: float = 0.85
    #: P(pass | true fail) of the seed labeler on the seed mode (honest: 1 - specificity, 0.02-0.05)
    lenient_pass_given_fail: float = 0.45
    #: the seed labeler's engagement in weeks of the history: it joined 2025-11-15 and rotated off at the end of
    #: week 29 (2026-05-30, five months before END). It did first-pass grading only (and, blind, the honeypots
    #: mixed into that queue): second opinions and the v3 campaign went to others, so most of its items rest on
    #: its judgment alone
    seed_first_week: int = 2
    seed_last_week: int = 29

    # -- drift: a labeler who turns lenient part-way through ------------------------------------------------
    drift_mode: str = "code_correctness"
    drift_since: date = date(2026, 5, 1)
    drift_pass_given_fail: float = 0.6
    drift_capacity: float = 1.8

    # -- spam: random answers, too fast ---------------------------------------------------------------------
    spam_first_week: int = 34
    spam_capacity: float = 1.8
    spam_seconds: tuple[float, float] = (2.0, 6.0)

    # -- turnover: whose labelers have left -----------------------------------------------------------------
    #: the smallest vendor's contract ended at the end of this week; all its labelers left then
    ended_vendor: str = "labelhaus"
    ended_vendor_last_week: int = 16
    #: honest labelers who joined part-way through (week they started)
    late_joiner_weeks: tuple[int, ...] = (12, 24, 36)

    # -- an LLM judge beside the people (labelers.kind = model) ------------------------------------------------
    #: the judge's name; each version is a labeler ``name@version`` of vendor ``name``. The team runs the judge on
    #: the items people double-label (its calibration set), from ``judge_first_week`` on: a later start than the
    #: seed labeler's last week, so no item the seed-story labeler judged is ever judged by the judge
    judge_name: str = "llm-judge"
    #: (version, first week in use); a version is retired when the next one comes in
    judge_versions: tuple[tuple[str, int], ...] = (("2026-05", 30), ("2026-08", 41))
    judge_first_week: int = 30
    #: the newer version passes true fails of this failure mode with this probability (the planted judge
    #: leniency); otherwise, and always for the older version, the judge follows the honest two-coin model
    judge_lenient_version: str = "2026-08"
    judge_mode: str = "refusal"
    judge_pass_given_fail: float = 0.4

    # -- production -----------------------------------------------------------------------------------------
    production_rows: int = 30_000
    production_days: float = 90.0

    # -- predictions: how each model version answers --------------------------------------------------------
    #: on the seed mode, (value at the first release, change per release) of P(pred pass | true pass),
    #: P(pred pass | true fail, gold fail) and P(pred pass | true fail, gold pass). The last rises from a coin
    #: flip to 0.98: the team tuned each release against today's gold, so the model learned to pass exactly the
    #: failures the lenient labeler passed. Each release moves the score by about +0.6 points against gold and
    #: -0.6 against truth.
    seed_model: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (0.90, 0.01),
        (0.12, 0.02),
        (0.50, 0.096),
    )
    #: elsewhere: sensitivity drawn per mode in this range, improving by +0.01 per version; P(pass | fail)
    #: falls
    other_model_sensitivity: tuple[float, float] = (0.86, 0.92)
    other_model_false_pass: tuple[float, float] = (0.10, 0.20)


@dataclass
class DemoData:
    """The generated tables (canonical user columns and types) and the planted faults (truth.json, docs/demo.md)."""

    tables: dict[str, pa.Table]
    truth: dict[str, Any] = field(default_factory=dict)
    #: the latent true label of every item (``item_id``, ``true_label``): never written to a store, only for
    #: tests and benchmarks of the detectors (what gold *should* be)
    true_labels: pa.Table | None = None


def user_schema(table: schema.Table) -> pa.Schema:
    """The canonical schema of ``table`` restricted to its user columns (what a user hands to ingest)."""
    return pa.schema([table.arrow_schema.field(c) for c in table.user_columns])


# ------------------------------------------------------------------------------------------------------------
# Roster: vendors, labelers, their accuracy, speed and active periods
# ------------------------------------------------------------------------------------------------------------
@dataclass
class _Roster:
    ids: list[str]
    vendor: np.ndarray  # int, index into VENDORS
    capacity: np.ndarray  # relative share of work while active
    sensitivity: np.ndarray  # P(pass | true pass)
    specificity: np.ndarray  # P(fail | true fail)
    median_s: np.ndarray
    from_day: np.ndarray  # active_from, days from START (negative = before the history)
    to_day: np.ndarray  # active_to, days from START; nan = still active
    seed: int
    drift: int
    spam: int

    def active_weeks(self) -> np.ndarray:
        """bool[N_WEEKS, L]: labeler available for the whole of week w."""
        starts = 7.0 * np.arange(N_WEEKS)[:, None]
        to = np.where(np.isnan(self.to_day), np.inf, self.to_day)[None, :]
        return (self.from_day[None, :] <= starts) & (to >= starts + 7.0)


def _roster(rng: np.random.Generator, plan: Plan) -> _Roster:
    """48 labelers in four vendors; the seed-story, drift and spam labelers are drawn from acme, northwind and
    crowdly; the ended vendor's labelers all leave together; a few honest labelers join part-way."""
    sizes = [n for _, n in VENDORS]
    vendor = np.repeat(np.arange(len(VENDORS)), sizes)
    n = len(vendor)
    ids: list[str] = []
    for name, size in VENDORS:
        nums = np.sort(rng.choice(np.arange(1, 200), size=size, replace=False))
        ids += [f"{name}-{k:03d}" for k in nums]
    lo, hi = plan.honest_accuracy
    capacity = rng.lognormal(0.0, 0.25, n)
    sensitivity = rng.uniform(lo, hi, n)
    specificity = rng.uniform(lo, hi, n)
    median_s = rng.uniform(*plan.honest_median_s, n)
    from_day = -np.floor(rng.uniform(30.0, 400.0, n))
    to_day = np.full(n, np.nan)

    names = [name for name, _ in VENDORS]
    seed = int(rng.choice(np.flatnonzero(vendor == names.index("acme"))))
    drift = int(rng.choice(np.flatnonzero(vendor == names.index("northwind"))))
    spam = int(rng.choice(np.flatnonzero(vendor == names.index("crowdly"))))
    ended = vendor == names.index(plan.ended_vendor)
    to_day[ended] = 7.0 * (plan.ended_vendor_last_week + 1)

    from_day[seed] = 7.0 * plan.seed_first_week
    to_day[seed] = 7.0 * (plan.seed_last_week + 1)
    capacity[drift] = plan.drift_capacity
    capacity[spam] = plan.spam_capacity
    from_day[spam] = 7.0 * plan.spam_first_week
    honest_stayers = np.flatnonzero(~ended & ~np.isin(np.arange(n), [seed, drift, spam]))
    late = rng.choice(honest_stayers, size=len(plan.late_joiner_weeks), replace=False)
    from_day[late] = 7.0 * np.asarray(plan.late_joiner_weeks, dtype=float)
    return _Roster(
        ids, vendor, capacity, sensitivity, specificity, median_s, from_day, to_day, seed, drift, spam
    )


# ------------------------------------------------------------------------------------------------------------
# Assignment: who grades a judgment made in week w on failure mode m
# ------------------------------------------------------------------------------------------------------------
class _Assigner:
    """Draws a labeler for each judgment from the labelers active that week, in proportion to their capacity.

    The seed-story labeler takes a fixed share of each (week, mode) cell while active:
    ``plan.seed_mode_take`` of the seed mode, and on the other modes the share that brings its total to
    ``seed_share`` of all ``n_total`` judgments, solved from the counts of the judgments it may take (first
    passes and honeypots, ``seed_cells``). All cells' cumulative weights are laid end to end, row r offset by
    r, so one ``np.searchsorted`` draws every judgment at once.
    """

    def __init__(
        self, roster: _Roster, plan: Plan, seed_cells: np.ndarray, n_total: int, seed_share: float
    ) -> None:
        active = roster.active_weeks()  # [W, L]
        n_modes = len(FAILURE_MODES)
        weights = np.repeat((active * roster.capacity[None, :])[:, None, :], n_modes, axis=1)  # [W, M, L]
        weights[:, :, roster.seed] = 0.0
        others = weights.sum(axis=2)  # [W, M]
        seed_weeks = active[:, roster.seed]
        seed_mode = MODE_NAMES.index(plan.seed_mode)
        counts = seed_cells.reshape(N_WEEKS, n_modes)
        on_mode = counts[seed_weeks, seed_mode].sum()
        off_mode = counts[seed_weeks].sum() - on_mode
        take_other = (seed_share * n_total - plan.seed_mode_take * on_mode) / max(off_mode, 1)
        take = np.full(n_modes, float(np.clip(take_other, 0.0, 0.9)))
        take[seed_mode] = plan.seed_mode_take
        self.n_labelers = weights.shape[2]
        self.n_modes = n_modes
        offsets = np.arange(N_WEEKS * n_modes).reshape(N_WEEKS, n_modes)[:, :, None]
        cum = np.cumsum(weights, axis=2)
        self.flat_without_seed = (cum / cum[:, :, -1:] + offsets).ravel()
        weights[:, :, roster.seed] = seed_weeks[:, None] * (take / (1.0 - take))[None, :] * others
        cum = np.cumsum(weights, axis=2)
        self.flat_with_seed = (cum / cum[:, :, -1:] + offsets).ravel()

    def draw(
        self, rng: np.random.Generator, week: np.ndarray, mode: np.ndarray, seed_ok: np.ndarray
    ) -> np.ndarray:
        """A labeler per judgment; the seed labeler only where ``seed_ok``."""
        row = week * self.n_modes + mode
        x = row + rng.random(len(row)) * (1.0 - 1e-9)  # strictly below row + 1 in floating point
        idx = np.where(
            seed_ok,
            np.searchsorted(self.flat_with_seed, x, side="right"),
            np.searchsorted(self.flat_without_seed, x, side="right"),
        )
        return np.clip(idx - row * self.n_labelers, 0, self.n_labelers - 1)


def _duplicates(item: np.ndarray, labeler: np.ndarray, kind: np.ndarray, n_labelers: int) -> np.ndarray:
    """Mask of judgments repeating an (item, labeler) pair; the lowest ``kind`` (a first judgment) is kept."""
    key = item.astype(np.int64) * n_labelers + labeler
    order = np.lexsort((kind, key))
    ks = key[order]
    mask = np.zeros(len(key), dtype=bool)
    mask[order[1:][ks[1:] == ks[:-1]]] = True
    return mask


def _assign(
    rng: np.random.Generator,
    assigner: _Assigner,
    item: np.ndarray,
    week: np.ndarray,
    mode: np.ndarray,
    kind: np.ndarray,
    seed_ok: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Labeler of every judgment, and the mask of judgments kept: a labeler grades an item at most once, so
    repeats are redrawn — among everyone but the seed labeler after five rounds, since on its own mode it takes
    most draws — and any left after 50 rounds are dropped (first judgments never are). Only the items that had a
    repeat are re-checked."""
    lab = assigner.draw(rng, week, mode, seed_ok)
    dup = _duplicates(item, lab, kind, assigner.n_labelers)
    for round_ in range(50):
        if not dup.any():
            break
        lab[dup] = assigner.draw(rng, week[dup], mode[dup], seed_ok[dup] & (round_ < 5))
        sub = np.flatnonzero(np.isin(item, item[dup]))
        dup = np.zeros(len(item), dtype=bool)
        dup[sub[_duplicates(item[sub], lab[sub], kind[sub], assigner.n_labelers)]] = True
    return lab, ~dup


# ------------------------------------------------------------------------------------------------------------
# Small helpers: ids, timestamps, batches
# ------------------------------------------------------------------------------------------------------------
def _ts(days: np.ndarray) -> pa.Array:
    """Days from START (float; nan = null) -> timestamp[us, tz=UTC]."""
    days = np.asarray(days, dtype=float)
    us = _START_US + np.round(np.nan_to_num(days) * _US_PER_DAY).astype(np.int64)
    return pa.array(us, type=schema.TIMESTAMP, mask=np.isnan(days))


def _digits(n_items: int) -> int:
    """Width of the number in an item id: 7 digits, more when there are more items."""
    return max(7, len(str(n_items)))


def _item_ids(n: int) -> pa.Array:
    """'item-0000001' ... for items 0..n-1, built straight into an Arrow string buffer (all ids have one
    length, so the offsets are a multiple of it): formatting 700k ids in Python would dominate the run."""
    prefix = np.frombuffer(b"item-", dtype=np.uint8)
    digits = _digits(n)
    width = len(prefix) + digits
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, : len(prefix)] = prefix
    num = np.arange(1, n + 1, dtype=np.int64)
    for k in range(digits):
        chars[:, width - 1 - k] = ord("0") + (num // 10**k) % 10
    offsets = np.arange(n + 1, dtype=np.int64) * width
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(chars.tobytes())]
    )


def _item_id_list(index: np.ndarray, n_items: int) -> list[str]:
    """The ids of the items at ``index`` (as ``_item_ids``), for truth.json."""
    digits = _digits(n_items)
    return [f"item-{i + 1:0{digits}d}" for i in index.tolist()]


def _batch_names() -> list[str]:
    """ISO year-week of every day of the history, e.g. '2026-W14'."""
    out = []
    for d in range(HISTORY_DAYS):
        y, w, _ = (START + timedelta(days=d)).isocalendar()
        out.append(f"{y}-W{w:02d}")
    return out


def _iso(day: float) -> str:
    return (START + timedelta(days=day)).date().isoformat()


# ------------------------------------------------------------------------------------------------------------
# The generator, step by step
# ------------------------------------------------------------------------------------------------------------
@dataclass
class _Items:
    """Per item (index = item number - 1, in creation order)."""

    honeypot: np.ndarray  # bool
    mode: np.ndarray  # int, index into FAILURE_MODES
    truth: np.ndarray  # bool, latent true label: True = pass
    created: np.ndarray  # days from START


@dataclass
class _Judgments:
    """Per judgment, sorted by time."""

    item: np.ndarray
    t: np.ndarray  # days from START
    kind: np.ndarray  # 0 first pass, 1 overlap, 2 v3 campaign, 3 honeypot
    labeler: np.ndarray
    said_pass: np.ndarray
    duration_s: np.ndarray
    guideline: np.ndarray  # index into GUIDELINES

    def __getitem__(self, sel: np.ndarray) -> _Judgments:
        return _Judgments(**{k: v[sel] for k, v in vars(self).items()})


def _draw_items(rng: np.random.Generator, plan: Plan, n_judgments: int) -> _Items:
    """Items: failure mode from the eval mix, true label from the mode's pass rate, creation time uniform over
    the year (honeypots early enough to be graded several times). The item count is the judgment target over
    the expected judgments per item (people's: the LLM judge's come on top, see ``generate``)."""
    hp_lo, hp_hi = plan.honeypot_labels
    pre_v3 = (GUIDELINES[-1][1] - 3.0) / (HISTORY_DAYS - 7.0)
    per_regular = 1.0 + plan.overlap_one + 2 * plan.overlap_two + pre_v3 * (1.0 - plan.campaign_missed)
    per_item = (1 - plan.honeypot_share) * per_regular + plan.honeypot_share * (hp_lo + hp_hi) / 2
    n_items = round(n_judgments / per_item)
    eval_p = np.array([m.eval_share for m in FAILURE_MODES])
    honeypot = rng.random(n_items) < plan.honeypot_share
    mode = rng.choice(len(FAILURE_MODES), size=n_items, p=eval_p / eval_p.sum())
    truth = rng.random(n_items) < np.array([m.pass_rate for m in FAILURE_MODES])[mode]
    created = np.where(
        honeypot,
        rng.uniform(0.0, HISTORY_DAYS - 64.0, n_items),
        rng.uniform(0.0, HISTORY_DAYS - 7.0, n_items),
    )
    order = np.argsort(created, kind="stable")  # item ids follow creation order
    return _Items(honeypot[order], mode[order], truth[order], created[order])


def _schedule(rng: np.random.Generator, plan: Plan, items: _Items) -> tuple[np.ndarray, ...]:
    """(item, time, kind) of every judgment, before anyone is assigned to it.

    kind 0: the first pass of a regular item, 0.1-6 days after creation (gold is taken from it);
    kind 1: partial overlap, one or two second opinions within 3 days;
    kind 2: the v3 re-labeling campaign, one judgment on each item whose judgments all predate v3, except
    ``plan.campaign_missed`` of them; kind 3: honeypots, 5-10 judgments at random times after creation.
    """
    regular = np.flatnonzero(~items.honeypot)
    first_t = items.created[regular] + rng.uniform(0.1, 6.0, len(regular))
    u = rng.random(len(regular))
    extra = (u < plan.overlap_one).astype(np.int64) + 2 * (u >= 1.0 - plan.overlap_two)
    ov_item = np.repeat(regular, extra)
    ov_t = np.minimum(np.repeat(first_t, extra) + rng.uniform(0.0, 3.0, len(ov_item)), HISTORY_DAYS - 1e-3)
    last_t = first_t.copy()
    np.maximum.at(last_t, np.searchsorted(regular, ov_item), ov_t)
    resent = (last_t < GUIDELINES[-1][1]) & (rng.random(len(regular)) >= plan.campaign_missed)
    cp_item = regular[resent]
    cp_t = rng.uniform(*plan.campaign_days, len(cp_item))
    hp = np.flatnonzero(items.honeypot)
    k = rng.integers(plan.honeypot_labels[0], plan.honeypot_labels[1] + 1, len(hp))
    hp_item = np.repeat(hp, k)
    hp_t = rng.uniform(np.repeat(items.created[hp], k), HISTORY_DAYS - 1e-3)
    parts = (regular, ov_item, cp_item, hp_item)
    item = np.concatenate(parts)
    t = np.concatenate([first_t, ov_t, cp_t, hp_t])
    kind = np.concatenate([np.full(len(a), c, dtype=np.int8) for c, a in enumerate(parts)])
    return item, t, kind


def _judge(
    rng: np.random.Generator, plan: Plan, roster: _Roster, items: _Items, item: np.ndarray, t: np.ndarray,
    kind: np.ndarray,
) -> _Judgments:  # fmt: skip
    """Assign a labeler to every judgment, then draw its label and duration.

    Labels follow the two-coin model (P(pass) = sensitivity on a true pass, 1 - specificity on a true fail)
    except the planted departures: the seed labeler on its mode and the drift labeler on its mode after
    ``since`` pass true fails with the planted probability; the spammer says pass with probability 1/2
    whatever the item, in a few seconds."""
    n_modes = len(FAILURE_MODES)
    mode = items.mode[item]
    week = np.minimum((t // 7).astype(np.int64), N_WEEKS - 1)
    seed_ok = (kind == 0) | (kind == 3)  # the seed labeler did first passes (and met honeypots) only
    cells = np.bincount((week * n_modes + mode)[seed_ok], minlength=N_WEEKS * n_modes)
    # Two passes: the first shows how many of the seed labeler's draws the no-repeat rule moves to others
    # (on honeypots); the second aims that much higher, so the realised share lands on plan.seed_share.
    target = plan.seed_share
    for _ in range(2):
        assigner = _Assigner(roster, plan, cells, len(item), target)
        lab, keep = _assign(rng, assigner, item, week, mode, kind, seed_ok)
        target *= plan.seed_share / max(float((lab[keep] == roster.seed).mean()), 1e-6)
    item, t, kind, mode, lab = item[keep], t[keep], kind[keep], mode[keep], lab[keep]

    truth = items.truth[item]
    p_pass = np.where(truth, roster.sensitivity[lab], 1.0 - roster.specificity[lab])
    lenient = (lab == roster.seed) & (mode == MODE_NAMES.index(plan.seed_mode)) & ~truth
    p_pass[lenient] = plan.lenient_pass_given_fail
    drift_mode = MODE_NAMES.index(plan.drift_mode)
    drifted = (lab == roster.drift) & (mode == drift_mode) & (t >= _day(plan.drift_since)) & ~truth
    p_pass[drifted] = plan.drift_pass_given_fail
    spam = lab == roster.spam
    p_pass[spam] = 0.5
    said_pass = rng.random(len(item)) < p_pass
    duration = rng.lognormal(np.log(roster.median_s[lab]), plan.duration_sigma)
    duration[spam] = rng.uniform(*plan.spam_seconds, int(spam.sum()))
    guideline = np.searchsorted([g[1] for g in GUIDELINES], t, side="right") - 1
    return _Judgments(item, t, kind, lab, said_pass, np.round(duration, 1), guideline)[
        np.argsort(t, kind="stable")
    ]


def generate(seed: int = 0, n_judgments: int = 200_000, plan: Plan | None = None) -> DemoData:
    """A year of synthetic labeling history with planted faults, deterministic per ``seed``.

    ``n_judgments`` is the target number of the people's judgments; the result lies within a few percent of it
    (the number of items is drawn from the expected judgments per item, and the rare repeat assignment that cannot
    be redrawn is dropped). The LLM judge's judgments (about 3.5% more) come on top, from a generator of their own,
    so the people's history is the same as without the judge. Returns the tables ``labels``, ``items``,
    ``labelers``, ``predictions`` and ``production`` with exactly the canonical user columns and types,
    ``truth = {"planted": [...]}`` as docs/demo.md, and the items' latent true labels. ``plan`` overrides the
    generative model's knobs (tests use it; the CLI does not).
    """
    plan = plan or Plan()
    if not MIN_JUDGMENTS <= n_judgments <= MAX_JUDGMENTS:
        raise ValueError(
            f"n_judgments must lie between {MIN_JUDGMENTS:,} (for the planted faults to exist) and "
            f"{MAX_JUDGMENTS:,} (about 1.4 GiB of memory per million judgments), not {n_judgments:,}"
        )
    rng = np.random.default_rng(seed)
    roster = _roster(rng, plan)
    items = _draw_items(rng, plan, n_judgments)
    j = _judge(rng, plan, roster, items, *_schedule(rng, plan, items))
    n_items = len(items.mode)

    # gold: the first judgment of each item (honeypots: their known answer)
    _, first = np.unique(j.item, return_index=True)  # every item has a judgment; sorted by time: the earliest
    gold = np.where(items.honeypot, items.truth, j.said_pass[first])
    pred_pass, scores = _predictions(rng, plan, items, gold)
    prod_p = np.array([m.production_share for m in FAILURE_MODES])
    prod_mode = rng.choice(len(FAILURE_MODES), size=plan.production_rows, p=prod_p / prod_p.sum())
    prod_t = np.sort(rng.uniform(HISTORY_DAYS - plan.production_days, HISTORY_DAYS, plan.production_rows))

    judge = _judge_llm(plan, seed, items, j)
    item_ids = _item_ids(n_items)
    lab_ids = pa.array(roster.ids)
    vendor_names = pa.array([name for name, _ in VENDORS])
    passfail = pa.array([NEGATIVE, POSITIVE])
    modes = pa.array(list(MODE_NAMES))
    day = np.minimum(j.t.astype(np.int64), HISTORY_DAYS - 1)
    jvendor = roster.vendor[j.labeler]
    batches = pa.array([f"{w}-{v}" for w in _batch_names() for v, _ in VENDORS])
    n_versions = len(MODEL_VERSIONS)
    tables = {
        "labels": {
            "item_id": item_ids.take(pa.array(j.item)),
            "labeler_id": lab_ids.take(pa.array(j.labeler)),
            "label": passfail.take(pa.array(j.said_pass.astype(np.int8))),
            "failure_mode": modes.take(pa.array(items.mode[j.item])),
            "labeled_at": _ts(j.t),
            "batch_id": batches.take(pa.array(day * len(VENDORS) + jvendor)),
            "vendor": vendor_names.take(pa.array(jvendor)),
            "guideline_version": pa.array([g[0] for g in GUIDELINES]).take(pa.array(j.guideline)),
            "duration_s": pa.array(j.duration_s),
        },
        "items": {
            "item_id": item_ids,
            "failure_mode": modes.take(pa.array(items.mode)),
            "created_at": _ts(items.created),
            "gold_label": passfail.take(pa.array(gold.astype(np.int8))),
            "honeypot_label": passfail.take(
                pa.array(np.where(items.honeypot, items.truth, False).astype(np.int8), mask=~items.honeypot)
            ),
        },
        "labelers": {
            "labeler_id": lab_ids,
            "vendor": vendor_names.take(pa.array(roster.vendor)),
            "active_from": _ts(roster.from_day),
            "active_to": _ts(roster.to_day),
            "kind": pa.array(["human"] * len(roster.ids)),
        },
        "predictions": {
            "model_version": pa.array(list(MODEL_VERSIONS)).take(
                pa.array(np.repeat(np.arange(n_versions), n_items))
            ),
            "item_id": pa.concat_arrays([item_ids] * n_versions),
            "prediction": passfail.take(pa.array(pred_pass.ravel().astype(np.int8))),
        },
        "production": {"failure_mode": modes.take(pa.array(prod_mode)), "observed_at": _ts(prod_t)},
    }
    tables = {name: pa.table(cols, schema=user_schema(schema.get(name))) for name, cols in tables.items()}
    tables["labels"], tables["labelers"] = _with_judge(plan, judge, items, item_ids, tables["labels"],
                                                         tables["labelers"])
    truth = _truth(plan, roster, items, j, first, gold, scores)
    truth["planted"].append(_judge_truth(plan, judge, items))
    return DemoData(
        tables=tables,
        truth=truth,
        true_labels=pa.table(
            {"item_id": item_ids, "true_label": passfail.take(pa.array(items.truth.astype(np.int8)))}
        ),
    )


@dataclass
class _JudgeRun:
    """The LLM judge's judgments (per judgment: item, time in days from START, version index, said pass) and the
    honest false-pass rate of each version (1 - specificity)."""

    item: np.ndarray
    t: np.ndarray
    version: np.ndarray
    said_pass: np.ndarray
    false_pass: np.ndarray

    def ids(self, plan: Plan) -> list[str]:
        return [f"{plan.judge_name}@{v}" for v, _ in plan.judge_versions]


def _judge_llm(plan: Plan, seed: int, items: _Items, j: _Judgments) -> _JudgeRun:
    """The judge grades every regular item people double-labeled whose first judgment is in or after
    ``plan.judge_first_week``, a little after the item's last human judgment, with the version in use then.
    Its own generator (seeded from ``seed``) keeps the people's history identical to a demo without it."""
    rng = np.random.default_rng([seed, 19])
    n_items = len(items.mode)
    n_human = np.bincount(j.item, minlength=n_items)
    first_t = np.full(n_items, np.inf)
    np.minimum.at(first_t, j.item, j.t)
    last_t = np.full(n_items, -np.inf)
    np.maximum.at(last_t, j.item, j.t)
    chosen = np.flatnonzero((n_human >= 2) & ~items.honeypot & (first_t >= 7.0 * plan.judge_first_week))
    t = last_t[chosen] + rng.uniform(0.02, 1.0, len(chosen))
    starts = np.array([7.0 * week for _, week in plan.judge_versions])
    keep = (t < HISTORY_DAYS) & (t >= starts[0])
    chosen, t = chosen[keep], t[keep]
    version = np.searchsorted(starts, t, side="right") - 1
    lo, hi = plan.honest_accuracy
    sensitivity = rng.uniform(lo, hi, len(starts))
    specificity = rng.uniform(lo, hi, len(starts))
    truth = items.truth[chosen]
    p_pass = np.where(truth, sensitivity[version], 1.0 - specificity[version])
    lenient_v = [v for v, _ in plan.judge_versions].index(plan.judge_lenient_version)
    lenient = (version == lenient_v) & (items.mode[chosen] == MODE_NAMES.index(plan.judge_mode)) & ~truth
    p_pass[lenient] = plan.judge_pass_given_fail
    said = rng.random(len(chosen)) < p_pass
    return _JudgeRun(chosen, t, version, said, 1.0 - specificity)


def _with_judge(plan: Plan, judge: _JudgeRun, items: _Items, item_ids: pa.Array, labels: pa.Table,
                labelers: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The labels with the judge's judgments merged in by time (no duration: a model's latency is not labeling
    effort; the guideline in force; a batch per day like the vendors'), and the labelers with one row per judge
    version (``kind`` model, active from its first week until the next version's)."""
    ids = judge.ids(plan)
    day = np.minimum(judge.t.astype(np.int64), HISTORY_DAYS - 1)
    batches = _batch_names()
    guideline = np.searchsorted([g[1] for g in GUIDELINES], judge.t, side="right") - 1
    modes = pa.array(list(MODE_NAMES))
    judge_rows = pa.table({
        "item_id": item_ids.take(pa.array(judge.item)),
        "labeler_id": pa.array(ids).take(pa.array(judge.version)),
        "label": pa.array([NEGATIVE, POSITIVE]).take(pa.array(judge.said_pass.astype(np.int8))),
        "failure_mode": modes.take(pa.array(items.mode[judge.item])),
        "labeled_at": _ts(judge.t),
        "batch_id": pa.array([f"{batches[d]}-{plan.judge_name}" for d in day], pa.string()),
        "vendor": pa.array([plan.judge_name] * len(day), pa.string()),
        "guideline_version": pa.array([g[0] for g in GUIDELINES]).take(pa.array(guideline)),
        "duration_s": pa.nulls(len(day), pa.float64()),
    }, schema=labels.schema)
    merged = pa.concat_tables([labels, judge_rows])
    merged = merged.take(pa.array(np.argsort(merged["labeled_at"].to_numpy().astype("int64"), kind="stable")))
    starts = [7.0 * week for _, week in plan.judge_versions]
    ends = [*starts[1:], np.nan]
    roster = pa.table({
        "labeler_id": pa.array(ids),
        "vendor": pa.array([plan.judge_name] * len(ids)),
        "active_from": _ts(np.array(starts)),
        "active_to": _ts(np.array(ends)),
        "kind": pa.array(["model"] * len(ids)),
    }, schema=labelers.schema)
    return merged, pa.concat_tables([labelers, roster])


def _judge_truth(plan: Plan, judge: _JudgeRun, items: _Items) -> dict[str, Any]:
    """truth.json's entry for the lenient judge version."""
    v = [name for name, _ in plan.judge_versions].index(plan.judge_lenient_version)
    pass_rate = {m.name: m.pass_rate for m in FAILURE_MODES}[plan.judge_mode]
    on = (judge.version == v) & (items.mode[judge.item] == MODE_NAMES.index(plan.judge_mode))
    return {
        "kind": "labeler_leniency",
        "labeler_id": judge.ids(plan)[v],
        "failure_mode": plan.judge_mode,
        "item_ids": None,
        "effect": round((1 - pass_rate) * (plan.judge_pass_given_fail - float(judge.false_pass[v])), 4),
        "since": None,
        "judge": True,
        "note": (
            f"An LLM judge (labelers.kind = model): version {plan.judge_lenient_version} passes true "
            f"{plan.judge_mode} fails with probability {plan.judge_pass_given_fail} (its previous version, like the "
            f"people, about {float(judge.false_pass[v - 1]) if v else float(judge.false_pass[v]):.2f}); it graded "
            f"{int(on.sum())} {plan.judge_mode} items beside the people."
        ),
    }


def _predictions(
    rng: np.random.Generator, plan: Plan, items: _Items, gold: np.ndarray
) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    """bool[n_versions, n_items] (pass?) and, per version, the seed mode's score against gold and truth.

    Off the seed mode each release is a slightly better classifier of the true label. On the seed mode the
    team tuned each release against today's gold, so a release passes true fails that gold passes ever more
    often (``plan.seed_model``): its score against the lenient gold holds or rises while against truth it
    falls.
    """
    mode, truth = items.mode, items.truth
    n_modes = len(FAILURE_MODES)
    sens = rng.uniform(*plan.other_model_sensitivity, n_modes)
    false_pass = rng.uniform(*plan.other_model_false_pass, n_modes)
    out = np.empty((len(MODEL_VERSIONS), len(mode)), dtype=bool)
    on = mode == MODE_NAMES.index(plan.seed_mode)
    (a0, da), (c0, dc), (r0, dr) = plan.seed_model
    scores: dict[str, dict[str, float]] = {}
    for v, name in enumerate(MODEL_VERSIONS):
        p = np.where(
            truth, np.minimum(sens + 0.01 * v, 0.99)[mode], np.maximum(false_pass - 0.015 * v, 0.02)[mode]
        )
        p = np.where(on, np.where(truth, a0 + da * v, np.where(gold, r0 + dr * v, c0 + dc * v)), p)
        out[v] = rng.random(len(mode)) < p
        scores[name] = {
            "gold": round(float((out[v][on] == gold[on]).mean()), 4),
            "true": round(float((out[v][on] == truth[on]).mean()), 4),
        }
    return out, scores


def expected_alpha(pass_rate: float, sensitivity: float, specificity: float) -> float:
    """Krippendorff's alpha that exchangeable two-coin labelers are expected to reach on a slice, in the
    large-sample limit: 1 - D_o / D_e with D_o the chance two judgments of one item differ and D_e the chance
    two judgments of any items differ (Krippendorff 2011, "Computing Krippendorff's alpha-reliability", §A).

    Why the demo needs it: at 93-97% accuracy, a slice where 95% of outputs truly pass gives alpha near 0.45
    although every labeler is honest — the prevalence paradox of chance-corrected agreement (Feinstein &
    Cicchetti 1990, J Clin Epidemiol 43(6)). The agreement stage rightly reports such slices (about half their
    "fail" labels are wrong), so truth lists them as ``low_agreement`` with reason ``prevalence``.
    """
    p, s, c = pass_rate, sensitivity, specificity
    q = p * s + (1 - p) * (1 - c)
    d_o = p * 2 * s * (1 - s) + (1 - p) * 2 * c * (1 - c)
    return 1.0 - d_o / (2 * q * (1 - q))


def _truth(
    plan: Plan, roster: _Roster, items: _Items, j: _Judgments, first: np.ndarray, gold: np.ndarray,
    scores: dict[str, dict[str, float]],
) -> dict[str, Any]:  # fmt: skip
    """The planted faults (docs/demo.md). Sets of items are read back from the generated data, so they are exact."""
    ids = roster.ids
    n = len(j.item)
    n_items = len(items.mode)
    mode = items.mode
    jmode = mode[j.item]
    seed_mode = MODE_NAMES.index(plan.seed_mode)
    drift_mode = MODE_NAMES.index(plan.drift_mode)
    drift_day = _day(plan.drift_since)
    seed_n = int((j.labeler == roster.seed).sum())
    seed_on_mode = int(((j.labeler == roster.seed) & (jmode == seed_mode)).sum())
    n_labels = np.bincount(j.item, minlength=n_items)
    on_seed = (j.labeler == roster.seed) & (jmode == seed_mode)
    seed_weight = float((1.0 / n_labels[j.item[on_seed]]).sum() / max(int((mode == seed_mode).sum()), 1))
    seed_weight_all = float((1.0 / n_labels[j.item[j.labeler == roster.seed]]).sum() / n_items)
    pass_rate = {m.name: m.pass_rate for m in FAILURE_MODES}
    honest = ~np.isin(np.arange(len(ids)), [roster.seed, roster.drift, roster.spam])
    honest_false_pass = float(1.0 - roster.specificity[honest].mean())
    planted: list[dict[str, Any]] = [
        {
            "kind": "labeler_leniency",
            "labeler_id": ids[roster.seed],
            "failure_mode": plan.seed_mode,
            "item_ids": None,
            "effect": round(
                (1 - pass_rate[plan.seed_mode]) * (plan.lenient_pass_given_fail - honest_false_pass), 4
            ),
            "since": None,
            "note": (
                f"The seed story: graded {seed_n / n:.1%} of all judgments and {plan.seed_mode_take:.0%} of "
                f"{plan.seed_mode} while active, passing true fails with probability "
                f"{plan.lenient_pass_given_fail} (peers about {honest_false_pass:.2f}); rotated off "
                f"{_iso(roster.to_day[roster.seed])}."
            ),
        },
        {
            "kind": "labeler_concentration",
            "labeler_id": ids[roster.seed],
            "failure_mode": plan.seed_mode,
            "item_ids": None,
            "effect": round(seed_weight, 4),
            "share_of_all_judgments": round(seed_n / n, 4),
            "share_of_failure_mode_judgments": round(
                seed_on_mode / max(int((jmode == seed_mode).sum()), 1), 4
            ),
            "note": f"The seed-story labeler made {seed_n / n:.1%} of all judgments; {seed_weight:.0%} of the "
            f"{plan.seed_mode} gold rests on it (each gold item's weight split equally among its labelers), "
            "mostly on its judgment alone.",
        },
        {
            "kind": "labeler_concentration",
            "labeler_id": ids[roster.seed],
            "failure_mode": None,
            "item_ids": None,
            "effect": round(seed_weight_all, 4),
            "share_of_all_judgments": round(seed_n / n, 4),
            "note": f"Over all failure modes {seed_weight_all:.0%} of the gold rests on the seed-story labeler, "
            "several times any other labeler's share.",
        },
        {
            "kind": "labeler_drift",
            "labeler_id": ids[roster.drift],
            "failure_mode": plan.drift_mode,
            "item_ids": None,
            "since": plan.drift_since.isoformat(),
            "effect": round(
                (1 - pass_rate[plan.drift_mode])
                * (plan.drift_pass_given_fail - (1 - float(roster.specificity[roster.drift]))),
                4,
            ),
            "note": f"Honest until {plan.drift_since.isoformat()}, then passes true fails on "
            f"{plan.drift_mode} with probability {plan.drift_pass_given_fail}.",
        },
        {
            "kind": "labeler_spam",
            "labeler_id": ids[roster.spam],
            "failure_mode": None,
            "item_ids": None,
            "since": _iso(roster.from_day[roster.spam]),
            "effect": None,
            "note": (
                f"Answers pass/fail at random (50/50 regardless of the item) in {plan.spam_seconds[0]:g}-"
                f"{plan.spam_seconds[1]:g} s per judgment, against a 30-90 s median for everyone else; on "
                "high-pass-rate modes this also looks severe."
            ),
        },
    ]

    # poisoned gold: the item's gold is the faulty labeler's judgment, and it is wrong because of the fault
    gold_labeler, gold_t = j.labeler[first], j.t[first]
    truth, honeypot = items.truth, items.honeypot
    wrong_pass = gold & ~truth & ~honeypot
    faults = (
        (roster.seed, plan.seed_mode, (mode == seed_mode) & wrong_pass, None),
        (roster.drift, plan.drift_mode, (mode == drift_mode) & (gold_t >= drift_day) & wrong_pass,
         plan.drift_since.isoformat()),
        (roster.spam, None, (gold != truth) & ~honeypot, _iso(roster.from_day[roster.spam])),
    )  # fmt: skip
    only = "no one else graded these items."
    also = "others also graded these items, but gold kept the first judgment."
    for who, fm, wrong, since in faults:
        bad = wrong & (gold_labeler == who)
        for reason, sel in (
            ("flagged_labeler_only", n_labels == 1),
            ("gold_from_flagged_labeler", n_labels > 1),
        ):
            chosen = np.flatnonzero(bad & sel)
            if len(chosen):
                planted.append(
                    {
                        "kind": "poisoned_items",
                        "labeler_id": ids[who],
                        "failure_mode": fm,
                        "item_ids": _item_id_list(chosen, n_items),
                        "reason": reason,
                        "since": since,
                        "note": "Gold is this labeler's faulty judgment and disagrees with the true label; "
                        + (only if reason == "flagged_labeler_only" else also),
                    }
                )

    # stale gold: only superseded guidelines, or only labelers who have left
    last_label_t = np.full(n_items, -np.inf)
    np.maximum.at(last_label_t, j.item, j.t)
    gone = ~np.isnan(roster.to_day)
    n_active = np.bincount(j.item, weights=(~gone[j.labeler]).astype(float), minlength=n_items)
    stale = [
        {
            "kind": "stale_items",
            "labeler_id": None,
            "failure_mode": None,
            "item_ids": _item_id_list(np.flatnonzero(last_label_t < GUIDELINES[-1][1]), n_items),
            "reason": "superseded_guideline",
            "current_guideline": GUIDELINES[-1][0],
            "note": f"Labeled only under {', '.join(g[0] for g in GUIDELINES[:-1])}: the "
            f"{GUIDELINES[-1][0]} re-labeling campaign missed them.",
        },
        {
            "kind": "stale_items",
            "labeler_id": None,
            "failure_mode": None,
            "item_ids": _item_id_list(np.flatnonzero(n_active == 0), n_items),
            "reason": "labelers_inactive",
            "labeler_ids": [ids[i] for i in np.flatnonzero(gone)],
            "note": f"Every labeler of these items has left: the {plan.ended_vendor} contract ended "
            f"{_iso(7.0 * (plan.ended_vendor_last_week + 1))} and the seed-story labeler rotated off "
            f"{_iso(roster.to_day[roster.seed])}.",
        },
    ]
    planted += [entry for entry in stale if entry["item_ids"]]  # a knob can empty a set: plant nothing then

    # agreement that honest labelers cannot reach on high-prevalence slices (see expected_alpha)
    threshold = AgreementConfig().alpha_min
    sens, spec = float(roster.sensitivity[honest].mean()), float(roster.specificity[honest].mean())
    for fm in FAILURE_MODES:
        alpha = expected_alpha(fm.pass_rate, sens, spec)
        false_fails, true_fails = fm.pass_rate * (1 - sens), (1 - fm.pass_rate) * spec
        if alpha < threshold:
            planted.append(
                {
                    "kind": "low_agreement",
                    "labeler_id": None,
                    "failure_mode": fm.name,
                    "item_ids": None,
                    "effect": round(alpha, 4),
                    "reason": "prevalence",
                    "note": f"Not a labeler's fault: {fm.pass_rate:.0%} of {fm.name} outputs truly pass, so at "
                    f"{(sens + spec) / 2:.1%} accuracy Krippendorff's alpha is about {alpha:.2f} and "
                    f"{false_fails / (false_fails + true_fails):.0%} of the fail labels there are wrong.",
                }
            )

    # coverage drift and the seed story's consequence on the eval score
    eval_share = np.bincount(mode, minlength=len(FAILURE_MODES)) / n_items
    for m, fm in enumerate(FAILURE_MODES):
        if fm.production_share > 1.5 * fm.eval_share:
            planted.append(
                {
                    "kind": "coverage_drift",
                    "labeler_id": None,
                    "failure_mode": fm.name,
                    "item_ids": None,
                    "effect": round(fm.production_share - float(eval_share[m]), 4),
                    "eval_share": round(float(eval_share[m]), 4),
                    "production_share": fm.production_share,
                    "note": f"Production sees {fm.name} in {fm.production_share:.0%} of traffic; the "
                    f"eval set has {eval_share[m]:.1%} of its items there.",
                }
            )
    if any(p["kind"] == "coverage_drift" for p in planted):
        prod_share = np.array([fm.production_share for fm in FAILURE_MODES])
        # population stability index = symmetrised Kullback-Leibler (Jeffreys) divergence (Yurdakul 2018)
        psi = float(stats.entropy(prod_share, eval_share) + stats.entropy(eval_share, prod_share))
        planted.append(
            {
                "kind": "coverage_drift",
                "labeler_id": None,
                "failure_mode": None,
                "item_ids": None,
                "effect": round(psi, 4),
                "reason": "mix",
                "note": f"Over all failure modes the production mix differs from the eval set's: population "
                f"stability index {psi:.2f} (above 0.25 is conventionally a major shift).",
            }
        )
    last = MODEL_VERSIONS[-1]
    planted.append(
        {
            "kind": "eval_score_inflation",
            "labeler_id": ids[roster.seed],
            "failure_mode": plan.seed_mode,
            "item_ids": None,
            "effect": round(scores[last]["gold"] - scores[last]["true"], 4),
            "scores": scores,
            "note": f"Against today's gold the {plan.seed_mode} score of every release holds or rises; "
            "against the true labels it falls, because releases learned to pass what the lenient labeler "
            "passed.",
        }
    )
    return {"planted": planted}
