"""`evalaudit relabel --format csv|label-studio|argilla|prodigy`: every export carries the items' content columns
(schema), mapped to what each tool shows, in the queue's priority order — read back as each tool reads it: CSV by
`csv`, Label Studio and Argilla JSON by `json` with the shape their importers take, Prodigy's JSONL input stream by
its published task format (prodi.gy/docs/api-loaders: one JSON object per line with `text`, optional `meta`).
With the tools' own libraries (argilla 2.x, label-studio-sdk; they conflict with evalaudit's pins) in another venv,
EVALAUDIT_TOOLS_PYTHON=that/python also runs tests/tools/relabel_readback.py on the same exports; its recorded
result is tests/tools/relabel_readback.result.json."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from evalaudit import config, relabel
from evalaudit.ingest import ingest_files
from tests.conftest import run_evalaudit

PROMPTS = {f"it{i:02d}": (f"Question {i}: is 2+{i} = {2 + i}?", f'Yes — "{2 + i}".\nSecond line, ünïcode')
           for i in range(30)}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("relabel-formats")
    labels = root / "labels.csv"
    with labels.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "labeler_id", "label", "failure_mode"])
        for i, item in enumerate(PROMPTS):
            for k, lab in enumerate(("ann", "bob", "cy")):
                w.writerow([item, lab, "fail" if (i % 4 == 0 and k == 0) or (i % 7 == 0 and k > 0) else "pass",
                            "math" if i % 2 else "facts"])
    items = root / "items.csv"
    with items.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "failure_mode", "prompt", "response", "Reference Answer"])
        for i, (item, (prompt, response)) in enumerate(PROMPTS.items()):
            w.writerow([item, "math" if i % 2 else "facts", prompt, "" if i == 3 else response, str(2 + i)])
    ingest_files(root / "store", [labels])
    ingest_files(root / "store", [items], table="items")
    return root / "store"


@pytest.fixture(scope="module")
def exports(store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("relabel-exports")
    for fmt, name in (("csv", "queue.csv"), ("label-studio", "queue-label-studio.json"),
                      ("argilla", "queue-argilla.json"), ("prodigy", "queue-prodigy.jsonl")):
        result = run_evalaudit("relabel", "--store", store, "--out", out / name, "--top", "30", "--format", fmt)
        assert result.returncode == 0, result.stderr
    return out


def _queue(store) -> list[str]:
    return relabel.queue(store, config.load(None), top=30)["item_id"].to_pylist()


def test_csv_carries_the_content_columns_after_evalaudit_columns(store, exports):
    rows = list(csv.DictReader((exports / "queue.csv").open(encoding="utf-8", newline="")))
    assert list(rows[0])[: len(relabel.COLUMNS)] == list(relabel.COLUMNS)
    assert list(rows[0])[len(relabel.COLUMNS):] == ["prompt", "response", "Reference Answer"]
    assert [r["item_id"] for r in rows] == _queue(store)
    for r in rows:
        prompt, response = PROMPTS[r["item_id"]]
        assert r["prompt"] == prompt and r["response"] == ("" if r["item_id"] == "it03" else response)


def test_label_studio_tasks_show_the_content_in_data(store, exports):
    tasks = json.loads((exports / "queue-label-studio.json").read_text(encoding="utf-8"))
    assert [t["data"]["item_id"] for t in tasks] == _queue(store)
    for t in tasks:
        prompt, response = PROMPTS[t["data"]["item_id"]]
        assert t["data"]["prompt"] == prompt and t["data"]["Reference Answer"]
        assert t["data"]["response"] == ("" if t["data"]["item_id"] == "it03" else response)
        assert t["meta"]["source"] == "evalaudit relabel" and isinstance(t["data"]["flags"], str)


def test_argilla_records_have_fields_metadata_and_the_item_as_id(store, exports):
    records = json.loads((exports / "queue-argilla.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in records] == _queue(store)
    name = re.compile(r"^(?=.*[a-z0-9])[a-z0-9_-]+$")  # Argilla's field/metadata name rule
    for r in records:
        assert set(r) == {"id", "fields", "metadata", "suggestions", "responses", "vectors"}
        prompt, response = PROMPTS[r["id"]]
        expected = {"prompt": prompt, "reference_answer": str(2 + int(r["id"][2:]))}
        if r["id"] != "it03":  # an empty response is no field value (Argilla fields are text or absent)
            expected["response"] = response
        assert r["fields"] == expected
        assert all(name.match(k) for k in (*r["fields"], *r["metadata"]))
        assert isinstance(r["metadata"]["relabel_priority"], int) and r["metadata"]["failure_mode"] in ("math", "facts")
        assert None not in r["metadata"].values()


def test_prodigy_stream_follows_the_jsonl_task_format(store, exports):
    lines = (exports / "queue-prodigy.jsonl").read_text(encoding="utf-8").splitlines()
    tasks = [json.loads(line) for line in lines]
    assert [t["item_id"] for t in tasks] == _queue(store)
    for t in tasks:
        prompt, response = PROMPTS[t["item_id"]]
        assert isinstance(t["text"], str) and t["text"].startswith(f"prompt:\n{prompt}")
        assert (response in t["text"]) == (t["item_id"] != "it03")
        assert t["meta"]["item_id"] == t["item_id"] and set(t["meta"]) == set(relabel.PRODIGY_META)
        assert t["prompt"] == prompt and t["evalaudit"]["relabel_priority"] == t["meta"]["relabel_priority"]


def test_a_content_column_named_text_is_prodigys_text():
    row = {**{c: None for c in relabel.COLUMNS}, "item_id": "a", "flags": [], "text": "grade me", "prompt": "p"}
    task = relabel.prodigy_task(row)
    assert task["text"] == "grade me" and task["prompt"] == "p"


def test_a_content_column_named_like_a_prodigy_key_never_overrides_it():
    row = {**{c: None for c in relabel.COLUMNS}, "item_id": "a", "flags": [], "meta": "m", "evalaudit": "e"}
    task = relabel.prodigy_task(row)
    assert task["meta"]["item_id"] == "a" and task["evalaudit"]["item_id"] == "a"
    assert task["text"] == "meta:\nm\n\nevalaudit:\ne"


def test_without_content_columns_the_item_id_stands_in():
    row = {**{c: None for c in relabel.COLUMNS}, "item_id": "a", "flags": ["x"]}
    assert relabel.prodigy_task(row)["text"] == "a"
    assert relabel.argilla_record(row)["fields"] == {"item_id": "a"}
    assert relabel.argilla_record(row)["metadata"] == {"item_id": "a", "flags": ["x"]}


def test_unknown_format_is_refused(tmp_path):
    import pyarrow as pa

    with pytest.raises(Exception, match="format must be one of csv, label-studio, argilla, prodigy"):
        relabel.write(pa.table({"item_id": []}), tmp_path / "q", "doccano")


@pytest.mark.skipif(not os.environ.get("EVALAUDIT_TOOLS_PYTHON"),
                    reason="EVALAUDIT_TOOLS_PYTHON (a Python with argilla 2.x and label-studio-sdk) is not set")
def test_the_tools_own_libraries_read_the_exports(store, exports):
    script = Path(__file__).parent / "tools" / "relabel_readback.py"
    done = subprocess.run([os.environ["EVALAUDIT_TOOLS_PYTHON"], str(script), str(exports)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    queue = _queue(store)
    a = result["argilla"]
    assert a["error"] is None and a["records_sent"] == 30 and a["external_ids"] == queue
    assert all(f["prompt"] == PROMPTS[i][0] for f, i in zip(a["fields"], queue, strict=True))
    ls = result["label_studio"]
    assert ls["tasks"] == 30 and all(ls["valid"])
    assert [s["prompt"] for s in ls["shown"]] == [PROMPTS[i][0] for i in queue]
