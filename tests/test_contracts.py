"""Data contracts (docs/contracts.md): `check_batch` on real batch files against a real store, each expectation made to
pass and to fail, the quarantine and promotion paths, the offline page, and the gold expectations stage.

The store: labelers l1..l3 judged 200 history items each (each wrong on 10% of them, as often each way, so
positive rate exactly 0.5 and alpha about 0.6; guideline v2, March 2024);
l4 was engaged until 2024-06-30; items h00..h11 are honeypots. The clean batch: l1 and l2 both judge 60 new items
(6 disagreements: alpha well above 0.667) and the 12 honeypots (all correct), in July 2024, under v2.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalaudit import config as config_mod
from evalaudit.contracts import check_batch, gold_expectations, gold_stage
from evalaudit.contracts.page import render
from evalaudit.engine import engine_for_tables
from evalaudit.ingest import ingest_files
from evalaudit.stage import Context
from evalaudit.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = ["item_id", "labeler_id", "label", "failure_mode", "labeled_at", "guideline_version"]


def write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str] | None = None) -> Path:
    fields = fields or list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def history_rows() -> list[dict[str, Any]]:
    rows = []
    for flips, lab in (((1, 2), "l1"), ((5, 6), "l2"), ((9, 10), "l3")):
        for i in range(200):
            truth = i % 2 == 0
            label = "pass" if truth != (i % 20 in flips) else "fail"  # 10% wrong, as many each way
            rows.append({"item_id": f"o{i:03d}", "labeler_id": lab, "label": label,
                         "failure_mode": "safety", "labeled_at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                         "guideline_version": "v2"})
    for i in range(10):
        rows.append({"item_id": f"o{i:03d}", "labeler_id": "l4", "label": "pass", "failure_mode": "safety",
                     "labeled_at": "2024-05-01T00:00:00Z", "guideline_version": "v2"})
    return rows


def clean_batch_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(60):
        base = "pass" if i % 2 == 0 else "fail"
        for lab in ("l1", "l2"):
            label = "pass" if (lab == "l2" and i % 10 == 9) else base
            rows.append({"item_id": f"n{i:03d}", "labeler_id": lab, "label": label, "failure_mode": "safety",
                         "labeled_at": f"2024-07-{1 + i % 28:02d}T10:{i % 60:02d}:00Z", "guideline_version": "v2"})
    for i in range(12):
        for lab in ("l1", "l2"):
            rows.append({"item_id": f"h{i:02d}", "labeler_id": lab, "label": "pass" if i % 2 == 0 else "fail",
                         "failure_mode": "safety", "labeled_at": "2024-07-15T09:00:00Z", "guideline_version": "v2"})
    return rows


def build_store(root: Path) -> Path:
    store = root / "store"
    src = root / "src"
    src.mkdir(parents=True)
    ingest_files(store, [write_csv(src / "history.csv", history_rows())])
    ingest_files(store, [write_csv(src / "labelers.csv", [
        {"labeler_id": f"l{k}", "active_from": "2024-01-01", "active_to": "2024-06-30" if k == 4 else ""}
        for k in range(1, 5)])], table="labelers")
    ingest_files(store, [write_csv(src / "items.csv", [
        {"item_id": f"h{i:02d}", "failure_mode": "safety", "honeypot_label": "pass" if i % 2 == 0 else "fail"}
        for i in range(12)])], table="items")
    return store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("contracts")
    store = build_store(root)
    cfg = root / "evalaudit.toml"
    cfg.write_text('[gold]\ncurrent_guideline = "v2"\n\n[contracts]\nwindow_start = "2024-07-01"\n'
                   'window_end = "2024-07-31"\nmin_overlap = 0.5\n', encoding="utf-8")
    return {"root": root, "store": store, "config": cfg}


def store_fingerprint(store: Path) -> dict[str, str]:
    """sha256 of every file of the store's tables and row quarantine (everything but quarantine/batches)."""
    out = {}
    for p in sorted(store.rglob("*")):
        rel = p.relative_to(store).as_posix()
        if p.is_file() and not rel.startswith(("quarantine/batches", ".staging")) and rel != ".lock":
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def by_name(result: Any) -> dict[str, Any]:
    return {r.expectation: r for r in result.results}


def failed_names(result: Any) -> set[str]:
    return {r.expectation for r in result.failed}


