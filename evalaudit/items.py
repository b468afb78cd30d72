"""Gold items: today's gold, why an item's gold is suspect (poisoned, stale), and the re-labeling queue.

Gold of an item (column ``gold_source`` says which applied):
  1. ``items.gold_label`` where the items table gives one — the label the eval uses today;
  2. else the honeypot answer for control items;
  3. else the consensus of its judgments: the Dawid–Skene posterior from the labelers stage (positive when
     P(positive) >= 0.5; Dawid & Skene 1979), or the majority label when that stage gave no posterior.

Flags (SPEC §5 reason codes):
  - ``flagged_labeler_only``: every judgment of the item is by a flagged labeler (on the failure mode and since the
    date they were flagged for) — the gold rests on them alone;
  - ``flagged_deciding_vote``: without the flagged labelers' judgments the majority label differs from the gold (or
    ties) — their vote decided it;
  - ``gold_disagrees_with_consensus``: the Dawid–Skene posterior of a label other than the gold is at least
    ``[items] consensus_min_posterior``;
  - ``single_label``: one labeler judged it;
  - ``superseded_guideline``: judged, but never under the current guideline (``[gold] current_guideline``, else the
    guideline of the most recent judgment); an item re-labeled under the current guideline is not stale;
  - ``too_old``: last judged more than ``[gold] max_age_days`` before ``as_of``;
  - ``labelers_inactive``: every labeler who judged it had left by ``as_of`` (labelers table ``active_to``);
  - ``no_judgments``: in the items table but never judged.

``poison_score`` is the model's probability that the gold label is wrong: 1 - P(true label = gold | all judgments),
with each labeler's judgments weighed by their Dawid–Skene confusion matrix — so a lenient labeler's lone "pass"
counts for less than an accurate labeler's. For label spaces that are not binary (no posterior), it is 1 minus the
Jeffreys-smoothed share of the item's judgments that agree with the gold.

``relabel_priority`` ranks items (1 = first) by how much re-labeling them is expected to change the eval: an item
whose gold flips moves the overall score of every model version by 1/N, so the expected change is poison_score / N
and the rank follows the poison score; ties go to the item whose failure-mode score moves more
(``expected_score_change`` = poison_score / gold items of its failure mode), then to the item id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.errors import UnusableInput
from evalaudit.findings import Finding
from evalaudit.pipeline import Context, StageResult

FLAGS = ("flagged_labeler_only", "flagged_deciding_vote", "gold_disagrees_with_consensus", "single_label",
         "superseded_guideline", "too_old", "labelers_inactive", "no_judgments")
POISON_FLAGS = frozenset({"flagged_labeler_only", "flagged_deciding_vote", "gold_disagrees_with_consensus"})
STALE_FLAGS = ("superseded_guideline", "too_old", "labelers_inactive")

FLAGGED_SCHEMA = pa.schema([("labeler_id", pa.string()), ("failure_mode", pa.string()),
                            ("since", pa.timestamp("us", tz="UTC"))])

ITEMS_SCHEMA = pa.schema([
    ("item_id", pa.string()), ("failure_mode", pa.string()), ("gold_label", pa.string()),
    ("poison_score", pa.float64()), ("flags", pa.list_(pa.string())), ("relabel_priority", pa.int64()),
    ("gold_source", pa.string()), ("audited_label", pa.string()), ("audited_status", pa.string()),
    ("consensus_label", pa.string()), ("posterior_gold", pa.float64()), ("n_labelers", pa.int64()),
    ("n_judgments", pa.int64()), ("last_labeled_at", pa.timestamp("us", tz="UTC")),
    ("expected_score_change", pa.float64()), ("is_honeypot", pa.bool_()),
])


def as_of(ctx: Context) -> datetime:
    """The moment ages and labeler activity are judged at: `[gold] as_of`, else now."""
    text = ctx.cfg.gold.as_of
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UnusableInput(f"[gold] as_of {text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def current_guideline(ctx: Context) -> str | None:
    """`[gold] current_guideline`, else the guideline version of the most recent judgment naming one."""
    if ctx.cfg.gold.current_guideline:
        return ctx.cfg.gold.current_guideline
    rows = ctx.engine.query("items_current_guideline").column(0).to_pylist()
    return rows[0] if rows else None


def flagged_table(pairs: list[tuple[str, str | None]] | list[tuple[str, str | None, datetime | None]]) -> pa.Table:
    """The `flagged_labelers` view: one row per flagged (labeler, failure mode | NULL = all, since | NULL).

    A labeler flagged on all failure modes makes their per-failure-mode rows redundant; they are dropped so that
    a judgment matches at most one row (the SQL relies on it)."""
    rows = [(p[0], p[1], p[2] if len(p) > 2 else None) for p in pairs]
    everything = {lab for lab, fm, _ in rows if fm is None}
    kept: dict[tuple[str, str | None], datetime | None] = {}
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


def flagged_from_findings(ctx: Context) -> pa.Table:
    """Flagged (labeler, failure mode, since) from the labelers stage's findings (medium or high severity)."""
    from evalaudit.labelers import flagged_labelers

    pairs = flagged_labelers(ctx.findings)
    since: dict[tuple[str, str | None], datetime] = {}
    for f in ctx.findings:
        if f.kind == "labeler_drift" and f.labeler_id and f.details.get("since"):
            try:
                moment = datetime.fromisoformat(str(f.details["since"]))
            except ValueError:
                continue
            since[(f.labeler_id, f.failure_mode)] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # a drift finding limits the judgments set aside to those after the change, unless the same pair is also
    # flagged for leniency/severity over its whole history
    whole = {(f.labeler_id, f.failure_mode) for f in ctx.findings
             if f.kind in ("labeler_leniency", "labeler_severity", "labeler_spam")}
    return flagged_table([(lab, fm, None if (lab, fm) in whole else since.get((lab, fm))) for lab, fm in pairs])


