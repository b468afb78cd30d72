"""The demo generator (evalaudit/demo.py): deterministic, canonical, and every planted fault really in the data.

Checks run as SQL on a real DuckDB engine over the generated Arrow tables (``engine_for_tables``), so they read the
tables the way the detectors will. Expected values come from the generative model in docs/demo.md: e.g. the seed
labeler passes true fails on its failure mode with probability 0.45, honest labelers with 0.02-0.05.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalaudit import demo, schema
from evalaudit.engine import engine_for_tables
from evalaudit.findings import KINDS

N = 200_000


@pytest.fixture(scope="module")
def data() -> demo.DemoData:
    return demo.generate(seed=7, n_judgments=N)


@pytest.fixture(scope="module")
def eng(data: demo.DemoData):
    e = engine_for_tables({**data.tables, "truth_labels": data.true_labels})
    yield e
    e.close()


def planted(data: demo.DemoData, kind: str, reason: str | None = None) -> list[dict]:
    out = [
        p
        for p in data.truth["planted"]
        if p["kind"] == kind and (reason is None or p.get("reason") == reason)
    ]
    assert out, f"no planted {kind} {reason or ''}"
    return out


def one(eng, text: str, **params):
    return eng.sql(text, **params).to_pylist()[0]


# -- determinism and shape ------------------------------------------------------------------------------------
def test_same_seed_gives_identical_tables_and_truth() -> None:
    a, b = demo.generate(seed=11, n_judgments=20_000), demo.generate(seed=11, n_judgments=20_000)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert a.truth == b.truth
    assert a.true_labels.equals(b.true_labels)
    c = demo.generate(seed=12, n_judgments=20_000)
    assert not a.tables["labels"].equals(c.tables["labels"])


def test_tables_have_exactly_the_canonical_user_columns_and_types(data: demo.DemoData) -> None:
    assert set(data.tables) == {"labels", "items", "labelers", "predictions", "production"}
    for name, table in data.tables.items():
        canon = schema.get(name)
        expected = pa.schema([canon.arrow_schema.field(c) for c in canon.user_columns])
        assert table.schema.equals(expected), name
        for col in canon.required:
            assert table.column(col).null_count == 0, (name, col)
    assert data.tables["labels"].schema.field("labeled_at").type == pa.timestamp("us", tz="UTC")


def test_sizes_and_shares(data: demo.DemoData, eng) -> None:
    people = data.tables["labels"].filter(pc.invert(pc.starts_with(data.tables["labels"]["labeler_id"],
                                                                     demo.Plan().judge_name + "@")))
    assert abs(people.num_rows - N) / N < 0.03
    assert 0.02 < (data.tables["labels"].num_rows - people.num_rows) / N < 0.05  # the LLM judge's share
    assert 40 <= data.tables["labelers"].num_rows <= 60
    assert 20_000 <= data.tables["production"].num_rows <= 50_000
    r = one(
        eng,
        """
        SELECT count(DISTINCT vendor) AS vendors, count(DISTINCT failure_mode) AS modes,
               count(DISTINCT guideline_version) AS guidelines, min(labeled_at) AS first, max(labeled_at) AS last
        FROM labels WHERE labeler_id NOT IN (SELECT labeler_id FROM labelers WHERE kind = 'model')
        """,
    )
    assert 3 <= r["vendors"] <= 4 and r["modes"] == 12 and r["guidelines"] == 3
    assert r["last"] < datetime(2026, 10, 31, tzinfo=UTC) and (r["last"] - r["first"]).days >= 350
    seed = planted(data, "labeler_concentration")[0]["labeler_id"]
    share = one(eng, "SELECT avg(CASE WHEN labeler_id = $s THEN 1.0 ELSE 0.0 END) AS v FROM labels", s=seed)[
        "v"
    ]
    assert 0.09 <= share <= 0.13
    r = one(
        eng,
        """
        SELECT avg(CASE WHEN i.honeypot_label IS NOT NULL THEN 1.0 ELSE 0.0 END) AS honeypot_share,
               avg(CASE WHEN i.honeypot_label IS NULL AND c.n BETWEEN 2 AND 3 THEN 1.0 ELSE 0.0 END)
                 / avg(CASE WHEN i.honeypot_label IS NULL THEN 1.0 ELSE 0.0 END) AS overlap_share,
               min(CASE WHEN i.honeypot_label IS NOT NULL THEN c.n END) AS honeypot_min_labels,
               max(CASE WHEN i.honeypot_label IS NULL THEN c.n END) AS regular_max_labels
        FROM items AS i JOIN (SELECT item_id, count(*) AS n FROM labels GROUP BY item_id) AS c
          ON c.item_id = i.item_id
        """,
    )
    assert 0.02 <= r["honeypot_share"] <= 0.04
    assert 0.15 <= r["overlap_share"] <= 0.25
    assert r["honeypot_min_labels"] >= 5 and r["regular_max_labels"] <= 4


def test_referential_integrity_and_assignment_rules(eng) -> None:
    r = one(
        eng,
        """
        SELECT
          (SELECT count(*) FROM labels AS l LEFT JOIN items AS i ON i.item_id = l.item_id
            WHERE i.item_id IS NULL) AS orphan_labels,
          (SELECT count(*) FROM items AS i LEFT JOIN (SELECT DISTINCT item_id FROM labels) AS l
            ON l.item_id = i.item_id WHERE l.item_id IS NULL) AS unlabeled_items,
          (SELECT count(*) FROM (SELECT item_id, labeler_id FROM labels GROUP BY item_id, labeler_id
            HAVING count(*) > 1) AS d) AS repeated_pairs,
          (SELECT count(*) FROM labels AS l JOIN labelers AS p ON p.labeler_id = l.labeler_id
            WHERE l.labeled_at < p.active_from OR l.labeled_at > p.active_to
               OR l.vendor <> p.vendor) AS outside_engagement,
          (SELECT count(*) FROM labels AS l JOIN items AS i ON i.item_id = l.item_id
            WHERE l.failure_mode <> i.failure_mode OR l.labeled_at < i.created_at) AS inconsistent,
          (SELECT count(*) FROM predictions AS p LEFT JOIN items AS i ON i.item_id = p.item_id
            WHERE i.item_id IS NULL) AS orphan_predictions,
          (SELECT count(DISTINCT model_version) FROM predictions) AS versions,
          (SELECT count(*) FROM items) AS n_items,
          (SELECT count(*) FROM predictions) AS n_predictions
        """,
    )
    assert r["orphan_labels"] == r["unlabeled_items"] == r["repeated_pairs"] == 0
    assert r["outside_engagement"] == r["inconsistent"] == r["orphan_predictions"] == 0
    assert 4 <= r["versions"] <= 6 and r["n_predictions"] == r["versions"] * r["n_items"]
    batches = eng.sql("SELECT DISTINCT batch_id, vendor FROM labels").to_pylist()
    assert all(re.fullmatch(r"\d{4}-W\d{2}-" + re.escape(b["vendor"]), b["batch_id"]) for b in batches)


def test_gold_is_the_first_judgment_and_honeypot_gold_the_known_answer(eng) -> None:
    r = one(
        eng,
        """
        WITH ranked AS (
          SELECT item_id, label, row_number() OVER (PARTITION BY item_id ORDER BY labeled_at) AS k FROM labels
        )
        SELECT
          sum(CASE WHEN i.honeypot_label IS NULL AND i.gold_label <> r.label THEN 1 ELSE 0 END) AS gold_not_first,
          sum(CASE WHEN i.honeypot_label IS NOT NULL AND i.gold_label <> t.true_label THEN 1 ELSE 0 END)
            AS honeypot_wrong,
          sum(CASE WHEN i.honeypot_label IS NOT NULL AND i.honeypot_label <> t.true_label THEN 1 ELSE 0 END)
            AS honeypot_label_wrong
        FROM items AS i JOIN ranked AS r ON r.item_id = i.item_id AND r.k = 1
        JOIN truth_labels AS t ON t.item_id = i.item_id
        """,
    )
    assert r == {"gold_not_first": 0, "honeypot_wrong": 0, "honeypot_label_wrong": 0}


def test_every_truth_entry_names_things_that_exist(data: demo.DemoData, eng) -> None:
    labelers = set(data.tables["labelers"].column("labeler_id").to_pylist())
    modes = set(data.tables["labels"].column("failure_mode").to_pylist())
    items = set(data.tables["items"].column("item_id").to_pylist())
    kinds = {p["kind"] for p in data.truth["planted"]}
    required = {
        "labeler_leniency", "labeler_concentration", "labeler_drift", "labeler_spam",
        "stale_items", "coverage_drift", "eval_score_inflation", "poisoned_items",
    }  # fmt: skip
    assert required <= kinds <= set(KINDS)
    for p in data.truth["planted"]:
        assert {"kind", "labeler_id", "failure_mode", "item_ids"} <= set(p)
        assert p["labeler_id"] is None or p["labeler_id"] in labelers
        assert p["failure_mode"] is None or p["failure_mode"] in modes
        if p["item_ids"] is not None:
            assert (
                p["item_ids"]
                and set(p["item_ids"]) <= items
                and len(set(p["item_ids"])) == len(p["item_ids"])
            )
    reasons = {p.get("reason") for p in data.truth["planted"] if p["kind"] == "stale_items"}
    assert reasons == {"superseded_guideline", "labelers_inactive"}
    assert len([p for p in planted(data, "coverage_drift") if p["failure_mode"]]) in (2, 3)


# -- the planted faults, visible in simple counts ---------------------------------------------------------------
HONEYPOT_FALSE_PASS = """
    SELECT l.labeler_id, avg(CASE WHEN l.label = 'pass' THEN 1.0 ELSE 0.0 END) AS false_pass, count(*) AS n
    FROM labels AS l JOIN items AS i ON i.item_id = l.item_id
    WHERE i.honeypot_label = 'fail' AND l.failure_mode = $mode AND l.labeled_at >= $since
    GROUP BY l.labeler_id
