"""The audit on the default demo history finds every planted fault (truth.json) and flags no honest labeler at
medium or high severity — the acceptance test of the whole pipeline on data whose answers are known."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from evalaudit import config
from evalaudit.demo_store import write_demo
from evalaudit.items import POISON_FLAGS
from evalaudit.run import audit
from tests.conftest import ROOT

LABELER_KINDS = {"labeler_leniency", "labeler_severity", "labeler_drift", "labeler_spam", "labeler_concentration",
                 "labeler_collusion"}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo-audit")
    write_demo(root / "store", seed=0)
    result = audit(root / "store", root / "out", config.load(None), fail_on="never")
    assert result.out == root / "out"
    return root


@pytest.fixture(scope="module")
def demo(root) -> tuple[dict, dict, dict]:
    truth = json.loads((root / "store" / "truth.json").read_text())
    doc = json.loads((root / "out" / "findings.json").read_text())
    items = {r["item_id"]: set(r["flags"]) for r in pq.read_table(root / "out" / "items.parquet",
                                                                   columns=["item_id", "flags"]).to_pylist()}
    return truth, doc, items


def planted(truth: dict, *kinds: str) -> list[dict]:
    return [p for p in truth["planted"] if p["kind"] in kinds]


def test_every_planted_labeler_fault_is_found(demo):
    truth, doc, _ = demo
    found = {(f["kind"], f["labeler_id"], f["failure_mode"]) for f in doc["findings"]
             if f["severity"] in ("medium", "high")}
    for p in planted(truth, *LABELER_KINDS):
        assert (p["kind"], p["labeler_id"], p["failure_mode"]) in found, p


def test_no_honest_labeler_is_flagged_medium_or_high(demo):
    truth, doc, _ = demo
    guilty = {p["labeler_id"] for p in truth["planted"] if p.get("labeler_id")}
    flagged = {f["labeler_id"] for f in doc["findings"]
               if f["kind"] in LABELER_KINDS and f["severity"] in ("medium", "high")}
    assert flagged <= guilty, flagged - guilty


@pytest.mark.parametrize("reason", ["superseded_guideline", "labelers_inactive"])
def test_every_planted_stale_item_is_flagged(demo, reason):
    truth, doc, items = demo
    entries = [p for p in planted(truth, "stale_items") if p.get("reason") == reason]
    assert entries
    for p in entries:
        missed = [i for i in p["item_ids"] if reason not in items.get(i, set())]
        assert not missed, f"{len(missed)} of {len(p['item_ids'])} {reason} items not flagged"
    assert any(f["kind"] == "stale_items" and f["details"]["reason"] == reason for f in doc["findings"])


def test_every_detectable_planted_poisoned_item_is_flagged(demo, root):
    """A planted poisoned item is detectable unless an unflagged labeler made the same mistake: then every
    judgment left agrees with the wrong gold, and no method can tell from the data. Every missed item must be of
    that kind, and they must be rare."""
    truth, doc, items = demo
    entries = planted(truth, "poisoned_items")
    assert entries
    gold = {r["item_id"]: r["gold_label"] for r in pq.read_table(
        root / "out" / "items.parquet", columns=["item_id", "gold_label"]).to_pylist()}
    labels = pq.read_table(root / "store" / "labels", columns=["item_id", "labeler_id", "label"])
    for p in entries:
        missed = [i for i in p["item_ids"] if not (items.get(i, set()) & POISON_FLAGS)]
        judged = labels.filter(pc.is_in(labels.column("item_id"), pa.array(missed, pa.string()))).to_pylist()
        for item in missed:
            others = [r["label"] for r in judged if r["item_id"] == item and r["labeler_id"] != p["labeler_id"]]
            assert others and all(label == gold[item] for label in others), (
                f"{item} was detectable but missed: gold {gold[item]}, other judgments {others}")
        assert len(missed) <= 0.05 * len(p["item_ids"]), f"{p['labeler_id']}: {len(missed)} missed"
    found = {f["failure_mode"] for f in doc["findings"] if f["kind"] == "poisoned_items"}
    assert {p["failure_mode"] for p in entries if p["failure_mode"]} <= found


def test_planted_coverage_drift_is_found(demo):
    truth, doc, _ = demo
    found = {f["failure_mode"] for f in doc["findings"] if f["kind"] == "coverage_drift"}
    for p in planted(truth, "coverage_drift"):
        assert p["failure_mode"] in found, p


def test_the_seed_story_eval_inflation_is_found(demo):
    truth, doc, _ = demo
    for p in planted(truth, "eval_score_inflation"):
        (f,) = [f for f in doc["findings"] if f["kind"] == "eval_score_inflation"
                and f["failure_mode"] == p["failure_mode"]]
        assert f["effect"] > 0 and f["ci_low"] > 0, "the eval flatters the latest release"
        versions = f["details"]["by_model_version"]
        first, last = min(versions), max(versions)
        # the trend the team believed rises; the audited trend falls
        assert versions[last]["current"] > versions[first]["current"]
        assert versions[last]["audited"] < versions[first]["audited"]


def _sections(text: str) -> dict[str, str]:
    """docs/outputs.md by heading (``## x`` and ``### x``), each section's text up to the next heading."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _named(text: str) -> set[str]:
    return set(re.findall(r"`([a-z_][a-z0-9_.]*)`", text))


def _contract_rows(section: str) -> set[str]:
    """The names in the first cell of a section's table rows (``| `a`, `b` | meaning |``)."""
    return {n for row in re.findall(r"^\| ([^|]+) \|", section, flags=re.M) for n in _named(row)}


def test_every_output_file_key_and_column_is_documented(root):
    """docs/outputs.md is the outputs contract: what the demo run writes is all named there, and every contract
    column it lists is really written."""
    from evalaudit import findings

    out = root / "out"
    text = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    sec = _sections(text)
    files = _named(text.split("\n## ", 1)[0])  # the page's opening table of files
    assert {p.name for p in out.iterdir()} <= files, {p.name for p in out.iterdir()} - files
    doc = json.loads((out / "findings.json").read_text())
    assert all(f'"{key}"' in sec["findings.json"] for key in doc), list(doc)
    assert {k for f in doc["findings"] for k in f} <= _contract_rows(sec["A finding"])
    assert set(findings.KINDS) <= _named(sec["A finding"])
    summary = _contract_rows(sec["The summary"])
    assert set(doc["summary"]) <= summary, set(doc["summary"]) - summary
    further = {row.split("|")[1].strip(" `"): row for row in sec["Further tables"].splitlines() if row.startswith("|")}
    for path in sorted(out.glob("*.parquet")):
        columns = set(pq.read_schema(path).names)
        if path.name in sec:  # a contract table: its own section, the contract columns first
            contract = _contract_rows(sec[path.name])
            assert contract <= columns, f"{path.name} lacks contract columns {contract - columns}"
            assert columns <= _named(sec[path.name]), f"{path.name}: undocumented {columns - _named(sec[path.name])}"
        else:
            assert path.name in further, f"{path.name} is not in docs/outputs.md"
            named = _named(further[path.name])
            assert columns <= named, f"{path.name}: undocumented {columns - named}"
