"""Gold-set expectations (issue 7 §5): what the gold set itself must satisfy, checked inside `evalaudit run`.

The metrics are computed in DuckDB over the store's views (named queries ``contracts_gold_*``) and checked with
Great Expectations, the same machinery as `evalaudit check`:

- **stale share**: share of gold items with no judgment under ``[gold] current_guideline`` or whose latest judgment
  is older than ``[gold] max_age_days`` — at most ``[contracts] gold_max_stale_share`` (``stale_items`` finding);
- **labeler share**: per failure mode, the share of its gold resting on one labeler, each item's weight split
  equally among its labelers (as `evalaudit.labelers.concentration` weighs gold) — at most
  ``gold_max_labeler_share`` (``labeler_concentration`` finding per labeler × failure mode beyond it);
- **single-labeled share**: share of gold items judged by one labeler only, whose label no one confirmed — at most
  ``gold_max_single_labeled_share`` (``poisoned_items`` finding, its details naming the expectation).

Gold items are the items with judgments in the store. Results go to ``summary["gold_expectations"]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalaudit.config import Config
from evalaudit.contracts.check import run_expectations, validate_config
from evalaudit.contracts.gx import Spec
from evalaudit.contracts.result import FAILED, ExpectationResult
from evalaudit.engine import Engine
from evalaudit.findings import Finding

if TYPE_CHECKING:  # the pipeline imports the stages; importing it here at run time would be circular
    from evalaudit.pipeline import Context, StageResult

#: the clock before which no cutoff applies (no [gold] max_age_days)
NO_CUTOFF = datetime(1900, 1, 1, tzinfo=UTC)


def gold_expectations(engine: Engine, cfg: Config, now: datetime | None = None) -> list[ExpectationResult]:
    """Run the gold expectations on the store's views; one result per expectation."""
    validate_config(cfg)
    c, g = cfg.contracts, cfg.gold
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = now - timedelta(days=g.max_age_days) if g.max_age_days > 0 else NO_CUTOFF
    rows = engine.query("contracts_gold", current_guideline=g.current_guideline or "",
                        check_guideline=1 if g.current_guideline else 0, cutoff=cutoff)
    s = {k: int(rows.column(k)[0].as_py() or 0) for k in ("total_items", "n_stale", "n_single_labeled")}
    n = s["total_items"]
    rules = []
    if g.current_guideline:
        rules.append(f"no judgment under guideline {g.current_guideline!r}")
    if g.max_age_days > 0:
        rules.append(f"latest judgment older than {g.max_age_days} days")
    stale = s["n_stale"] / n if n and rules else None
    single = s["n_single_labeled"] / n if n else None
    shares = rows.select(["failure_mode", "labeler_id", "n_items", "share"]).to_pandas()
    judged = shares[shares["labeler_id"].notna() & (shares["n_items"] >= c.gold_min_items)].reset_index(drop=True)
    frames = {"gold": pd.DataFrame({"stale_share": [stale], "single_labeled_share": [single], "n_items": [n]}),
              "gold_labeler": judged}
    b_stale, b_share, b_single = c.gold_max_stale_share, c.gold_max_labeler_share, c.gold_max_single_labeled_share
    top = judged.iloc[0].to_dict() if not judged.empty else {}
    counts = [{"n_items": n, "n_stale": s["n_stale"], "n_single_labeled": s["n_single_labeled"]}]
    specs = [
        Spec("gold_stale_share", "gold", f"at most {b_stale:.0%} of gold items are stale", "gold",
             lambda x: x.ExpectColumnValuesToBeBetween(column="stale_share", max_value=b_stale),
             column="stale_share", bound=f"<= {b_stale:g}", index_columns=("n_items",), observed=stale, scalar=True,
             details=counts,
             note=f"stale = {' or '.join(rules)}; {s['n_stale']:,} of {n:,} gold items" if rules else None),
        Spec("gold_labeler_share", "gold",
             f"no failure mode rests on one labeler for more than {b_share:.0%} of its gold", "gold_labeler",
             lambda x: x.ExpectColumnValuesToBeBetween(column="share", max_value=b_share), column="share",
             bound=f"<= {b_share:g}", index_columns=("failure_mode", "labeler_id", "n_items"),
             observed=top.get("share"),
             note=(f"largest: {top['labeler_id']} on {top['failure_mode']}; failure modes with at least "
                   f"{c.gold_min_items} gold items") if top else None),
        Spec("gold_single_labeled_share", "gold", f"at most {b_single:.0%} of gold items are single-labeled", "gold",
             lambda x: x.ExpectColumnValuesToBeBetween(column="single_labeled_share", max_value=b_single),
             column="single_labeled_share", bound=f"<= {b_single:g}", index_columns=("n_items",),
             observed=single, scalar=True, note=f"{s['n_single_labeled']:,} of {n:,} gold items", details=counts),
    ]
    cannot: dict[str, str] = {}
    if not n:
        cannot = {sp.expectation: "the store holds no judgments" for sp in specs}
    if not rules:
        cannot["gold_stale_share"] = "neither [gold] current_guideline nor [gold] max_age_days is configured"
    if judged.empty and n:
        cannot["gold_labeler_share"] = f"no failure mode has {c.gold_min_items} or more gold items"
    # every labeler × failure mode beyond the bound becomes a finding, so ask GX for all of them as examples
    return run_expectations(specs, cannot, frames, max(len(judged), c.examples))


def _findings(results: list[ExpectationResult]) -> list[Finding]:
    out: list[Finding] = []
    for r in results:
        if r.status != FAILED:
            continue
        n_items = r.details[0]["n_items"] if r.details else None
        details: dict[str, Any] = {"expectation": r.expectation, "observed": r.observed, "bound": r.bound}
        if r.expectation == "gold_stale_share":
            out.append(Finding("stale_items", "medium",
                               f"{r.observed:.0%} of the gold items are stale, above the contract's bound ({r.bound})",
                               "gold expectation: share of stale gold items", effect=r.observed, n=n_items,
                               details=details))
        elif r.expectation == "gold_single_labeled_share":
            out.append(Finding("poisoned_items", "low",
                               f"{r.observed:.0%} of the gold items rest on a single labeler's judgment, above the "
                               f"contract's bound ({r.bound})", "gold expectation: share of single-labeled gold items",
                               effect=r.observed, n=n_items, details=details))
        elif r.expectation == "gold_labeler_share":
            for ex in r.examples:
                out.append(Finding(
                    "labeler_concentration", "medium",
                    f"{ex['share']:.0%} of the {ex['failure_mode']} gold rests on {ex['labeler_id']}, above the "
                    f"contract's bound ({r.bound})", "gold expectation: share of a failure mode's gold resting on one "
                    "labeler (each item's weight split among its labelers)", labeler_id=ex["labeler_id"],
                    failure_mode=ex["failure_mode"], effect=ex["share"], n=ex.get("n_items"), details=details))
    return out


def gold_stage(ctx: Context) -> StageResult:
    """Pipeline stage: run the gold expectations; summary ``gold_expectations`` and findings for violations."""
    from evalaudit.pipeline import StageResult

    results = gold_expectations(ctx.engine, ctx.cfg)
    summary = [r.to_json() for r in results]
    return StageResult(findings=_findings(results), summary={"gold_expectations": summary})
