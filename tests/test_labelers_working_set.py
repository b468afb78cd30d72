"""The labelers stage's bounded working sets: the chunked and in-place forms of the labeler-pair counts,
collusion, overlap counts and Dawid–Skene must give what the plain computation gives, bit for bit."""

from __future__ import annotations

import itertools
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit.config import Config
from evalaudit.engine import engine_for_tables
from evalaudit.labelers import dawid_skene, judgments, overlap, spam, truth_bias
from evalaudit.labelers import findings as labeler_findings


def _judgments(seed: int, n_items: int = 3_000, n_labelers: int = 60, n_fm: int = 3, shuffle: bool = False,
               per_item: float = 1.5):
    """Random judgments: items with 1 + Poisson(``per_item``) distinct labelers each, sorted by item unless
    ``shuffle``."""
    rng = np.random.default_rng(seed)
    k = rng.poisson(per_item, n_items) + 1
    item = np.repeat(np.arange(n_items), k)
    rank = np.arange(len(item)) - np.repeat(np.cumsum(k) - k, k)
    lab = (rng.integers(0, n_labelers, n_items)[item] + rank) % n_labelers  # distinct within an item
    item_fm = rng.integers(0, n_fm, n_items)
    uw, worker = np.unique(lab * n_fm + item_fm[item], return_inverse=True)
    y = (rng.random(len(item)) < 0.7).astype(np.int8)
    if shuffle:
        p = rng.permutation(len(item))
        item, worker, y = item[p], worker[p], y[p]
    return SimpleNamespace(item=item.astype(np.int32), worker=worker.astype(np.int32), y=y, item_fm=item_fm,
                           worker_labeler=uw // n_fm, worker_fm=uw % n_fm, n_items=n_items, n_workers=len(uw),
                           labelers=pa.array([f"l{i:03d}" for i in range(n_labelers)]),
                           failure_modes=pa.array([f"fm{i}" for i in range(n_fm)]), rng=rng)


@pytest.mark.parametrize("seed, per_item, block", [(0, 1.5, 1 << 22), (1, 1.5, 1 << 22), (2, 6.0, 1 << 22),
                                                   (0, 1.5, 7), (2, 6.0, 100)])
def test_pair_counts_match_a_plain_count(monkeypatch, seed, per_item, block):
    """Per worker pair sharing an item: shared items and disagreements, counted pair by pair in Python — with
    small items (the offsets past the second pass over an index of the positions still pairing) and large ones
    (over every position for longer), in one block or in many (positions and per-pair sums block by block)."""
    monkeypatch.setattr(spam, "PAIR_BLOCK", block)
    J = _judgments(seed, n_items=800, shuffle=seed == 1, per_item=per_item)
    got = spam.pair_counts(J.y, J.item, J.worker, J.worker_labeler, J.worker_fm)
    by_item: dict[int, list[tuple[int, int]]] = {}
    for i, w, y in zip(J.item.tolist(), J.worker.tolist(), J.y.tolist(), strict=True):
        by_item.setdefault(i, []).append((w, y))
    n, d = Counter(), Counter()
    for rows in by_item.values():
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                key = (min(rows[a][0], rows[b][0]), max(rows[a][0], rows[b][0]))
                n[key] += 1
                d[key] += rows[a][1] != rows[b][1]
    keys = sorted(n)
    assert got["worker_a"].tolist() == [k[0] for k in keys]
    assert got["worker_b"].tolist() == [k[1] for k in keys]
    assert got["n"].tolist() == [n[k] for k in keys]
    assert got["n_disagree"].tolist() == [d[k] for k in keys]
    assert all(got[c].dtype == np.uint16 for c in got)  # the narrowest that holds them: exact at any size
    wide = spam._narrow(np.array([0, 2**16]))
    assert wide.dtype == np.int32 and wide.tolist() == [0, 2**16]
    joined = spam._joined([spam._narrow(np.array([3])), wide])  # one wide block: the whole column is int32
    assert joined.dtype == np.int32 and joined.tolist() == [3, 0, 2**16]


def test_collusion_does_not_depend_on_the_chunk_size(monkeypatch):
    """Chunks never split a labeler pair, so every sum runs over the same terms in the same order: the table and
    the findings are identical to the last bit for any chunk size, and with labeler codes out of worker order."""
    J = _judgments(2)
    pairs = spam.pair_counts(J.y, J.item, J.worker, J.worker_labeler, J.worker_fm)
    rng = J.rng
    sens, spec = rng.uniform(0.6, 0.99, J.n_workers), rng.uniform(0.6, 0.99, J.n_workers)
    prior = rng.uniform(0.2, 0.9, 3)
    names = np.asarray(J.labelers.to_pylist(), dtype=object)
    cfg = Config().spam
    for labeler_of in (J.worker_labeler, rng.permutation(60)[J.worker_labeler]):
        results = []
        for size in (len(pairs["n"]) + 1, 997, 50):
            monkeypatch.setattr(spam, "PAIR_CHUNK", size)
            table = spam.collusion(pairs, sens, spec, prior, labeler_of, J.worker_fm, names, cfg.min_pair_items)
            suspect = spam.colluding(table, cfg.collusion_q, cfg.collusion_ratio)
            results.append((table, suspect, labeler_findings.collusion_findings(table, suspect)))
        table, suspect, found = results[0]
        assert table.num_rows > 0
        for other, other_suspect, other_found in results[1:]:
            assert other.equals(table)
            assert other_suspect.tolist() == suspect.tolist()
            assert [f.__dict__ for f in other_found] == [f.__dict__ for f in found]


