"""Leniency assembly for the labelers stage: the evidence rows of every kind (on the judgments, with chosen
workers serving as nobody's peer), the leniency table with its combined rows, and which workers' assignment
evidence may join the combined test. Orchestration (passes, exclusions) stays in :mod:`evalaudit.labelers.stage`; the
statistics live in the evidence modules and :mod:`evalaudit.labelers.combine`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from evalaudit.frames import distinct_codes
from evalaudit.labelers import assignment, combine, honest_spread, honeypot, judgments, overlap, severity, shift
from evalaudit.labelers.evidence import LENIENCY_SCHEMA, num
from evalaudit.multiplicity import bh
from evalaudit.stage import skip


def first_pass_biased(ev: pa.Table, lc, scale: float = 1.0) -> np.ndarray:
    """Rows of a first-pass evidence table that are biased at medium strength (BH over the empirical-null
    p-values, |effect| / scale >= effect_medium)."""
    if ev.num_rows == 0:
        return np.zeros(0, dtype=bool)
    p_first, _ = severity.empirical_null(num(ev, "p_value"), num(ev, "effect"))
    return (bh(p_first) < lc.q_medium) & (np.abs(num(ev, "effect")) / scale >= lc.effect_medium)


def worker_rows(ev: pa.Table, J, lab_names, fm_names) -> np.ndarray:
    """The worker code (labeler × failure mode) of each evidence row."""
    key = {(lab_names[J.worker_labeler[w]], fm_names[J.worker_fm[w]]): w for w in range(J.n_workers)}
    return np.array([key[(a, b)] for a, b in zip(ev["labeler_id"].to_pylist(), ev["failure_mode"].to_pylist(),
                                                  strict=True)], dtype=np.int64)


def per_label(J, k: int):
    """The binary view "label k vs the rest" of the judgments (and of the honeypot answers)."""
    truth = np.where(J.truth_code >= 0, (J.truth_code == k).astype(np.int8), -1).astype(np.int8)
    return replace(J, y=(J.code == k).astype(np.int8), truth=truth)


def evidence(J, mode: str, space, lc, conf: float, excluded: np.ndarray, lab_names, fm_names,
              direct: bool = True) -> list[pa.Table]:
    """Leniency evidence rows with ``excluded`` workers serving as nobody's peer: the direct evidence (overlap,
    honeypot; it also decides who serves as a peer) when ``direct``, else the assignment evidence."""
    ex = excluded if excluded.any() else None
    if mode == "shift":
        return [shift.evidence(J, space.positive, lc.min_items, conf, lab_names, fm_names, ex)] if direct else []
    views = [(None, J)] if mode == "positive" else [(space.labels[k], per_label(J, k)) for k in range(J.n_labels)]
    parts = []
    for label, V in views:
        if direct:
            rows = [overlap.evidence(overlap.counts(V, ex), lc.min_items, conf)]
            if (V.truth >= 0).any():
                rows.append(honeypot.evidence(honeypot.counts(V), lc.min_items, conf, ex))
        else:
            rows = [assignment.evidence(assignment.sums(V, lc.strata), lc.min_items, conf, lc.strata)]
        for t in rows:
            if label is not None:
                t = t.set_column(t.schema.get_field_index("label"), "label",
                                 pa.array([label] * t.num_rows, pa.string()))
            parts.append(t)
    return parts


def table(parts: list[pa.Table], J, lab_names, fm_names, trusted: np.ndarray, strata: str,
          conf: float, directions: dict[str, pa.Table] | None = None,
          shared_counts: dict[tuple[str, str], np.ndarray] | None = None) -> pa.Table:
    """The leniency table from its evidence rows: p-values per evidence kind against the empirical null of that
    kind (honest heterogeneity), BH over the kinds' rows — the kinds' rows explain; then one ``combined`` row per
    labeler × failure mode (× label) from the kinds' own (unadjusted mid-p) tests (:mod:`evalaudit.labelers.combine`;
    assignment rows only for workers in ``trusted``, i.e. declared random and balanced), against the honest
    spread of labelers (:func:`_against_honest_spread`), BH over the combined rows — the tests findings are
    graded on. Honest heterogeneity enters the combined test once, as variance components, not as a factor per
    kind and another on the combination.

    ``directions`` (``{"pos": rows, "neg": rows}``, row for row as the ``dawid_skene`` rows among ``parts``): the
    Dawid–Skene rows are the directed tests of :func:`evalaudit.labelers.truth_bias.directed_bias`, which read
    the honeypots too — a Dawid–Skene row then stands in the combination for its worker's honeypot row as it does
    for the overlap row — and, where the honest spread of labelers applies, the combined test is run once per
    direction (:func:`_two_directions`). ``shared_counts``: :func:`shared` of ``J`` (the stage builds the table
    twice from the same judgments and computes them once), else computed here."""
    directed = directions is not None
    leniency = pa.concat_tables([t for t in parts if t.num_rows] or [LENIENCY_SCHEMA.empty_table()])
    p_raw = num(leniency, "p_value")
    p_adj = p_raw.copy()
    sigma0 = np.ones(len(p_raw))
    kinds = np.asarray(leniency["evidence"].to_pylist(), dtype=object)
    p_mid_raw = num(leniency, "p_value_mid")
    p_mid = p_mid_raw.copy()
    for kind in ("overlap", "honeypot", "assignment", "dawid_skene"):
        m = kinds == kind
        if m.any():
            p_adj[m], sigma0[m] = severity.empirical_null(p_raw[m], num(leniency, "effect")[m])
            p_mid[m], _ = severity.empirical_null(p_mid[m], num(leniency, "effect")[m])
    leniency = leniency.set_column(leniency.schema.get_field_index("p_value"), "p_value", pa.array(p_adj))
    # what the combination reads: the parts' own mid-p values (a single part passes on its p_value, against its
    # kind's empirical null, as before the combination existed)
    raw = leniency.set_column(leniency.schema.get_field_index("p_value_mid"), "p_value_mid", pa.array(p_mid_raw))
    leniency = leniency.set_column(leniency.schema.get_field_index("p_value_mid"), "p_value_mid", pa.array(p_mid))
    leniency = leniency.set_column(leniency.schema.get_field_index("q_value"), "q_value", pa.array(bh(p_adj)))
    if leniency.num_rows:
        workers = worker_rows(leniency, J, lab_names, fm_names)
        # Dawid–Skene and overlap read the same multi-label items: one of them, decided before looking at the
        # p-values — Dawid–Skene (every other labeler of the item, not one peer) where it has a row; directed, it
        # reads the honeypots as well (their known answer as the truth), and stands for the honeypot row too
        labels = leniency["label"].to_pylist()
        with_ds = {(w, lb) for w, lb, k in zip(workers, labels, kinds, strict=True) if k == "dawid_skene"}
        stood_for = ("overlap", "honeypot") if directed else ("overlap",)
        shadowed = np.array([k in stood_for and (w, lb) in with_ds for w, lb, k in zip(workers, labels, kinds,
                                                                                     strict=True)], dtype=bool)
        include = ((kinds != "assignment") | trusted[workers]) & ~shadowed
        sh = shared(J, strata, directed) if shared_counts is None else shared_counts
        combined = combine.combine(raw, np.ones(len(p_raw)), workers, include, sh, conf)
        if honest_spread.pairs(_groups(combined)) >= honest_spread.MIN_TESTS:
            p_comb = num(combined, "p_value")
            if directed:
                combined = _two_directions(raw, kinds == "dawid_skene", directions, workers, include, sh, conf)
            else:
                combined = _against_honest_spread(combined, conf)
        else:  # no labeler seen on two failure modes: no within-labeler spread to measure (see the docstring)
            combined = combine.combine(leniency, sigma0, workers, include, sh, conf)
            p_comb = num(combined, "p_value")
            combined = _against_empirical_null(combined)
        combined = combined.set_column(combined.schema.get_field_index("q_value"), "q_value",
                                       pa.array(bh(num(combined, "p_value")), pa.float64()))
        p_raw = np.concatenate([p_raw, p_comb])
        leniency = pa.concat_tables([leniency, combined])
    return leniency.append_column("p_value_theoretical", pa.array(p_raw))


def _against_honest_spread(combined: pa.Table, conf: float) -> pa.Table:
    """Combined rows against the honest spread of labelers (:mod:`evalaudit.labelers.honest_spread`): p-value,
    effect (the excess over the labeler's own honest level) and interval from the variance-components model."""
    if combined.num_rows == 0:
        return combined
    effect = num(combined, "effect")
    zc = stats.norm.isf((1 - conf) / 2)
    se = (num(combined, "ci_high") - num(combined, "ci_low")) / (2 * zc)
    group = _groups(combined)
    column = _joined_codes(combined, "failure_mode", "label")
    # the row's own test on the effect scale: its signed z (from the exact or Stouffer p-value) times its standard
    # error — equal to the effect for a normal-theory row, and keeps a small exact test (a few honeypots) exact
    with np.errstate(invalid="ignore"):
        z0 = np.sign(effect) * stats.norm.isf(np.clip(num(combined, "p_value"), 1e-300, 1.0) / 2)
    r = honest_spread.test(z0 * se, se, group, column)
    own_txt = ("effect and test beyond the labeler's own honest level on its other failure modes",
               "against the peers (no own reference)")
    methods, code = distinct_codes(combined["method"])
    tu, tv, own = np.sqrt(r["tau_u2"]), np.sqrt(r["tau_v2"]), r["own_reference"]
    # (the spread and the own reference are the group's: one text per method and group)
    method = _texts(code * (int(group.max(initial=-1)) + 1) + group,
                    lambda i: f"{methods[code[i]]}; against the honest spread of the other labelers (variance "
                              f"components, tau between labelers = {tu[i]:.4f}, within a labeler = {tv[i]:.4f}): "
                              f"{own_txt[0] if own[i] else own_txt[1]}")
    s = r["se"]
    e = effect - (z0 * se - r["effect"])  # the effect beyond the labeler's own honest level m
    for name, col in (("p_value", pa.array(r["p"])), ("p_value_mid", pa.array(r["p"])), ("effect", pa.array(e)),
                      ("ci_low", pa.array(e - zc * s)), ("ci_high", pa.array(e + zc * s)),
                      ("method", method)):
        combined = combined.set_column(combined.schema.get_field_index(name), name, col)
    return combined


def _texts(key: np.ndarray, text) -> pa.Array:
    """A string per row, ``text(i)`` of one row ``i`` per distinct ``key`` (rows with equal keys get equal texts):
    tens of thousands of rows, a few thousand texts formatted."""
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return pa.array([text(int(i)) for i in first], pa.string()).take(pa.array(inverse.ravel()))


def _two_directions(raw: pa.Table, is_ds: np.ndarray, directions: dict[str, pa.Table], workers: np.ndarray,
                    include: np.ndarray, sh: dict, conf: float) -> pa.Table:
    """Combined rows with the Dawid–Skene evidence read once per direction: the combination and its honest-spread
    test (:func:`_against_honest_spread`) with each Dawid–Skene row replaced by its signed test toward the positive
    label, then toward the negative one; a labeler × failure mode is then lenient when the first is beyond its
    honest level upward, severe when the second is beyond it downward, and its p-value is twice the smaller of
    those two one-sided p-values (Bonferroni over the two directions, as the honeypot and Dawid–Skene rows do).

    Why not one side-picked row: each direction has its own honest spread — a labeler who is less sensitive than
    peers fails more true passes on every failure mode, which the test toward negative measures and the labeler's
    own level absorbs, while the test toward positive is untouched; a row that showed whichever direction was
    larger would mix the two across one labeler's failure modes, and its own level would no longer be one
    quantity."""
    out = {}
    # row i of a direction's table: raw's row i, or for a Dawid–Skene row the direction's next row (the rows come
    # row for row): one take from raw's column and the direction's, joined, per column (no Python objects)
    at = np.arange(raw.num_rows)
    at[is_ds] = raw.num_rows + np.arange(int(is_ds.sum()))
    at = pa.array(at)
    for d in ("pos", "neg"):
        t = raw
        rows = directions[d]
        for name in ("effect", "ci_low", "ci_high", "p_value", "p_value_mid", "peer_rate", "method"):
            kind = t.schema.field(name).type
            # (one array, not a chunked one: a take across many chunks cost 0.1 s per direction at 40,000 rows)
            both = pa.concat_arrays([*t[name].chunks, *rows[name].cast(kind).chunks])
            t = t.set_column(t.schema.get_field_index(name), name, both.take(at))
        out[d] = _against_honest_spread(combine.combine(t, np.ones(t.num_rows), workers, include, sh, conf), conf)
    pos, neg = out["pos"], out["neg"]
    if pos.num_rows == 0:
        return pos
    keys = ("labeler_id", "failure_mode", "label")
    if pos.select(list(keys)) != neg.select(list(keys)):  # (the same groups in the same order: only values differ)
        raise AssertionError("the two directions' combined rows do not align")
    e_pos, e_neg = num(pos, "effect"), num(neg, "effect")
    # one-sided: toward positive beyond the honest level upward, toward negative beyond it downward
    up = np.where(e_pos > 0, num(pos, "p_value") / 2, 1 - num(pos, "p_value") / 2)
    down = np.where(e_neg < 0, num(neg, "p_value") / 2, 1 - num(neg, "p_value") / 2)
    lenient = up <= down
    p = np.minimum(1.0, 2 * np.minimum(up, down))
    pick = pa.array(lenient)
    combined = pos
    for name in combined.schema.names:
        combined = combined.set_column(combined.schema.get_field_index(name), name,
                                       pc.if_else(pick, pos[name], neg[name]))
    direction = ("toward the negative label", "toward the positive label")
    methods, code = distinct_codes(combined["method"])
    parts, part_code = distinct_codes(combined["parts"])
    with_ds = np.array(["dawid_skene" in (x or "") for x in parts], dtype=bool)[part_code]
    method = _texts(code * 4 + with_ds * 2 + lenient,
                    lambda i: f"{methods[code[i]]}; Dawid–Skene read {direction[int(lenient[i])]} (the smaller of "
                              "the two directions' one-sided p-values, doubled)" if with_ds[i] else
                              f"{methods[code[i]]}; the smaller of the two directions' one-sided p-values, doubled")
    for name, col in (("p_value", pa.array(p)), ("p_value_mid", pa.array(p)), ("method", method)):
        combined = combined.set_column(combined.schema.get_field_index(name), name, col)
    return combined


def _groups(combined: pa.Table) -> np.ndarray:
    """Per combined row, its labeler × label view (the unit whose failure modes share an honest level), as an
    integer code."""
    return _joined_codes(combined, "labeler_id", "label")


def _joined_codes(table: pa.Table, a: str, b: str) -> np.ndarray:
    """Per row, the rank of the string ``f"{a}\x1f{b}"`` among the rows' distinct such strings: the codes
    ``np.unique`` gives those strings, from Arrow kernels and a sort of the distinct values only (a Python string
    per row cost 0.1 s per call at 40,000 rows)."""
    joined = pc.binary_join_element_wise(table[a], table[b], "\x1f", null_handling="replace",
                                         null_replacement="None")
    enc = pc.dictionary_encode(joined).combine_chunks()
    values = enc.dictionary.to_pylist()
    rank = np.empty(len(values), dtype=np.int64)
    rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return rank[enc.indices.to_numpy(zero_copy_only=False)]


def _against_empirical_null(combined: pa.Table) -> pa.Table:
    """Combined rows with p-values against their own empirical null (:func:`severity.empirical_null`) and
    intervals widened by the same factor sigma0 (so an interval excludes 0 exactly when the adjusted test does).

    Why a second correction after the kinds' own: an honest labeler's small true difference from peers (accuracy
    varies between honest labelers) shows in every kind at once, so combining the kinds sharpens it as it sharpens
    a lenient labeler's — on simulated honest labelers the combined z-scores spread 1.05–1.14 where the kinds' spread
    about 1.0 after their correction. The MAD of the bulk measures that spread without the few truly biased
    labelers; sigma0 is never below 1 and needs >= 50 tests."""
    if combined.num_rows == 0:
        return combined
    effect = num(combined, "effect")
    p_adj, sigma0 = severity.empirical_null(num(combined, "p_value"), effect)
    if sigma0 <= 1.0:
        return combined
    lo = effect - (effect - num(combined, "ci_low")) * sigma0
    hi = effect + (num(combined, "ci_high") - effect) * sigma0
    method = [f"{m}; p-value and interval against the combined tests' empirical null (Efron 2004), "
              f"sigma0 = {sigma0:.3f}" for m in combined["method"].to_pylist()]
    for name, col in (("p_value", pa.array(p_adj)), ("p_value_mid", pa.array(p_adj)), ("ci_low", pa.array(lo)),
                      ("ci_high", pa.array(hi)), ("method", pa.array(method, pa.string()))):
        combined = combined.set_column(combined.schema.get_field_index(name), name, col)
    return combined


#: the evidence kinds :func:`shared` counts shared judgments for, in the order of their bits
SHARED_KINDS = ("overlap", "honeypot", "dawid_skene", "assignment")


def shared(J, strata: str, directed: bool = False) -> dict[tuple[str, str], np.ndarray]:
    """Per pair of evidence kinds, each worker's judgments both kinds read (the correlation bound of the combined
    test): overlap reads items with other labelers, honeypot items with a known answer, Dawid–Skene items with
    other labelers and no known answer (``directed``: and items with a known answer), assignment single-label items
    with a stratum."""
    # per item, the kinds that read its judgments (bit i: SHARED_KINDS[i]); a judgment's code is its item's, less the
    # assignment bit when the judgment is in no stratum (one byte per judgment, not a boolean per kind)
    n_item = judgments.bincount(J.item, minlength=J.n_items)
    multi, known = n_item >= 2, J.truth >= 0
    per_item = multi.astype(np.uint8)
    per_item |= known.view(np.uint8) << 1
    per_item |= ((multi | known) if directed else (multi & ~known)).view(np.uint8) << 2
    per_item |= (n_item == 1).view(np.uint8) << 3
    code = per_item[J.item]
    if J.timed is not None:
        stratum = J.timed | (J.batch >= 0) if strata == "batch" else J.timed
        np.bitwise_and(code, np.uint8(0b0111), out=code, where=~stratum)
    return combine.shared_by_code(J.worker, code, SHARED_KINDS, J.n_workers)


def assignment_trust(J, mode: str, space, declared: str, lab_names, fm_names
                      ) -> tuple[np.ndarray, list[dict[str, str]], int]:
    """Which workers' assignment evidence joins the combined test at full strength: none unless ``[labelers]
    assignment = "random"``; then all but those the balance check finds handed different items (BH q < 0.05 over
    the tested labeler × failure modes). Returns (per-worker bool, skipped entries, workers tested)."""
    trusted = np.zeros(J.n_workers, dtype=bool)
    if mode == "shift":
        return trusted, [], 0
    if declared != "random":
        return trusted, [skip("leniency evidence 'assignment' at full strength",
                              "[labelers] assignment is not declared \"random\": label rates on items nobody else "
                              "judged can differ because a labeler was handed different items, which the data cannot "
                              "rule out, so that evidence stays at low severity and out of the combined test; "
                              "declare assignment = \"random\" if items reach labelers at random within a failure "
                              "mode and week")], 0
    views = [J] if mode == "positive" else [per_label(J, k) for k in range(J.n_labels)]
    ps, diffs = [], []
    for V in views:
        b = assignment.balance(V)
        ps.append(b["p_value"])
        diffs.append(b["diff"])
    P, D = np.stack(ps), np.stack(diffs)
    q = bh(P.ravel()).reshape(P.shape)
    bad = np.nan_to_num(q, nan=1.0).min(axis=0) < 0.05
    # a labeler handed easier items usually is so on every failure mode (one queue): their failure modes' z-scores
    # pooled by Stouffer, BH over labelers, catch a consistent lean no single failure mode shows
    lab_p = assignment.pooled_by_labeler(P, D, J.worker_labeler, len(lab_names))
    bad |= (np.nan_to_num(bh(lab_p), nan=1.0) < 0.05)[J.worker_labeler]
    trusted = ~bad
    out = []
    if bad.any():
        names = [f"{lab_names[J.worker_labeler[w]]} on {fm_names[J.worker_fm[w]]}" for w in np.nonzero(bad)[0]]
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        out.append(skip("leniency evidence 'assignment' at full strength",
                        f"[labelers] assignment is declared \"random\" but the balance check finds {shown} handed "
                        f"items unlike the rest of the failure mode's ({assignment.BALANCE_METHOD}, q < 0.05); "
                        "their assignment evidence stays at low severity and out of the combined test"))
    return trusted, out, int(np.sum(~np.isnan(P).all(axis=0)))
