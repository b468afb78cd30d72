"""Labeler forensics (the `labelers` stage): for every labeler × failure mode, whether they pass outputs more
(lenient) or less (severe) often than peers judging comparable items, how sure we are, since when, and how much of
the gold rests on them — plus drift, concentration, spam and collusion. docs/labelers.md explains every method.

Evidence kinds (one leniency row each, docs/outputs.md): ``overlap`` (paired, vs a peer on shared items, or vs the other
labelers' leave-one-out mean on ordered scales), ``honeypot`` (known answers, tested where the bias shows),
``assignment`` (CMH over strata on single-label items; capped at low unless ``[labelers] assignment = "random"`` is
declared and a balance check agrees) and ``dawid_skene`` (bias against the leave-this-labeler-out Dawid–Skene
posterior, :mod:`evalaudit.labelers.truth_bias`). They are then combined into one ``combined`` row per labeler ×
failure mode (× label) (:mod:`evalaudit.labelers.combine`); BH q-values over the combined rows, and findings graded
on them (severity rules in :mod:`evalaudit.labelers.severity`).

Every label space (``ctx.labels``): with a known acceptable label, leniency is the rate of that label; without one
on unordered labels, each label's over/under-use (rows per label, ``leniency.label``); on ordered scales, the shift
toward the better end (:mod:`evalaudit.labelers.shift`). The consensus is binary or multi-class Dawid–Skene, or the
mean for numeric scores with many values (:mod:`evalaudit.labelers.consensus`). Judgments without a time are left out
of the time-based methods, and the stage says so in ``StageResult.skipped``.

Tables returned: ``leniency``, ``consensus`` (per item × failure mode consensus label and posterior — gold
derivation downstream uses it), ``labeler_stats``, ``drift``, ``drift_series``, ``labeler_pairs``. The findings'
words are :mod:`evalaudit.labelers.findings`'s; the stage orchestrates: which method runs on which judgments, in
which pass, and with which thresholds from the configuration.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.findings import Finding, severity_rank
from evalaudit.gold import flagged_labelers
from evalaudit.labelers import (
    concentration,
    dawid_skene,
    drift,
    honest_spread,
    honeypot,
    judgments,
    reference,
    severity,
    shift,
    spam,
    truth_bias,
)
from evalaudit.labelers import consensus as gold_consensus
from evalaudit.labelers import findings as labeler_findings
from evalaudit.labelers import labeler_stats as stats_table
from evalaudit.labelers import leniency as lenient_rows
from evalaudit.labelers.evidence import LENIENCY_SCHEMA, num
from evalaudit.stage import Context, StageResult, define_judgments, scratch_file, skip

CONSENSUS_SCHEMA = gold_consensus.CONSENSUS_SCHEMA


def _empty_result() -> StageResult:
    """No labels: empty tables (with the columns later stages read) and no findings."""
    return StageResult(tables={"leniency": LENIENCY_SCHEMA.empty_table(),
                               "consensus": CONSENSUS_SCHEMA.empty_table()},
                       summary={"labelers": {"labelers": 0}})


def _mode(space) -> str:
    """How leniency is measured on this label space: "positive" (rate of the acceptable label), "per_label" (each
    label's over/under-use; unordered labels with no known acceptable one) or "shift" (ordered scales)."""
    if space.ordered:
        return "shift"
    return "positive" if space.positive is not None else "per_label"


def stage(ctx: Context) -> StageResult:
    """Run every labeler method over the store's labels (see module docstring)."""
    if not ctx.engine.has_table("labels"):
        return _empty_result()
    cfg, eng = ctx.cfg, ctx.engine
    define_judgments(ctx)  # the one repeated-judgment policy: labelers_judgments reads the view `judgments`
    lc = cfg.leniency
    space = ctx.labels
    # batch codes only for the assignment evidence stratified by batch (its only reader)
    J = judgments.load(eng, space, defined=True, batches=lc.strata == "batch", side_queries=("labelers_activity",))
    if len(J.y) == 0:
        return _empty_result()
    ctx.progress("labelers", 1, 6)
    fm_names = np.asarray(J.failure_modes.to_pylist(), dtype=object)
    lab_names = np.asarray(J.labelers.to_pylist(), dtype=object)
    timed = J.timed
    drift_values = J.value if space.ordered else J.y
    # The three heaviest computations need nothing but the judgments: they run on a second core while this thread
    # works through profile, spam and evidence (NumPy releases the GIL in their loops; 10M judgments: -2.6 s)
    with ThreadPoolExecutor(max_workers=1) as background:
        ds_job = multi_job = pairs_job = None
        if gold_consensus.binary_model(space):
            ds_job = background.submit(dawid_skene.fit, J.y, J.item, J.worker, J.item_fm, J.worker_fm, J.truth,
                                       lc.ds_prior_strength, lc.ds_tol, lc.ds_max_iter)
            if _mode(space) == "positive" or J.n_labels == 2:  # (the collusion test reads the binary fit)
                # the labeler-pair table straight from the counts on that thread, so the counts (a row per pair of
                # labeler × failure modes sharing an item: 0.3 GiB at 30M judgments) are not held to the stage's end
                pairs_job = background.submit(_labeler_pairs, J, ds_job, lab_names, cfg.spam.min_pair_items)
        if gold_consensus.method_for(space) == "multiclass":
            multi_job = background.submit(dawid_skene.fit_multiclass, J.code, J.item, J.worker, J.item_fm,
                                          J.worker_fm, J.n_labels, J.truth_code, lc.ds_prior_strength, lc.ds_tol,
                                          lc.ds_max_iter)
        grid_job = background.submit(drift.week_grid, *_timed(timed, J.worker, J.week, drift_values),
                                     J.worker_fm, J.n_workers, len(fm_names))
        return _stage(ctx, J, fm_names, lab_names, background, ds_job, multi_job, grid_job, pairs_job)


def _stage(ctx: Context, J: judgments.Judgments, fm_names: np.ndarray, lab_names: np.ndarray,
           background: ThreadPoolExecutor, ds_job, multi_job, grid_job, pairs_job) -> StageResult:
    """The stage after loading, with Dawid–Skene, the drift grid and the labeler-pair counts computing beside it
    (``*_job``: futures, None when the label space does not use them). Once the Dawid–Skene fit is in, the
    consensus table and the Dawid–Skene drift (neither reads the leniency evidence) are queued on ``background``
    too, while this thread builds the leniency tables."""
    cfg, eng = ctx.cfg, ctx.engine
    lc, conf = cfg.leniency, cfg.agreement.confidence
    space = ctx.labels
    positive = space.positive
    mode = _mode(space)
    scale = shift.scale_range(J) if mode == "shift" else 1.0
    skipped = _skips(J, space, mode, ds_job is not None)
    thresholds = severity.Thresholds.of(lc)

    # -- profile, concentration, spam (spammers are then left out of everyone's reference) ---------------------
    prof, totals = concentration.profile(J, J.side["labelers_activity"])
    stats_t = concentration.shares(prof, totals)
    hp_counts = honeypot.counts(J) if (J.truth >= 0).any() else None
    overall = stats_t.filter(pc.equal(stats_t["failure_mode"], "all"))
    sw, tops = spam.switches(J), spam.label_counts(J)
    J.ts = None  # the times' only reader was the switch count (8 bytes per judgment not held through the stage)
    sc = cfg.spam

    def spam_pass(ref: dict) -> tuple[list[Finding], dict[str, dict]]:
        facts = spam.signals(overall, ref, sw, tops, sc.min_items, sc.kappa_max, sc.switch_rate_min,
                             sc.duration_ratio)
        return labeler_findings.spam_findings(overall, facts), facts

    # first pass against everyone; the second, which decides, with the first pass's spammers as nobody's reference
    spam_f, spam_facts = spam_pass(spam.reference_agreement(J, space.ordered, conf))
    spam1 = {f.labeler_id for f in spam_f if severity_rank(f.severity) >= 1}
    if spam1:
        spam_excl = np.isin(lab_names[J.worker_labeler], list(spam1))
        spam_f, spam_facts = spam_pass(spam.reference_agreement(J, space.ordered, conf, spam_excl))
    spammers = {f.labeler_id for f in spam_f if severity_rank(f.severity) >= 1} | spam1
    # Peers must be honest for "vs peers" to mean anything: spammers never serve as peers, and neither do labeler ×
    # failure modes a first pass already finds lenient or severe at medium strength (a lenient labeler holding half
    # a failure mode would otherwise make every honest peer look severe). One second pass.
    excluded = np.isin(lab_names[J.worker_labeler], list(spammers)) if spammers else np.zeros(J.n_workers, bool)
    first = lenient_rows.evidence(J, mode, space, lc, conf, excluded, lab_names, fm_names)
    n_excluded = int(excluded.sum())
    for ev in first:
        if ev.num_rows:
            biased = lenient_rows.first_pass_biased(ev, lc, scale)
            if biased.any():
                excluded[lenient_rows.worker_rows(ev.filter(pa.array(biased)), J, lab_names, fm_names)] = True

    # -- evidence from the data directly (the second pass, unless the first left nobody out) ------------------
    direct = (first if int(excluded.sum()) == n_excluded
              else lenient_rows.evidence(J, mode, space, lc, conf, excluded, lab_names, fm_names))
    parts = direct + lenient_rows.evidence(J, mode, space, lc, conf, excluded, lab_names, fm_names, direct=False)
    trusted, trust_skips, n_balance = lenient_rows.assignment_trust(J, mode, space, cfg.labelers.assignment,
                                                                    lab_names, fm_names)
    skipped += trust_skips
    ctx.progress("labelers", 2, 6)

    # -- Dawid–Skene ----------------------------------------------------------------------------------------
    n_item = judgments.bincount(J.item, minlength=J.n_items)
    informative = (n_item >= 2) | (J.truth_code >= 0)
    fm_informative = np.bincount(J.item_fm, weights=informative, minlength=len(fm_names))
    ds_fm = fm_informative >= lc.ds_min_items
    use_ds_item = ds_fm[J.item_fm]
    # the Dawid–Skene evidence reads items another labeler judged and nobody knows the answer to: known answers
    # are the honeypot evidence's (used once in the combined test), and single-label items only echo the prior
    ds_items = (n_item >= 2) & (J.truth_code < 0)
    del n_item  # (8 bytes per item, not held through the stage)
    # where labelers are seen on several failure modes (each judged against its own honest level there, module
    # honest_spread), the Dawid–Skene rows are the directed tests of truth_bias.directed_bias, on the honeypots
    # too (their known answer as the truth): the honeypot rows then explain and the Dawid–Skene row is the test
    directed = ds_job is not None and mode == "positive" and _directed(J, ds_items, lc.min_items)
    directions: dict[str, pa.Table] | None = {} if directed else None
    if directed:
        ds_items = informative
    ds = ds_job.result() if ds_job is not None else None
    multi = multi_job.result() if multi_job is not None else None
    binary = gold_consensus.method_for(space) == "binary"
    # `evalaudit run` (a directory for per-item tables): the consensus goes to a scratch file block by block, which
    # the items stage reads a part at a time; else (a notebook, the API) a table in memory
    scratch = scratch_file(ctx, "consensus")
    build = gold_consensus.table if scratch is None else partial(gold_consensus.write, scratch)
    consensus_job = background.submit(build, J, tuple(space.labels), fm_names, use_ds_item,
                                      ds=ds if binary else None, multi=multi)
    dc = cfg.drift
    # the Dawid–Skene drift reads neither the leniency evidence nor who is left out of it (the other drift
    # measures do: they are computed below, once ``excluded`` is final)
    ds_drift_job = (background.submit(_ds_drift, J, ds, grid_job, informative, lab_names, fm_names, dc, scale)
                    if mode != "shift" and ds is not None else None)
    if ds is not None:
        # DS evidence: the labeler's bias against the leave-this-labeler-out posterior (the estimated truth, not a
        # typical peer: a crowd that leans one way would make an accurate labeler look biased the other way), on
        # items where someone else (or a known answer) speaks — on single-label items that posterior is only the
        # class prior, and the labeler's own label would confirm itself (:mod:`evalaudit.labelers.truth_bias`).
        # The posterior is computed for one block of judgments at a time where it is read (element by element:
        # the same numbers as the whole array), never held for every judgment (bounded working set)
        parts += truth_bias.evidence(J, _loo(ds, J), ds_items[J.item], ds_fm, mode, space.labels, lab_names,
                                     fm_names, lc.min_items, conf, directed=directed, directions=directions)
    ds_workers = stats_table.dawid_skene_rates(ds, J, lab_names, fm_names)
    sh = lenient_rows.shared(J, lc.strata, bool(directions))  # (read by both builds of the table below)
    leniency = lenient_rows.table(parts, J, lab_names, fm_names, trusted, lc.strata, conf, directions or None, sh)
    # a labeler × failure mode the full evidence finds biased (medium or high) that still served as a peer — found
    # only by Dawid–Skene, say, or only once others were left out — is left out too, and the direct evidence redone
    # once more: no finding rests on a flagged peer
    late = np.zeros(J.n_workers, dtype=bool)
    provisional = severity.headlines(leniency, {}, thresholds, mode=mode, scale=scale)
    rows = [h.key for h in provisional if h.severity in ("medium", "high")]
    if rows:
        key = {(lab_names[J.worker_labeler[w]], fm_names[J.worker_fm[w]]): w for w in range(J.n_workers)}
        late[[key[r] for r in rows if r in key]] = True
    if (late & ~excluded).any():
        excluded |= late
        n_direct = len(direct)
        direct = lenient_rows.evidence(J, mode, space, lc, conf, excluded, lab_names, fm_names)
        leniency = lenient_rows.table(direct + parts[n_direct:], J, lab_names, fm_names, trusted, lc.strata, conf,
                                      directions or None, sh)
    ctx.progress("labelers", 3, 6)

    # the labeler pairs (made on the background thread after their counts, before the consensus and the drift); their
    # findings are added below in their place
    collusion = pairs_job is not None
    pairs = pairs_job.result() if collusion else _collusion_pairs(J, None, None, lab_names, cfg.spam.min_pair_items)
    consensus = consensus_job.result()

    # -- drift ------------------------------------------------------------------------------------------------
    if ds_drift_job is not None:
        drift_table, drift_series, n_drift_tests = ds_drift_job.result()
    else:
        if mode == "shift":
            d_drift, has_d = shift.differences(J, positive, excluded if excluded.any() else None)
        else:  # many unordered labels, no known acceptable one: disagreement with the leave-one-out consensus
            ref = reference.categorical(J, excluded if excluded.any() else None)
            d_drift, has_d = 1 - ref.agree, ref.has
        drift_table, drift_series, n_drift_tests = drift.tables(
            grid_job.result(), *_timed(J.timed & has_d, J.worker, J.week, d_drift), J.worker_labeler, J.worker_fm,
            lab_names, fm_names, dc.min_judgments, dc.min_weeks, dc.q_max, dc.min_change, scale)
        del d_drift, has_d
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
    ref_label = space.labels[J.reference] if J.reference >= 0 else None
    findings = labeler_findings.leniency_findings(leniency, gold_items, thresholds, since, positive, mode=mode,
                                                  scale=scale, space=space.space)
    findings += labeler_findings.drift_findings(drift_table, n_drift_tests, gold_items, mode, ref_label, scale)
    findings += labeler_findings.concentration_findings(stats_t, cfg.concentration)
    findings = labeler_findings.fold_spam(findings, spam_f, spammers)
    if collusion:
        findings += labeler_findings.collusion_findings(
            pairs, spam.colluding(pairs, cfg.spam.collusion_q, cfg.spam.collusion_ratio))
    ctx.progress("labelers", 5, 6)

    labeler_stats = stats_table.labeler_stats(stats_t, ds_workers, spam_facts, findings)
    labeler_stats = stats_table.with_honeypot_rates(labeler_stats, hp_counts)
    flagged = flagged_labelers(findings)
    fit = ds if gold_consensus.method_for(space) == "binary" else multi
    counted = define_judgments(ctx)  # cached per run
    tie_resolved = gold_consensus.ties_resolved(consensus)
    is_combined = np.asarray(leniency["evidence"].to_pylist(), dtype=object) == "combined"
    summary = {
        "labelers": {
            "labelers": len(lab_names),
            "labeler_failure_modes": int(J.n_workers),
            "judgments": len(J.y),
            # set aside by the run's one policy (summary.judgments), before the judgments reach this stage
            "repeated_judgments_dropped": counted["n_rows"] - counted["n_judgments"],
            "leniency_mode": mode,
            # the kinds' rows, and the combined rows findings are graded on (BH runs over each set)
            "leniency_tests": int(np.sum(~np.isnan(num(leniency, "p_value")) & ~is_combined)),
            "combined_tests": int(np.sum(is_combined)),
            "assignment": {"declared": cfg.labelers.assignment, "balance_tested": n_balance,
                           "trusted": int(trusted.sum())},
            "flagged": len(flagged),
            "flagged_labelers": len({k[0] for k in flagged}),
            "findings_by_kind": _count_kinds(findings),
            "dawid_skene": ({"iterations": fit.n_iter, "converged": fit.converged,
                             "model": "binary" if fit is ds else f"multi-class ({J.n_labels} labels)",
                             "failure_modes": int(ds_fm.sum()), "majority_failure_modes": int((~ds_fm).sum())}
                            if fit is not None else {"model": "none: mean consensus", "failure_modes": 0}),
            "gold_consensus": {"method": gold_consensus.method_for(space), "ties_resolved_by_posterior": tie_resolved},
            "concentration": concentration.hhi(stats_t),
        }
    }
    ctx.progress("labelers", 6, 6)
    # the stage's working set (one row per judgment) is not read after it: free it before the next stage
    eng.drop(judgments.JUDGMENTS_VIEW)
    eng.drop(judgments.ITEMS_VIEW)
    return StageResult(
        tables={"leniency": leniency, "consensus": consensus, "labeler_stats": labeler_stats, "drift": drift_table,
                "drift_series": drift_series, "labeler_pairs": pairs},
        findings=findings,
        summary=summary,
        skipped=skipped,
    )


#: judgments per chunk of the per-judgment passes over the Dawid–Skene posterior (leave-one-out, drift)
CHUNK = 1 << 20


def _directed(J, ds_items: np.ndarray, min_items: int) -> bool:
    """Whether the Dawid–Skene evidence is directed (:func:`truth_bias.directed_bias`): when at least
    ``honest_spread.MIN_TESTS`` pairs of labeler × failure modes of one labeler have ``min_items`` judgments on
    items someone else judged — the within-labeler spread the combined test is then judged against (each labeler
    against its own honest level on its other failure modes) exists. Without it (every labeler on one failure
    mode: the real-data fixtures) a direction-specific error rate would confound a less accurate labeler with a
    lenient one, and the threshold-shift effect (s - t) / 2, zero for any honest labeler, stays."""
    n_w = truth_bias.worker_counts(J, ds_items[J.item])
    return honest_spread.pairs(J.worker_labeler[n_w >= min_items]) >= honest_spread.MIN_TESTS


def _loo(ds, J):
    """The leave-this-labeler-out posterior of the judgments at given positions (a function of them)."""

    def at(sel):
        return dawid_skene.leave_one_out(ds, J.item, J.truth, sel)

    return at


def _labeler_pairs(J, ds_job, lab_names: np.ndarray, min_pair_items: int) -> pa.Table:
    """The labeler-pairs table from the pair counts and the binary Dawid–Skene fit (``ds_job``: its future, queued
    before on the same thread, so done), the counts let go once it is made."""
    counts = spam.pair_counts(J.y, J.item, J.worker, J.worker_labeler, J.worker_fm)
    return _collusion_pairs(J, ds_job.result(), counts, lab_names, min_pair_items)


def _collusion_pairs(J, ds, counts: dict | None, lab_names: np.ndarray, min_pair_items: int) -> pa.Table:
    """The labeler-pairs table (:func:`evalaudit.labelers.spam.collusion`) from the pair counts, or with no pair
    (``counts`` None: the label space has no binary Dawid–Skene fit to judge agreement by)."""
    if counts is None:
        empty = np.zeros(0, np.int64)
        return spam.collusion({"worker_a": empty, "worker_b": empty, "n": empty, "n_disagree": empty},
                              np.zeros(0), np.zeros(0), np.zeros(0), J.worker_labeler, J.worker_fm, lab_names,
                              min_pair_items)
    return spam.collusion(counts, ds.sensitivity, ds.specificity, ds.prior, J.worker_labeler, J.worker_fm,
                          lab_names, min_pair_items)


def _ds_drift(J, ds, grid_job, informative: np.ndarray, lab_names: np.ndarray, fm_names: np.ndarray, dc,
              scale: float) -> tuple:
    """Drift against the Dawid–Skene peer expectation where the item has other evidence, else against peers' rate
    that week (``drift.tables``' three results). ``grid_job``: the drift grid's future, queued on the same
    one-worker executor before this job, so it is done when this runs."""
    grid = grid_job.result()
    cp = _ds_change_points(J, ds, grid, informative, dc.min_judgments, dc.min_weeks, dc.q_max)
    return drift.tables(grid, None, None, None, J.worker_labeler, J.worker_fm, lab_names, fm_names,
                        dc.min_judgments, dc.min_weeks, dc.q_max, dc.min_change, scale, cp=cp)


def _ds_change_points(J, ds, grid, informative: np.ndarray, min_judgments: int, min_weeks: int,
                      alpha: float) -> dict[str, np.ndarray]:
    """The drift change points of the Dawid–Skene discordance (:func:`evalaudit.labelers.drift.discordance` of
    the label minus the peer expectation), over the timed judgments, computed chunk by chunk of :data:`CHUNK`
    judgments (element by element) and summed per worker × week in the judgments' order
    (:func:`evalaudit.labelers.drift.change_points_over`): the numbers of the whole arrays, without them."""
    timed = J.timed
    n = len(J.y)
    n_timed = int(timed.sum())
    if n_timed == 0:
        return drift.change_points(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), J.n_workers,
                                   min_judgments, min_weeks, alpha)
    w0 = int(J.week.min(where=timed, initial=np.iinfo(np.int32).max))
    n_weeks = int(J.week.max(where=timed, initial=np.iinfo(np.int32).min)) - w0 + 1
    rate = drift.peer_rate_grid(grid, J.worker_fm)
    loo = _loo(ds, J)

    def pieces():
        for lo, hi in judgments.ranges(n, size=CHUNK):
            part = slice(lo, hi)
            item, worker, week, y, t = J.item[part], J.worker[part], J.week[part], J.y[part], timed[part]
            d = y - dawid_skene.peer_expected(ds, item, J.item_fm, loo(part))
            d = drift.discordance(d, informative[item], grid, y, worker, week, t, J.worker_fm, rate)
            yield _timed(t, worker, week, d)

    return drift.change_points_over(pieces(), J.n_workers, w0, n_weeks, min_judgments, min_weeks, alpha)