def run_check(world: dict[str, Path], rows: list[dict[str, Any]], name: str, **kwargs: Any) -> Any:
    path = write_csv(world["root"] / f"{name}.csv", rows, kwargs.pop("fields", None))
    cfg = config_mod.load(kwargs.pop("config", world["config"]))
    return check_batch(path, world["store"], cfg, now=NOW, **kwargs)


# -- the clean batch ------------------------------------------------------------------------------------------
def test_clean_batch_passes_every_expectation(world: dict[str, Path]) -> None:
    before = store_fingerprint(world["store"])
    result = run_check(world, clean_batch_rows(), "clean")
    assert result.passed, result.to_text()
    assert result.status == "passed" and result.n_rows == 144
    names = by_name(result)
    # every expectation of the contract ran (the config enables them all) and none was skipped
    for expected in ("records_readable", "column_present:item_id", "not_null:label", "labeled_at_parseable",
                     "label_in_allowed_values", "unique_in_batch", "not_already_in_store",
                     "labeled_at_not_in_future", "labeled_at_in_window", "labeler_known", "labeler_active_from",
                     "labeler_active_to", "guideline_version_given", "guideline_current", "overlap_share",
                     "honeypot_accuracy", "agreement_vs_history", "positive_rate_shift"):
        assert names[expected].status == "passed", (expected, names[expected])
    # the metrics are the hand-computed ones: 72 items all double-labeled; honeypots all right
    assert names["overlap_share"].observed == 1.0
    hp = {d["labeler_id"]: d for d in names["honeypot_accuracy"].details}
    assert hp["l1"]["accuracy"] == 1.0 and hp["l1"]["n_honeypots"] == 12
    # alpha: 6 disagreements among 72 two-label items. Nominal alpha by hand from the coincidence matrix:
    # pairable values n=144, o(pass,fail)=o(fail,pass)=6, n_pass = 36+36+6 = 78, n_fail = 66;
    # alpha = 1 - (n-1) * (2*6) / (2 * 78 * 66) = 1 - 143*12/10296
    assert names["agreement_vs_history"].details[0]["alpha_batch"] == pytest.approx(1 - 143 * 12 / (2 * 78 * 66),
                                                                                    abs=1e-12)
    # the store has history to compare with, so the absolute alpha floor is not applied; there are no honeypot
    # judgments in the store's history, so the honeypot floor is (and the relative check says why not)
    assert names["agreement_alpha"].status == "skipped"
    assert names["honeypot_vs_history"].status == "skipped"
    assert "nothing to compare with" in names["honeypot_vs_history"].note
    # no write without --promote
    assert store_fingerprint(world["store"]) == before


