"""The agreement stage on a real Parquet store view: agreement.parquet's contract, slices, intervals,
findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from evalaudit import agreement, schema
from evalaudit.agreement import coefficients as coef
from evalaudit.agreement.patterns import Patterns
from evalaudit.config import Config
from evalaudit.engine import DuckDBEngine
from evalaudit.errors import UnusableInput
from evalaudit.stage import Context

SPEC_COLUMNS = ["scope", "slice", "metric", "level", "value", "ci_low", "ci_high", "n_items", "n_labels"]
START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday


def history(seed: int = 0) -> pa.Table:
    """Three failure modes: 'clear' (labelers 95% right), 'murky' (55% right: low agreement), 'tiny' (5
    items). Two batches, one vendor missing on some judgments, judgments over three weeks."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {k: [] for k in ("item_id", "labeler_id", "label", "failure_mode", "labeled_at",
                                             "batch_id", "vendor")}
    spec = {"clear": (300, 0.95), "murky": (300, 0.55), "tiny": (5, 0.9)}
    for fm, (n_items, acc) in spec.items():
        for i in range(n_items):
            truth = rng.random() < 0.7
            for j in rng.choice(8, size=int(rng.integers(2, 5)), replace=False):
                right = rng.random() < acc
                rows["item_id"].append(f"{fm}-{i}")
                rows["labeler_id"].append(f"L{j}")
                rows["label"].append("pass" if (truth if right else not truth) else "fail")
                rows["failure_mode"].append(fm)
                rows["labeled_at"].append(START + timedelta(days=int(rng.integers(0, 21)), hours=3))
                rows["batch_id"].append("b1" if i % 2 else "b2")
                rows["vendor"].append(None if j == 7 else ("acme" if j < 4 else "globex"))
    return pa.table({**rows, "labeled_at": pa.array(rows["labeled_at"], type=pa.timestamp("us", tz="UTC"))})


@pytest.fixture(scope="module")
def labels_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "labels.parquet"
    pq.write_table(history(), path)
    return path


def run_stage(path: Path, cfg: Config | None = None):
    engine = DuckDBEngine()
    engine.view_parquet("labels", [path], schema.LABELS.arrow_schema)
    try:
        return agreement.stage(Context(engine=engine, cfg=cfg or Config()))
    finally:
        engine.close()


@pytest.fixture(scope="module")
def result(labels_parquet: Path):
    return run_stage(labels_parquet)


def rows_of(table: pa.Table, scope: str, slice_: str | None = None, metric: str | None = None) -> list[dict]:
    out = [r for r in table.to_pylist() if r["scope"] == scope]
    out = [r for r in out if slice_ is None or r["slice"] == slice_]
    return [r for r in out if metric is None or r["metric"] == metric]


def test_columns_follow_the_spec(result) -> None:
    table = result.tables["agreement"]
    assert table.column_names[: len(SPEC_COLUMNS)] == SPEC_COLUMNS
    assert {"overall", "failure_mode", "batch", "vendor", "window"} == set(table.column("scope").to_pylist())
    assert {"krippendorff_alpha", "gwet_ac1", "fleiss_kappa", "percent_agreement", "cohen_kappa"} <= set(
        table.column("metric").to_pylist())