def test_chunks_cover_the_range_without_splitting_equal_boundaries():
    boundary = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    for size in (1, 2, 3, 4, 20):
        ranges = spam._chunks(len(boundary), boundary, size)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(boundary)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(boundary[hi - 1] != boundary[hi] for _, hi in ranges[:-1])


def test_overlap_counts_match_per_judgment_sums():
    """The four-cell count per worker gives the five columns the per-judgment weighted sums gave."""
    J = _judgments(3)
    for exclude in (None, J.rng.random(J.n_workers) < 0.2):
        t = overlap.counts(J, exclude)
        chosen = overlap.peer_choice(J, exclude)
        has = chosen >= 0
        y = J.y.astype(float)
        peer = np.where(has, J.y[np.maximum(chosen, 0)], 0).astype(float)
        w = t["worker"].to_numpy()

        def per_worker(v, w=w):
            return np.bincount(J.worker, weights=v, minlength=J.n_workers)[w]

        assert t["n"].to_numpy().tolist() == per_worker(has.astype(float)).tolist()
        assert t["b"].to_numpy().tolist() == per_worker(has * y * (1 - peer)).tolist()
        assert t["c"].to_numpy().tolist() == per_worker(has * (1 - y) * peer).tolist()
        assert t["n_own_pos"].to_numpy().tolist() == per_worker(has * y).tolist()
        assert t["n_peer_pos"].to_numpy().tolist() == per_worker(has * peer).tolist()


def _plain_fit(y, item, worker, item_group, worker_group, truth, a=4.0, tol=1e-4, max_iter=50):
    """The EM of dawid_skene.fit written with fresh arrays every step (the form before the in-place buffers)."""
    n_items, n_workers = len(item_group), len(worker_group)
    n_groups = int(max(item_group.max(), worker_group.max())) + 1
    order = np.argsort(item, kind="stable")
    ys, ws = y.astype(float)[order], worker[order]
    n_item = np.bincount(item, minlength=n_items)
    has = n_item > 0
    starts = np.concatenate([[0], np.cumsum(n_item)[:-1]])[has]

    def per_item_sum(v):
        out = np.zeros(n_items)
        out[has] = np.add.reduceat(v, starts)
        return out

    n_w = np.bincount(ws, minlength=n_workers).astype(float)
    pos_w = np.bincount(ws, weights=ys, minlength=n_workers)
    per_group = np.bincount(item_group, minlength=n_groups).astype(float)
    known = truth >= 0
    post = per_item_sum(ys) / np.maximum(n_item, 1)
    post[known] = truth[known]
    for _ in range(max_iter):
        prior = (np.bincount(item_group, weights=post, minlength=n_groups) + 1.0) / (per_group + 2.0)
        t = np.repeat(post, n_item)
        t_w = np.bincount(ws, weights=t, minlength=n_workers)
        tp_w = np.bincount(ws, weights=t * ys, minlength=n_workers)
        tn_w, neg_w = (n_w - pos_w) - (t_w - tp_w), n_w - t_w
        g_pos = np.bincount(worker_group, weights=t_w, minlength=n_groups)
        g_neg = np.bincount(worker_group, weights=neg_w, minlength=n_groups)
        g_sens = np.bincount(worker_group, weights=tp_w, minlength=n_groups) / np.maximum(g_pos, 1e-12)
        g_spec = np.bincount(worker_group, weights=tn_w, minlength=n_groups) / np.maximum(g_neg, 1e-12)
        g_sens = np.clip(np.where(g_pos > 0, g_sens, 0.8), 0.5, 1 - 1e-3)
        g_spec = np.clip(np.where(g_neg > 0, g_spec, 0.8), 0.5, 1 - 1e-3)
        sens = np.clip((tp_w + a * g_sens[worker_group]) / (t_w + a), 1e-3, 1 - 1e-3)
        spec = np.clip((tn_w + a * g_spec[worker_group]) / (neg_w + a), 1e-3, 1 - 1e-3)
        contrib = np.where(ys > 0, (np.log(sens) - np.log1p(-spec))[ws], (np.log1p(-sens) - np.log(spec))[ws])
        log_odds = np.log(prior[item_group]) - np.log1p(-prior[item_group]) + per_item_sum(contrib)
        new = 1 / (1 + np.exp(-log_odds))
        new[known] = truth[known]
        delta = float(np.mean(np.abs(new - post)))
        post = new
        if delta < tol:
            break
    out = np.empty(len(ys))
    out[order] = contrib
    return post, sens, spec, out


@pytest.mark.parametrize("shuffle", [False, True])
def test_dawid_skene_in_place_buffers_change_nothing(shuffle):
    J = _judgments(4, shuffle=shuffle)
    truth = np.where(J.rng.random(J.n_items) < 0.05, J.rng.integers(0, 2, J.n_items), -1).astype(np.int8)
    got = dawid_skene.fit(J.y, J.item, J.worker, J.item_fm, J.worker_fm, truth)
    post, sens, spec, contrib = _plain_fit(J.y, J.item, J.worker, J.item_fm, J.worker_fm, truth)
    np.testing.assert_allclose(got.posterior, post, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sensitivity, sens, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.specificity, spec, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.contribution, contrib, rtol=0, atol=1e-12)