# -- row-level expectations: one batch with one planted fault per expectation, all reported in one pass ---------
def test_every_row_fault_reported_in_one_pass_with_its_rows(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    rows[3]["label"] = "maybe"                                   # not an allowed label
    rows[5]["labeler_id"] = ""                                   # missing labeler
    rows[7]["labeled_at"] = "yesterday"                          # unparseable
    rows[9]["labeled_at"] = "2030-01-01T00:00:00Z"               # in the future
    rows[11]["labeled_at"] = "2024-08-15T00:00:00Z"              # outside the July window
    rows[13]["labeler_id"] = "zz"                                # unknown labeler
    rows[15].update(labeler_id="l4", item_id="n900")             # l4's engagement ended 2024-06-30
    rows[17]["guideline_version"] = "v1"                         # not the current guideline
    rows[19]["guideline_version"] = ""                           # guideline not stated
    rows.append(dict(rows[20]))                                  # duplicate within the batch: row 144
    rows.append({**rows[0], "item_id": "o004", "labeler_id": "l3"})  # already in the store: row 145
    result = run_check(world, rows, "faulty")
    names = by_name(result)
    expected_rows = {
        "label_in_allowed_values": [3], "not_null:labeler_id": [5], "labeled_at_parseable": [7],
        "labeled_at_not_in_future": [9], "labeled_at_in_window": [9, 11], "labeler_known": [13],
        "labeler_active_to": [15], "guideline_current": [17], "guideline_version_given": [19],
        "unique_in_batch": [20, 144], "not_already_in_store": [145],
    }
    assert failed_names(result) == set(expected_rows), result.to_text()
    for name, rows_at_fault in expected_rows.items():
        r = names[name]
        assert [e["row"] for e in r.examples] == rows_at_fault, (name, r.examples)
        assert r.unexpected_count == len(rows_at_fault)
    assert names["label_in_allowed_values"].examples[0]["label"] == "maybe"
    assert names["labeled_at_parseable"].examples[0]["labeled_at"] == "yesterday"
    assert names["labeler_known"].examples[0]["labeler_id"] == "zz"
    assert names["not_already_in_store"].examples[0]["stored_file"].endswith("history.csv")
    text = result.to_text()
    assert "row 3: label 'maybe'" in text and "row 7: labeled_at 'yesterday'" in text
    assert "FAILED — 11 of" in text


def test_missing_required_column_fails_and_skips_what_needs_it(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    rows = [{**r, "grade": r["label"]} for r in rows]
    result = run_check(world, rows, "nolabel", fields=[f for f in FIELDS if f != "label"] + ["grade"])
    names = by_name(result)
    assert result.ignored_columns == ["grade"] and "not part of labels): grade" in result.to_text()
    assert names["column_present:label"].status == "failed"
    assert names["not_null:label"].status == "skipped" and "no label column" in names["not_null:label"].note
    assert names["column_present:item_id"].status == "passed"


def test_unreadable_records_are_listed_by_row(world: dict[str, Path]) -> None:
    path = write_csv(world["root"] / "broken.csv", clean_batch_rows(), FIELDS)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "n999,l1,pass,safety")  # data row 2 has 4 fields where the header has 6
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = check_batch(path, world["store"], config_mod.load(world["config"]), now=NOW)
    r = by_name(result)["records_readable"]
    assert r.status == "failed" and r.examples[0]["row"] == 2 and "4 fields" in r.examples[0]["reason"]


# -- batch-level expectations -----------------------------------------------------------------------------------
def test_overlap_below_configured_share_fails(world: dict[str, Path]) -> None:
    rows = [r for r in clean_batch_rows()
            if not (r["labeler_id"] == "l2" and r["item_id"].startswith("n") and r["item_id"] < "n050")]
    result = run_check(world, rows, "single")
    r = by_name(result)["overlap_share"]
    assert r.status == "failed" and r.observed == pytest.approx(22 / 72)  # n050..n059 and h00..h11


def test_honeypot_accuracy_below_threshold_names_the_labeler(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    for r in rows:  # l2 answers 6 of the 12 honeypots wrongly: accuracy 0.5
        if r["labeler_id"] == "l2" and r["item_id"].startswith("h") and int(r["item_id"][1:]) < 6:
            r["label"] = "fail" if r["label"] == "pass" else "pass"
    result = run_check(world, rows, "honeypot")
    r = by_name(result)["honeypot_accuracy"]
    assert r.status == "failed" and [e["labeler_id"] for e in r.examples] == ["l2"]
    assert r.examples[0]["accuracy"] == 0.5 and r.examples[0]["n_honeypots"] == 12
    # Clopper-Pearson 95% for 6/12, from R binom.test(6, 12)$conf.int: 0.2109446 0.7890554
    assert r.examples[0]["ci_low"] == pytest.approx(0.2109446, abs=1e-6)
    assert r.examples[0]["ci_high"] == pytest.approx(0.7890554, abs=1e-6)


def test_labelers_answering_at_random_fail_agreement_against_history(world: dict[str, Path]) -> None:
    import random

    rng = random.Random(7)
    rows = clean_batch_rows()
    for r in rows:  # honest labelers answering at random (each label half the time: no rate shift)
        r["label"] = rng.choice(["pass", "fail"])
    result = run_check(world, rows, "disagree")
    names = by_name(result)
    r = names["agreement_vs_history"]
    assert r.status == "failed" and r.observed < -0.2, r.note
    d = r.details[0]
    assert d["n_items_batch"] == 72 and d["n_items_history"] == 200 and d["history_labelers"] == "the batch's labelers"
    assert d["alpha_batch"] < 0.25 and 0.5 < d["alpha_history"] < 0.7
    for word in ("batch 0.", "vs history", "on 72 items", "on 200 items", "bootstrap", "z-test"):
        assert word in r.note, word
    # the absolute floor did not run: the history was there to compare with
    assert names["agreement_alpha"].status == "skipped" and "absolute_floors" in names["agreement_alpha"].note


def test_positive_rate_shift_against_own_history(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    for r in rows:  # l1 passes every new item: 66/72 vs 0.5 in history
        if r["labeler_id"] == "l1" and r["item_id"].startswith("n"):
            r["label"] = "pass"
    result = run_check(world, rows, "lenient")
    r = by_name(result)["positive_rate_shift"]
    assert r.status == "failed"
    assert [(e["labeler_id"], e["failure_mode"], e["reference"]) for e in r.examples] == \
        [("l1", "safety", "own history")]
    assert r.examples[0]["rate_batch"] == pytest.approx(66 / 72) and r.examples[0]["rate_reference"] == 0.5


# -- promotion and quarantine -----------------------------------------------------------------------------------
def test_failing_batch_is_quarantined_whole_and_store_unchanged(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    rows[3]["label"] = "maybe"
    before = store_fingerprint(world["store"])
    result = run_check(world, rows, "reject", promote_batch=True)
    assert not result.passed and not result.promoted
    assert store_fingerprint(world["store"]) == before
    qdir = Path(result.quarantine_dir)
    assert qdir == world["store"] / "quarantine" / "batches" / result.sha256
    kept = qdir / "reject.csv.quarantined"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == result.sha256
    doc = json.loads((qdir / "validation.json").read_text(encoding="utf-8"))
    assert doc["passed"] is False and doc["sha256"] == result.sha256
    failed = [r for r in doc["results"] if r["status"] == "failed"]
    assert [r["expectation"] for r in failed] == ["label_in_allowed_values"]
    assert failed[0]["examples"][0]["row"] == 3
    assert "maybe" in (qdir / "validation.html").read_text(encoding="utf-8")
    # the store still opens and reads (the kept batch is not taken for row-level quarantine)
    eng = Store.open(world["store"]).engine()
    assert eng.sql("SELECT count(*) AS n FROM quarantine").column("n")[0].as_py() == 0


def test_passing_batch_is_promoted_once(tmp_path: Path) -> None:
    store = build_store(tmp_path)
    path = write_csv(tmp_path / "good.csv", clean_batch_rows())
    result = check_batch(path, store, now=NOW, promote_batch=True)
    assert result.passed and result.promoted and result.rows_added == 144
    eng = Store.open(store).engine()
    got = eng.sql("SELECT count(*) AS n, min(source_row) AS lo, max(source_row) AS hi FROM labels "
                  "WHERE source_sha256 = $s", s=result.sha256).to_pylist()[0]
    assert got == {"n": 144, "lo": 0, "hi": 143}
    again = check_batch(path, store, now=NOW, promote_batch=True)
    assert again.status == "already_in_store" and not again.promoted and again.passed
    assert eng.sql("SELECT count(*) AS n FROM labels WHERE source_sha256 = $s", s=result.sha256).column("n")[0] \
        .as_py() == 144


# -- the offline page -------------------------------------------------------------------------------------------
def test_page_is_self_contained_and_escapes_user_strings(world: dict[str, Path]) -> None:
    rows = clean_batch_rows()
    rows[3]["label"] = "<script>alert(1)</script>"
    result = run_check(world, rows, "xss", docs=world["root"] / "docs")
    html = (world["root"] / "docs" / "index.html").read_text(encoding="utf-8")
    assert html == render(result)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    lowered = html.lower()
    for external in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert external not in lowered, external


# -- gold expectations ------------------------------------------------------------------------------------------
def _run_gold(store: Path, cfg: Any) -> Any:
    """Every stage of a run on ``store``, the gold expectations last (they read the earlier stages' tables)."""
    from evalaudit.pipeline import run_stages

    return run_stages(Context(engine=Store.open(store).engine(), cfg=cfg))


def test_gold_expectations_stage_reads_the_items_stage(world: dict[str, Path]) -> None:

    cfg = config_mod.load(world["config"])
    ctx = _run_gold(world["store"], cfg)
    results = {r["expectation"]: r for r in ctx.summary["gold_expectations"]}
    # 200 history items (the 12 honeypots are not gold), each judged by l1..l3 (o000..o009 also by l4): none
    # single-labeled; each of l1..l3 carries (10 * 1/4 + 190 * 1/3) / 200 of the gold
    assert results["gold_single_labeled_share"]["observed"] == 0.0
    assert results["gold_single_labeled_share"]["element_count"] == 200
    assert results["gold_labeler_share"]["observed"] == pytest.approx((10 / 4 + 190 / 3) / 200)
    assert results["gold_stale_share"]["observed"] == 0.0  # all judged under v2, the current guideline
    assert all(r["status"] == "passed" for r in results.values())
    assert ctx.timings["gold_expectations"] < 1.0

    # stricter bounds, another current guideline, and ages judged at [gold] as_of
    strict = config_mod.load(world["config"])
    strict.gold.current_guideline = "v3"
    strict.contracts.gold_max_labeler_share = 0.25
    strict.contracts.gold_max_single_labeled_share = 0.0
    out = _run_gold(world["store"], strict)
    summary = {g["expectation"]: g for g in out.summary["gold_expectations"]}
    assert summary["gold_stale_share"]["observed"] == 1.0 and summary["gold_stale_share"]["passed"] is False
    mine = [f for f in out.findings if f.details.get("expectation", "").startswith("gold_")]
    assert {f.kind for f in mine} == {"gold_expectation"}
    assert sorted((f.details["expectation"], f.labeler_id) for f in mine) == [
        ("gold_labeler_share", "l1"), ("gold_labeler_share", "l2"), ("gold_labeler_share", "l3"),
        ("gold_stale_share", None)]
    # the stages that own stale_items / labeler_concentration report them; this stage does not
    assert not [f for f in out.findings if f.kind in ("stale_items", "poisoned_items", "labeler_concentration")
                and "expectation" in f.details]
    conc = {f.labeler_id: f.effect for f in mine if f.labeler_id}
    assert conc["l2"] == pytest.approx((10 / 4 + 190 / 3) / 200)

    aged = config_mod.load(world["config"])
    aged.gold.max_age_days = 30
    aged.gold.as_of = "2024-03-29"  # every history judgment (March 1..28) is within 30 days
    share = {g["expectation"]: g for g in _run_gold(world["store"], aged).summary["gold_expectations"]}
    assert share["gold_stale_share"]["observed"] == 0.0
    aged.gold.as_of = "2024-04-20"  # cutoff March 21: items last judged before it are too old
    ctx = _run_gold(world["store"], aged)
    share = {g["expectation"]: g for g in ctx.summary["gold_expectations"]}
    too_old = sum(1 for r in ctx.tables["items"].to_pylist()
                  if not r["is_honeypot"] and "too_old" in (r["flags"] or []))
    assert 0 < too_old < 200 and share["gold_stale_share"]["observed"] == pytest.approx(too_old / 200)

    # no items table: nothing runs, and summary.skipped says so
    labels = pa.Table.from_pylist([{**r, "labeled_at": datetime.fromisoformat(r["labeled_at"])}
                                   for r in history_rows()])
    ctx = Context(engine=engine_for_tables({"labels": labels}), cfg=cfg)
    ctx.tables["items"] = pa.table({"item_id": ["x"]})
    res = gold_stage(ctx)
    assert not res.findings and not res.summary and not res.tables  # nothing computed (speed: benchmarks/)
    assert [s["analysis"] for s in res.skipped] == ["gold-set expectations"]
    assert "no items table" in res.skipped[0]["reason"]
    assert gold_expectations  # the library function stays public


# -- statistics against published values ------------------------------------------------------------------------
@pytest.mark.parametrize(("counts", "expected"), [
    # Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score), examples (a), (c) and (g)
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
])
def test_shift_interval_matches_newcombe_1998(counts: tuple[int, int, int, int], expected: tuple[float, float]) -> None:
    from evalaudit.contracts.batch_expectations import shift_interval

    lo, hi = shift_interval(*counts, confidence=0.95)
    assert (lo, hi) == pytest.approx(expected, abs=5e-5)


# -- a Parquet batch with native types, quarantined -------------------------------------------------------------
def test_parquet_batch_with_native_timestamps(world: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    rows = clean_batch_rows()
    rows[10]["label"] = "maybe"
    table = pa.table({c: [r[c] for r in rows] for c in FIELDS})
    table = table.set_column(FIELDS.index("labeled_at"), "labeled_at",
                             pa.array([datetime.fromisoformat(r["labeled_at"]) for r in rows],
                                      pa.timestamp("ms", tz="UTC")))
    path = world["root"] / "native.parquet"
    pq.write_table(table, path)
    before = store_fingerprint(world["store"])
    result = check_batch(path, world["store"], config_mod.load(world["config"]), now=NOW, promote_batch=True)
    assert failed_names(result) == {"label_in_allowed_values"}
    assert [e["row"] for e in result.failed[0].examples] == [10]
    assert (Path(result.quarantine_dir) / "native.parquet.quarantined").exists()
    assert store_fingerprint(world["store"]) == before
    # the kept Parquet batch is not read as one of the store's row-level quarantine files
    eng = Store.open(world["store"]).engine()
    assert eng.sql("SELECT count(*) AS n FROM quarantine").column("n")[0].as_py() == 0


def test_epoch_milliseconds_beyond_year_9999_are_reported_not_a_traceback(world: dict[str, Path]) -> None:
    # epoch milliseconds read as seconds: a timestamp in year 56302, which Python's datetime cannot hold; the check
    # names the row under both expectations it breaks and its JSON and text still render
    rows = clean_batch_rows()
    rows[4]["labeled_at"] = "1714557600000"
    result = run_check(world, rows, "epoch_ms")
    names = by_name(result)
    assert failed_names(result) == {"labeled_at_parseable", "labeled_at_not_in_future", "labeled_at_in_window"}
    assert names["labeled_at_parseable"].examples == [
        {"row": 4, "labeled_at": "1714557600000", "item_id": "n002", "labeler_id": "l1"}]
    future = names["labeled_at_not_in_future"].examples
    assert [e["row"] for e in future] == [4] and future[0]["labeled_at"].startswith("56302-03-03T16:00:00")
    assert future[0]["labeled_at"].endswith("+00:00")
    assert json.loads(json.dumps(result.to_json()))["status"] == "failed"
    assert "row 4: labeled_at '56302-03-03T16:00:00" in result.to_text()


# -- property: the rows GX reports are exactly the offending rows, in order -------------------------------------
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["l1", "l2", "zz"]),
                          st.sampled_from(["pass", "fail", "maybe", "PASS"])), min_size=1, max_size=40))
def test_reported_rows_are_exactly_the_offending_rows(world: dict[str, Path], judged: list) -> None:
    rows = [{"item_id": f"p{i}", "labeler_id": lab, "label": label, "failure_mode": "safety",
             "labeled_at": "2024-07-02T00:00:00Z", "guideline_version": "v2"} for i, lab, label in judged]
    result = run_check(world, rows, "prop")
    names = by_name(result)
    keys = [(r["item_id"], r["labeler_id"]) for r in rows]
    oracle = {
        "label_in_allowed_values": [k for k, r in enumerate(rows) if r["label"] not in ("pass", "fail")],
        "labeler_known": [k for k, r in enumerate(rows) if r["labeler_id"] == "zz"],
        "unique_in_batch": [k for k, key in enumerate(keys) if keys.count(key) > 1],
    }
    for name, offending in oracle.items():
        r = names[name]
        assert r.status == ("failed" if offending else "passed"), name
        assert r.unexpected_count == len(offending), name
        assert [e["row"] for e in r.examples] == offending[:20], name


@pytest.mark.parametrize(("key", "value"), [("min_overlap", 1.5), ("shift_confidence", 1.0), ("examples", 0),
                                            ("absolute_floors", "sometimes"), ("history_confidence", 0.0),
                                            ("max_alpha_drop", -0.1), ("alpha_resamples", 0)])
def test_contract_settings_out_of_range_are_unusable(world: dict[str, Path], key: str, value: float) -> None:
    from evalaudit.errors import UnusableInput

    cfg = config_mod.load(world["config"])
    setattr(cfg.contracts, key, value)
    with pytest.raises(UnusableInput, match=rf"\[contracts\] {key}"):
        check_batch(world["root"] / "clean.csv", world["store"], cfg, now=NOW)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.data())
