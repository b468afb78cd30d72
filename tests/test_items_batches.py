"""The items stage reads its one query in batches and, for a large store, in parts of the item_id range, and in
`evalaudit run` writes items.parquet batch by batch: none of that may change a value. A 20k-judgment demo store
audited with tiny batches and parts (and the file written) must give the table, findings and summary of one part
in one batch in memory."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from evalaudit import items, labelers, pipeline
from evalaudit.config import Config
from evalaudit.demo_store import write_demo
from evalaudit.labelers import consensus as consensus_module
from evalaudit.stage import SCRATCH_PREFIX, Context, define_judgments
from evalaudit.store import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "store"
    write_demo(root, seed=3, n_judgments=20_000)
    return root


def _audit(store: Path, write_dir: Path | None = None) -> Context:
    ctx = Context(engine=Store.open(store).engine(), cfg=Config(), write_dir=write_dir)
    ctx.cfg.gold.as_of = "2026-06-01"
    pipeline.run_stages(ctx, [("labelers", labelers.stage), ("items", items.stage)])
    return ctx


def test_batches_parts_and_the_written_file_change_nothing(demo, tmp_path, monkeypatch):
    whole = _audit(demo)
    monkeypatch.setattr(items, "BATCH_ROWS", 1_000)
    monkeypatch.setattr(items, "PART_JUDGMENTS", 4_000)
    monkeypatch.setattr(consensus_module, "CHUNK_ROWS", 500)
    n_parts = len(items.parts(whole.tables["consensus"], define_judgments(whole)["n_judgments"], 4_000))
    assert n_parts >= 4
    split = _audit(demo, tmp_path)
    written = split.tables["items"]
    assert isinstance(written, ds.Dataset) and Path(written.files[0]) == tmp_path / items.OUTPUT_FILE
    # the first pass's file is gone; the labelers stage's consensus is a scratch file the items stage read a part
    # at a time (`evalaudit run` deletes it once the stages are done), with the rows of the table in memory
    scratch = tmp_path / f"{SCRATCH_PREFIX}consensus.arrow"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([items.OUTPUT_FILE, scratch.name])
    consensus = split.tables["consensus"]
    assert isinstance(consensus, ds.Dataset) and [Path(f) for f in consensus.files] == [scratch]
    assert consensus.to_table().equals(whole.tables["consensus"])
    with pa.ipc.open_file(scratch) as f:  # in record batches of at most CHUNK_ROWS rows (the scan holds a few)
        sizes = [f.get_batch(k).num_rows for k in range(f.num_record_batches)]
    assert max(sizes) <= 500 and len(sizes) > 5
    assert split.summary["labelers"] == whole.summary["labelers"]
    table = written.to_table()
    assert table.schema == items.ITEMS_SCHEMA and table.num_rows > 5_000
    assert table.equals(whole.tables["items"])
    assert table.column("item_id").to_pylist() == sorted(table.column("item_id").to_pylist())
    assert split.tables["gold_items"].equals(whole.tables["gold_items"])  # the demo store has predictions
    mine = ("poisoned_items", "stale_items")
    assert [f.to_json() for f in split.findings if f.kind in mine] == [f.to_json() for f in whole.findings
                                                                       if f.kind in mine]
    assert any(f.kind == "poisoned_items" for f in whole.findings)
    assert split.summary["items"] == whole.summary["items"]


def test_parts_cover_every_item_once():
    ids = pa.table({"item_id": [f"i{k:05d}" for k in range(0, 30_000, 3)]})
    assert items.parts(ids, 5, 10) == [items.ALL_ITEMS]
    assert items.parts(None, 50, 10) == [items.ALL_ITEMS]
    split = items.parts(ids, 50, 10)
    assert len(split) == 5 and split[0]["part_first"] == 1 and split[-1]["part_last"] == 1
    assert all(a["part_hi"] == b["part_lo"] and a["part_hi"] for a, b in pairwise(split))


def test_relabel_order_equals_the_three_key_stable_sort():
    """The re-labeling order (one fast sort, ties ordered apart; or two stable sorts when a sample shows many ties)
    is np.lexsort((row, -second, -first)), with ties few or most, with 0.0 beside -0.0, on no rows, and on more
    rows than the sample that chooses the way (200,000)."""
    import numpy as np

    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 50, 5_000, 200_000):
        for distinct in (1, 2, 7, 1000, 10**12):
            first = rng.integers(0, distinct, n) / distinct
            first[rng.random(n) < 0.3] = -1.0
            first[rng.random(n) < 0.1] = -0.0
            second = np.where(first > 0, first / rng.integers(1, 4, n), 0.0)
            want = np.lexsort((np.arange(n), -second, -first))
            assert np.array_equal(items._descending(first, second), want)


def _build_sides(node: dict) -> list[tuple[str, bool]]:
    """Each hash join of an EXPLAIN (FORMAT json) plan whose condition names a label: (condition, whether its
    build side — the second child — reads the judgments' Parquet files)."""
    def reads_parquet(n: dict) -> bool:
        return n.get("name") == "READ_PARQUET" or any(reads_parquet(c) for c in n.get("children", []))

    out = []
    if node.get("name") == "HASH_JOIN":
        condition = str(node.get("extra_info", {}).get("Conditions", ""))
        if re.search(r"\b(label|code)\b", condition):  # the label-code joins, not labeler_id's
            out.append((condition, reads_parquet(node["children"][1])))
    for child in node.get("children", []):
        out += _build_sides(child)
    return out


def test_a_part_of_the_items_query_builds_its_label_joins_on_the_labels(demo):
    """The items query joins every judgment to its label's code. In a part of the item_id range the judgments look
    few to the planner; when the codes came from a DISTINCT over the labels (which it took for as many rows as
    labels) it built those joins' hash tables on the part's judgments, and a part needed more memory than the
    whole store in one part. The codes are a registered table now: the build side is the labels."""
    ctx = _audit(demo)
    items._register_inputs(ctx)
    counted = define_judgments(ctx)
    part = items.parts(ctx.tables["consensus"], counted["n_judgments"], 4_000)[1]
    text = items.facts_sql(len(ctx.labels.labels))
    params = {"current_guideline": "", "as_of": items.gold_owner.as_of(ctx.cfg), "repeats": 0, **part}
    used = {k: v for k, v in params.items() if f"${k}" in text}
    plan = json.loads(ctx.engine.con.sql("EXPLAIN (FORMAT json) " + text, params=used).fetchall()[0][1])
    joins = [j for root in plan for j in _build_sides(root)]
    assert len(joins) >= 2  # the judgments' label and the top labels' names
    assert not any(on_parquet for _, on_parquet in joins), joins
