"""The judges stage: model judges (labelers.kind = 'model') against the people's majority label, per failure mode,
and the change from one judge version to the next — on constructed stores whose answers are counted by hand, with
kappa checked against the package's own Cohen's kappa and the intervals against their definitions."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit import agreement, judges
from evalaudit.config import Config, LabelsConfig
from evalaudit.pipeline import run_stages
from tests.helpers import T0, context

PEOPLE = ("ann", "bob", "cy")


def _world(judge_says, *, versions=("judge@v1",), fm="refusal", n_items=60, tie_every=0):
    """Labels of ``n_items`` items judged by the three people (ann/bob agree on the truth, cy too except on every
    ``tie_every``-th item where only two people judged and they disagree) and by each judge version in turn, the
    item's truth from ``i % 3 != 0`` (pass)."""
    labels, truth = [], {}
    for i in range(n_items):
        item = f"i{i:03d}"
        t = "pass" if i % 3 else "fail"
        truth[item] = t
        tied = tie_every and i % tie_every == 0
        people = [("ann", t), ("bob", "fail" if t == "pass" else "pass")] if tied else [(p, t) for p in PEOPLE]
        for k, (p, lab) in enumerate(people):
            labels.append({"item_id": item, "labeler_id": p, "label": lab, "failure_mode": fm,
                           "labeled_at": T0 + timedelta(hours=i, minutes=k)})
        v = i * len(versions) // n_items  # each version judges a consecutive share of the items
        labels.append({"item_id": item, "labeler_id": versions[v], "label": judge_says(versions[v], t, i),
                       "failure_mode": fm, "labeled_at": T0 + timedelta(hours=i, minutes=30)})
    roster = [{"labeler_id": p} for p in PEOPLE] + [{"labeler_id": v, "kind": "model"} for v in versions]
    return labels, roster, truth


def test_agreement_and_kappa_are_counted_against_the_people_majority():
    # the judge passes every true fail on even items: 10 of the 20 fails are wrong
    labels, roster, _ = _world(lambda v, t, i: "pass" if (t == "fail" and i % 2 == 0) else t)
    ctx = context(labels=labels, labelers=roster)
    result = judges.stage(ctx)
    t = {r["failure_mode"]: r for r in result.tables["judges"].to_pylist()}
    row = t["refusal"]
    assert row["n_items"] == 60 and row["n_tied"] == 0
    assert row["percent_agreement"] == pytest.approx(50 / 60)
    assert t["all"]["percent_agreement"] == row["percent_agreement"]
    pairs = pa.table({"item_id": [f"i{i}" for i in range(60)] * 2, "labeler_id": ["j"] * 60 + ["m"] * 60,
                      "label": [("pass" if (i % 3 == 0 and i % 2 == 0) else ("pass" if i % 3 else "fail"))
                                for i in range(60)] + [("pass" if i % 3 else "fail") for i in range(60)]})
    assert row["kappa"] == pytest.approx(agreement.cohen_kappa(pairs, "j", "m"))
    assert row["kappa_ci_low"] <= row["kappa"] <= row["kappa_ci_high"]
    assert row["agreement_ci_low"] < 50 / 60 < row["agreement_ci_high"]
    assert (row["judge"], row["version"], row["previous_version"]) == ("judge", "v1", None)
    assert result.summary["judges"]["judges"] == 1 and "Cohen's kappa" in result.summary["judges"]["kappa_method"]


def test_items_where_the_people_tie_are_left_out_and_counted():
    labels, roster, _ = _world(lambda v, t, i: t, tie_every=5)
    row = next(r for r in judges.stage(context(labels=labels, labelers=roster)).tables["judges"].to_pylist()
           if r["failure_mode"] == "all")
    assert row["n_tied"] == 12 and row["n_items"] == 48 and row["percent_agreement"] == 1.0


def test_a_new_version_that_turned_lenient_shows_the_drop_with_its_interval():
    def says(version, t, i):
        return "pass" if version == "judge@v2" else t  # v2 passes everything

    labels, roster, _ = _world(says, versions=("judge@v1", "judge@v2"), n_items=300)
    table = judges.stage(context(labels=labels, labelers=roster)).tables["judges"].to_pylist()
    v2 = next(r for r in table if r["judge_id"] == "judge@v2" and r["failure_mode"] == "refusal")
    assert v2["previous_version"] == "v1"
    assert v2["agreement_change"] == pytest.approx(100 / 150 - 1.0)
    assert v2["agreement_change_ci_high"] < 0 and v2["kappa_change_ci_high"] < 0
    v1 = next(r for r in table if r["judge_id"] == "judge@v1" and r["failure_mode"] == "refusal")
    assert v1["previous_version"] is None and v1["kappa"] == pytest.approx(1.0)


def test_judges_are_not_people_in_the_majority_and_humans_alone_have_no_judges_table():
    # two judge versions judge the same items: neither counts toward the other's "people" majority
    labels, roster, _ = _world(lambda v, t, i: "pass", versions=("a@1",))
    labels += [dict(r, labeler_id="b@1") for r in labels if r["labeler_id"] == "a@1"]
    roster.append({"labeler_id": "b@1", "kind": "model"})
    rows = judges.stage(context(labels=labels, labelers=roster)).tables["judges"].to_pylist()
    assert {r["n_items"] for r in rows} == {60} and {r["percent_agreement"] for r in rows} == {40 / 60}
    human_only = context(labels=labels, labelers=[{"labeler_id": r["labeler_id"]} for r in roster])
    result = judges.stage(human_only)
    assert result.tables == {} and result.summary["judges"] == {"judges": 0}