def test_load_reads_activity_from_the_query_when_nothing_is_set_aside():
    """Without repeated judgments the view the activity query reads is the named query (no Arrow copy kept); with
    repeats it is the de-duplicated table; the activity rows agree with the judgments either way."""
    rows = {"item_id": ["a", "a", "b", "b", "c"], "labeler_id": ["x", "y", "x", "y", "x"],
            "label": ["pass", "fail", "pass", "pass", "fail"], "failure_mode": ["f"] * 5,
            "labeled_at": pa.array([1, 2, 3, 4, 5], pa.timestamp("us", tz="UTC")),
            "batch_id": [None] * 5, "duration_s": [1.0, 2.0, 3.0, 4.0, 5.0]}
    eng = engine_for_tables({"labels": pa.table(rows)})
    J = judgments.load(eng, "pass")
    assert J.table is None
    act = {(r["labeler_id"], r["failure_mode"]): r for r in eng.query("labelers_activity").to_pylist()}
    assert act[("x", "all")]["median_duration_s"] == 3.0
    assert act[("x", "f")]["last_labeled_at"].timestamp() * 1e6 == 5


@pytest.mark.parametrize("block", [1 << 20, 300, 1])
def test_switches_match_a_plain_count(monkeypatch, block):
    """Per labeler: consecutive timed judgments (by time, then label) and how many change label, counted in Python;
    untimed judgments take no part — the same for any block of labelers the sort runs over."""
    monkeypatch.setattr(spam, "ITEM_BLOCK", block)
    rng = np.random.default_rng(5)
    n, n_lab = 2_000, 7
    lab = rng.integers(0, n_lab, n)
    ts = rng.integers(0, 400, n) * 1_000_000  # many equal times
    timed = rng.random(n) < 0.85
    code = rng.integers(0, 3, n).astype(np.int32)
    J = SimpleNamespace(timed=timed, worker=lab, worker_labeler=np.arange(n_lab), n_labels=3, code=code,
                        ts=np.where(timed, ts, 0), labelers=pa.array([f"l{i}" for i in range(n_lab)]))
    got = spam.switches(J)
    for i in range(n_lab):
        seq = sorted((t, c) for t, c, ok, w in zip(ts, code, timed, lab, strict=True) if ok and w == i)
        assert got["n_pairs"][i].as_py() == max(len(seq) - 1, 0)
        assert got["n_switches"][i].as_py() == sum(a[1] != b[1] for a, b in itertools.pairwise(seq))


def test_load_with_repeats_keeps_the_latest_and_registers_its_table():
    """With a repeated judgment set aside here (a view of raw labels), the activity query reads the kept rows: the
    labeler and failure-mode strings rebuilt from their codes are the ones stored."""
    rows = {"item_id": ["a", "a", "b"], "labeler_id": ["x", "x", "y"], "label": ["pass", "fail", "pass"],
            "failure_mode": ["f", "f", None],
            "labeled_at": pa.array([1, 2, 3], pa.timestamp("us", tz="UTC")),
            "batch_id": ["b1", "b2", None], "duration_s": [1.0, 9.0, 3.0]}
    eng = engine_for_tables({"labels": pa.table(rows), "judgments": pa.table(rows)})
    J = judgments.load(eng, "pass", defined=True)
    assert J.table is not None and J.table.num_rows == 2
    assert sorted(J.table["labeler_id"].to_pylist()) == ["x", "y"]
    assert sorted(J.table["failure_mode"].to_pylist()) == ["f", "unspecified"]
    assert sorted(J.table["duration_s"].to_pylist()) == [3.0, 9.0]  # a's later judgment (fail, 9 s) won
    assert J.y.tolist().count(0) == 1
    act = {(r["labeler_id"], r["failure_mode"]): r for r in eng.query("labelers_activity").to_pylist()}
    assert act[("x", "all")]["median_duration_s"] == 9.0
    # asked to run before the fetch, the side query still reads the kept rows (it is run again once they are known)
    side = judgments.load(eng, "pass", defined=True, side_queries=("labelers_activity",)).side["labelers_activity"]
    assert {(r["labeler_id"], r["failure_mode"]): r for r in side.to_pylist()} == act


@pytest.mark.parametrize("defined", [True, False])
def test_side_queries_run_before_the_fetch_give_what_the_query_gives_after(defined):
    """The stage's activity query runs on the engine before the judgments are fetched (``defined``: the pipeline's
    view of the judgments that count), or after they are coded: the same rows either way, and the judgments the
    same."""
    raw = _raw_labels(3)
    seen, keep = set(), []
    for i, key in enumerate(zip(raw["item_id"].to_pylist(), raw["labeler_id"].to_pylist(), strict=True)):
        if key not in seen:
            seen.add(key)
            keep.append(i)
    table = raw.take(pa.array(keep))  # one judgment per labeler and item, as the pipeline's view holds
    eng = engine_for_tables({"labels": table, "judgments": table})
    J = judgments.load(eng, "pass", defined=defined, side_queries=("labelers_activity",))
    plain = judgments.load(engine_for_tables({"labels": table, "judgments": table}), "pass", defined=defined)
    key = [("labeler_id", "ascending"), ("failure_mode", "ascending")]
    assert J.side["labelers_activity"].sort_by(key).equals(eng.query("labelers_activity").sort_by(key))
    assert J.side["labelers_activity"].num_rows > 40
    for name in ("y", "item", "worker", "week", "code"):
        np.testing.assert_array_equal(getattr(J, name), getattr(plain, name))
    assert plain.side == {}