def test_newcombe_and_wilson_match_statsmodels(n1: int, n2: int, data: st.DataObject) -> None:
    """The hand-written intervals (statsmodels is a dev dependency only) against statsmodels' own."""
    sm = pytest.importorskip("statsmodels.stats.proportion")
    from evalaudit.contracts import compare

    k1, k2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    conf = data.draw(st.sampled_from([0.9, 0.95, 0.99, 0.9995]))
    lo, hi = compare.newcombe(k1, n1, k2, n2, conf)
    ref = sm.confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=1 - conf)
    assert (float(lo), float(hi)) == pytest.approx(tuple(map(float, ref)), abs=1e-9)
    w = compare.wilson(k1, n1, conf)
    assert tuple(map(float, w)) == pytest.approx(sm.proportion_confint(k1, n1, alpha=1 - conf, method="wilson"),
                                                 abs=1e-9)


def test_welch_from_moments_matches_scipy_on_the_raw_samples() -> None:
    import numpy as np
    from scipy import stats

    from evalaudit.contracts import compare

    rng = np.random.default_rng(3)
    for n1, n2 in ((5, 7), (40, 300), (1000, 12)):
        x, y = rng.normal(0, 1, n1), rng.normal(0.4, 2.5, n2)
        ref = stats.ttest_ind(x, y, equal_var=False)
        ci = ref.confidence_interval(0.9)
        lo, hi, p = compare.welch(x.mean(), x.var(ddof=1), n1, y.mean(), y.var(ddof=1), n2, 0.9)
        assert (float(lo), float(hi), float(p)) == pytest.approx((ci.low, ci.high, ref.pvalue), rel=1e-9)