"""


def test_seed_story_labeler_is_lenient_on_its_mode_concentrated_single_and_gone(
    data: demo.DemoData, eng
) -> None:
    p = planted(data, "labeler_leniency")[0]
    seed, mode = p["labeler_id"], p["failure_mode"]
    rows = eng.sql(HONEYPOT_FALSE_PASS, mode=mode, since=datetime(2000, 1, 1, tzinfo=UTC)).to_pylist()
    by = {r["labeler_id"]: r for r in rows}
    assert by[seed]["n"] >= 50 and abs(by[seed]["false_pass"] - demo.Plan().lenient_pass_given_fail) <= 0.12
    peers = [r for r in rows if r["labeler_id"] not in {seed, planted(data, "labeler_spam")[0]["labeler_id"]}]
    pooled = sum(r["false_pass"] * r["n"] for r in peers) / sum(r["n"] for r in peers)
    assert pooled < 0.1  # honest: 0.02-0.05
    r = one(
        eng,
        """
        SELECT avg(CASE WHEN c.n = 1 THEN 1.0 ELSE 0.0 END) AS single_share,
               (SELECT active_to FROM labelers WHERE labeler_id = $s) AS active_to,
               (SELECT max(labeled_at) FROM labels) AS last
        FROM (SELECT item_id FROM labels WHERE labeler_id = $s GROUP BY item_id) AS mine
        JOIN (SELECT item_id, count(*) AS n FROM labels GROUP BY item_id) AS c ON c.item_id = mine.item_id
        JOIN items AS i ON i.item_id = mine.item_id
        WHERE i.honeypot_label IS NULL
        """,
        s=seed,
    )
    assert r["single_share"] >= 0.7
    assert r["active_to"] is not None and (r["last"] - r["active_to"]).days >= 120
    # concentration: the gold weight share (each item's weight split among its labelers) on the seed mode
    conc = next(p for p in planted(data, "labeler_concentration") if p["failure_mode"] == mode)
    w = one(
        eng,
        """
        SELECT sum(CASE WHEN l.labeler_id = $s THEN 1.0 / c.n ELSE 0.0 END)
               / (SELECT count(*) FROM items WHERE failure_mode = $m) AS share
        FROM labels AS l JOIN (SELECT item_id, count(*) AS n FROM labels GROUP BY item_id) AS c
          ON c.item_id = l.item_id
        WHERE l.failure_mode = $m
        """,
        s=seed,
        m=mode,
    )["share"]
    assert 0.35 <= w <= 0.6 and w == pytest.approx(conc["effect"], abs=1e-3)


def test_drift_labeler_turns_lenient_after_since(data: demo.DemoData, eng) -> None:
    p = planted(data, "labeler_drift")[0]
    since = datetime.fromisoformat(p["since"]).replace(tzinfo=UTC)
    r = one(
        eng,
        """
        SELECT
          avg(CASE WHEN l.labeled_at < $since AND l.labeler_id = $d THEN (CASE WHEN l.label = 'pass'
              THEN 1.0 ELSE 0.0 END) END) AS before,
          avg(CASE WHEN l.labeled_at >= $since AND l.labeler_id = $d THEN (CASE WHEN l.label = 'pass'
              THEN 1.0 ELSE 0.0 END) END) AS after,
          sum(CASE WHEN l.labeled_at >= $since AND l.labeler_id = $d THEN 1 ELSE 0 END) AS n_after
        FROM labels AS l JOIN truth_labels AS t ON t.item_id = l.item_id
        WHERE l.failure_mode = $mode AND t.true_label = 'fail'
        """,
        since=since,
        d=p["labeler_id"],
        mode=p["failure_mode"],
    )
    assert r["n_after"] >= 30
    planted_after = demo.Plan().drift_pass_given_fail  # honest before: 0.02-0.05
    assert r["before"] < 0.1 and abs(r["after"] - planted_after) <= 0.12


def test_spammer_answers_at_random_and_too_fast(data: demo.DemoData, eng) -> None:
    spam = planted(data, "labeler_spam")[0]["labeler_id"]
    rows = eng.sql(
        """
        SELECT l.labeler_id = $s AS is_spam, t.true_label,
               avg(CASE WHEN l.label = 'pass' THEN 1.0 ELSE 0.0 END) AS pass_rate,
               median(l.duration_s) AS median_s, min(l.duration_s) AS min_s, max(l.duration_s) AS max_s,
               count(*) AS n
        FROM labels AS l JOIN truth_labels AS t ON t.item_id = l.item_id
        GROUP BY l.labeler_id = $s, t.true_label
        """,
        s=spam,
    ).to_pylist()
    by = {(r["is_spam"], r["true_label"]): r for r in rows}
    for truth in ("pass", "fail"):
        assert by[(True, truth)]["n"] >= 200 and 0.4 <= by[(True, truth)]["pass_rate"] <= 0.6
        assert by[(True, truth)]["max_s"] <= 6.0
        assert by[(False, truth)]["median_s"] >= 30.0
    per_labeler = eng.sql(
        "SELECT labeler_id, median(duration_s) AS m FROM labels WHERE labeler_id <> $s GROUP BY labeler_id",
        s=spam,
    ).to_pylist()
    assert min(r["m"] for r in per_labeler if r["m"] is not None) >= 25.0  # the LLM judge has no duration


def test_llm_judge_grades_double_labeled_items_and_its_newer_version_passes_refusal_fails(data, eng) -> None:
    plan = demo.Plan()
    p = next(p for p in planted(data, "labeler_leniency") if p.get("judge"))
    judges = [r["labeler_id"] for r in eng.sql("SELECT labeler_id FROM labelers WHERE kind = 'model' "
                                                 "ORDER BY active_from").to_pylist()]
    assert judges == [f"{plan.judge_name}@{v}" for v, _ in plan.judge_versions] and p["labeler_id"] == judges[1]
    assert eng.sql("SELECT count(*) AS n FROM labelers WHERE kind IS DISTINCT FROM 'human' AND kind <> 'model'"
                   ).to_pylist()[0]["n"] == 0
    r = one(
        eng,
        """
        WITH j AS (SELECT * FROM labels WHERE labeler_id IN (SELECT labeler_id FROM labelers WHERE kind = 'model')),
             people AS (SELECT item_id, count(*) AS n, min(labeled_at) AS first, max(labeled_at) AS last
                        FROM labels WHERE labeler_id NOT IN (SELECT labeler_id FROM j) GROUP BY item_id)
        SELECT count(*) AS n,
               sum(CASE WHEN p.n >= 2 AND j.labeled_at > p.last THEN 1 ELSE 0 END) AS after_two_people,
               sum(CASE WHEN i.honeypot_label IS NOT NULL THEN 1 ELSE 0 END) AS honeypots,
               sum(CASE WHEN j.duration_s IS NULL THEN 1 ELSE 0 END) AS untimed_effort,
               (SELECT count(*) FROM labels AS l JOIN j AS jj ON jj.item_id = l.item_id WHERE l.labeler_id = $seed)
                 AS seed_items
        FROM j JOIN people AS p ON p.item_id = j.item_id JOIN items AS i ON i.item_id = j.item_id
        """,
        seed=planted(data, "labeler_leniency")[0]["labeler_id"],
    )
    assert r["n"] == r["after_two_people"] == r["untimed_effort"] > 0.02 * N and r["honeypots"] == r["seed_items"] == 0
    # against the latent truth: the newer version passes true refusal fails at the planted rate, the older honestly
    rows = {x["labeler_id"]: x for x in eng.sql(
        """
        SELECT l.labeler_id, avg(CASE WHEN l.label = 'pass' THEN 1.0 ELSE 0.0 END) AS false_pass, count(*) AS n
        FROM labels AS l JOIN truth_labels AS t ON t.item_id = l.item_id
        WHERE t.true_label = 'fail' AND l.failure_mode = $m AND l.labeler_id IN ($a, $b) GROUP BY l.labeler_id
        """, m=plan.judge_mode, a=judges[0], b=judges[1]).to_pylist()}
    assert rows[judges[1]]["n"] >= 50 and abs(rows[judges[1]]["false_pass"] - plan.judge_pass_given_fail) < 0.15
    assert rows[judges[0]]["false_pass"] < 0.12


def test_superseded_guideline_items_are_exactly_those_labeled_only_under_old_versions(data, eng) -> None:
    current = one(eng, "SELECT guideline_version AS v FROM labels ORDER BY labeled_at DESC LIMIT 1")["v"]
    assert current == "v3"
    rows = eng.sql(
        """
        SELECT item_id, max(CASE WHEN guideline_version = $v THEN 1 ELSE 0 END) AS has_current
        FROM labels GROUP BY item_id
        """,
        v=current,
    ).to_pylist()
    only_old = {r["item_id"] for r in rows if not r["has_current"]}
    assert set(planted(data, "stale_items", "superseded_guideline")[0]["item_ids"]) == only_old
    assert 0 < len(only_old) < 0.05 * len(rows)  # most items were labeled or re-labeled under v3


def test_inactive_labeler_items_are_exactly_those_whose_every_labeler_left(data, eng) -> None:
    rows = eng.sql(
        """
        SELECT l.item_id, min(CASE WHEN p.active_to IS NOT NULL AND p.active_to <= $end THEN 1 ELSE 0 END)
               AS all_gone
        FROM labels AS l JOIN labelers AS p ON p.labeler_id = l.labeler_id
        GROUP BY l.item_id
        """,
        end=demo.END,
    ).to_pylist()
    gone = {r["item_id"] for r in rows if r["all_gone"]}
    assert gone and set(planted(data, "stale_items", "labelers_inactive")[0]["item_ids"]) == gone


def test_poisoned_items_have_wrong_gold_from_the_flagged_labeler(data, eng) -> None:
    entries = planted(data, "poisoned_items")
    seed = planted(data, "labeler_leniency")[0]
    assert any(
        e["labeler_id"] == seed["labeler_id"] and e["reason"] == "flagged_labeler_only" for e in entries
    )
    for e in entries:
        eng.register("chosen", pa.table({"item_id": e["item_ids"]}))
        r = one(
            eng,
            """
            WITH first AS (
              SELECT item_id, labeler_id, row_number() OVER (PARTITION BY item_id ORDER BY labeled_at) AS k
              FROM labels
            )
            SELECT count(*) AS n,
                   sum(CASE WHEN i.gold_label = t.true_label THEN 1 ELSE 0 END) AS gold_right,
                   sum(CASE WHEN f.labeler_id <> $who THEN 1 ELSE 0 END) AS other_source,
                   max(c.n) AS max_labels, min(c.n) AS min_labels
            FROM chosen AS x JOIN items AS i ON i.item_id = x.item_id
            JOIN truth_labels AS t ON t.item_id = x.item_id
            JOIN first AS f ON f.item_id = x.item_id AND f.k = 1
            JOIN (SELECT item_id, count(*) AS n FROM labels GROUP BY item_id) AS c ON c.item_id = x.item_id
            """,
            who=e["labeler_id"],
        )
        assert r["n"] == len(e["item_ids"]) and r["gold_right"] == 0 and r["other_source"] == 0
        if e["reason"] == "flagged_labeler_only":
            assert r["max_labels"] == 1
        else:
            assert r["min_labels"] >= 2


def test_coverage_drift_modes_are_much_more_common_in_production(data, eng) -> None:
    rows = eng.sql(
        """
        SELECT e.failure_mode, e.share AS eval_share, p.share AS prod_share
        FROM (SELECT failure_mode, count(*) / (SELECT count(*) FROM items) AS share FROM items
              GROUP BY failure_mode) AS e
        JOIN (SELECT failure_mode, count(*) / (SELECT count(*) FROM production) AS share FROM production
              GROUP BY failure_mode) AS p ON p.failure_mode = e.failure_mode
        """
    ).to_pylist()
    ratio = {r["failure_mode"]: r["prod_share"] / r["eval_share"] for r in rows}
    drifted = {p["failure_mode"] for p in planted(data, "coverage_drift") if p["failure_mode"]}
    assert len(ratio) == 12
    assert all(ratio[m] >= 2.0 for m in drifted)
    assert min(ratio[m] for m in drifted) >= 2.0 and any(ratio[m] >= 10 for m in drifted)
    assert all(ratio[m] <= 1.2 for m in ratio if m not in drifted)
    # the overall entry: population stability index of the two mixes, as sampled, against scipy's KL divergence
    from scipy.stats import entropy

    prod = np.array([r["prod_share"] for r in rows])
    ev = np.array([r["eval_share"] for r in rows])
    overall = next(p for p in planted(data, "coverage_drift") if p["failure_mode"] is None)
    assert overall["effect"] == pytest.approx(float(entropy(prod, ev) + entropy(ev, prod)), abs=0.05)
    assert overall["effect"] == pytest.approx(float(np.sum((prod - ev) * np.log(prod / ev))), abs=0.05)


def test_seed_story_eval_scores_rise_against_gold_and_fall_against_truth(data, eng) -> None:
    p = planted(data, "eval_score_inflation")[0]
    rows = eng.sql(
        """
        SELECT p.model_version,
               avg(CASE WHEN p.prediction = i.gold_label THEN 1.0 ELSE 0.0 END) AS score_gold,
               avg(CASE WHEN p.prediction = t.true_label THEN 1.0 ELSE 0.0 END) AS score_true
        FROM predictions AS p JOIN items AS i ON i.item_id = p.item_id
        JOIN truth_labels AS t ON t.item_id = p.item_id
        WHERE i.failure_mode = $mode
        GROUP BY p.model_version ORDER BY p.model_version
        """,
        mode=p["failure_mode"],
    ).to_pylist()
    gold = [r["score_gold"] for r in rows]
    true = [r["score_true"] for r in rows]
    assert all(b >= a - 0.005 for a, b in itertools.pairwise(gold))  # holds or rises, release by release
    assert gold[-1] - gold[0] >= 0.02 and true[0] - true[-1] >= 0.02
    assert gold[-1] > true[-1]
    assert p["scores"][rows[-1]["model_version"]]["gold"] == pytest.approx(gold[-1], abs=1e-4)
    # elsewhere releases improve against truth, and gold and truth tell the same story
    other = eng.sql(
        """
        SELECT p.model_version, avg(CASE WHEN p.prediction = t.true_label THEN 1.0 ELSE 0.0 END) AS s
        FROM predictions AS p JOIN items AS i ON i.item_id = p.item_id
        JOIN truth_labels AS t ON t.item_id = p.item_id
        WHERE i.failure_mode <> $mode GROUP BY p.model_version ORDER BY p.model_version
        """,
        mode=p["failure_mode"],
    ).to_pylist()
    assert other[-1]["s"] > other[0]["s"]


def test_honest_labelers_stay_within_a_few_points_of_each_other(data, eng) -> None:
    """Against the latent truth (all judgments, not just honeypots), every honest labeler's false-pass rate
    and miss rate lie in the planted 0.02-0.05 band, up to sampling noise."""
    flagged = {p["labeler_id"] for p in data.truth["planted"] if p["kind"].startswith("labeler_")}
    rows = eng.sql(
        """
        SELECT l.labeler_id, t.true_label, avg(CASE WHEN l.label <> t.true_label THEN 1.0 ELSE 0.0 END) AS err,
               count(*) AS n
        FROM labels AS l JOIN truth_labels AS t ON t.item_id = l.item_id
        GROUP BY l.labeler_id, t.true_label
        """
    ).to_pylist()
    for r in rows:
        if r["labeler_id"] in flagged or r["n"] < 300:
            continue
        se = (0.05 * 0.95 / r["n"]) ** 0.5
        assert 0.02 - 4 * se <= r["err"] <= 0.05 + 4 * se, r


# -- invariants over seeds and sizes -------------------------------------------------------------------------
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5_000, 30_000))
def test_invariants_hold_for_any_seed_and_size(seed: int, n: int) -> None:
    d = demo.generate(seed=seed, n_judgments=n)
    assert json.loads(json.dumps(d.truth)) == d.truth  # plain JSON types only: truth.json is written as is
    people = d.tables["labels"].filter(pc.invert(pc.starts_with(d.tables["labels"]["labeler_id"],
                                                                  demo.Plan().judge_name + "@")))
    assert abs(people.num_rows - n) / n < 0.05
    e = engine_for_tables(d.tables)
    try:
        r = one(
            e,
            """
            WITH ranked AS (
              SELECT item_id, label, row_number() OVER (PARTITION BY item_id ORDER BY labeled_at) AS k
              FROM labels
            )
            SELECT
              (SELECT count(*) FROM (SELECT item_id, labeler_id FROM labels GROUP BY item_id, labeler_id
                HAVING count(*) > 1) AS d) AS repeated_pairs,
              (SELECT count(*) FROM labels AS l JOIN labelers AS p ON p.labeler_id = l.labeler_id
                WHERE l.labeled_at < p.active_from OR l.labeled_at > p.active_to) AS outside_engagement,
              (SELECT count(*) FROM items AS i JOIN ranked AS r ON r.item_id = i.item_id AND r.k = 1
                WHERE i.honeypot_label IS NULL AND i.gold_label <> r.label) AS gold_not_first,
              (SELECT avg(CASE WHEN labeler_id = $s THEN 1.0 ELSE 0.0 END) FROM labels) AS seed_share
            """,
            s=planted(d, "labeler_leniency")[0]["labeler_id"],
        )
        assert r["repeated_pairs"] == r["outside_engagement"] == r["gold_not_first"] == 0
        assert 0.09 <= r["seed_share"] <= 0.13
        only_old = {
            x["item_id"]
            for x in e.sql(
                "SELECT item_id FROM labels GROUP BY item_id HAVING max(guideline_version) < 'v3'"
            ).to_pylist()
        }
        stale = [p for p in d.truth["planted"] if p.get("reason") == "superseded_guideline"]
        assert {i for p in stale for i in p["item_ids"]} == only_old
    finally:
        e.close()
    items = set(d.tables["items"].column("item_id").to_pylist())
    for p in d.truth["planted"]:
        assert p["kind"] in KINDS and (p["item_ids"] is None or set(p["item_ids"]) <= items)


def test_tables_survive_a_parquet_round_trip_read_by_duckdb(tmp_path) -> None:
    """The lead's CLI writes the tables as Parquet exports; types (timestamps in UTC microseconds) and values
    survive, and DuckDB reads them back as the store's views will."""
    import duckdb
    import pyarrow.parquet as pq

    d = demo.generate(seed=5, n_judgments=10_000)
    con = duckdb.connect()
    try:
        for name, table in d.tables.items():
            path = tmp_path / f"{name}.parquet"
            pq.write_table(table, path)
            back = pq.read_table(path)
            assert back.schema.equals(table.schema) and back.equals(table), name
            n = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(path)}).fetchone()[0]
            assert n == table.num_rows
        tz = con.execute(
            "SELECT typeof(labeled_at) FROM read_parquet($p) LIMIT 1", {"p": str(tmp_path / "labels.parquet")}
        ).fetchone()[0]
        assert tz == "TIMESTAMP WITH TIME ZONE"
    finally:
        con.close()


