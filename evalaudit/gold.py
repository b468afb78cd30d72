"""Gold: the one owner of three ideas every part of the audit reads — an item's gold, which labelers are flagged, and
which gold is stale. The items stage, impact, relabel, the report, the run history, the notebooks and the gold-set
contract call these functions; none of them re-states a rule.

**Today's gold** of an item (:func:`today_gold`; ``gold_source`` says which applied):
  1. ``items.gold_label`` where the items table gives one — the label the eval uses today;
  2. else the honeypot answer for control items;
  3. else the consensus of its judgments (the labelers stage's ``consensus`` table: Dawid–Skene posterior, the
     majority, or the mean for many-valued scores; :mod:`evalaudit.labelers.consensus`).

**The gold set** (:func:`in_gold_set`, :func:`gold_set_codes`): the items with a gold label that are not honeypots.
Control items measure labelers; they are never part of the eval.

**Flagged labelers** (:func:`flagged_labelers`, :func:`flagged`): a labeler × failure mode is flagged when the
labelers stage found it lenient, severe, drifting or spamming (:data:`FLAG_KINDS`) at ``min_severity`` or above
(the run's floor: medium). Spam names no failure mode: all of the labeler's judgments. Collusion is not a flag: the
data cannot say which of the pair copies. A drift finding sets aside only the judgments made since its change point,
unless the same pair is also flagged (at any severity) for leniency, severity or spam over its whole history.
``[labelers] exclude`` sets labelers aside on every failure mode.

**The audited gold** (:func:`audited_gold`): each item's gold re-derived from the judgments that remain once the
flagged labelers' are set aside; :func:`rederive` runs the gold stages again for another set of flagged labelers or
moved thresholds (the items notebook).

**Stale gold** (:data:`STALE_FLAGS`, :func:`stale_flags`): judged, but never under the current guideline
(``superseded_guideline``); last judged more than ``[gold] max_age_days`` before ``[gold] as_of`` (``too_old``);
every labeler who judged it had left by ``as_of`` (``labelers_inactive``).

This module imports no stage; :func:`rederive` imports the items and impact stages when called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.errors import UnusableInput
from evalaudit.findings import Finding, severity_rank
from evalaudit.frames import mask, numbers

if TYPE_CHECKING:  # the pipeline imports the stages, which import this module
    from evalaudit.config import Config
    from evalaudit.engine import Engine
    from evalaudit.stage import Context

#: where an item's gold came from, in the order :func:`today_gold` tries them
GOLD_SOURCES = ("items.gold_label", "honeypot", "dawid_skene", "majority", "mean")
AUDITED_STATUSES = ("unchanged", "rederived", "excluded_no_judgment", "excluded_tie", "no_gold")

#: the labelers stage's findings that flag a labeler × failure mode
FLAG_KINDS = frozenset({"labeler_leniency", "labeler_severity", "labeler_drift", "labeler_spam"})
#: the kinds that set aside a pair's whole history (a drift finding alone sets aside what follows its change point)
WHOLE_HISTORY_KINDS = frozenset({"labeler_leniency", "labeler_severity", "labeler_spam"})
#: the run's severity floor for a flag
MIN_SEVERITY = "medium"
FLAGGED_SCHEMA = pa.schema([("labeler_id", pa.string()), ("failure_mode", pa.string()),
                            ("since", pa.timestamp("us", tz="UTC"))])

#: the items stage's flags that make a gold item stale
STALE_FLAGS = ("superseded_guideline", "too_old", "labelers_inactive")

Pair = tuple[str, str | None]


# -- when ---------------------------------------------------------------------------------------------------------
def as_of(cfg: Config) -> datetime:
    """The moment ages and labeler activity are judged at: `[gold] as_of`, else now."""
    text = cfg.gold.as_of
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UnusableInput(f"[gold] as_of {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def current_guideline(cfg: Config, engine: Engine) -> str | None:
    """`[gold] current_guideline`, else the guideline version of the most recent judgment naming one."""
    if cfg.gold.current_guideline:
        return cfg.gold.current_guideline
    rows = engine.query("items_current_guideline").column(0).to_pylist()
    return rows[0] if rows else None


# -- flagged labelers ---------------------------------------------------------------------------------------------
def _get(f: Finding | dict[str, Any], name: str) -> Any:
    """A finding's field, whether a :class:`Finding` or its JSON (the report and history read findings.json)."""
    return f.get(name) if isinstance(f, dict) else getattr(f, name)