def _raw_labels(seed: int, n: int = 5_000) -> pa.Table:
    """Label rows in random order: item ids shared across failure modes on some items (so both forms of the item ×
    failure-mode coding run), a few null batches and times."""
    rng = np.random.default_rng(seed)
    item = rng.integers(0, 1_500, n)
    fm = np.where(item % 7 == 0, rng.integers(0, 3, n), item % 3)  # every 7th item on several failure modes
    ts = rng.integers(0, 10**12, n)
    return pa.table({
        "item_id": pa.array([f"it{i:05d}" for i in item]),
        "labeler_id": pa.array([f"lab{i:02d}" for i in rng.integers(0, 40, n)]),
        "label": pa.array(rng.choice(["pass", "fail"], n)),
        "failure_mode": pa.array([f"fm{i}" for i in fm]),
        "labeled_at": pa.array(ts, pa.timestamp("us", tz="UTC"), mask=rng.random(n) < 0.05),
        "batch_id": pa.array([f"b{i}" for i in rng.integers(0, 30, n)], mask=rng.random(n) < 0.2),
        "duration_s": rng.random(n),
    })


@pytest.mark.parametrize(("seed", "block"), [(0, 1 << 20), (1, 1 << 20), (0, 40), (1, 200)])
def test_streamed_fetch_codes_as_the_whole_result_would(monkeypatch, seed, block):
    """Coding the judgments batch by batch (small batches here) gives the codes and dictionaries that coding the
    whole fetched table at once gives: first appearance for items and batches, sorted order for labelers and
    failure modes — also when the item ids seen so far are merged with the batches' every few batches."""
    monkeypatch.setattr(judgments, "ITEM_BLOCK", block)
    eng = engine_for_tables({"labels": _raw_labels(seed), "judgments": _raw_labels(seed)})
    whole = eng.query("labelers_judgments")
    eng.stream = lambda name: type(eng).stream(eng, name, 333)  # many batches
    got = judgments._fetch(eng, ("fail", "pass"))
    item, item_dict = judgments.codes(whole["item_id"])
    lab, labelers = judgments.codes(whole["labeler_id"], canonical=True)
    fm, fms = judgments.codes(whole["failure_mode"], canonical=True)
    batch = pa.compute.dictionary_encode(whole["batch_id"].combine_chunks()).indices
    np.testing.assert_array_equal(got["item"], item)
    np.testing.assert_array_equal(got["lab"], lab)
    np.testing.assert_array_equal(got["fm"], fm)
    np.testing.assert_array_equal(got["batch"], pa.compute.fill_null(batch, -1).to_numpy(zero_copy_only=False))
    assert got["item_dict"].equals(item_dict) and got["labelers"].equals(labelers) and got["fms"].equals(fms)
    np.testing.assert_array_equal(got["timed"], whole["labeled_at"].is_valid().to_numpy(zero_copy_only=False))


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.sampled_from(["", "a", "é", "x1", "x11", "id-07", "id-17", "v/ab", "v/cb", "ω" * 5,
                                     "zzzzzzzzz0", "zzzzzzzzz1", "0zzzzzzzzz"]), min_size=1, max_size=300),
       cuts=st.lists(st.integers(1, 40), min_size=1, max_size=12), block=st.integers(1, 8),
       n_parts=st.sampled_from([1, 2, 3, 16]), large=st.booleans())
def test_item_ids_partitioned_merges_code_as_one_encode(ids, cuts, block, n_parts, large):
    """The item ids coded batch by batch, merged into partitions of the ids seen so far, get the codes and the
    dictionary of one dictionary-encode of the whole column: any batch sizes, merges as often as every batch, one
    partition or many, ids sharing suffixes (one partition), empty and multi-byte ids, large strings."""
    column = pa.array(ids, pa.large_string() if large else pa.string())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(judgments, "ITEM_BLOCK", block)
        patch.setattr(judgments, "ID_PARTS", n_parts)
        coder, lo = judgments._ItemIds(), 0
        for size in itertools.cycle(cuts):
            if lo >= len(column):
                break
            coder.add(column.slice(lo, size))  # (slices: Arrow offsets into shared buffers)
            lo += size
        got, dictionary = coder.finish()
    want, want_dictionary = judgments.codes(column)
    np.testing.assert_array_equal(got, want)
    assert dictionary.equals(want_dictionary)


@pytest.mark.parametrize("one_minor", [True, False])
def test_compact_codes_pairs_in_order(one_minor):
    """Dense codes of (major, minor) pairs in (major, minor) order, with the first row of each, whether every major
    has one minor (the short path) or not."""
    rng = np.random.default_rng(3)
    major = rng.integers(0, 500, 4_000)
    major[:500] = np.arange(500)  # every major occurs
    minor = major % 4 if one_minor else rng.integers(0, 4, len(major))
    code, first = judgments._compact(major, minor, 4)
    pairs, inverse = np.unique(major.astype(np.int64) * 4 + minor, return_inverse=True)
    np.testing.assert_array_equal(code, inverse)
    np.testing.assert_array_equal(first, [np.flatnonzero(inverse == c)[0] for c in range(len(pairs))])


@pytest.mark.parametrize("shuffle", [False, True])
def test_truth_bias_effect_by_worker_blocks_is_bit_identical(monkeypatch, shuffle):
    """The Dawid–Skene evidence's per-worker sums over blocks of workers (a bounded working set) equal the sums over
    every judgment at once, to the last bit, for any block size; a 0/1 or boolean weight gives the same."""
    J = _judgments(3, shuffle=shuffle)
    rng = J.rng
    loo = rng.uniform(0, 1, len(J.y))
    weight = rng.uniform(0, 1, len(J.y)) < 0.8
    whole = truth_bias.effect(J.y, J.worker, loo, weight.astype(float), J.n_workers)
    assert np.isfinite(whole["effect"]).sum() > 10
    for block in (len(J.y) - 1, 1_000, 37, 1):
        monkeypatch.setattr(truth_bias, "EFFECT_BLOCK", block)
        got = truth_bias.effect(J.y, J.worker, loo, weight, J.n_workers)
        assert got.keys() == whole.keys()
        for k in whole:
            assert got[k].dtype == whole[k].dtype
            np.testing.assert_array_equal(got[k], whole[k], err_msg=f"{k}, block {block}")