def test_slice_values_equal_the_api_on_the_slice(result) -> None:
    data = history()
    table = result.tables["agreement"]
    overall = rows_of(table, "overall", "all", "krippendorff_alpha")[0]
    assert overall["value"] == pytest.approx(agreement.krippendorff_alpha(data), abs=1e-12)
    assert overall["n_items"] == len(set(data.column("item_id").to_pylist()))
    assert overall["n_labels"] == data.num_rows
    murky = data.filter(pc.equal(data["failure_mode"], "murky"))
    row = rows_of(table, "failure_mode", "murky", "gwet_ac1")[0]
    assert row["value"] == pytest.approx(agreement.gwet_ac1(murky), abs=1e-12)
    acme = data.filter(pc.equal(data["vendor"], "acme"))
    row = rows_of(table, "vendor", "acme", "krippendorff_alpha")[0]
    assert row["value"] == pytest.approx(agreement.krippendorff_alpha(acme), abs=1e-12)
    weeks = sorted({r["slice"] for r in rows_of(table, "window")})
    assert weeks == ["2025-03-03", "2025-03-10", "2025-03-17"]
    week2 = data.filter(pc.and_(pc.greater_equal(data["labeled_at"], pa.scalar(START + timedelta(days=7))),
                                pc.less(data["labeled_at"], pa.scalar(START + timedelta(days=14)))))
    row = rows_of(table, "window", "2025-03-10", "percent_agreement")[0]
    assert row["value"] == pytest.approx(agreement.percent_agreement(week2), abs=1e-12)


def test_null_vendor_is_left_out_of_the_vendor_scope(result) -> None:
    assert {r["slice"] for r in rows_of(result.tables["agreement"], "vendor")} == {"acme", "globex"}


def test_too_small_slice_is_reported_not_computed(result) -> None:
    rows = rows_of(result.tables["agreement"], "failure_mode", "tiny")
    assert rows and all(r["value"] is None and r["ci_low"] is None for r in rows)
    assert all("too few pairable items (5 items" in r["note"] for r in rows)


def test_intervals_contain_the_estimate_and_name_the_method(result) -> None:
    for r in result.tables["agreement"].to_pylist():
        if r["value"] is None or r["metric"] == "cohen_kappa":
            continue
        assert r["ci_low"] <= r["value"] + 1e-9 and r["value"] <= r["ci_high"] + 1e-9, r
        assert r["ci_method"] == "item-bootstrap percentile" and r["n_resamples"] == 1000


def test_low_agreement_finding_names_the_slice(result) -> None:
    by_slice = {(f.details["scope"], f.details["slice"]): f for f in result.findings}
    murky = by_slice[("failure_mode", "murky")]
    assert murky.kind == "low_agreement" and murky.failure_mode == "murky"
    assert murky.ci_high < 0.667 and murky.ci_low <= murky.effect <= murky.ci_high
    assert "Krippendorff's alpha (nominal), 1000 item-bootstrap percentile CI" in murky.evidence
    assert "failure mode 'murky'" in murky.message
    assert ("failure_mode", "clear") not in by_slice
    assert result.summary["agreement"]["n_low_agreement"] == len(result.findings)


def test_reruns_are_identical_and_the_seed_moves_only_intervals(labels_parquet: Path, result) -> None:
    again = run_stage(labels_parquet)
    assert again.tables["agreement"].equals(result.tables["agreement"])
    cfg = Config()
    cfg.run.seed = 7
    other = run_stage(labels_parquet, cfg).tables["agreement"]
    assert other.column("value").equals(result.tables["agreement"].column("value"))
    assert not other.column("ci_low").equals(result.tables["agreement"].column("ci_low"))


def test_bootstrap_spread_matches_a_naive_item_bootstrap() -> None:
    """The multinomial-over-patterns bootstrap against resampling item rows directly (Monte Carlo
    tolerance)."""
    rng = np.random.default_rng(3)
    truth = rng.random(400) < 0.8
    counts = np.zeros((400, 2), dtype=np.int64)
    for i in range(400):
        m = int(rng.integers(2, 5))
        right = rng.random(m) < 0.85
        k_pass = int(np.sum(np.where(right, truth[i], ~truth[i])))
        counts[i] = (m - k_pass, k_pass)
    delta = 1 - np.eye(2)
    naive = [coef.alpha(*(lambda p: (p.counts, p.items[None, :]))(Patterns.from_item_counts(
        counts[rng.integers(0, 400, 400)])), delta)[0] for _ in range(600)]
    pats = Patterns.from_item_counts(counts)
    from evalaudit.agreement import bootstrap as boot

    w = boot.resample_weights(pats.items, 600, boot.rng_for(1, "x"))
    fast = coef.alpha(pats.counts, w, delta)
    assert np.std(fast) == pytest.approx(np.std(naive), rel=0.15)
    assert np.mean(fast) == pytest.approx(np.mean(naive), abs=0.01)