@dataclass
class LabelCounts:
    """Per item, the label counts of its labelers' latest judgments: all, and without flagged labelers."""

    item_index: np.ndarray  # row of the item in the facts table, per (item, label) row
    label: np.ndarray  # label string per row (object array)
    n_all: np.ndarray
    n_kept: np.ndarray


def _flag_lists(flag_matrix: np.ndarray) -> pa.ListArray:
    """Per item, the names of its set flags, in FLAGS order — built from the matrix's nonzeros, not row by row."""
    _, cols = np.nonzero(flag_matrix)  # row-major: grouped by item, flags in column order
    offsets = np.zeros(len(flag_matrix) + 1, dtype=np.int32)
    np.cumsum(flag_matrix.sum(axis=1), out=offsets[1:])
    values = pa.array(FLAGS, pa.string()).take(pa.array(cols, pa.int32()))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    """A string column as a NumPy object array (None for nulls), without a Python list in between."""
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)


def _positions(values: pa.ChunkedArray, universe: pa.ChunkedArray) -> np.ndarray:
    """Index of each value in ``universe`` (-1 where absent), vectorised."""
    found = pc.index_in(values, value_set=universe.combine_chunks())
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _modes(index: np.ndarray, labels: np.ndarray, counts: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item: the most frequent label (None when no count, or when the top count is tied) and its count."""
    mode = np.full(n_items, None, dtype=object)
    best = np.zeros(n_items, dtype=np.int64)
    if len(index) == 0:
        return mode, best
    order = np.lexsort((-counts, index))  # by item, highest count first
    idx, cnt, lab = index[order], counts[order], labels[order]
    first = np.r_[True, idx[1:] != idx[:-1]]
    starts = np.flatnonzero(first)
    second = np.zeros(len(idx), dtype=np.int64)
    has_second = np.r_[idx[1:] == idx[:-1], False]
    second[has_second] = cnt[np.flatnonzero(has_second) + 1]
    top_idx, top_cnt, top_lab = idx[starts], cnt[starts], lab[starts]
    runner_up = second[starts]
    clear = (top_cnt > 0) & (top_cnt > runner_up)
    mode[top_idx[clear]] = top_lab[clear]
    best[top_idx] = top_cnt
    return mode, best


def stage(ctx: Context) -> StageResult:
    """Derive gold, flag poisoned and stale items, rank the re-labeling queue; findings poisoned_items/stale_items."""
    cfg = ctx.cfg
    moment = as_of(ctx)
    guideline = current_guideline(ctx)
    facts = ctx.engine.query("items_facts", current_guideline=guideline or "", as_of=moment)
    n = facts.num_rows
    flagged = ctx.tables.get("flagged_labelers")
    if flagged is None:
        flagged = flagged_from_findings(ctx)
    ctx.engine.register("flagged_labelers", flagged)
    counts = ctx.engine.query("items_label_counts")

    item_ids = facts.column("item_id")
    c_idx = _positions(counts.column("item_id"), item_ids)
    c_lab = _objects(counts.column("label"))
    n_all = counts.column("n_all").to_numpy().astype(np.int64)
    n_kept = counts.column("n_kept").to_numpy().astype(np.int64)
    majority, _ = _modes(c_idx, c_lab, n_all, n)
    audited_mode, _ = _modes(c_idx, c_lab, n_kept, n)
    total_all = np.bincount(c_idx, weights=n_all, minlength=n).astype(np.int64)
    total_kept = np.bincount(c_idx, weights=n_kept, minlength=n).astype(np.int64)
    positive = cfg.labels.positive

    # -- consensus posterior (Dawid–Skene) from the labelers stage -----------------------------------------------
    posterior = np.full(n, np.nan)
    consensus = ctx.tables.get("consensus")
    if consensus is not None and consensus.num_rows and "posterior_positive" in consensus.column_names:
        where = _positions(consensus.column("item_id"), item_ids)
        post = pc.fill_null(consensus.column("posterior_positive").cast(pa.float64()), np.nan)
        post = post.to_numpy(zero_copy_only=False)
        ok = (where >= 0) & np.isfinite(post)
        posterior[where[ok]] = post[ok]
    labels_seen = sorted(v for v in pc.unique(counts.column("label")).to_pylist() if v is not None)
    negatives = [v for v in labels_seen if v != positive]
    binary = len(negatives) <= 1  # the positive label and at most one other: a posterior of "positive" decides
    negative = negatives[0] if negatives else None

    # -- gold ---------------------------------------------------------------------------------------------------
    gold_given = _objects(facts.column("gold_label"))
    honeypot = _objects(facts.column("honeypot_label"))
    consensus_label = majority.copy()
    has_post = np.isfinite(posterior)
    if binary and negative is not None:
        consensus_label[has_post] = np.where(posterior[has_post] >= 0.5, positive, negative)
    gold = gold_given.copy()
    source = np.where(gold_given != None, "items.gold_label", None).astype(object)  # noqa: E711
    use_honeypot = (gold == None) & (honeypot != None)  # noqa: E711
    gold[use_honeypot] = honeypot[use_honeypot]
    source[use_honeypot] = "honeypot"
    use_consensus = (gold == None) & (consensus_label != None)  # noqa: E711
    gold[use_consensus] = consensus_label[use_consensus]
    source[use_consensus & has_post] = "dawid_skene"
    source[use_consensus & ~has_post] = "majority"

    # -- audited gold: re-derived without flagged judgments where any were set aside -----------------------------
    touched = total_kept < total_all
    audited = gold.copy()
    status = np.full(n, "unchanged", dtype=object)
    status[touched] = "rederived"
    audited[touched] = audited_mode[touched]
    no_judgment = touched & (total_kept == 0)
    tied = touched & (total_kept > 0) & (audited_mode == None)  # noqa: E711
    status[no_judgment] = "excluded_no_judgment"
    status[tied] = "excluded_tie"
    audited[no_judgment | tied] = None
    status[gold == None] = "no_gold"  # noqa: E711

    # -- posterior of the gold label, poison score -------------------------------------------------------------
    post_gold = np.full(n, np.nan)
    if binary:
        is_pos = gold == positive
        post_gold[has_post] = np.where(is_pos[has_post], posterior[has_post], 1 - posterior[has_post])
    agree = np.zeros(n)
    gold_of_row = gold[c_idx]
    np.add.at(agree, c_idx, np.where(c_lab == gold_of_row, n_all, 0))
    smoothed = (agree + 0.5) / (total_all + 1.0)  # Jeffreys prior: an unjudged item gets 0.5
    p_correct = np.where(np.isfinite(post_gold), post_gold, smoothed)
    poison = np.where(gold == None, np.nan, np.clip(1 - p_correct, 0, 1))  # noqa: E711

    # -- flags --------------------------------------------------------------------------------------------------
    n_labelers = facts.column("n_labelers").to_numpy().astype(np.int64)
    n_left = facts.column("n_labelers_left").to_numpy().astype(np.int64)
    n_current = facts.column("n_current_guideline").to_numpy().astype(np.int64)
    n_with = facts.column("n_with_guideline").to_numpy().astype(np.int64)
    last = facts.column("last_labeled_at")
    flags_by_name = {
        "flagged_labeler_only": touched & (total_kept == 0) & (total_all > 0),
        "flagged_deciding_vote": touched & (total_kept > 0) & (audited_mode != gold),
        "gold_disagrees_with_consensus": np.isfinite(post_gold)
        & (1 - np.nan_to_num(post_gold, nan=1.0) >= cfg.items.consensus_min_posterior),
        "single_label": n_labelers == 1,
        "superseded_guideline": (guideline is not None) & (n_with > 0) & (n_current == 0),
        "too_old": np.zeros(n, dtype=bool),
        "labelers_inactive": (n_labelers > 0) & (n_left == n_labelers),
        "no_judgments": total_all == 0,
    }
    if cfg.gold.max_age_days > 0:
        cutoff = moment - timedelta(days=cfg.gold.max_age_days)
        old = pc.less(last, pa.scalar(cutoff, type=pa.timestamp("us", tz="UTC")))
        flags_by_name["too_old"] = np.asarray(pc.fill_null(old, False).to_numpy(zero_copy_only=False), dtype=bool)
    is_honeypot = honeypot != None  # noqa: E711
    flag_matrix = np.column_stack([flags_by_name[f] for f in FLAGS]) if n else np.zeros((0, len(FLAGS)), bool)
    flags = _flag_lists(flag_matrix)

    # -- re-labeling priority ------------------------------------------------------------------------------------
    fm = _objects(facts.column("failure_mode"))
    gold_mask = (gold != None) & ~is_honeypot  # noqa: E711
    fm_codes, fm_index = np.unique(fm.astype(str), return_inverse=True)
    fm_gold = np.bincount(fm_index, weights=gold_mask, minlength=len(fm_codes))
    expected = np.where(gold_mask, np.nan_to_num(poison) / np.maximum(fm_gold[fm_index], 1), 0.0)
    order = np.lexsort((item_ids.to_numpy(zero_copy_only=False).astype(str), -expected,
                        -np.where(gold_mask, np.nan_to_num(poison), -1.0)))
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(1, n + 1)

    table = pa.table({
        "item_id": item_ids, "failure_mode": pa.array(fm, pa.string()), "gold_label": pa.array(gold, pa.string()),
        "poison_score": pa.array(poison, pa.float64(), from_pandas=True),
        "flags": flags,
        "relabel_priority": pa.array(priority), "gold_source": pa.array(source, pa.string()),
        "audited_label": pa.array(audited, pa.string()), "audited_status": pa.array(status, pa.string()),
        "consensus_label": pa.array(consensus_label, pa.string()),
        "posterior_gold": pa.array(post_gold, pa.float64(), from_pandas=True),
        "n_labelers": pa.array(n_labelers), "n_judgments": pa.array(total_all),
        "last_labeled_at": last, "expected_score_change": pa.array(expected),
        "is_honeypot": pa.array(is_honeypot.astype(bool)),
    }, schema=ITEMS_SCHEMA).sort_by("relabel_priority")

    findings = _poisoned_findings(ctx, fm_codes, fm_index, fm_gold, flag_matrix, gold_mask, poison, flagged, item_ids)
    findings += _stale_findings(ctx, fm, flag_matrix, gold_mask, item_ids, guideline)
    n_gold = int(gold_mask.sum())
    summary = {"items": {
        "n_items": n, "n_gold": n_gold, "n_honeypots": int(is_honeypot.sum()),
        "current_guideline": guideline, "as_of": moment.isoformat(),
        "gold_source": {s: int((source == s).sum())
                        for s in ("items.gold_label", "honeypot", "dawid_skene", "majority")},
        "flags": {f: int(flags_by_name[f][gold_mask].sum()) for f in FLAGS},
        "flagged_labelers": flagged.num_rows,
    }}
    gold_items = table.filter(pc.and_(pc.invert(table.column("is_honeypot")),
                                      pc.is_valid(table.column("gold_label"))))
    return StageResult(tables={"items": table, "flagged_labelers": flagged,
                               "gold_items": gold_items.select(["item_id", "failure_mode", "gold_label",
                                                                 "audited_label", "audited_status"])},
                       findings=findings, summary=summary)


def _severity(share: float, count: int, share_medium: float, share_high: float, n_medium: int, n_high: int) -> str:
    if share >= share_high and count >= n_high:
        return "high"
    if share >= share_medium and count >= n_medium:
        return "medium"
    return "low"


def _poisoned_findings(ctx: Context, fm_codes, fm_index, fm_gold, flag_matrix, gold_mask, poison, flagged,
                       item_ids) -> list[Finding]:
    """One poisoned_items finding per failure mode with poisoned gold: how many, what share, how many likely wrong."""
    cfg = ctx.cfg.items
    cols = [FLAGS.index(f) for f in sorted(POISON_FLAGS)]
    poisoned = flag_matrix[:, cols].any(axis=1) & gold_mask if len(flag_matrix) else np.zeros(0, bool)
    out = []
    ids = _objects(item_ids)
    for k, name in enumerate(fm_codes):
        mask = poisoned & (fm_index == k)
        count = int(mask.sum())
        if count < 5:
            continue
        share = count / max(fm_gold[k], 1)
        likely_wrong = float(np.nansum(poison[mask]))
        by_flag = {FLAGS[j]: int((flag_matrix[:, j] & mask).sum()) for j in cols}
        labelers = sorted({lab for lab, f in zip(flagged.column("labeler_id").to_pylist(),
                                                  flagged.column("failure_mode").to_pylist(), strict=True)
                           if f is None or f == name})
        out.append(Finding(
            kind="poisoned_items",
            severity=_severity(share, count, cfg.poisoned_share_medium, cfg.poisoned_share_high,
                               cfg.poisoned_n_medium, cfg.poisoned_n_high),
            labeler_id=labelers[0] if len(labelers) == 1 else None,
            failure_mode=str(name), effect=share, n=count,
            evidence=("census of gold items whose gold rests only on flagged labelers, was decided by their vote, "
                      "or contradicts the Dawid–Skene consensus; 'likely wrong' = sum of poison scores "
                      "(1 - posterior of the gold label)"),
            message=(f"{count:,} gold items of {name} ({share:.1%}) rest on flagged labelers' judgments or "
                     f"contradict the consensus; about {likely_wrong:,.0f} of them are likely wrong."),
            details={"by_flag": by_flag, "likely_wrong": round(likely_wrong, 1), "flagged_labelers": labelers,
                     "item_ids": sorted(ids[mask].tolist())[:50]},
        ))
    return out


def _stale_findings(ctx: Context, fm, flag_matrix, gold_mask, item_ids, guideline) -> list[Finding]:
    """One stale_items finding per reason (superseded guideline, too old, labelers inactive), with the failure
    modes it touches."""
    cfg = ctx.cfg.items
    n_gold = int(gold_mask.sum())
    ids = _objects(item_ids)
    out = []
    texts = {
        "superseded_guideline": f"were labeled only under a guideline other than the current one ({guideline})",
        "too_old": f"were last labeled more than {ctx.cfg.gold.max_age_days} days ago",
        "labelers_inactive": "were judged only by labelers who have since left",
    }
    for reason in STALE_FLAGS:
        if not len(flag_matrix):
            break
        mask = flag_matrix[:, FLAGS.index(reason)] & gold_mask
        count = int(mask.sum())
        if count < cfg.stale_min_items:
            continue
        share = count / max(n_gold, 1)
        fms, per_fm = np.unique(fm[mask].astype(str), return_counts=True)
        top = sorted(zip(fms.tolist(), per_fm.tolist(), strict=True), key=lambda t: -t[1])
        out.append(Finding(
            kind="stale_items",
            severity=_severity(share, count, cfg.stale_share_medium, cfg.stale_share_high, cfg.stale_min_items,
                               cfg.stale_min_items),
            failure_mode=top[0][0] if len(top) == 1 else None, effect=share, n=count,
            evidence=f"census of gold items flagged {reason}",
            message=f"{count:,} gold items ({share:.1%} of the gold set) {texts[reason]}.",
            details={"reason": reason, "by_failure_mode": dict(top), "item_ids": sorted(ids[mask].tolist())[:50]},
        ))
    return out