@pytest.mark.parametrize("release", [False, True])
def test_run_lets_per_item_tables_go_after_their_last_reader(release):
    """`evalaudit run` (release) drops ``consensus`` once the items stage has read it and ``gold_items`` after
    impact, with the engine views holding them; the items table is the same either way. Without release (a
    notebook session) both stay."""
    from evalaudit import impact, items, labelers
    from evalaudit.pipeline import run_stages
    from tests.helpers import T0, context

    rng = np.random.default_rng(5)
    rows = [{"item_id": f"i{i:03d}", "labeler_id": f"L{j}", "label": "pass" if rng.random() < 0.7 else "fail",
             "failure_mode": "fm", "labeled_at": T0} for i in range(120) for j in rng.choice(6, 3, replace=False)]
    ctx = context(labels=rows)
    run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage), ("impact", impact.stage)],
               release=release)
    assert ctx.tables["items"].num_rows == 120
    kept = {"consensus", "gold_items"} & set(ctx.tables)
    assert kept == (set() if release else {"consensus", "gold_items"})
    assert ctx.engine.has_table("items_consensus") is not release


@pytest.mark.parametrize("honeypots", [False, True])
def test_reference_agreement_over_item_blocks_is_bit_identical(monkeypatch, honeypots):
    """The spam check's agreement with the leave-one-out consensus, over blocks of whole items with the per-labeler
    sums accumulated block after block, equals the one pass over every judgment to the last bit (three labels, so
    ties give shares like 1/3 whose sums depend on the order of terms), with and without excluded workers."""
    J = _judgments(4)
    rng = J.rng
    J.code = rng.integers(0, 3, len(J.item)).astype(np.int32)
    J.n_labels = 3
    J.truth_code = np.where(rng.random(J.n_items) < (0.1 if honeypots else 0), rng.integers(0, 3, J.n_items), -1)
    exclude = rng.random(J.n_workers) < 0.1
    for ex in (None, exclude):
        monkeypatch.setattr(spam, "ITEM_BLOCK", len(J.item) + 1)
        whole = spam.reference_agreement(J, False, 0.95, ex)
        assert len(whole) > 20
        for block in (2_000, 97):
            monkeypatch.setattr(spam, "ITEM_BLOCK", block)
            assert spam.reference_agreement(J, False, 0.95, ex) == whole, block


@pytest.mark.parametrize("shuffle", [False, True])
def test_dawid_skene_over_item_chunks_is_bit_identical(monkeypatch, shuffle):
    """The EM over chunks of whole items (per-worker sums with np.add.at, per-item sums per chunk) gives the same
    posterior, rates, iterations and per-judgment contributions as one chunk, to the last bit, for any chunk size;
    the leave-one-out posterior of any part of the judgments is that part of the whole."""
    J = _judgments(6, shuffle=shuffle)
    truth = np.where(J.rng.random(J.n_items) < 0.05, J.rng.integers(0, 2, J.n_items), -1).astype(np.int8)
    monkeypatch.setattr(dawid_skene, "EM_CHUNK", len(J.y) + 1)
    whole = dawid_skene.fit(J.y, J.item, J.worker, J.item_fm, J.worker_fm, truth)
    loo = dawid_skene.leave_one_out(whole, J.item, truth)
    for size in (1_000, 37):
        monkeypatch.setattr(dawid_skene, "EM_CHUNK", size)
        got = dawid_skene.fit(J.y, J.item, J.worker, J.item_fm, J.worker_fm, truth)
        assert got.n_iter == whole.n_iter
        for name in ("posterior", "log_odds", "sensitivity", "specificity", "prior", "contribution"):
            np.testing.assert_array_equal(getattr(got, name), getattr(whole, name), err_msg=f"{name}, {size}")
    part = np.flatnonzero(J.worker % 3 == 1)
    np.testing.assert_array_equal(dawid_skene.leave_one_out(whole, J.item, truth, part), loo[part])
    np.testing.assert_array_equal(dawid_skene.leave_one_out(whole, J.item, truth, slice(100, 900)), loo[100:900])


def test_overlap_and_consensus_counts_over_item_blocks_are_identical(monkeypatch):
    """Overlap's peer counts, the consensus's item × label counts and majority shares, block by block of whole
    items, equal one pass over every judgment (with and without excluded peers)."""
    from evalaudit.labelers import consensus

    J = _judgments(7)
    J.code = J.y.astype(np.int32)
    J.truth = np.where(J.rng.random(J.n_items) < 0.05, J.rng.integers(0, 2, J.n_items), -1).astype(np.int8)
    J.truth_code = J.truth.astype(np.int32)
    J.n_labels = 2
    exclude = J.rng.random(J.n_workers) < 0.2

    def over_blocks():
        counts, share = [], []
        for b, _, _, i0 in judgments.item_blocks(J):
            n_item = np.bincount(b.item, minlength=b.n_items)
            counts.append(consensus._item_label_counts(b, 2))
            share.append(consensus._majority(b, n_item, J.truth[i0:i0 + b.n_items]))
        return len(counts), np.concatenate(counts), np.concatenate(share)

    monkeypatch.setattr(judgments, "ITEM_BLOCK", len(J.y) + 1)
    whole = [overlap.counts(J, ex) for ex in (None, exclude)]
    n_blocks, counts, share = over_blocks()
    assert n_blocks == 1
    np.testing.assert_array_equal(share, dawid_skene.majority(J.y, J.item, J.n_items, J.truth))
    for block in (500, 7):
        monkeypatch.setattr(judgments, "ITEM_BLOCK", block)
        assert [overlap.counts(J, ex) for ex in (None, exclude)] == whole
        n_blocks, block_counts, block_share = over_blocks()
        assert n_blocks > 1
        np.testing.assert_array_equal(block_counts, counts)
        np.testing.assert_array_equal(block_share, share)