def flagged_labelers(findings: Iterable[Finding | dict[str, Any]] | Any, min_severity: str = MIN_SEVERITY
                     ) -> list[Pair]:
    """The flagged (labeler_id, failure_mode | None = all) pairs of ``findings`` (Finding objects, their JSON, or a
    StageResult): :data:`FLAG_KINDS` at ``min_severity`` or above. Sorted, without duplicates."""
    findings = getattr(findings, "findings", findings)
    floor = severity_rank(min_severity)
    out = {(_get(f, "labeler_id"), _get(f, "failure_mode")) for f in findings
           if _get(f, "kind") in FLAG_KINDS and _get(f, "labeler_id") is not None
           and severity_rank(_get(f, "severity")) >= floor}
    return sorted(out, key=lambda k: (k[0], k[1] or ""))


def is_flagged(pairs: Iterable[Pair], labeler_ids: Sequence[str], failure_modes: Sequence[str | None]
               ) -> list[bool]:
    """Per (labeler, failure mode) row: whether ``pairs`` flag it. A pair without failure mode covers all of the
    labeler's; a row whose failure mode is None or "all" asks whether the labeler is flagged anywhere."""
    pairs = set(pairs)
    anywhere = {lab for lab, _ in pairs}
    return [lab in anywhere if fm in (None, "all") else ((lab, fm) in pairs or (lab, None) in pairs)
            for lab, fm in zip(labeler_ids, failure_modes, strict=True)]


def flagged_table(pairs: Sequence[tuple[str, str | None] | tuple[str, str | None, datetime | None]]) -> pa.Table:
    """The `flagged_labelers` view: one row per flagged (labeler, failure mode | NULL = all, since | NULL).

    A labeler flagged on all failure modes makes their per-failure-mode rows redundant; they are dropped so that
    a judgment matches at most one row (the SQL relies on it)."""
    rows = [(p[0], p[1], p[2] if len(p) > 2 else None) for p in pairs]
    everything = {lab for lab, fm, _ in rows if fm is None}
    kept: dict[Pair, datetime | None] = {}
    for lab, fm, since in rows:
        if fm is not None and lab in everything:
            continue
        key = (lab, fm)
        # the same pair flagged twice (e.g. drift and leniency): the earlier `since` (None = all) wins
        if key in kept:
            prev = kept[key]
            since = None if prev is None or since is None else min(prev, since)
        kept[key] = since
    return pa.table({"labeler_id": [k[0] for k in kept], "failure_mode": [k[1] for k in kept],
                     "since": list(kept.values())}, schema=FLAGGED_SCHEMA)


def flagged(findings: Iterable[Finding], exclude: Iterable[str] = (), min_severity: str = MIN_SEVERITY,
            keep: Iterable[str] = ()) -> pa.Table:
    """The flagged (labeler, failure mode, since) whose judgments the audited gold sets aside, as
    :func:`flagged_table`: the pairs :func:`flagged_labelers` names at ``min_severity``, plus the labelers in
    ``exclude`` on every failure mode, minus the labelers in ``keep``. A drift finding limits what is set aside to
    the judgments made since its change point, unless the same pair is also found lenient, severe or spamming (at
    any severity) or is excluded."""
    findings = list(findings)
    kept = set(keep)
    excluded = [(str(lab), None) for lab in exclude]
    pairs = sorted(set(flagged_labelers(findings, min_severity)) | set(excluded), key=lambda k: (k[0], k[1] or ""))
    since: dict[Pair, datetime] = {}
    for f in findings:
        if f.kind == "labeler_drift" and f.labeler_id and f.details.get("since"):
            try:
                moment = datetime.fromisoformat(str(f.details["since"]))
            except ValueError:
                continue
            since[(f.labeler_id, f.failure_mode)] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    whole = {(f.labeler_id, f.failure_mode) for f in findings if f.kind in WHOLE_HISTORY_KINDS} | set(excluded)
    return flagged_table([(lab, fm, None if (lab, fm) in whole else since.get((lab, fm))) for lab, fm in pairs
                          if lab not in kept])


def flagged_for_run(ctx: Context) -> pa.Table:
    """The run's flagged labelers: ``ctx.tables["flagged_labelers"]`` when a caller chose them (the items
    notebook), else :func:`flagged` over the labelers stage's findings and ``[labelers] exclude``."""
    chosen = ctx.tables.get("flagged_labelers")
    return chosen if chosen is not None else flagged(ctx.findings, ctx.cfg.labelers.exclude)


# -- today's gold and the gold set --------------------------------------------------------------------------------
@dataclass
class TodayGold:
    """Per item: today's gold label, its source, the consensus of its judgments (the gold of an item the items
    table gives none for) and whether a binary Dawid–Skene posterior decided that consensus."""

    label: pa.Array
    source: np.ndarray  # code into GOLD_SOURCES, -1 when the item has no gold
    consensus: pa.Array
    binary_posterior: np.ndarray


