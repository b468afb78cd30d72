"""Labeler forensics (the `labelers` stage): for every labeler × failure mode, whether they pass outputs more
(lenient) or less (severe) often than peers judging comparable items, how sure we are, since when, and how much of
the gold rests on them — plus drift, concentration, spam and collusion. docs/labelers.md explains every method.

Evidence kinds (one leniency row each, SPEC §5): ``overlap`` (paired, leave-one-out majority on shared items),
``honeypot`` (known answers), ``assignment`` (CMH over strata on single-label items, weaker) and ``dawid_skene``
(label minus the leave-this-labeler-out Dawid–Skene posterior). BH q-values over all rows; one finding per
labeler × failure mode (severity rules in :mod:`evalaudit.labelers.severity`).

Tables returned: ``leniency``, ``consensus`` (per item × failure mode Dawid–Skene posterior — gold derivation
downstream uses it), ``labeler_stats``, ``drift``, ``drift_series``, ``labeler_pairs``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.findings import Finding, severity_rank
from evalaudit.labelers import (
    assignment,
    concentration,
    dawid_skene,
    drift,
    honeypot,
    judgments,
    overlap,
    severity,
    spam,
)
from evalaudit.labelers.evidence import LENIENCY_SCHEMA, evidence_table, num, z_interval
from evalaudit.pipeline import Context, StageResult

DS_METHOD = ("dawid_skene: difference in positive rate implied by the labeler's confusion matrix (vs the "
             "leave-this-labeler-out Dawid–Skene posterior) against a typical peer's, on the failure mode's item mix "
             "(normal interval)")
FLAG_KINDS = frozenset({"labeler_leniency", "labeler_severity", "labeler_drift", "labeler_spam"})

__all__ = ["flagged_labelers", "stage"]


def flagged_labelers(result: StageResult | list[Finding], min_severity: str = "medium"
                     ) -> list[tuple[str, str | None]]:
    """The (labeler_id, failure_mode) whose judgments an audited gold should drop: leniency, severity and drift
    findings name a failure mode; spam names None (all of the labeler's judgments). Collusion is not included:
    the data cannot say which of the pair copies. Sorted, without duplicates."""
    findings = result.findings if isinstance(result, StageResult) else result
    floor = severity_rank(min_severity)
    out = {(f.labeler_id, f.failure_mode) for f in findings
           if f.kind in FLAG_KINDS and f.labeler_id is not None and severity_rank(f.severity) >= floor}
    return sorted(out, key=lambda k: (k[0], k[1] or ""))


def _empty_result() -> StageResult:
    return StageResult(tables={"leniency": LENIENCY_SCHEMA.empty_table()}, summary={"labelers": {"labelers": 0}})


def stage(ctx: Context) -> StageResult:
    """Run every labeler method over the store's labels (see module docstring)."""
    if not judgments.has_table(ctx.engine, "labels"):
        return _empty_result()
    cfg, eng = ctx.cfg, ctx.engine
    lc, conf = cfg.leniency, cfg.agreement.confidence
    positive = cfg.labels.positive
    J = judgments.load(eng, positive)
    if len(J.y) == 0:
        return _empty_result()
    ctx.progress("labelers", 1, 6)
    fm_names = np.asarray(J.failure_modes.to_pylist(), dtype=object)
    lab_names = np.asarray(J.labelers.to_pylist(), dtype=object)

    # -- profile, concentration, spam (spammers are then left out of everyone's peer consensus) ----------------
    all_gold = not bool(eng.sql("SELECT COUNT(*) AS n FROM labelers_items WHERE is_gold = 1")["n"][0].as_py())
    prof, totals = concentration.profile(eng, all_gold)
    stats_t = concentration.shares(prof, totals)
    ov_first = overlap.counts(eng)
    hp_counts = honeypot.counts(eng) if (J.truth >= 0).any() else None
    overall = stats_t.filter(pc.equal(stats_t["failure_mode"], "all"))
    spam_f, spam_facts = spam.spam_findings(overall, ov_first, hp_counts if hp_counts is not None else
                                            ov_first.slice(0, 0), spam.switches(eng), float(np.mean(J.y)),
                                            cfg.spam, conf)
    spammers = {f.labeler_id for f in spam_f if severity_rank(f.severity) >= 1}
    ov_counts = overlap.counts(eng, sorted(spammers)) if spammers else ov_first

    # -- evidence from the data directly ---------------------------------------------------------------------
    as_sums = assignment.sums(eng, lc.strata)
    parts = [overlap.evidence(ov_counts, lc.min_items, conf)]
    if hp_counts is not None:
        parts.append(honeypot.evidence(hp_counts, lc.min_items, conf))
    parts.append(assignment.evidence(as_sums, lc.min_items, conf, lc.strata))
    ctx.progress("labelers", 2, 6)

    # -- Dawid–Skene ----------------------------------------------------------------------------------------
    n_item = np.bincount(J.item, minlength=J.n_items)
    informative = (n_item >= 2) | (J.truth >= 0)
    fm_informative = np.bincount(J.item_fm, weights=informative, minlength=len(fm_names))
    ds_fm = fm_informative >= lc.ds_min_items
    ds = dawid_skene.fit(J.y, J.item, J.worker, J.item_fm, J.worker_fm, J.truth, lc.ds_prior_strength, lc.ds_tol,
                         lc.ds_max_iter)
    maj = dawid_skene.majority(J.y, J.item, J.n_items, J.truth)
    use_ds_item = ds_fm[J.item_fm]
    posterior = np.where(use_ds_item, ds.posterior, maj)
    loo = dawid_skene.leave_one_out(ds, J.item, J.truth)
    # DS evidence: the labeler's confusion matrix re-estimated against the leave-this-labeler-out posterior on
    # items where someone else (or a known answer) speaks — on single-label items that posterior is only the class
    # prior, and the labeler's own label would confirm itself. The effect is the difference in positive rate this
    # matrix implies on the failure mode's mix of items vs a typical peer's: pi (s - s_peer) - (1 - pi)(t - t_peer).
    informative_j = informative[J.item].astype(float)
    d = J.y - dawid_skene.peer_expected(ds, J.item, J.item_fm, loo)
    n_all = np.bincount(J.worker, minlength=J.n_workers).astype(float)
    n_w = np.bincount(J.worker, weights=informative_j, minlength=J.n_workers)
    ds_eff = dawid_skene.implied_effect(ds, J.y, J.worker, J.worker_fm, loo, informative_j)
    mean_d, se, rate_w = ds_eff["effect"], ds_eff["se"], ds_eff["rate"]
    lo, hi, p = z_interval(mean_d, se, conf)
    keep = (n_w >= lc.min_items) & ds_fm[J.worker_fm]
    parts.append(evidence_table(lab_names[J.worker_labeler][keep], fm_names[J.worker_fm][keep], "dawid_skene",
                                mean_d[keep], lo[keep], hi[keep], p[keep], n_w[keep], rate_w[keep],
                                ds_eff["peer_rate"][keep], DS_METHOD))
    leniency = pa.concat_tables([t for t in parts if t.num_rows] or [LENIENCY_SCHEMA.empty_table()])
    leniency = leniency.set_column(leniency.schema.get_field_index("q_value"), "q_value",
                                   pa.array(severity.bh(num(leniency, "p_value"))))
    ctx.progress("labelers", 3, 6)

    neg = {r["failure_mode"]: r["label"] for r in eng.query("labelers_negative_label", positive=positive).to_pylist()}
    neg_per_fm = np.array([neg.get(f) for f in fm_names], dtype=object)
    consensus = pa.table({
        "item_id": J.item_id,
        "failure_mode": pa.array(fm_names[J.item_fm], pa.string()),
        "posterior_positive": posterior,
        "consensus_label": pa.array(np.where(posterior >= 0.5, positive, neg_per_fm[J.item_fm]), pa.string()),
        "n_labels": n_item.astype(np.int64),
        "method": pa.array(np.where(use_ds_item, "dawid_skene", "majority"), pa.string()),
    })
    ds_workers = pa.table({
        "labeler_id": pa.array(lab_names[J.worker_labeler], pa.string()),
        "failure_mode": pa.array(fm_names[J.worker_fm], pa.string()),
        "sensitivity": ds.sensitivity, "specificity": ds.specificity, "prior": ds.prior[J.worker_fm],
        "n": n_all.astype(np.int64),
    })
    eng.register("labelers_ds_workers", ds_workers)

    # -- drift ------------------------------------------------------------------------------------------------
    dc = cfg.drift
    # discordance per judgment: vs the DS peer expectation where the item has other evidence, else vs peers'
    # positive rate on the same failure mode in the same week (what an item-less comparison can stratify on)
    week_peer = drift.week_peer_rate(J.worker, J.week, J.y, J.worker_fm, J.n_workers, len(fm_names))
    d_drift = np.where(informative_j > 0, d, J.y - np.where(np.isnan(week_peer), J.y, week_peer))
    cp = drift.change_points(J.worker, J.week, d_drift, J.n_workers, dc.min_judgments, dc.min_weeks, dc.q_max)
    drift_q = severity.bh(cp["p_value"])
    change = cp["after"] - cp["before"]
    detected = (drift_q < dc.q_max) & (np.abs(change) >= dc.min_change)
    det = np.nonzero(np.nan_to_num(detected, nan=0).astype(bool))[0]
    drift_table = pa.table({
        "labeler_id": pa.array(lab_names[J.worker_labeler][det], pa.string()),
        "failure_mode": pa.array(fm_names[J.worker_fm][det], pa.string()),
        "change_date": drift.week_dates(cp["change_week"][det]),
        "effect_before": cp["before"][det], "effect_after": cp["after"][det], "change": change[det],
        "statistic": cp["stat"][det], "threshold": np.full(len(det), cp["threshold"]),
        "p_value": cp["p_value"][det], "q_value": drift_q[det], "n": cp["n"][det],
    })
    ser = drift.series(J.worker, J.week, J.y, J.worker_fm, J.n_workers, len(fm_names))
    drift_series = pa.table({
        "labeler_id": pa.array(lab_names[J.worker_labeler[ser["worker"]]], pa.string()),
        "failure_mode": pa.array(fm_names[J.worker_fm[ser["worker"]]], pa.string()),
        "week": drift.week_dates(ser["week"]), "n": ser["n"].astype(np.int64),
        "rate": ser["rate"], "peer_rate": ser["peer_rate"],
    })
    n_drift_tests = int(np.sum(~np.isnan(cp["p_value"])))
    ctx.progress("labelers", 4, 6)

    # -- concentration, profile -------------------------------------------------------------------------------
    gold_items = {(r["labeler_id"], r["failure_mode"]): r["n_gold_items"]
                  for r in prof.select(["labeler_id", "failure_mode", "n_gold_items"]).to_pylist()}
    first_seen = {(r["labeler_id"], r["failure_mode"]): r["first_labeled_at"]
                  for r in prof.select(["labeler_id", "failure_mode", "first_labeled_at"]).to_pylist()}

    # -- findings ---------------------------------------------------------------------------------------------
    since = {}
    for r in drift_table.to_pylist():
        since[(r["labeler_id"], r["failure_mode"])] = r["change_date"].isoformat()
    for key, ts in first_seen.items():
        if key not in since and ts is not None:
            since[key] = ts.isoformat()
    findings = severity.leniency_findings(leniency, gold_items, lc, since, positive)
    findings += _drift_findings(drift_table, n_drift_tests, gold_items)
    findings += concentration.findings(stats_t, cfg.concentration)
    for f in spam_f:
        folded = [x for x in findings if x.labeler_id == f.labeler_id and x.kind in ("labeler_leniency",
                                                                                    "labeler_severity")]
        if f.labeler_id in spammers and folded:
            f.details["also_differs_from_peers_on"] = {x.failure_mode: x.effect for x in folded}
    findings = [x for x in findings if not (x.labeler_id in spammers and x.kind in ("labeler_leniency",
                                                                                    "labeler_severity"))]
    findings += spam_f
    pairs, coll_f = spam.collusion(eng, cfg.spam)
    findings += coll_f
    ctx.progress("labelers", 5, 6)

    labeler_stats = _labeler_stats(stats_t, ds_workers, spam_facts, findings)
    flagged = flagged_labelers(findings)
    summary = {
        "labelers": {
            "labelers": len(lab_names),
            "labeler_failure_modes": int(J.n_workers),
            "judgments": len(J.y),
            "repeated_judgments_dropped": int(pc.sum(J.table["n_repeats"]).as_py()) - len(J.y),
            "leniency_tests": int(np.sum(~np.isnan(num(leniency, "p_value")))),
            "flagged": len(flagged),
            "flagged_labelers": len({k[0] for k in flagged}),
            "findings_by_kind": _count_kinds(findings),
            "dawid_skene": {"iterations": ds.n_iter, "converged": ds.converged,
                            "failure_modes": int(ds_fm.sum()), "majority_failure_modes": int((~ds_fm).sum())},
            "concentration": concentration.hhi(stats_t),
        }
    }
    ctx.progress("labelers", 6, 6)
    return StageResult(
        tables={"leniency": leniency, "consensus": consensus, "labeler_stats": labeler_stats, "drift": drift_table,
                "drift_series": drift_series, "labeler_pairs": pairs},
        findings=findings,
        summary=summary,
    )


def _count_kinds(findings: list[Finding]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.kind] = out.get(f.kind, 0) + 1
    return out


def _drift_findings(t: pa.Table, n_tests: int, gold_items: dict) -> list[Finding]:
    out = []
    for r in t.to_pylist():
        key = (r["labeler_id"], r["failure_mode"])
        ch = r["change"]
        sev = "high" if abs(ch) >= 0.2 and r["q_value"] < 0.001 else "medium"
        direction = "more lenient" if ch > 0 else "more severe"
        out.append(Finding(
            kind="labeler_drift", severity=sev, labeler_id=key[0], failure_mode=key[1], effect=ch,
            p_value=r["p_value"], q_value=r["q_value"], n=r["n"],
            evidence=f"{drift.METHOD}; BH q-value over {n_tests} labeler × failure-mode series",
            message=(f"Labeler {key[0]} became {direction} on {key[1]} from the week of {r['change_date']}: "
                     f"discordance with consensus went from {r['effect_before']:+.2f} to {r['effect_after']:+.2f}."),
            details={"since": r["change_date"].isoformat(), "effect_before": r["effect_before"],
                     "effect_after": r["effect_after"], "statistic": r["statistic"], "threshold": r["threshold"],
                     "gold_items": int(gold_items.get(key, 0))},
        ))
    return out


def _labeler_stats(stats_t: pa.Table, ds_workers: pa.Table, spam_facts: dict, findings: list[Finding]) -> pa.Table:
    """One row per labeler × failure mode plus an 'all' row per labeler (DS rates weighted by judgments)."""
    ds = {(r["labeler_id"], r["failure_mode"]): r for r in ds_workers.to_pylist()}
    agg: dict[str, list[float]] = {}
    for (lab, _), r in ds.items():
        a = agg.setdefault(lab, [0.0, 0.0, 0.0])
        a[0] += r["n"] * r["sensitivity"]
        a[1] += r["n"] * r["specificity"]
        a[2] += r["n"]
    worst: dict[tuple[str, str | None], str] = {}
    for f in findings:
        if f.labeler_id is None or f.kind == "labeler_collusion":
            continue
        key = (f.labeler_id, f.failure_mode or "all")
        if key not in worst or severity_rank(f.severity) > severity_rank(worst[key]):
            worst[key] = f.severity
    rows = stats_t.to_pylist()
    sens, spec, spam_score, flagged, sev, signals = [], [], [], [], [], []
    for r in rows:
        key = (r["labeler_id"], r["failure_mode"])
        if r["failure_mode"] == "all":
            a = agg.get(r["labeler_id"], [np.nan, np.nan, 1.0])
            s, t = a[0] / a[2], a[1] / a[2]
        else:
            w = ds.get(key)
            s, t = (w["sensitivity"], w["specificity"]) if w else (np.nan, np.nan)
        sens.append(s)
        spec.append(t)
        spam_score.append(1 - abs(s + t - 1))
        facts = spam_facts.get(r["labeler_id"], {}) if r["failure_mode"] == "all" else {}
        signals.append(", ".join(facts.get("signals", [])) or None)
        v = worst.get(key)
        if r["failure_mode"] == "all":
            mine = [x for k, x in worst.items() if k[0] == r["labeler_id"]]
            v = max(mine, key=severity_rank) if mine else None
        sev.append(v)
        flagged.append(v is not None and severity_rank(v) >= 1)
    out = stats_t
    for name, arr, typ in (("ds_sensitivity", sens, pa.float64()), ("ds_specificity", spec, pa.float64()),
                           ("spam_score", spam_score, pa.float64()), ("spam_signals", signals, pa.string()),
                           ("max_severity", sev, pa.string()), ("flagged", flagged, pa.bool_())):
        out = out.append_column(name, pa.array(arr, typ))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = num(out, "n_positive") / num(out, "n_judgments")
    return out.append_column("positive_rate", pa.array(rate, pa.float64()))