def test_change_points_piece_by_piece_are_identical():
    """Drift's worker × week sums accumulated piece after piece equal the change points over all judgments."""
    from evalaudit.labelers import drift

    rng = np.random.default_rng(8)
    n, n_workers = 5_000, 6
    worker = rng.integers(0, n_workers, n).astype(np.int32)
    week = (2900 + rng.integers(0, 20, n)).astype(np.int32)
    d = rng.normal(0, 1, n) + (week > 2910) * (worker == 2) * 0.8
    whole = drift.change_points(worker, week, d, n_workers, 50, 4, 0.01)
    assert np.isfinite(whole["stat"]).sum() == n_workers
    for step in (n, 999, 1):
        pieces = ((worker[lo:lo + step], week[lo:lo + step], d[lo:lo + step]) for lo in range(0, n, step))
        got = drift.change_points_over(pieces, n_workers, int(week.min()), int(week.max() - week.min()) + 1, 50, 4,
                                       0.01)
        for k in whole:
            np.testing.assert_array_equal(got[k], whole[k], err_msg=f"{k}, {step}")


@pytest.mark.parametrize("space", ["binary", "ordinal", "nominal"])
def test_labelers_stage_does_not_depend_on_the_block_sizes(monkeypatch, space):
    """The whole labelers stage, with every block-by-block pass cut into small blocks (Dawid–Skene EM, overlap,
    consensus counts, profile, spam, drift, the Dawid–Skene evidence), returns the same tables and findings as with
    one block — on a store with honeypots, listed gold, lenient and drifting labelers and judgments over weeks; on
    two labels (binary Dawid–Skene), an ordinal scale (shift, multi-class Dawid–Skene, the scale's drift grid) and
    three unordered labels with none acceptable (per-label leniency, the consensus's drift reference)."""
    import sys
    from datetime import timedelta

    from evalaudit import labelers
    from evalaudit.labelers import concentration
    from evalaudit.pipeline import run_stages
    from tests.helpers import T0, context

    rng = np.random.default_rng(11)
    items = [{"item_id": f"i{i:04d}", "failure_mode": f"fm{i % 2}", "gold_label": "pass" if i % 3 else "fail",
              "honeypot_label": ("pass" if rng.random() < 0.6 else "fail") if i % 17 == 0 else None}
             for i in range(900)]
    rows = []
    for i, it in enumerate(items):
        p_true = 0.7 if it["failure_mode"] == "fm0" else 0.4
        truth = it["honeypot_label"] or ("pass" if rng.random() < p_true else "fail")
        for j in rng.choice(12, 1 + rng.poisson(1.8) % 5, replace=False):
            week = int(rng.integers(0, 12))
            lenient = (j == 3) or (j == 5 and week >= 6)  # one lenient labeler, one who turns lenient
            label = truth if rng.random() < 0.85 else ("fail" if truth == "pass" else "pass")
            if lenient and rng.random() < 0.5:
                label = "pass"
            rows.append({"item_id": it["item_id"], "labeler_id": f"L{j:02d}", "label": label,
                         "failure_mode": it["failure_mode"], "labeled_at": T0 + timedelta(days=7 * week + i % 7)})

    cfg = Config()
    if space != "binary":  # a third label, "unsure", between the two (ordinal: fail < unsure < pass)
        for r in rows:
            if rng.random() < 0.2:
                r["label"] = "unsure"
        if space == "ordinal":
            cfg.labels.level, cfg.labels.order, cfg.labels.positive = "ordinal", ["fail", "unsure", "pass"], "high"

    def run():
        ctx = context(cfg, labels=rows, items=items)
        run_stages(ctx, [("labelers", labelers.stage)])
        return ctx

    whole = run()
    assert whole.tables["leniency"].num_rows > 20 and whole.tables["drift_series"].num_rows > 20
    stage = sys.modules["evalaudit.labelers.stage"]  # (the package exports the stage function under this name)
    for module, name in ((judgments, "ITEM_BLOCK"), (spam, "ITEM_BLOCK"), (spam, "PAIR_BLOCK"),
                         (dawid_skene, "EM_CHUNK"), (stage, "CHUNK"), (truth_bias, "EFFECT_BLOCK")):
        monkeypatch.setattr(module, name, 97)
    assert concentration.ranges is judgments.ranges  # (reads judgments.ITEM_BLOCK)
    small = run()
    for name, t in whole.tables.items():
        other = small.tables[name]
        assert other.schema == t.schema and other.num_rows == t.num_rows, name
        for col in t.column_names:  # NaN equals NaN (Table.equals says a column with NaN differs from itself)
            if pa.types.is_floating(t[col].type):
                np.testing.assert_array_equal(other[col].to_numpy(), t[col].to_numpy(), err_msg=f"{name}.{col}")
            else:
                assert other[col].equals(t[col]), f"{name}.{col}"
    assert [f.__dict__ for f in small.findings] == [f.__dict__ for f in whole.findings]