def test_ordinal_level_reports_gwet_ac2_with_named_weights(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 200
    truth = rng.integers(1, 6, n)
    item, lab, val = [], [], []
    for i in range(n):
        for j in rng.choice(5, 3, replace=False):
            item.append(f"i{i}")
            lab.append(f"L{j}")
            val.append(str(int(np.clip(truth[i] + rng.integers(-1, 2), 1, 5))))
    table = pa.table({"item_id": item, "labeler_id": lab, "label": val})
    cfg = Config()
    cfg.labels.level = "ordinal"
    res = agreement.agreement_table(table, cfg)
    t = res.tables["agreement"]
    alpha = rows_of(t, "overall", "all", "krippendorff_alpha")[0]
    assert alpha["level"] == "ordinal"
    assert alpha["value"] == pytest.approx(agreement.krippendorff_alpha(table, level="ordinal"), abs=1e-12)
    ac2 = rows_of(t, "overall", "all", "gwet_ac2")[0]
    assert ac2["level"] == "gwet_ordinal"
    assert ac2["value"] == pytest.approx(agreement.gwet_ac2(table, weights="ordinal"), abs=1e-12)
    assert not rows_of(t, "window")  # no labeled_at: no window scope


def test_level_that_does_not_fit_the_labels_is_unusable(labels_parquet: Path) -> None:
    cfg = Config()
    cfg.labels.level = "interval"
    with pytest.raises(UnusableInput, match="interval"):
        run_stage(labels_parquet, cfg)


def test_empty_store_gives_empty_tables(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    engine.view_parquet("labels", [], schema.LABELS.arrow_schema)
    res = agreement.stage(Context(engine=engine, cfg=Config()))
    assert res.tables["agreement"].num_rows == 0 and not res.findings
    assert res.tables["agreement"].column_names[: len(SPEC_COLUMNS)] == SPEC_COLUMNS
    assert res.tables["agreement_failure_mode_window"].num_rows == 0


def test_pairs_table_is_long_form(result) -> None:
    pairs = result.tables["agreement_pairs"]
    assert pairs.column_names[:4] == ["labeler_a", "labeler_b", "n_items", "kappa"]
    assert pairs.num_rows > 0 and min(pairs.column("n_items").to_pylist()) >= 20


@pytest.mark.parametrize(("q", "max_labels"), [(2, 6), (5, 4), (12, 7)])
def test_sql_and_arrow_routes_give_the_same_patterns(q: int, max_labels: int) -> None:
    """The API counts in memory (pyarrow + numpy), the stage in DuckDB: the same patterns, in the same
    order."""
    from evalaudit.agreement import patterns as pat
    from evalaudit.agreement.categories import build
    from evalaudit.engine import engine_for_tables

    rng = np.random.default_rng(q)
    items, labels = [], []
    for i in range(500):
        for _ in range(int(rng.integers(1, max_labels + 1))):
            items.append(f"i{i}")
            labels.append(f"c{int(rng.integers(0, q))}")
    table = pa.table({"item_id": items, "label": labels})
    categories = build(sorted(set(labels)))
    engine = engine_for_tables({"labels": table})
    engine.define_view("judgments", "judgments_all")
    via_sql = pat.load(engine, "overall", pat.prepare(engine, categories))["all"]
    via_arrow = pat.from_arrow(table, categories)
    assert via_arrow is not None
    np.testing.assert_array_equal(via_sql.counts, via_arrow.counts)
    np.testing.assert_array_equal(via_sql.items, via_arrow.items)
    assert via_arrow.n_items == 500 and via_arrow.n_labels == len(items)


def _cell(data: pa.Table, failure_mode: str, start: datetime, days: int = 7) -> pa.Table:
    """The judgments of one failure mode × window cell, filtered in Python (not through the stage's SQL)."""
    keep = [fm == failure_mode and start <= at < start + timedelta(days=days)
            for fm, at in zip(data["failure_mode"].to_pylist(), data["labeled_at"].to_pylist(), strict=True)]
    return data.filter(pa.array(keep))


def test_failure_mode_window_cells_equal_the_api_on_each_cell(result) -> None:
    """agreement_failure_mode_window: one row per failure mode × week holding judgments, its alpha equal to
    krippendorff_alpha on that cell's judgments, the minimum-items rule of agreement.parquet."""
    data = history()
    cells = result.tables["agreement_failure_mode_window"]
    assert cells.column_names[:5] == ["failure_mode", "window_start", "window", "metric", "level"]
    assert {"value", "ci_low", "ci_high", "n_items", "n_labels", "n_pairable", "ci_method", "note"} <= set(
        cells.column_names)
    weeks = [START + timedelta(weeks=k) for k in range(3)]
    expected = {(fm, w.date()) for fm in ("clear", "murky", "tiny") for w in weeks if _cell(data, fm, w).num_rows}
    rows = cells.to_pylist()
    assert {(r["failure_mode"], r["window_start"]) for r in rows} == expected and len(rows) == len(expected)
    computed = 0
    for r in rows:
        cell = _cell(data, r["failure_mode"], datetime.combine(r["window_start"], datetime.min.time(), tzinfo=UTC))
        assert r["n_labels"] == cell.num_rows
        assert r["n_items"] == len(set(cell["item_id"].to_pylist()))
        assert (r["window"], r["metric"], r["level"]) == ("week", "krippendorff_alpha", "nominal")
        if r["n_pairable"] < 30:
            assert r["value"] is None and r["ci_low"] is None and "too few pairable items" in r["note"]
            continue
        computed += 1
        assert r["value"] == pytest.approx(agreement.krippendorff_alpha(cell), abs=1e-12)
        assert r["ci_low"] < r["value"] < r["ci_high"] <= 1.0 and r["ci_method"] == "item-jackknife normal"
    assert computed == 6  # clear and murky in each of the three weeks; tiny never has 30 pairable items
    # the cells are an extra table: agreement.parquet keeps exactly the scopes of docs/outputs.md
    assert set(result.tables["agreement"]["scope"].to_pylist()) == {"overall", "failure_mode", "batch", "vendor",
                                                                    "window"}


def test_failure_mode_window_interval_is_the_item_jackknife(result) -> None:
    """The cell's interval against a naive item jackknife: leave each item out in turn, recompute alpha with
    the public API, se² = (N-1)/N Σ (θ_(i) - θ̄)², interval alpha ± z·se."""
    from statistics import NormalDist

    cell = _cell(history(), "murky", START + timedelta(weeks=1))
    items = sorted(set(cell["item_id"].to_pylist()))
    item_col = cell["item_id"]
    left_out = []
    for item in items:
        rest = cell.filter(pc.not_equal(item_col, item))
        left_out.append(agreement.krippendorff_alpha(rest))
    left_out = np.asarray(left_out)
    n = len(items)
    se = np.sqrt((n - 1) / n * np.sum((left_out - left_out.mean()) ** 2))
    alpha = agreement.krippendorff_alpha(cell)
    z = NormalDist().inv_cdf(0.975)
    row = next(r for r in result.tables["agreement_failure_mode_window"].to_pylist()
               if r["failure_mode"] == "murky" and r["window_start"] == (START + timedelta(weeks=1)).date())
    assert row["ci_low"] == pytest.approx(alpha - z * se, abs=1e-9)
    assert row["ci_high"] == pytest.approx(alpha + z * se, abs=1e-9)


def test_failure_mode_window_cells_use_the_configured_level() -> None:
    rng = np.random.default_rng(11)
    rows: dict[str, list] = {"item_id": [], "labeler_id": [], "label": [], "failure_mode": [], "labeled_at": []}
    for i in range(160):
        truth = int(rng.integers(1, 6))
        for j in rng.choice(5, 3, replace=False):
            rows["item_id"].append(f"i{i}")
            rows["labeler_id"].append(f"L{j}")
            rows["label"].append(str(int(np.clip(truth + rng.integers(-1, 2), 1, 5))))
            rows["failure_mode"].append("a" if i % 2 else "b")
            rows["labeled_at"].append(START + timedelta(days=7 * (i % 2), hours=1))
    table = pa.table({**rows, "labeled_at": pa.array(rows["labeled_at"], type=pa.timestamp("us", tz="UTC"))})
    cfg = Config()
    cfg.labels.level = "ordinal"
    cells = agreement.agreement_table(table, cfg).tables["agreement_failure_mode_window"].to_pylist()
    assert [(r["failure_mode"], r["level"]) for r in cells] == [("a", "ordinal"), ("b", "ordinal")]
    for r in cells:
        cell = _cell(table, r["failure_mode"], START + timedelta(days=7 if r["failure_mode"] == "a" else 0))
        assert r["value"] == pytest.approx(agreement.krippendorff_alpha(cell, level="ordinal"), abs=1e-12)


def _mixed(data: pa.Table, how: str) -> pa.Table:
    """``data`` with some items judged under two failure modes ("two") or some judgments without one ("null")."""
    fm = data["failure_mode"].to_pylist()
    items = data["item_id"].to_pylist()
    for k in range(0, len(fm), 9):
        if items[k].startswith("clear"):
            fm[k] = "murky" if how == "two" else None
    return data.set_column(data.column_names.index("failure_mode"), "failure_mode", pa.array(fm, pa.string()))


def _record_sql(monkeypatch) -> list[str]:
    """Every query text DuckDB engines run from now on, in order."""
    issued: list[str] = []
    original = DuckDBEngine.sql

    def recording(self, text, **params):
        issued.append(text)
        return original(self, text, **params)

    monkeypatch.setattr(DuckDBEngine, "sql", recording)
    return issued


@pytest.mark.parametrize("how", ["one", "two", "null"])
def test_window_scope_from_the_cells_only_when_every_item_has_one_failure_mode(how: str, monkeypatch) -> None:
    """When every item has one failure mode the stage takes the window scope's patterns from the failure mode ×
    window cells (no window query); they equal the window query's exactly. Otherwise it runs the window query,
    and the window rows still equal the API on each week's judgments."""
    from evalaudit.agreement import patterns as pat
    from evalaudit.agreement.categories import build
    from evalaudit.engine import engine_for_tables

    data = history() if how == "one" else _mixed(history(), how)
    engine = engine_for_tables({"labels": data})
    engine.define_view("judgments", "judgments_all")
    packing = pat.prepare(engine, build(["fail", "pass"]))
    derivable = pat.one_failure_mode_per_item(pat.load(engine, "overall", packing),
                                              pat.load(engine, "failure_mode", packing))
    assert derivable == (how == "one")
    queried = pat.load(engine, "window", packing)
    derived = pat.windows_from_cells(pat.load_slicing(engine, pat.FAILURE_MODE_WINDOW, packing))
    if derivable:
        assert list(derived) == list(queried)
        for week in queried:
            np.testing.assert_array_equal(derived[week].counts, queried[week].counts)
            np.testing.assert_array_equal(derived[week].items, queried[week].items)
    window_query = pat.pattern_sql(pat.SCOPES["window"], packing)
    issued = _record_sql(monkeypatch)
    table = agreement.agreement_table(data).tables["agreement"]
    assert (window_query in issued) == (not derivable)
    for k in range(3):
        start = START + timedelta(weeks=k)
        week = data.filter(pc.and_(pc.greater_equal(data["labeled_at"], pa.scalar(start)),
                                   pc.less(data["labeled_at"], pa.scalar(start + timedelta(days=7)))))
        row = rows_of(table, "window", start.date().isoformat(), "krippendorff_alpha")[0]
        assert row["value"] == pytest.approx(agreement.krippendorff_alpha(week), abs=1e-12)


@pytest.mark.parametrize("vendors_max", [8, 1])
@pytest.mark.parametrize("how", ["one", "two", "null"])
def test_overall_failure_mode_and_vendor_scopes_from_one_pass_equal_their_own_queries(how: str, vendors_max: int,
                                                                                     monkeypatch) -> None:
    """The one-pass query gives exactly the overall, failure_mode and vendor scopes' patterns (the vendor scope
    while the judgments name at most VENDOR_COLUMNS_MAX vendors; judgments without a vendor are left out of it);
    the failure_mode scope's own query runs only when some item spans failure modes (or has judgments without one),
    and the vendor scope is left to the caller (None) when there are more vendors."""
    from evalaudit.agreement import patterns as pat
    from evalaudit.agreement.categories import build
    from evalaudit.engine import engine_for_tables

    data = history() if how == "one" else _mixed(history(), how)
    engine = engine_for_tables({"labels": data})
    engine.define_view("judgments", "judgments_all")
    packing = pat.prepare(engine, build(["fail", "pass"]))
    expected = {scope: pat.load(engine, scope, packing) for scope in ("overall", "failure_mode", "vendor")}
    monkeypatch.setattr(pat, "VENDOR_COLUMNS_MAX", vendors_max)
    issued = _record_sql(monkeypatch)
    one_pass = pat.load_per_item_scopes(engine, packing)
    got = {"overall": one_pass.overall, "failure_mode": one_pass.failure_mode, "vendor": one_pass.vendor}
    assert (pat.pattern_sql(pat.SCOPES["failure_mode"], packing) in issued) == (how != "one")
    assert len(issued) == (2 if how == "one" else 3)  # the vendors, the pass (and the failure_mode query)
    assert pat.per_item_scopes_sql(2 if vendors_max == 8 else 0) in issued
    if vendors_max == 1:
        assert got.pop("vendor") is None
    names = {"overall": ["all"], "failure_mode": ["clear", "murky", "tiny"], "vendor": ["acme", "globex"]}
    for scope, patterns_of in got.items():
        assert list(patterns_of) == list(expected[scope]) == names[scope]
        for name, patterns in expected[scope].items():
            np.testing.assert_array_equal(patterns_of[name].counts, patterns.counts)
            np.testing.assert_array_equal(patterns_of[name].items, patterns.items)


@pytest.mark.parametrize("q", [2, 3, 4])
def test_pair_cells_from_count_columns_equal_the_long_query(q: int) -> None:
    """For label sets of at most PAIR_COLUMNS_MAX_LABELS categories the labeler pairs' contingency tables come as
    count columns (agreement_pairs in its column form); the cells, their order and the pairs table equal the row
    form's (one row per nonzero cell)."""
    from evalaudit.agreement import api
    from evalaudit.agreement import patterns as pat
    from evalaudit.agreement.categories import build
    from evalaudit.engine import engine_for_tables

    rng = np.random.default_rng(q)
    n = 3_000
    data = pa.table({"item_id": [f"i{k}" for k in rng.integers(0, 400, n)],
                     "labeler_id": [f"L{k}" for k in rng.integers(0, 12, n)],
                     "label": [str(k) for k in rng.integers(0, q, n)]})
    engine = engine_for_tables({"labels": data})
    engine.define_view("judgments", "judgments_all")
    categories = build([str(k) for k in range(q)], numeric=True)
    pat.prepare(engine, categories)
    long = api._long_cells(engine.sql(api.pair_sql(None), min_items=5))
    cells = api.pair_cells(engine, 5, q)
    assert long.n_pairs > 10 and long.labeler_a.equals(cells.labeler_a) and long.labeler_b.equals(cells.labeler_b)
    for field in ("pair", "code_a", "code_b", "n"):
        np.testing.assert_array_equal(getattr(cells, field), getattr(long, field))
    for weights in (None, "quadratic"):
        assert api.pairs_from_cells(cells, categories, weights).equals(api.pairs_from_cells(long, categories, weights))