def test_alpha_drop_is_a_one_sided_z_test() -> None:
    from evalaudit.contracts.compare import AlphaEstimate, alpha_drop

    batch, history = AlphaEstimate(0.59, 0.08, 0.43, 0.74, 67, 134), AlphaEstimate(0.64, 0.015, 0.61, 0.67, 2400, 4800)
    diff, p = alpha_drop(batch, history, margin=0.05)
    assert diff == pytest.approx(-0.05) and p == pytest.approx(0.5)  # exactly at the margin: no evidence either way
    _, p_far = alpha_drop(AlphaEstimate(0.1, 0.08, 0, 0.3, 67, 134), history, margin=0.05)
    from statistics import NormalDist

    assert p_far == pytest.approx(NormalDist().cdf((0.1 - 0.64 + 0.05) / (0.08**2 + 0.015**2) ** 0.5))
    assert p_far < 1e-8


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.integers(1, 400), st.data())
def test_vectorised_exact_tests_match_scipy(n1: int, n2: int, data: st.DataObject) -> None:
    """Clopper–Pearson from beta quantiles and the one-sided Fisher p from the hypergeometric CDF, vectorised,
    against scipy's scalar binomtest and fisher_exact."""
    from scipy import stats

    from evalaudit.contracts import compare

    k1, k2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    lo, hi = compare.clopper_pearson([k1], [n1])
    ref = stats.binomtest(k1, n1).proportion_ci(confidence_level=0.95, method="exact")
    assert (float(lo[0]), float(hi[0])) == pytest.approx((ref.low, ref.high), abs=1e-9)
    p = compare.honeypot_lower([k1], [n1], [k2], [n2])
    expected = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="less").pvalue
    assert float(p[0]) == pytest.approx(expected, rel=1e-7, abs=1e-12)