def test_batch_codes_are_loaded_only_for_batch_strata():
    """The judgments' batch codes are read only when the assignment evidence is stratified by batch (their only
    reader): the stage's assignment rows stratified by batch are those of a load that always codes them."""
    from evalaudit import labelers
    from evalaudit.pipeline import run_stages
    from tests.helpers import T0, context

    rng = np.random.default_rng(12)
    rows = [{"item_id": f"i{i:04d}", "labeler_id": f"L{int(rng.integers(0, 8))}",
             "label": "pass" if rng.random() < 0.6 else "fail", "failure_mode": "fm", "labeled_at": T0,
             "batch_id": f"b{i % 5}" if i % 7 else None} for i in range(1_500)]
    cfg = Config()
    cfg.leniency.strata = "batch"
    ctx = context(cfg, labels=rows)
    run_stages(ctx, [("labelers", labelers.stage)])
    rows_by_batch = ctx.tables["leniency"].filter(pa.compute.equal(ctx.tables["leniency"]["evidence"], "assignment"))
    assert rows_by_batch.num_rows > 0
    eng = context(labels=rows).engine
    with_batches = judgments.load(eng, "pass", batches=True)
    assert judgments.load(eng, "pass", batches=False).batch is None
    assert (with_batches.batch >= 0).sum() == sum(1 for r in rows if r["batch_id"] is not None)


# -- the faster forms of the hot per-judgment passes against their plain forms, bit for bit --------------------------


def _plain_shared(worker, masks, n_workers):
    """One weighted count per pair of kinds (the plain form of combine.shared_by_code)."""
    out, kinds = {}, list(masks)
    for a_i, a in enumerate(kinds):
        for b in kinds[a_i:]:
            both = masks[a] & masks[b]
            out[(a, b)] = out[(b, a)] = np.bincount(worker, weights=both.astype(float), minlength=n_workers)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_shared_judgments_one_count_equals_a_count_per_pair(seed):
    from evalaudit.labelers import combine, leniency

    rng = np.random.default_rng(seed)
    for n, n_workers in ((0, 0), (0, 5), (1, 1), (500, 7), (5_000, 300)):
        worker = rng.integers(0, max(n_workers, 1), n).astype(np.int32)
        masks = {k: rng.random(n) < p for k, p in (("overlap", 0.7), ("honeypot", 0.1), ("dawid_skene", 0.6),
                                                    ("assignment", 0.2), ("extra", 0.5))}
        code = np.zeros(n, dtype=np.uint8)
        for i, mask in enumerate(masks.values()):  # bit i: the i-th kind uses the judgment
            code |= mask.astype(np.uint8) << i
        got = combine.shared_by_code(worker, code, list(masks), n_workers)
        want = _plain_shared(worker, masks, n_workers)
        assert list(got) == list(want)
        for key in want:
            assert got[key].dtype == want[key].dtype and np.array_equal(got[key], want[key]), key
    # leniency.shared's codes from per-item facts: the masks it documents
    base = _judgments(seed)
    item, worker, y = base.item, base.worker, base.y
    n_items = int(item.max()) + 1
    truth = np.where(rng.random(n_items) < 0.1, 1, -1).astype(np.int8)
    timed, batch = rng.random(len(item)) < 0.8, np.where(rng.random(len(item)) < 0.5, 3, -1)
    for strata, t in (("batch", timed), ("none", timed), ("none", None)):
        J = SimpleNamespace(item=item, worker=worker, y=y, n_items=n_items, n_workers=int(worker.max()) + 1,
                            truth=truth, timed=t, batch=batch)
        n_item = np.bincount(item, minlength=n_items)[item]
        known = truth[item] >= 0
        stratum = np.ones(len(item), bool) if t is None else (t | (batch >= 0) if strata == "batch" else t)
        want = _plain_shared(worker, {"overlap": n_item >= 2, "honeypot": known, "dawid_skene": (n_item >= 2) & ~known,
                                      "assignment": (n_item == 1) & stratum}, J.n_workers)
        got = leniency.shared(J, strata)
        assert list(got) == list(want) and all(np.array_equal(got[k], want[k]) for k in want)


def _plain_peer_choice(J, exclude=None):
    """The next eligible judgment of the item, cyclically, by a division per offset (the plain form)."""
    n = len(J.item)
    n_item = np.bincount(J.item, minlength=J.n_items)
    first = np.concatenate([[0], np.cumsum(n_item)[:-1]])[J.item]
    k, pos = n_item[J.item], np.arange(n) - first
    ok = np.ones(n, bool) if exclude is None else ~exclude[J.worker]
    chosen = np.full(n, -1)
    for i in range(n):
        for o in range(1, k[i]):
            cand = first[i] + (pos[i] + o) % k[i]
            if ok[cand]:
                chosen[i] = cand
                break
    return chosen


@pytest.mark.parametrize("seed", range(4))
def test_peer_choice_without_division_equals_the_plain_choice(seed):
    base = _judgments(seed, n_items=400)
    item, worker, y = base.item, base.worker, base.y
    rng = np.random.default_rng(seed)
    J = SimpleNamespace(item=item, worker=worker, y=y, n_items=int(item.max()) + 1)
    n_workers = int(worker.max()) + 1
    for exclude in (None, rng.random(n_workers) < 0.3, np.ones(n_workers, bool), np.zeros(n_workers, bool)):
        got = overlap.peer_choice(J, exclude)
        assert got.dtype == np.int32 and np.array_equal(got, _plain_peer_choice(J, exclude))


