"""One reading of the items table (evalaudit/sql/item_answers.sql): an item listed more than once is its latest
ingested row. A team re-delivers its items table with two honeypot answers corrected; every consumer — the labelers
stage's honeypot evidence, the items stage, and `evalaudit check`'s honeypot expectation — must use the correction.

The corrections are chosen so that neither MIN nor MAX over the rows (what two of the queries once took) gives the
later answer for both items: h1 goes fail -> pass, h2 goes pass -> fail.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from evalaudit import items, labelers, pipeline
from evalaudit.config import Config
from evalaudit.contracts import batch_expectations
from evalaudit.ingest import ingest_files
from evalaudit.labelers import judgments
from evalaudit.stage import Context
from evalaudit.store import Store
from tests.helpers import T0, table

EARLIER = {"h1": "fail", "h2": "pass"}
LATER = {"h1": "pass", "h2": "fail"}
#: a agrees with the later answers on both honeypots, b with the earlier ones
SAYS = {"a": LATER, "b": EARLIER}


def _csv(path, rows: list[dict]) -> str:
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return str(path)


@pytest.fixture()
def store(tmp_path) -> Store:
    root = tmp_path / "store"
    gold = [{"item_id": f"g{i}", "failure_mode": "fm", "gold_label": "pass"} for i in range(3)]
    first = [{"item_id": i, "failure_mode": "fm", "honeypot_label": ans} for i, ans in EARLIER.items()]
    # the re-delivery lists the corrected honeypots first: row order must not decide
    second = [{"item_id": i, "failure_mode": "fm", "honeypot_label": ans} for i, ans in LATER.items()]
    ingest_files(root, [_csv(tmp_path / "items1.csv", first + gold)], table="items", now=T0)
    ingest_files(root, [_csv(tmp_path / "items2.csv", second)], table="items", now=T0 + timedelta(days=1))
    rows = [{"item_id": item, "labeler_id": lab, "label": says[item], "failure_mode": "fm",
             "labeled_at": (T0 + timedelta(hours=k)).isoformat()}
            for k, (lab, says) in enumerate(SAYS.items()) for item in ("h1", "h2")]
    rows += [{"item_id": f"g{i}", "labeler_id": lab, "label": "pass", "failure_mode": "fm",
              "labeled_at": (T0 + timedelta(hours=5)).isoformat()} for i in range(3) for lab in SAYS]
    ingest_files(root, [_csv(tmp_path / "labels.csv", rows)], table="labels", now=T0 + timedelta(days=2))
    return Store.open(root)


def _cfg() -> Config:
    cfg = Config()
    cfg.labels.positive = "pass"
    cfg.gold.as_of = (T0 + timedelta(days=3)).isoformat()
    cfg.contracts.min_honeypot_items = 1
    return cfg


def test_the_view_item_answers_keeps_the_later_row(store):
    got = {r["item_id"]: r["honeypot_label"] for r in store.engine().query("item_answers").to_pylist()}
    assert {k: got[k] for k in LATER} == LATER
    assert store.engine().sql("SELECT * FROM items").num_rows == 7  # both deliveries are kept in the store


def test_labelers_honeypot_evidence_uses_the_later_answer(store):
    J = judgments.load(store.engine(), "pass")
    truth = dict(zip(J.item_id.to_pylist(), J.truth.tolist(), strict=True))
    assert {k: truth[k] for k in LATER} == {k: int(v == "pass") for k, v in LATER.items()}


def test_items_stage_uses_the_later_answer(store):
    ctx = Context(engine=store.engine(), cfg=_cfg())
    pipeline.run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage)])
    rows = {r["item_id"]: r for r in ctx.tables["items"].to_pylist()}
    # a honeypot's gold is its known answer
    assert {k: (rows[k]["gold_label"], rows[k]["gold_source"], rows[k]["is_honeypot"]) for k in LATER} == {
        k: (v, "honeypot", True) for k, v in LATER.items()}


def test_check_honeypot_expectation_uses_the_later_answer(store):
    engine = store.engine()
    batch = [{"item_id": item, "labeler_id": lab, "label": says[item], "failure_mode": "fm"}
             for lab, says in SAYS.items() for item in ("h1", "h2")]
    engine.register("batch", table("labels", batch))
    out = batch_expectations.BatchChecks()
    batch_expectations.honeypot(engine, _cfg(), out)
    correct = {r["labeler_id"]: (r["n_correct"], r["n_honeypots"]) for r in out.frames["honeypot"].to_dict("records")}
    assert correct == {"a": (2, 2), "b": (0, 2)}