def today_gold(given: pa.ChunkedArray, honeypot: pa.ChunkedArray, derived: pa.ChunkedArray,
               derived_method: pa.ChunkedArray, posterior_positive: np.ndarray, majority: pa.ChunkedArray,
               positive: str | None, negative: str | None, binary: bool) -> TodayGold:
    """Per item, the label the eval uses today: the items table's gold label (``given``), else the honeypot answer,
    else the consensus of its judgments — the labelers stage's consensus label (``derived``, reached by
    ``derived_method``; any label space, ties resolved by the posterior), else, for two labels, ``positive`` when
    the binary Dawid–Skene posterior ``posterior_positive`` is at least 1/2 (else ``negative``; Dawid & Skene
    1979), else the majority label (null when tied)."""
    n = len(posterior_positive)
    has_post = np.isfinite(posterior_positive) & binary & (negative is not None)
    from_posterior = (pc.if_else(pa.array(posterior_positive >= 0.5), positive, negative or positive)
                      if positive is not None else pa.nulls(n, pa.string()))
    has_derived = mask(pc.is_valid(derived))
    consensus = pc.if_else(pa.array(has_derived), derived, pc.if_else(pa.array(has_post), from_posterior, majority))
    gold = pc.coalesce(given, honeypot, consensus)
    gold = gold.combine_chunks() if isinstance(gold, pa.ChunkedArray) else gold
    by_method = np.select([mask(pc.equal(derived_method, m)) for m in GOLD_SOURCES[2:]], [2, 3, 4], -1)
    consensus_source = np.where(has_derived & (by_method >= 0), by_method, np.where(has_post, 2, 3))
    source = np.select([mask(pc.is_valid(given)), mask(pc.is_valid(honeypot)), mask(pc.is_valid(consensus))],
                       [0, 1, consensus_source], -1)
    return TodayGold(label=gold, source=source, consensus=consensus, binary_posterior=has_post)


def in_gold_set(items: pa.Table) -> np.ndarray:
    """Per row of an items table (``gold_label``, ``is_honeypot``): the item is in the gold set — it has a gold
    label and is not a honeypot."""
    return mask(pc.is_valid(items.column("gold_label"))) & ~mask(items.column("is_honeypot"))


def gold_set_codes(truth_code: np.ndarray) -> np.ndarray:
    """Per judged item (the labelers stage's item codes; ``truth_code`` >= 0 for a honeypot): 1 when the item is in
    the gold set, else 0. Every judged item has a gold label (its consensus when the items table lists none), so
    the gold set is the judged items that are not honeypots — the same items :func:`in_gold_set` counts."""
    return (np.asarray(truth_code) < 0).astype(np.int8)


# -- the audited gold ---------------------------------------------------------------------------------------------
def _differs(a: pa.Array, b: pa.Array) -> np.ndarray:
    """a != b per row, where null equals null and differs from any value."""
    return mask(pc.fill_null(pc.not_equal(a, b), pc.xor(pc.is_null(a), pc.is_null(b))))


@dataclass
class AuditedGold:
    """The gold re-derived without the flagged labelers' judgments (see :func:`audited_gold`)."""

    label: pa.Array  # audited gold label per item (null: excluded or no gold)
    status: np.ndarray  # code into AUDITED_STATUSES
    flagged_only: np.ndarray  # every judgment of the item was set aside
    deciding_vote: np.ndarray  # without the set-aside judgments the majority differs from the gold (or ties)


def audited_gold(gold: pa.Array, n_all: np.ndarray, n_kept: np.ndarray, kept_label: pa.Array,
                 kept_tied: np.ndarray) -> AuditedGold:
    """Re-derive each item's gold from the judgments that remain once flagged labelers' are set aside.

    Per item: its gold, how many labelers' latest judgments it has (``n_all``) and keeps (``n_kept``), the most
    frequent kept label and whether two or more kept labels share that count. An item with nothing set aside keeps
    its gold; a touched one takes the majority of what remains — or none, counted as excluded, when nothing remains
    or the remaining labels tie (never guessed)."""
    touched = n_kept < n_all
    kept_label = pc.if_else(pa.array(kept_tied), pa.scalar(None, pa.string()), kept_label)
    no_gold = ~mask(pc.is_valid(gold))
    label = pc.if_else(pa.array(no_gold), pa.scalar(None, pa.string()), pc.if_else(pa.array(touched), kept_label, gold))
    status = np.where(touched, 1, 0)
    no_judgment = touched & (n_kept == 0)
    status[no_judgment] = 2
    status[touched & (n_kept > 0) & kept_tied] = 3
    status[no_gold] = 4
    deciding = touched & (n_kept > 0) & _differs(kept_label, gold)
    return AuditedGold(label=label, status=status, flagged_only=no_judgment, deciding_vote=deciding)