def _timed(use: np.ndarray, *per_judgment: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays' entries where ``use`` holds — the arrays themselves (no copies) when it holds everywhere."""
    if use.all():
        return per_judgment
    return tuple(a[use] for a in per_judgment)


def _skips(J, space, mode: str, binary_ds: bool) -> list[dict[str, str]]:
    """What this stage does not run, or runs on less data, on this store (``summary.skipped``)."""
    out = []
    n, n_timed = len(J.y), int(J.timed.sum())
    if n_timed < n:
        what = "no judgment has" if n_timed == 0 else f"{n - n_timed:,} of {n:,} judgments have"
        reason = f"{what} a labeled_at time, so they take no part"
        out.append(skip("labeler drift", f"{reason} in the weekly change-point test"))
        out.append(skip("leniency evidence 'assignment'", f"{reason} in the week strata of the "
                                                          "Cochran–Mantel–Haenszel test"))
        out.append(skip("spam: alternating answers", f"{reason} in the time-ordered answer sequence"))
        out.append(skip("labeler activity", f"{reason} in first/last judgment times"))
    if mode == "per_label":
        labels = ", ".join(repr(x) for x in space.labels[:6]) + (", ..." if space.n_values > 6 else "")
        out.append(skip("leniency toward the acceptable label",
                        f"no acceptable label is known for the {space.space} labels ({labels}), so leniency was "
                        "measured per label (each label's over- or under-use against peers); set [labels] positive "
                        "= \"<label>\" in evalaudit.toml to measure leniency toward it"))
        if J.n_labels > 2:
            out.append(skip("leniency evidence 'dawid_skene'", "measured as a threshold shift toward one label; "
                                                               "with many labels and none acceptable, per-label "
                                                               "overlap, honeypot and assignment evidence is used"))
    if mode == "shift":
        out.append(skip("leniency evidence 'assignment' and 'dawid_skene'",
                        f"{space.space} labels: leniency is the paired shift toward the better end against the "
                        "other labelers of the same items (overlap evidence) only"))
        if space.positive is None:
            out.append(skip("leniency direction",
                            f"no [labels] positive for the {space.space} scale, so leniency is measured as a shift "
                            "toward the higher end; set [labels] positive = \"high\" or \"low\" to name the better "
                            "end"))
    if not binary_ds:
        out.append(skip("labeler collusion", f"the collusion test needs the binary Dawid–Skene model (two labels, "
                                             f"or a known acceptable label); these are {space.space} labels"))
    return out


def _count_kinds(findings: list[Finding]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f.kind] = out.get(f.kind, 0) + 1
    return out
