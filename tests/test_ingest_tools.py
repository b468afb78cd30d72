"""Tool exports (docs/ingest.md): each fixture in tests/fixtures/exports/<tool>/, written by the tool's own library
where it is on PyPI (make_fixture.py beside it), ingests with one command into exactly the judgments of its
expected_*.csv (written by hand); skipped, discarded, draft, ignored and rejected answers go to quarantine with
their reason; exports that cannot tell say what was assumed; LLM judges become labelers of kind model."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalaudit.errors import UnusableInput
from evalaudit.ingest import ReadOptions, detect_format, ingest_files
from evalaudit.ingest.argilla import read_argilla
from evalaudit.ingest.hf import melt as hf_melt
from tests.conftest import FIXTURES

EXPORTS = FIXTURES / "exports"
COMPARED = ("item_id", "labeler_id", "label", "labeled_at", "batch_id", "failure_mode", "guideline_version",
            "duration_s")


def _iso(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _expected(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if c in COMPARED]
    out = []
    for r in rows:
        values = []
        for c in cols:
            v = r[c]
            if c == "labeled_at" and v:
                v = datetime.fromisoformat(v.replace("Z", "+00:00")).isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z")
            if c == "duration_s" and v:
                v = f"{float(v):g}"
            values.append(v)
        out.append(tuple(values))
    return cols, sorted(out)


def _stored(store: Path, cols: list[str], table: str = "labels") -> list[tuple[str, ...]]:
    rows = duckdb.sql(f"SELECT {', '.join(cols)} FROM read_parquet('{store}/{table}/**/*.parquet')").fetchall()
    return sorted(tuple(_iso(v) for v in r) for r in rows)


def _quarantine(store: Path) -> list[str]:
    files = list((store / "quarantine" / "labels").glob("*.parquet"))
    return sorted(r for f in files for r in pq.read_table(f)["reason"].to_pylist())


def _check(store: Path, expected: Path) -> None:
    cols, want = _expected(expected)
    assert _stored(store, cols) == want


# -- Label Studio --------------------------------------------------------------------------------------------------
def test_label_studio_sdk_export(store: Path, cli) -> None:
    src = EXPORTS / "label-studio" / "export.json"
    assert detect_format(src) == "label-studio"
    code, _, err = cli("ingest", src, "--store", store)
    assert code == 0, err
    _check(store, EXPORTS / "label-studio" / "expected.csv")
    assert _quarantine(store) == ["annotation was cancelled (skipped) in Label Studio"]


# -- Argilla -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["records_flat.json", "records.parquet"])
def test_argilla_flattened_keeps_only_submitted(store: Path, name: str) -> None:
    src = EXPORTS / "argilla" / name
    assert detect_format(src) == "argilla"
    (r,) = ingest_files(store, [src], options=ReadOptions(question="verdict"))
    assert r.format == "argilla"
    _check(store, EXPORTS / "argilla" / "expected_flat_verdict.csv")
    assert _quarantine(store) == ["response was a draft in Argilla (not submitted)",
                                  "response was discarded in Argilla (not submitted)"]
    assert any("no response time" in n for n in r.notes)
    assert not any("no response status" in n for n in r.notes)


def test_argilla_nested_export_says_what_it_assumed(store: Path) -> None:
    (r,) = ingest_files(store, [EXPORTS / "argilla" / "records_nested.json"], options=ReadOptions(question="verdict"))
    _check(store, EXPORTS / "argilla" / "expected_nested_verdict.csv")
    (note,) = [n for n in r.notes if "no response status" in n]
    assert "7 response(s) were taken as submitted" in note


def test_argilla_several_questions_need_question(store: Path, cli) -> None:
    code, _, err = cli("ingest", EXPORTS / "argilla" / "records_flat.json", "--store", store)
    assert code == 2
    assert "'tags'" in err and "'verdict'" in err and "--question" in err
    assert not store.exists()


def test_argilla_multi_label_is_quarantined_not_flattened(store: Path) -> None:
    (r,) = ingest_files(store, [EXPORTS / "argilla" / "records_flat.json"], options=ReadOptions(question="tags"))
    assert r.rows_added == 0 and r.rows_quarantined == 2
    assert all(q.startswith("multi-label answer") for q in _quarantine(store))


def test_argilla_v1_feedback_dataset_records(tmp_path: Path, store: Path) -> None:
    """Argilla 1.x FeedbackDataset.format_as("datasets"): per question a list of {user_id, value, status}."""
    src = tmp_path / "v1.jsonl"
    rows = [{"prompt": "p1", "external_id": "e1", "metadata": json.dumps({"failure_mode": "tox"}),
             "verdict": [{"user_id": "u1", "value": "pass", "status": "submitted"},
                         {"user_id": "u2", "value": None, "status": "discarded"}],
             "verdict-suggestion": None, "verdict-suggestion-metadata": {"type": None, "score": None, "agent": None}},
            {"prompt": "p2", "external_id": "e2", "metadata": "{}",
             "verdict": [{"user_id": "u2", "value": "fail", "status": "submitted"}],
             "verdict-suggestion": "fail", "verdict-suggestion-metadata": {"type": None, "score": None, "agent": None}}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ingest_files(store, [src], fmt="argilla")
    assert _stored(store, ["item_id", "labeler_id", "label", "failure_mode"]) == [
        ("e1", "u1", "pass", "tox"), ("e2", "u2", "fail", "unspecified")]
    assert _quarantine(store) == ["response was discarded in Argilla (not submitted)"]


# -- Prodigy -------------------------------------------------------------------------------------------------------
def test_prodigy_choice(store: Path, cli) -> None:
    src = EXPORTS / "prodigy" / "choice.jsonl"
    assert detect_format(src) == "prodigy"
    code, out, err = cli("ingest", src, "--store", store)
    assert code == 0, err
    _check(store, EXPORTS / "prodigy" / "expected_choice.csv")
    q = _quarantine(store)
    assert len(q) == 4
    assert "answer was ignore (skipped) in Prodigy" in q
    assert "choice task accepted with no option selected" in q
    assert any(r.startswith("choice task rejected in Prodigy") for r in q)
    assert any(r.startswith("multi-label answer") for r in q)
    assert "note: 1 Prodigy choice answer(s) 'reject' were taken as rejecting the task" in out


def test_prodigy_binary_reject_is_a_no(store: Path, cli) -> None:
    src = EXPORTS / "prodigy" / "binary.jsonl"
    code, _, err = cli("ingest", src, "--store", store)
    assert code == 2 and "'REFUSAL'" in err and "'TOXIC'" in err
    (r,) = ingest_files(store, [src], options=ReadOptions(question="TOXIC"))
    _check(store, EXPORTS / "prodigy" / "expected_binary_TOXIC.csv")
    assert _quarantine(store) == ["answer was ignore (skipped) in Prodigy"]
    assert r.notes == ["1 answer(s) to other Prodigy labels ('REFUSAL') were not read: this ingest is of Prodigy "
                       "label 'TOXIC' (--question)"]


# -- Langfuse ------------------------------------------------------------------------------------------------------
def test_langfuse_annotation_scores_are_people(store: Path, cli) -> None:
    src = EXPORTS / "langfuse" / "scores_v2.json"
    assert detect_format(src) == "langfuse"
    code, _, err = cli("ingest", src, "--store", store)
    assert code == 2 and "'accuracy'" in err and "'helpfulness'" in err
    code, out, err = cli("ingest", src, "--store", store, "--question", "helpfulness")
    assert code == 0, err
    _check(store, EXPORTS / "langfuse" / "expected_helpfulness.csv")
    assert _quarantine(store) == [
        "API score (end-user or code feedback) is not a labeler's judgment",
        "EVAL score (an LLM judge) is not ingested without --include-judges",
        "EVAL score (an LLM judge) is not ingested without --include-judges"]
    assert not list(store.glob("labelers/**/*.parquet"))
    assert "note: 1 answer(s) to other score names ('accuracy') were not read" in out


@pytest.mark.parametrize("name", ["scores_v2.json", "scores_v3.json"])
def test_langfuse_judges_when_asked_are_model_labelers(store: Path, name: str, cli) -> None:
    src = EXPORTS / "langfuse" / name
    code, out, err = cli("ingest", src, "--store", store, "--question", "helpfulness", "--include-judges")
    assert code == 0, err
    _check(store, EXPORTS / "langfuse" / "expected_helpfulness_with_judges.csv")
    labelers = duckdb.sql(f"SELECT labeler_id, kind FROM read_parquet('{store}/labelers/**/*.parquet') "
                          "ORDER BY 1").fetchall()
    assert labelers == [("helpfulness-judge@3", "model"), ("helpfulness-judge@4", "model")]
    assert "labelers of kind model added: helpfulness-judge@3, helpfulness-judge@4" in out
    # a later export naming the same judges adds no second labelers row
    again = store.parent / "again.json"
    again.write_text(src.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    code, out, err = cli("ingest", again, "--store", store, "--question", "helpfulness", "--include-judges")
    assert code == 0, err
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{store}/labelers/**/*.parquet')").fetchall() == [(2,)]


def test_langfuse_judge_without_version_is_said(tmp_path: Path, store: Path) -> None:
    src = tmp_path / "scores.jsonl"
    src.write_text(json.dumps({"id": "s1", "traceId": "t1", "name": "correct", "source": "EVAL", "dataType": "BOOLEAN",
                               "value": 1, "stringValue": "True", "timestamp": "2024-05-01T10:00:00Z"}) + "\n",
                   encoding="utf-8")
    assert detect_format(src) == "langfuse"
    (r,) = ingest_files(store, [src], options=ReadOptions(include_judges=True))
    assert _stored(store, ["item_id", "labeler_id", "label"]) == [("t1", "eval:correct", "true")]
    assert any("no judge version" in n for n in r.notes)


# -- SageMaker Ground Truth ----------------------------------------------------------------------------------------
def test_sagemaker_worker_responses(store: Path, cli) -> None:
    job = EXPORTS / "sagemaker-gt" / "toxicity-review"
    files = sorted(job.rglob("*.json"))
    assert {detect_format(f) for f in files} == {"sagemaker-gt"}
    code, _, err = cli("ingest", job, "--store", store)
    assert code == 0, err
    _check(store, EXPORTS / "sagemaker-gt" / "expected_toxicity-review.csv")
    assert _quarantine(store) == []


def test_sagemaker_multi_select_is_quarantined(store: Path) -> None:
    results = ingest_files(store, [EXPORTS / "sagemaker-gt" / "tags-review"])
    assert sum(r.rows_added for r in results) == 0
    assert len(_quarantine(store)) == 2 and all(q.startswith("multi-label answer") for q in _quarantine(store))


# -- Hugging Face and --melt ---------------------------------------------------------------------------------------
def test_hf_long_classlabel_decoded(store: Path) -> None:
    ingest_files(store, [EXPORTS / "huggingface" / "long.parquet"], mapping={"annotator": "labeler_id"})
    _check(store, EXPORTS / "huggingface" / "expected.csv")


def test_hf_parallel_lists_exploded(store: Path) -> None:
    ingest_files(store, [EXPORTS / "huggingface" / "lists.parquet"],
                 mapping={"annotators": "labeler_id", "labels": "label"})
    _check(store, EXPORTS / "huggingface" / "expected.csv")
    rows = duckdb.sql(f"SELECT source_row FROM read_parquet('{store}/labels/**/*.parquet') ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == list(range(6))


def test_hf_parallel_lists_of_different_lengths_quarantined(tmp_path: Path, store: Path) -> None:
    src = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"item_id": ["a", "b"], "who": [["x", "y"], ["x"]], "says": [["1", "0"], ["1", "0"]]}),
                   src)
    (r,) = ingest_files(store, [src], mapping={"who": "labeler_id", "says": "label"})
    assert r.rows_added == 2 and r.rows_quarantined == 1
    assert _quarantine(store)[0].startswith("parallel lists of different lengths")


def test_melt_wide_hf_table(store: Path, cli) -> None:
    code, _, err = cli("ingest", EXPORTS / "huggingface" / "wide.parquet", "--store", store, "--melt", "rater_*")
    assert code == 0, err
    _check(store, EXPORTS / "huggingface" / "expected_wide.csv")
    assert _quarantine(store) == []


def test_melt_csv_blank_is_not_judged(tmp_path: Path, store: Path) -> None:
    src = tmp_path / "wide.csv"
    src.write_text("item_id,failure_mode,alice,bob\ni1,tox,pass,\ni2,tox, ,fail\ni3,ref,fail,pass\n", encoding="utf-8")
    ingest_files(store, [src], options=ReadOptions(melt="alice"))
    assert _stored(store, ["item_id", "labeler_id", "label", "failure_mode"]) == [
        ("i1", "alice", "pass", "tox"), ("i3", "alice", "fail", "ref")]
    with pytest.raises(UnusableInput, match="matches no column"):
        ingest_files(tmp_path / "s2", [src], options=ReadOptions(melt="carol*"))


def test_melt_refuses_a_table_that_has_a_label_column(tmp_path: Path, store: Path) -> None:
    src = tmp_path / "wide.csv"
    src.write_text("item_id,label,alice\ni1,x,pass\n", encoding="utf-8")
    with pytest.raises(UnusableInput, match="melting would write"):
        ingest_files(store, [src], options=ReadOptions(melt="alice"))


def test_question_not_in_export_lists_the_questions(store: Path) -> None:
    with pytest.raises(UnusableInput, match=r"has no question 'nope' \(it has: 'tags', 'verdict'\)"):
        ingest_files(store, [EXPORTS / "argilla" / "records_flat.json"], options=ReadOptions(question="nope"))


def test_fixtures_are_regenerable_scripts() -> None:
    """Each tool directory carries the script that wrote it (run with the tool's own library)."""
    for tool in ("label-studio", "argilla", "prodigy", "langfuse", "sagemaker-gt", "huggingface"):
        assert (EXPORTS / tool / "make_fixture.py").is_file()


def test_label_studio_still_detected(tmp_path: Path) -> None:
    src = tmp_path / "ls.json"
    src.write_text(json.dumps([{"id": 1, "data": {"text": "traceId"}, "annotations": []}]), encoding="utf-8")
    assert detect_format(src) == "label-studio"
    shutil.copy(EXPORTS / "prodigy" / "choice.jsonl", tmp_path / "p.json")
    assert detect_format(tmp_path / "p.json") == "prodigy"


def test_labelers_kind_is_human_or_model(tmp_path: Path, store: Path) -> None:
    src = tmp_path / "labelers.csv"
    src.write_text("labeler_id,kind\nana,human\njudge@3,Model\nben,\nbot,robot\n", encoding="utf-8")
    (r,) = ingest_files(store, [src], table="labelers")
    assert r.rows_added == 3 and r.rows_quarantined == 1
    rows = duckdb.sql(f"SELECT labeler_id, kind FROM read_parquet('{store}/labelers/**/*.parquet') ORDER BY 1")
    assert rows.fetchall() == [("ana", "human"), ("ben", None), ("judge@3", "model")]
    reasons = pq.read_table(next((store / "quarantine" / "labelers").glob("*.parquet")))["reason"].to_pylist()
    assert reasons == ["kind must be human or model (empty = human): robot"]


# -- properties ----------------------------------------------------------------------------------------------------
_VALUES = st.one_of(st.none(), st.sampled_from(["pass", "fail", "", " ", " pass "]),
                    st.lists(st.sampled_from(["a", "b"]), max_size=2), st.integers(-3, 3))
_RESPONSE = st.tuples(_VALUES, st.sampled_from(["u1", "u2", "u3"]),
                      st.sampled_from(["submitted", "discarded", "draft", None]))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_RESPONSE, max_size=4), min_size=1, max_size=5))