def rederive(ctx: Context, excluded: Sequence[tuple[str, str | None] | tuple[str, str | None, Any]] | None,
             cfg: Config | None = None, answers: Callable[[], pa.Table | None] | None = None) -> Context:
    """Re-run the gold stages (items, impact) of a finished run ``ctx`` with ``excluded`` as the flagged labelers —
    (labeler, failure mode or None for all their judgments, and optionally since when; see :func:`flagged`) — and
    optionally other settings (``cfg``: moved thresholds). ``excluded`` None keeps the run's own flagged labelers.
    Returns a new Context (``ctx`` itself when nothing differs from the run); ``ctx`` is untouched. The labelers
    stage's tables (consensus, Dawid–Skene) are reused, not recomputed; ``answers`` (returning the named query
    ``impact_answers``, called only when the gold is re-derived) spares the impact stage re-reading the
    predictions."""
    from evalaudit import impact, items, pipeline, stage

    same_cfg = cfg is None or cfg == ctx.cfg
    run_flagged = ctx.tables.get("flagged_labelers")
    if same_cfg and (excluded is None or (run_flagged is not None and
                                          triples(flagged_table(list(excluded))) == triples(run_flagged))):
        return ctx  # the run already derived exactly this gold
    keep = {k: v for k, v in ctx.tables.items() if k not in ("items", "gold_items", "impact", "flagged_labelers")}
    gold_kinds = {"poisoned_items", "stale_items", "eval_score_inflation"}
    new_cfg = cfg or ctx.cfg
    new = stage.Context(engine=ctx.engine, cfg=new_cfg, tables=keep,
                           findings=[f for f in ctx.findings if f.kind not in gold_kinds])
    if excluded is not None:
        new.tables["flagged_labelers"] = flagged_table(list(excluded))
    elif run_flagged is not None:
        new.tables["flagged_labelers"] = run_flagged
    fetched = answers() if answers is not None else None
    if fetched is not None:
        new.tables["impact_answers"] = fetched
    run_items = ctx.tables.get("items")
    if run_items is not None and new_cfg.gold == ctx.cfg.gold and new_cfg.labels == ctx.cfg.labels:
        # only who is flagged or an items/impact threshold moved: re-derive what depends on them (seconds at 10M)
        def gold_stage(c: stage.Context) -> stage.StageResult:
            return items.rederive(c, run_items)
    else:
        gold_stage = items.stage
    pipeline.run_stages(new, [("items", gold_stage), ("impact", impact.stage)])
    return new


def triples(flagged_labelers_table: pa.Table) -> list[tuple[str, str | None, Any]]:
    """A flagged-labelers table as sorted (labeler, failure mode, since) triples, to compare two of them."""
    return sorted(((r["labeler_id"], r["failure_mode"], r["since"]) for r in flagged_labelers_table.to_pylist()),
                  key=lambda k: (k[0], k[1] or ""))


# -- stale gold ---------------------------------------------------------------------------------------------------
def stale_flags(cfg: Config, moment: datetime, guideline: str | None, n_labelers: np.ndarray, n_left: np.ndarray,
                last_labeled_at: pa.ChunkedArray | pa.Array, n_with_guideline: np.ndarray,
                n_current_guideline: np.ndarray) -> dict[str, np.ndarray]:
    """Per item, each of :data:`STALE_FLAGS`: judged under some guideline but never the current one; last judged
    more than ``[gold] max_age_days`` before ``moment`` (off when max_age_days is 0; an item whose judgments carry
    no time is never too old); judged only by labelers who had left by ``moment``."""
    n = len(n_labelers)
    out = {name: np.zeros(n, dtype=bool) for name in STALE_FLAGS}
    if guideline is not None:
        out["superseded_guideline"] = (n_with_guideline > 0) & (n_current_guideline == 0)
    if cfg.gold.max_age_days > 0:
        cutoff = pa.scalar(moment - timedelta(days=cfg.gold.max_age_days), type=pa.timestamp("us", tz="UTC"))
        out["too_old"] = mask(pc.less(last_labeled_at, cutoff))
    out["labelers_inactive"] = (n_labelers > 0) & (n_left == n_labelers)
    return out


def stale_mask(flags: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per item of an items table's ``flags`` column: it carries any of :data:`STALE_FLAGS`."""
    out = np.zeros(len(flags), dtype=bool)
    out[numbers(pc.list_parent_indices(flags))[mask(pc.is_in(pc.list_flatten(flags), pa.array(STALE_FLAGS)))]] = True
    return out
