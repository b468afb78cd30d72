"""Scheduled audits say what changed since the last run (docs/scheduling.md): the demo store, then the same store grown
by a labeling delivery that fixes one planted fault (the eval set gains the multilingual items it lacked) and adds one
(a new labeler who answers at random, in seconds). Real demo store, real ingest, real runs — the first through the
CLI, the second through the cron recipe docs/recipes/evalaudit-nightly.sh, the third through the library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evalaudit import labelers, pipeline
from evalaudit.config import Config
from evalaudit.redact import SALT_ENV
from evalaudit.run import audit
from tests.conftest import ROOT, run_evalaudit

CRON = ROOT / "docs" / "recipes" / "evalaudit-nightly.sh"
SPAMMER = "crowdly-900"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("changes") / "store"
    result = run_evalaudit("demo", "--store", path, "--seed", "7", "--judgments", "20000")
    assert result.returncode == 0, result.stderr
    return path


def _planted(store: Path, kind: str, **match: str) -> dict:
    truth = json.loads((store / "truth.json").read_text())["planted"]
    return next(p for p in truth if p["kind"] == kind and all(p.get(k) == v for k, v in match.items()))


def delivery(store: Path, path: Path) -> Path:
    """A labeling delivery: 1,800 new multilingual items, each judged once by an honest labeler still active (the
    planted coverage gap closes), and a new labeler answering at random in 2-5 s on 250 items others judged."""
    planted_labelers = {p.get("labeler_id") for p in json.loads((store / "truth.json").read_text())["planted"]}
    labels = f"read_parquet('{store}/labels/**/*.parquet', hive_partitioning = true)"
    con = duckdb.connect()
    honest = [r[0] for r in con.sql(f"SELECT labeler_id FROM {labels} GROUP BY 1 "
                                    "HAVING max(labeled_at) > TIMESTAMPTZ '2026-10-01' ORDER BY 1").fetchall()
              if r[0] not in planted_labelers]
    shared = con.sql(f"SELECT item_id, any_value(failure_mode) FROM {labels} WHERE failure_mode IN "
                     "('refusal', 'tool_use', 'math_reasoning') GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1").fetchall()
    rng = np.random.default_rng(1)
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    rows = []
    for i in range(1800):
        lab = honest[rng.integers(len(honest))]
        rows.append({"item_id": f"item-ml-{i:05d}", "labeler_id": lab, "failure_mode": "multilingual",
                     "label": "pass" if rng.random() < 0.81 else "fail", "labeled_at": t0 + timedelta(minutes=5 * i),
                     "batch_id": "2026-W45-multilingual", "guideline_version": "v3",
                     "duration_s": float(rng.uniform(30, 90))})
    for j, k in enumerate(rng.choice(len(shared), 250, replace=False)):
        rows.append({"item_id": shared[k][0], "labeler_id": SPAMMER, "failure_mode": shared[k][1],
                     "label": "pass" if rng.random() < 0.5 else "fail", "labeled_at": t0 + timedelta(minutes=7 * j),
                     "batch_id": "2026-W45-crowdly", "guideline_version": "v3",
                     "duration_s": float(rng.uniform(2, 5))})
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _doc(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


def _key(doc: dict, kind: str, **match) -> str:
    (f,) = [f for f in doc["findings"] if f["kind"] == kind and all(f.get(k) == v for k, v in match.items())]
    return f["key"]


def test_new_persisting_and_resolved_across_a_grown_store(demo, tmp_path):
    store, reports = tmp_path / "store", tmp_path / "reports"
    subprocess.run(["cp", "-r", str(demo), str(store)], check=True)
    out = reports / "nightly"
    lenient = _planted(store, "labeler_leniency")
    coverage = _planted(store, "coverage_drift", failure_mode="multilingual")

    # 1. first run (CLI): every finding is new, so --fail-on-new high fails on the known high findings
    first = run_evalaudit("run", "--store", store, "--out", out, "--fail-on-new", "high", "--quiet")
    assert first.returncode == 1, first.stderr
    d1 = _doc(out)
    assert {f["change"] for f in d1["findings"]} == {"new"}
    keys1 = [f["key"] for f in d1["findings"]]
    assert len(set(keys1)) == len(keys1) and all(k.startswith(f["kind"] + ":")
                                                 for k, f in zip(keys1, d1["findings"], strict=True))
    assert d1["summary"]["changes"]["previous_run"] is None and d1["summary"]["resolved"] == []
    assert "First run recorded" in (out / "summary.md").read_text()
    ml_gap = _key(d1, "coverage_drift", failure_mode=coverage["failure_mode"])
    lenient_key = _key(d1, "labeler_leniency", labeler_id=lenient["labeler_id"],
                       failure_mode=lenient["failure_mode"])

    # 2. same store again, through the cron recipe: every finding persists, nothing new, so exit 0 although high
    #    findings remain (plain --fail-on high would exit 1)
    env = {**os.environ, "STORE": str(store), "REPORTS": str(reports),
           "EVALAUDIT": str(Path(sys.executable).parent / "evalaudit")}
    second = subprocess.run(["sh", str(CRON)], env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr
    d2 = _doc(out)
    assert any(f["severity"] == "high" for f in d2["findings"])
    assert [f["key"] for f in d2["findings"]] == keys1 and {f["change"] for f in d2["findings"]} == {"persisting"}
    ch2 = d2["summary"]["changes"]
    assert (ch2["n_new"], ch2["n_resolved"], ch2["n_persisting"]) == (0, 0, len(keys1)) and ch2["comparable"]
    assert ch2["previous_run"]["run_at"] == d1["generated_at"]

    # 3. the grown store: one fault fixed, one added
    ingest = run_evalaudit("ingest", delivery(store, tmp_path / "delivery.parquet"), "--store", store)
    assert ingest.returncode == 0, ingest.stderr
    third = audit(store, out, Config(), fail_on_new="high")
    d3 = _doc(out)
    ch3 = d3["summary"]["changes"]
    new = {e["key"] for e in ch3["new"]}
    resolved = {r["key"]: r["message"] for r in d3["summary"]["resolved"]}
    persisting = {f["key"] for f in d3["findings"] if f["change"] == "persisting"}
    spam = _key(d3, "labeler_spam", labeler_id=SPAMMER)
    assert spam in new and third.failed  # the added fault is new and high: the scheduled job fails
    assert ml_gap in resolved and "multilingual" in resolved[ml_gap]  # the fixed fault is resolved, with its message
    assert lenient_key in persisting  # the planted lenient labeler is still there, same key, new numbers
    # the three lists partition the two runs' findings
    assert new | persisting == {f["key"] for f in d3["findings"]} and not new & persisting
    assert persisting | set(resolved) == set(keys1) and not persisting & set(resolved)
    assert {f["key"] for f in d3["findings"] if f["change"] == "new"} == new
    assert ch3["n_resolved"] == len(resolved) and [r["key"] for r in ch3["resolved"]] == list(resolved)

    text = (out / "summary.md").read_text()
    assert len(text) < 3000 and "**New**" in text and "**Resolved**" in text and SPAMMER in text
    assert str(out / "index.html") in text
    html = (out / "index.html").read_text()
    trends = html.split('<section id="trends">')[1].split("</section>")[0]
    assert "Each finding across runs" in trends and lenient_key in trends
    assert f'<a href="#trends">{lenient_key}</a>' in html  # the findings table links each key to its history


def test_redacted_runs_keep_keys_under_one_secret_and_change_them_with_another(demo, tmp_path, monkeypatch):
    stages = [("store", pipeline.store_summary), ("labelers", labelers.stage)]
    out = tmp_path / "reports" / "shared"
    monkeypatch.setenv(SALT_ENV, "secret-one")
    audit(demo, out, Config(), fail_on="never", redact_labelers=True, stages=stages)
    first = _doc(out)
    audit(demo, out, Config(), fail_on="never", redact_labelers=True, stages=stages)
    second = _doc(out)
    assert first["findings"] and [f["key"] for f in first["findings"]] == [f["key"] for f in second["findings"]]
    assert {f["change"] for f in second["findings"]} == {"persisting"}
    real = {f.labeler_id for f in audit(demo, tmp_path / "plain", Config(), fail_on="never",
                                           stages=stages, keep_history=False).findings}
    history = pq.read_table(tmp_path / "reports" / "history.parquet")
    stored = json.dumps(history.to_pylist(), default=str) + json.dumps(second)
    assert not any(lab in stored for lab in real if lab)  # neither findings.json nor the history names a labeler
    monkeypatch.setenv(SALT_ENV, "secret-two")
    audit(demo, out, Config(), fail_on="never", redact_labelers=True, stages=stages)
    third = _doc(out)
    assert {f["change"] for f in third["findings"]} == {"new"}
    assert {r["key"] for r in third["summary"]["resolved"]} == {f["key"] for f in second["findings"]}
