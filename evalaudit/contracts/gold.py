"""Gold-set expectations: what the declared gold set must satisfy, checked as the last stage of `evalaudit run`.

The stage recomputes nothing: it reads what the stages that own the ideas already derived —

- the items stage's table (``ctx.tables["items"]``: gold label, flags, labelers per item, all judged at
  ``[gold] as_of``) for the share of the gold set that is stale and the share judged by a single labeler — the gold
  set and stale as :mod:`evalaudit.gold` defines them (:func:`~evalaudit.gold.in_gold_set`,
  :func:`~evalaudit.gold.stale_mask`: ``superseded_guideline``, ``too_old``, ``labelers_inactive``);
- the labelers stage's ``labeler_stats`` (``gold_weight_share``: each gold item's weight split equally among its
  labelers) for the share of a failure mode's gold resting on one labeler —

and holds them to the ``[contracts] gold_*`` bounds. A violated bound is one ``gold_expectation`` finding (one per
labeler × failure mode for the labeler share); ``stale_items``, ``poisoned_items`` and ``labeler_concentration`` stay
with the stages that own them. The results go to ``summary["gold_expectations"]``, the same records as a check's.

Why not Great Expectations here: the three numbers are already computed; GX's import alone (1.6–5.4 s on the
project's machine) would be the stage's whole cost, against a budget of one second.

A store without an items table declares no gold set (gold is derived from the judgments by consensus): the stage
then does nothing and says so in ``summary.skipped``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from evalaudit.config import Config
from evalaudit.contracts.result import FAILED, PASSED, SKIPPED, ExpectationResult
from evalaudit.contracts.settings import validate_config
from evalaudit.findings import Finding
from evalaudit.gold import in_gold_set, stale_mask

if TYPE_CHECKING:  # the stage contract; only type hints need it
    from evalaudit.stage import Context, StageResult

ANALYSIS = "gold-set expectations"


def _result(name: str, description: str, observed: float | None, bound: float, n: int, note: str,
            details: list[dict[str, Any]] | None = None, skip: str | None = None,
            violations: list[dict[str, Any]] | None = None) -> ExpectationResult:
    if skip is not None:
        status = SKIPPED
    else:
        status = FAILED if (violations if violations is not None else observed > bound) else PASSED
    return ExpectationResult(name, "gold", description, status, column=name.removeprefix("gold_"), observed=observed,
                             bound=f"<= {bound:g}", element_count=n, examples=violations or [],
                             unexpected_count=len(violations) if violations is not None else None,
                             note=skip if skip is not None else note, details=details or [])


def gold_expectations(items: pa.Table | ds.Dataset, labeler_stats: pa.Table | None, cfg: Config
                      ) -> list[ExpectationResult]:
    """The three gold expectations over the items stage's table and the labelers stage's ``labeler_stats``."""
    validate_config(cfg)
    c, g = cfg.contracts, cfg.gold
    n = n_stale = n_single = 0
    # masks over the items table's columns only (the gold set and stale as evalaudit.gold defines them): copying a
    # table of millions of items would cost seconds; a dataset over the items.parquet a run wrote is read a batch
    # of four columns at a time
    columns = ["gold_label", "is_honeypot", "flags", "n_labelers"]
    for part in ([items] if isinstance(items, pa.Table) else
                 (pa.Table.from_batches([b]) for b in items.to_batches(columns=columns))):
        gold = in_gold_set(part)
        n += int(gold.sum())
        n_stale += int((stale_mask(part.column("flags")) & gold).sum())
        n_single += int(((pc.fill_null(part.column("n_labelers"), 0).to_numpy(zero_copy_only=False) == 1)
                         & gold).sum())
    rules = [f"no judgment under the current guideline ({g.current_guideline or 'the latest guideline judged'})",
             "judged only by labelers who have left"]
    if g.max_age_days > 0:
        rules.insert(1, f"last judged more than {g.max_age_days} days before {g.as_of or 'the run'}")
    counts = [{"n_items": n, "n_stale": n_stale, "n_single_labeled": n_single}]
    none = "the store's items table names no gold item" if not n else None
    out = [
        _result("gold_stale_share", f"at most {c.gold_max_stale_share:.0%} of gold items are stale",
                n_stale / n if n else None, c.gold_max_stale_share, n,
                f"stale = {' or '.join(rules)} (the items stage's flags); {n_stale:,} of {n:,} gold items",
                counts, none),
        _result("gold_single_labeled_share", f"at most {c.gold_max_single_labeled_share:.0%} of gold items are "
                "single-labeled", n_single / n if n else None, c.gold_max_single_labeled_share, n,
                f"{n_single:,} of {n:,} gold items judged by one labeler", counts, none),
    ]
    b = c.gold_max_labeler_share
    description = f"no failure mode rests on one labeler for more than {b:.0%} of its gold"
    if labeler_stats is None or not labeler_stats.num_rows or none:
        out.append(_result("gold_labeler_share", description, None, b, 0, "", skip=none or
                           "the labelers stage measured no labeler's share of the gold"))
        return out
    t = labeler_stats.select(["labeler_id", "failure_mode", "gold_weight_share", "fm_gold_items"])
    t = t.filter(pc.and_(pc.and_(pc.not_equal(t.column("failure_mode"), "all"),
                                 pc.greater_equal(t.column("fm_gold_items"), c.gold_min_items)),
                         pc.is_valid(t.column("gold_weight_share"))))
    t = t.sort_by([("gold_weight_share", "descending"), ("failure_mode", "ascending"), ("labeler_id", "ascending")])
    beyond = pc.sum(pc.greater(t.column("gold_weight_share"), b)).as_py() or 0
    # the rows beyond the bound (and the largest share) are all a reader and the findings need
    rows = [{"labeler_id": r["labeler_id"], "failure_mode": r["failure_mode"], "share": r["gold_weight_share"],
             "n_items": int(r["fm_gold_items"])} for r in t.slice(0, max(beyond, 1)).to_pylist()]
    top = rows[0] if rows else None
    out.append(_result("gold_labeler_share", description, top["share"] if top else None, b, t.num_rows,
                       f"largest: {top['labeler_id']} on {top['failure_mode']} (the labelers stage's gold weight "
                       f"share: each item's weight split among its labelers); failure modes with at least "
                       f"{c.gold_min_items} gold items" if top else "",
                       skip=None if rows else f"no failure mode has {c.gold_min_items} or more gold items",
                       violations=[r for r in rows if r["share"] > b]))
    return out


def _findings(results: list[ExpectationResult]) -> list[Finding]:
    out: list[Finding] = []
    for r in results:
        if r.status != FAILED:
            continue
        details: dict[str, Any] = {"expectation": r.expectation, "observed": r.observed, "bound": r.bound}
        if r.expectation == "gold_labeler_share":
            for ex in r.examples:
                out.append(Finding(
                    "gold_expectation", "medium",
                    f"{ex['share']:.0%} of the {ex['failure_mode']} gold rests on {ex['labeler_id']}, above the "
                    f"gold-set contract's bound ({r.bound})", "gold-set expectation: share of a failure mode's gold "
                    "resting on one labeler (each item's weight split among its labelers)",
                    labeler_id=ex["labeler_id"], failure_mode=ex["failure_mode"], effect=ex["share"],
                    n=ex["n_items"], details=details))
            continue
        what = {"gold_stale_share": "are stale", "gold_single_labeled_share": "rest on a single labeler's judgment"}
        out.append(Finding("gold_expectation", "medium",
                           f"{r.observed:.0%} of the {r.element_count:,} gold items {what[r.expectation]}, above the "
                           f"gold-set contract's bound ({r.bound})", f"gold-set expectation: {r.note}",
                           effect=r.observed, n=r.element_count, details=details))
    return out


def gold_stage(ctx: Context) -> StageResult:
    """Pipeline stage: the gold expectations over the items and labelers stages' tables; findings of kind
    ``gold_expectation``; nothing (and a ``summary.skipped`` entry) without an items table."""
    from evalaudit.stage import StageResult, skip

    items = ctx.tables.get("items")
    if not ctx.engine.has_table("items") or items is None:
        return StageResult(skipped=[skip(ANALYSIS, "the store has no items table, so it declares no gold set "
                                                   "(gold is derived from the judgments by consensus)")])
    results = gold_expectations(items, ctx.tables.get("labeler_stats"), ctx.cfg)
    skipped = [skip(f"{ANALYSIS}: {r.expectation}", r.note or "") for r in results if r.status == SKIPPED]
    return StageResult(findings=_findings(results), summary={"gold_expectations": [r.to_json() for r in results]},
                       skipped=skipped)