def test_rejects_sizes_outside_the_bounds() -> None:
    with pytest.raises(ValueError, match="n_judgments"):
        demo.generate(n_judgments=10)
    with pytest.raises(ValueError, match="memory"):
        demo.generate(n_judgments=demo.MAX_JUDGMENTS + 1)


def test_low_agreement_entries_match_krippendorff_alpha_of_the_data(data, eng) -> None:
    """The reference package (krippendorff, Castro 2017) on each failure mode's reliability matrix agrees with
    the model's expected alpha for the listed slices; every other slice with enough overlap is well above the
    default threshold, so the prevalence entries are the only low-agreement slices by failure mode."""
    import krippendorff

    listed = {p["failure_mode"]: p["effect"] for p in planted(data, "low_agreement", "prevalence")}
    assert {"safety_jailbreak", "format_compliance"} <= set(listed)
    flagged = {p["labeler_id"] for p in data.truth["planted"] if p["kind"].startswith("labeler_")}
    rows = eng.sql(
        """
        SELECT l.failure_mode, l.item_id, l.labeler_id, CASE WHEN l.label = 'pass' THEN 1 ELSE 0 END AS y
        FROM labels AS l JOIN (SELECT item_id FROM labels GROUP BY item_id HAVING count(*) >= 2) AS c
          ON c.item_id = l.item_id
        """
    ).to_pandas()

    def alpha(g) -> float:
        matrix = g.pivot(index="labeler_id", columns="item_id", values="y").to_numpy(dtype=float)
        return krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")

    for mode, g in rows.groupby("failure_mode"):
        if g["item_id"].nunique() < 300:
            continue
        everyone = alpha(g)  # what the audit sees: flagged labelers (the spammer above all) lower it further
        if mode in listed:
            honest = alpha(g[~g["labeler_id"].isin(flagged)])  # what expected_alpha models
            # ~100 true fails among the pairable items of such a slice: alpha's sampling SD is about 0.04
            assert abs(honest - listed[mode]) < 0.1 and everyone <= honest + 0.01, (
                mode,
                honest,
                listed[mode],
            )
            assert everyone < 0.6
        else:
            assert everyone > 0.69, (mode, everyone)