# -- GX's result formats: counts for every expectation, example rows for the failing ones ------------------------
def test_holding_and_failing_expectations_of_one_frame_report_counts_and_examples() -> None:
    import pandas as pd

    from evalaudit.contracts.gx import Spec, validate

    frame = pd.DataFrame({"source_row": [0, 1, 2, 3, 4], "item_id": ["a", "b", "c", "d", "e"],
                          "label": ["pass", "maybe", "fail", "maybe", "MAYBE"]})
    metrics = pd.DataFrame({"p_value": [0.01]})
    specs = [
        Spec("not_null:label", "row", "", "rows", lambda g: g.ExpectColumnValuesToNotBeNull(column="label"),
             column="label"),
        Spec("label_in_allowed_values", "row", "", "rows",
             lambda g: g.ExpectColumnValuesToBeInSet(column="label", value_set=["pass", "fail"]), column="label"),
        Spec("agreement_vs_history", "batch", "", "m",
             lambda g: g.ExpectColumnValuesToBeBetween(column="p_value", min_value=0.05), column="p_value",
             index_columns=(), scalar=True, observed=0.01),
    ]
    held, failed, scalar = validate({"rows": frame, "m": metrics}, specs, examples=2)
    assert (held.status, held.element_count, held.unexpected_count, held.examples) == ("passed", 5, 0, [])
    assert (failed.status, failed.element_count, failed.unexpected_count) == ("failed", 5, 3)
    # the first two offending rows, read at the positions GX reported, with the rows' identifying columns
    assert failed.examples == [{"label": "maybe", "row": 1, "item_id": "b"}, {"label": "maybe", "row": 3,
                                                                              "item_id": "d"}]
    assert failed.gx_type == "expect_column_values_to_be_in_set"
    # a one-row metric: its verdict and observed value, no row counts, no examples
    assert (scalar.status, scalar.element_count, scalar.examples, scalar.observed) == ("failed", None, [], 0.01)