def _plain_categorical(J, exclude=None):
    """The leave-one-out consensus from weighted float counts, a division per judgment (the plain form)."""
    K, n = J.n_labels, len(J.item)
    elig = np.ones(n, bool) if exclude is None else ~exclude[J.worker]
    cnt = np.bincount(J.item.astype(np.int64) * K + J.code, weights=elig, minlength=J.n_items * K).reshape(-1, K)
    own = elig.astype(np.float32)
    n_other = cnt.sum(axis=1)[J.item] - own
    loo = [cnt[J.item, k].astype(np.float32) - own * (J.code == k) for k in range(K)]
    top = np.zeros(n, dtype=np.float32)
    for c in loo:
        np.maximum(top, c, out=top)
    is_top = [(c == top) & (top > 0) for c in loo]
    n_top = np.zeros(n, dtype=np.float32)
    for t in is_top:
        n_top += t
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(n_top > 0, 1.0 / n_top, 0.0)
    shares = [t * inv for t in is_top]
    has = n_other > 0
    truth = J.truth_code[J.item] if J.truth_code is not None else np.full(n, -1)
    hp = truth >= 0
    if hp.any():
        shares = [np.where(hp, (truth == k).astype(float), s) for k, s in enumerate(shares)]
        has = has | hp
    agree = np.zeros(n)
    for k in range(K):
        agree += np.where(J.code == k, shares[k], 0.0)
    return has, agree, shares, n_other


@pytest.mark.parametrize("n_labels", [1, 2, 3, 5])
def test_leave_one_out_consensus_from_integer_counts_equals_the_float_counts(n_labels):
    from evalaudit.labelers import reference

    base = _judgments(n_labels, n_items=2_000)
    item, worker = base.item, base.worker
    rng = np.random.default_rng(n_labels)
    n_items, n_workers = int(item.max()) + 1, int(worker.max()) + 1
    code = rng.integers(0, n_labels, len(item)).astype(np.int32)
    for truth in (None, np.where(rng.random(n_items) < 0.1, rng.integers(0, n_labels, n_items), -1)):
        J = SimpleNamespace(item=item, worker=worker, code=code, n_items=n_items, n_labels=n_labels,
                            truth_code=truth)
        for exclude in (None, rng.random(n_workers) < 0.3):
            got, want = reference.categorical(J, exclude), _plain_categorical(J, exclude)
            for a, b in zip((got.has, got.agree, *got.ref_share, got.n_other),
                            (want[0], want[1], *want[2], want[3]), strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 20])
def test_grouped_order_is_the_order_of_the_whole_sort(monkeypatch, block):
    """Judgments that arrive grouped by item are sorted block by block of whole items (no 8-byte key and order for
    the whole store): the order is np.argsort's of the whole (item, labeler) key; a repeated judgment or rows not
    grouped by item leave the sort to the caller (None)."""
    monkeypatch.setattr(judgments, "ITEM_BLOCK", block)
    rng = np.random.default_rng(block)
    for _ in range(100):
        n_items, n_labelers = int(rng.integers(1, 40)), int(rng.integers(1, 25))
        per = rng.integers(1, min(n_labelers, 6) + 1, n_items)
        item = np.repeat(np.arange(n_items), per).astype(np.int32)
        lab = np.concatenate([rng.choice(n_labelers, k, replace=False) for k in per]).astype(np.int32)
        got = judgments._grouped_order(item, lab, n_labelers)
        assert got is not None and got.dtype == np.int32
        np.testing.assert_array_equal(got, np.argsort(item.astype(np.int64) * n_labelers + lab))
        twice = np.flatnonzero(np.diff(item) == 0)
        if len(twice):
            again = lab.copy()
            again[twice[0] + 1] = again[twice[0]]
            assert judgments._grouped_order(item, again, n_labelers) is None
        shuffled = rng.permutation(len(item))
        if np.any(np.diff(item[shuffled]) < 0):
            assert judgments._grouped_order(item[shuffled], lab[shuffled], n_labelers) is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_nondecreasing_reads_across_chunk_edges(chunk):
    """The one sortedness check (judgments, Dawid–Skene, spam): equal to comparing every neighbour at once, with a
    decrease at any position, chunk edges included."""
    rng = np.random.default_rng(chunk)
    for n in (0, 1, 2, 3, 10, 200):
        a = np.sort(rng.integers(0, 5, n))
        assert judgments.nondecreasing(a, chunk)
        for i in range(1, n):
            b = a.copy()
            b[i] = b[i - 1] - 1
            assert not judgments.nondecreasing(b, chunk), (n, i)


@settings(max_examples=60, deadline=None)
@given(codes=st.lists(st.integers(0, 40), max_size=300), block=st.integers(1, 64), minlength=st.integers(0, 60),
       kind=st.sampled_from(["none", "float", "bool"]), seed=st.integers(0, 2**16))
def test_blockwise_bincount_is_numpys_to_the_last_bit(codes, block, minlength, kind, seed):
    """``judgments.bincount`` over blocks of any size gives ``np.bincount``'s array: the same dtype, length and
    values to the last bit (float weights are added in the same order), and refuses a negative code as it does."""
    rng = np.random.default_rng(seed)
    x = np.asarray(codes, dtype=np.int32)
    w = {"none": None, "float": rng.normal(size=len(x)) * 10.0 ** rng.integers(-8, 8, len(x)),
         "bool": rng.random(len(x)) < 0.5}[kind]
    old = judgments.ITEM_BLOCK
    judgments.ITEM_BLOCK = block
    try:
        got = judgments.bincount(x, w, minlength)
    finally:
        judgments.ITEM_BLOCK = old
    want = np.bincount(x, w, minlength)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    with pytest.raises(ValueError):
        judgments.bincount(np.asarray([0, -1, 2]))
