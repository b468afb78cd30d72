"""The label space through the real command line (docs/labelers.md, "Label spaces"): what `summary.labels` says for each
kind of label space, a configured `positive` that is not among the labels, and `relabel` on the same label space as
`run`."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d evalaudit ")


def one_sentence(stderr: str) -> str:
    """The one error sentence on stderr, beside the run's progress log lines (timestamped); never a traceback."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1, stderr
    return lines[0]


def write_labels(path: Path, labels: list[str], n_items: int = 40, seed: int = 0, timed: bool = True) -> Path:
    """Five labelers on every item: four near the item's true label, one at random."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "labeler_id", "label", "failure_mode"] + (["labeled_at"] if timed else []))
        for i in range(n_items):
            truth = int(rng.integers(0, len(labels)))
            for j in range(5):
                k = int(rng.integers(0, len(labels))) if j == 4 or rng.random() < 0.1 else truth
                row = [f"i{i}", f"w{j}", labels[k], "fm" + str(i % 2)]
                if timed:
                    row.append(f"2026-0{1 + i % 3}-{1 + (i * 7 + j) % 27:02d}T10:00:00Z")
                w.writerow(row)
    return path


CASES = {
    "pass/fail": (["fail", "pass"], None,
                  {"space": "binary", "values": ["fail", "pass"], "n_values": 2, "positive": "pass",
                   "positive_source": "inferred"}),
    "0/1": (["0", "1"], None,
            {"space": "binary", "values": ["0", "1"], "n_values": 2, "positive": None, "positive_source": None}),
    "nominal": (["cat", "dog", "fish", "owl"], None,
                {"space": "nominal", "values": ["cat", "dog", "fish", "owl"], "n_values": 4, "positive": None,
                 "positive_source": None}),
    "ordinal": (["low", "mid", "high"],
                '[labels]\nlevel = "ordinal"\norder = ["low", "mid", "high"]\npositive = "high"\n',
                {"space": "ordinal", "values": ["low", "mid", "high"], "n_values": 3, "positive": "high",
                 "positive_source": "config"}),
    "numeric": ([str(v) for v in range(-100, 101, 5)], '[labels]\nlevel = "interval"\n',
                {"space": "interval", "values": [str(v) for v in range(-100, 101, 5)], "n_values": 41,
                 "positive": None, "positive_source": None}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_summary_labels_matches_the_spec(cli, tmp_path: Path, case: str) -> None:
    labels, config, expected = CASES[case]
    src = write_labels(tmp_path / "labels.csv", labels)
    store, out = tmp_path / "store", tmp_path / "out"
    code, _, err = cli("ingest", src, "--store", store)
    assert code == 0, err
    args = ["run", "--store", store, "--out", out, "--fail-on", "never"]
    if config:
        (tmp_path / "evalaudit.toml").write_text(config)
        args += ["--config", tmp_path / "evalaudit.toml"]
    code, _, err = cli(*args)
    assert code == 0, err
    summary = json.loads((out / "findings.json").read_text())["summary"]
    with open(src, encoding="utf-8") as f:
        used = {r["label"] for r in csv.DictReader(f)}
    values = [v for v in expected["values"] if v in used]
    present = {**{k: v for k, v in expected.items() if k != "values"}, "n_values": len(values)}
    assert {k: summary["labels"][k] for k in present} == present
    assert summary["labels"]["values"] == values


@pytest.mark.parametrize("config", ['[labels]\npositive = "yes"\n',
                                    '[labels]\nlevel = "ordinal"\norder = ["low", "mid", "high"]\npositive = "best"\n'])
def test_a_positive_label_not_among_the_labels_exits_2_listing_them(cli, tmp_path: Path, config: str) -> None:
    ordinal = "ordinal" in config
    src = write_labels(tmp_path / "labels.csv", ["low", "mid", "high"] if ordinal else ["0", "1"], n_items=10)
    store, out = tmp_path / "store", tmp_path / "out"
    assert cli("ingest", src, "--store", store)[0] == 0
    (tmp_path / "evalaudit.toml").write_text(config)
    for args in (["run", "--store", store, "--out", out], ["relabel", "--store", store, "--out", out / "q.csv"]):
        code, _, err = cli(*args, "--config", tmp_path / "evalaudit.toml")
        line = one_sentence(err)
        assert code == 2, err
        assert ("'low', 'mid', 'high'" if ordinal else "'0', '1'") in line
        assert ("'best'" if ordinal else "'yes'") in line
        assert not out.exists()  # a failed command leaves nothing behind


@pytest.mark.slow
def test_relabel_uses_the_same_label_space_as_run(cli, tmp_path: Path) -> None:
    """0/1 labels without a config: `relabel` ranks with the poison scores `run` writes (the same ctx.labels
    path), and they are not one constant."""
    src = write_labels(tmp_path / "labels.csv", ["0", "1"], n_items=60, seed=4)
    store, out = tmp_path / "store", tmp_path / "out"
    assert cli("ingest", src, "--store", store)[0] == 0
    code, _, err = cli("run", "--store", store, "--out", out, "--fail-on", "never")
    assert code == 0, err
    code, _, err = cli("relabel", "--store", store, "--out", tmp_path / "q.csv")
    assert code == 0, err
    items = pq.read_table(out / "items.parquet").to_pylist()
    run_scores = {r["item_id"]: r["poison_score"] for r in items}
    with open(tmp_path / "q.csv", encoding="utf-8") as f:
        queued = {r["item_id"]: float(r["poison_score"]) for r in csv.DictReader(f)}
    assert queued and all(queued[k] == pytest.approx(run_scores[k], abs=1e-12) for k in queued)