def test_argilla_every_response_is_a_judgment_or_quarantined(records: list[list[tuple]]) -> None:
    """Each response of the question is exactly one of: a stored judgment (submitted — or no status at all — with
    one non-blank scalar value), or a quarantined row; nothing is flattened, and source rows are unique."""
    docs = []
    for i, responses in enumerate(records):
        doc = {"id": f"item-{i}", "verdict.responses": [r[0] for r in responses],
               "verdict.responses.users": [r[1] for r in responses]}
        if all(r[2] is not None for r in responses):
            doc["verdict.responses.status"] = [r[2] for r in responses]
        docs.append(doc)
    if not any(records):
        return
    rows = read_argilla(Path("x.json"), docs, ReadOptions())
    total = sum(len(r) for r in records)
    assert len(rows.numbers) + len(rows.bad) == total
    assert sorted(rows.numbers + [b["row"] for b in rows.bad]) == list(range(total))
    want = []
    for i, responses in enumerate(records):
        has_status = all(r[2] is not None for r in responses)
        for value, user, status in responses:
            ok = (status == "submitted" or not has_status) and not isinstance(value, list) \
                and value is not None and str(value).strip() != ""
            if ok:
                want.append((f"item-{i}", user, str(value)))
    got = list(zip(rows.values["item_id"], rows.values["labeler_id"], rows.values["label"], strict=True))
    assert got == want


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["pass", "fail", "", "  ", "0"])), min_size=3,
                         max_size=3), min_size=1, max_size=6))
def test_melt_one_judgment_per_judged_cell(cells: list[list[str | None]]) -> None:
    """--melt keeps exactly the non-blank cells, each once, labeler = its column, with unique source rows."""
    table = pa.table({"item_id": [f"i{r}" for r in range(len(cells))],
                      **{f"r{c}": [row[c] for row in cells] for c in range(3)}})
    out = hf_melt(Path("x.csv"), table, "r*")
    want = sorted((f"i{r}", f"r{c}", v.strip()) for r, row in enumerate(cells) for c, v in enumerate(row)
                  if v is not None and v.strip())
    got = sorted(zip(out["item_id"].to_pylist(), out["labeler_id"].to_pylist(), out["label"].to_pylist(),
                     strict=True))
    assert got == want
    assert len(set(out["__row"].to_pylist())) == out.num_rows