def test_expected_alpha_matches_a_simulated_two_coin_panel() -> None:
    """expected_alpha against the reference package on 4000 simulated items with 3 exchangeable labelers."""
    import krippendorff

    rng = np.random.default_rng(0)
    for p, s, c in ((0.95, 0.95, 0.95), (0.62, 0.95, 0.98), (0.8, 0.98, 0.95)):
        truth = rng.random(4000) < p
        judged = np.where(truth, rng.random((3, 4000)) < s, rng.random((3, 4000)) >= c).astype(float)
        got = krippendorff.alpha(reliability_data=judged, level_of_measurement="nominal")
        assert demo.expected_alpha(p, s, c) == pytest.approx(got, abs=0.04)


def test_docs_failure_mode_table_matches_the_model() -> None:
    """docs/demo.md's failure-mode table is the model's (docs that cannot drift)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "demo.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([\d.]+) \| ([\d.]+)% \| ([\d.]+)% \|$", text, flags=re.M)
    documented = {name: (float(p), float(e) / 100, float(q) / 100) for name, p, e, q in rows}
    model = {m.name: (m.pass_rate, m.eval_share, m.production_share) for m in demo.FAILURE_MODES}
    assert documented.keys() == model.keys()
    for name, values in model.items():
        assert documented[name] == pytest.approx(values, abs=1e-9), name