def test_a_judge_nobody_else_judged_beside_is_skipped_with_a_reason():
    labels = [{"item_id": f"x{i}", "labeler_id": "solo@1", "label": "pass", "labeled_at": T0} for i in range(5)]
    labels += [{"item_id": f"y{i}", "labeler_id": "ann", "label": "pass", "labeled_at": T0} for i in range(5)]
    result = judges.stage(context(labels=labels, labelers=[{"labeler_id": "solo@1", "kind": "model"}]))
    assert [s["analysis"] for s in result.skipped] == ["judges against people"]
    assert "solo@1" in result.skipped[0]["reason"]


def test_numeric_label_spaces_are_skipped_with_a_reason():
    labels = [{"item_id": f"i{i}", "labeler_id": lab, "label": str((i * 7 + k) % 50), "labeled_at": T0}
              for i in range(40) for k, lab in enumerate(("ann", "bob", "m@1"))]
    cfg = Config(labels=LabelsConfig(level="interval"))
    result = judges.stage(context(cfg, labels=labels, labelers=[{"labeler_id": "m@1", "kind": "model"}]))
    assert "judges" not in result.tables and result.skipped[0]["reason"].endswith("these are interval")


def test_the_stage_runs_in_the_pipeline_after_the_labelers_and_judges_are_labelers_there_too():
    labels, roster, _ = _world(lambda v, t, i: "pass" if t == "fail" else t, n_items=90)
    ctx = context(labels=labels, labelers=roster)
    from evalaudit.pipeline import stages
    run_stages(ctx, [s for s in stages() if s[0] in ("store", "labelers", "judges")])
    assert "judge@v1" in set(ctx.tables["leniency"]["labeler_id"].to_pylist())
    assert ctx.tables["judges"].num_rows == 2


@pytest.mark.parametrize("judge_id, expected", [("gpt-judge@2026-09", ("gpt-judge", "2026-09")),
                                                ("a@b@c", ("a@b", "c")), ("plain", ("plain", None)),
                                                ("@v1", ("@v1", None)), ("x@", ("x@", None))])
def test_split_version(judge_id, expected):
    assert judges.split_version(judge_id) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=3, max_size=3), min_size=3, max_size=3))
def test_kappa_of_a_table_matches_the_package_cohen_kappa_and_is_symmetric(cells):
    table = np.array(cells)
    kappa = float(judges.cohen_kappa(table))
    assert kappa == pytest.approx(float(judges.cohen_kappa(table.T)), nan_ok=True)
    rows = [(r, c) for r in range(3) for c in range(3) for _ in range(table[r, c])]
    if not rows:
        assert np.isnan(kappa)
        return
    data = pa.table({"item_id": [f"i{k}" for k in range(len(rows))] * 2,
                     "labeler_id": ["a"] * len(rows) + ["b"] * len(rows),
                     "label": [f"c{r}" for r, _ in rows] + [f"c{c}" for _, c in rows]})
    reference = agreement.cohen_kappa(data, "a", "b")
    assert kappa == pytest.approx(reference, nan_ok=True, abs=1e-12)


def test_the_report_section_shows_judges_escaped_and_says_when_there_are_none():
    from datetime import UTC, datetime

    from evalaudit import findings as fnd
    from evalaudit import report

    def says(version, t, i):
        return "pass" if version == "<b>j</b>@v2" else t

    labels, roster, _ = _world(says, versions=("<b>j</b>@v1", "<b>j</b>@v2"), n_items=120)
    table = judges.stage(context(labels=labels, labelers=roster)).tables["judges"]
    doc = fnd.document([], {"config": "defaults", "judges": {"judges": 2}},
                       generated_at=datetime(2026, 1, 1, tzinfo=UTC))
    html = report.render(doc, {"judges": table})
    section = html[html.index('<section id="judges">'):]
    section = section[: section.index("</section>")]
    assert "<b>j</b>" not in html and "&lt;b&gt;j&lt;/b&gt;@v2" in section
    assert "Cohen&#39;s kappa" in section and "Wilson" in section and "Newcombe" in section
    assert "Change from the previous version" in section and "<svg" in section
    empty = report.render(fnd.document([], {"config": "defaults"}, generated_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert "no model judge: no labeler is marked kind = model" in empty


def test_ingest_stores_kind_lowercased_and_quarantines_anything_but_human_or_model(tmp_path):
    from evalaudit.ingest import ingest_files
    from evalaudit.store import Store

    roster = tmp_path / "labelers.csv"
    roster.write_text("labeler_id,kind\nann,Human\ngpt@1, MODEL \nbob,\ncy,robot\n", encoding="utf-8")
    (result,) = ingest_files(tmp_path / "store", [roster], table="labelers")
    assert (result.rows_added, result.rows_quarantined) == (3, 1)
    assert result.reasons[0][0].startswith("kind must be human or model (empty = human)")
    eng = Store.open(tmp_path / "store").engine()
    kinds = {r["labeler_id"]: r["kind"] for r in eng.sql("SELECT labeler_id, kind FROM labelers").to_pylist()}
    assert kinds == {"ann": "human", "gpt@1": "model", "bob": None}
    assert judges.judge_ids(eng) == ["gpt@1"]
