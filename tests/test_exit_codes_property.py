"""Exit 3 only for evalaudit's own bugs (docs/cli.md: exit codes): random label spaces, sizes and missing optional
columns through the real `evalaudit ingest` and `evalaudit run` (in process, click's runner) end in exit 0, 1 or 2, with
one sentence on stderr when 2 - never exit 3, never a traceback."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalaudit.cli import main

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d evalaudit ")
OPTIONAL = ("failure_mode", "batch_id", "vendor", "guideline_version", "duration_s")


@st.composite
def histories(draw: st.DrawFn, timed: bool | None = None) -> dict:
    kind = draw(st.sampled_from(["words", "01", "12", "nominal", "ordinal", "numeric", "many"]))
    q = {"words": 2, "01": 2, "12": 2, "nominal": draw(st.integers(3, 6)), "ordinal": draw(st.integers(3, 5)),
         "numeric": draw(st.integers(3, 12)), "many": draw(st.integers(40, 120))}[kind]
    labels = {"words": ["fail", "pass"], "01": ["0", "1"], "12": ["1", "2"]}.get(kind) or (
        [f"c{k}" for k in range(q)] if kind in ("nominal", "ordinal") else [str(v) for v in range(-q, q, 2)])
    config = ""
    if kind == "ordinal":
        config = f'[labels]\nlevel = "ordinal"\norder = {labels!r}\n'.replace("'", '"')
    elif kind in ("numeric", "many"):
        config = f'[labels]\nlevel = "{draw(st.sampled_from(["interval", "ordinal", "nominal"]))}"\n'
    if kind in ("ordinal", "numeric", "many") and draw(st.booleans()):
        config += f'positive = "{draw(st.sampled_from(["high", "low"]))}"\n'
    return {
        "labels": labels, "config": config,
        "n_items": draw(st.integers(1, 30)), "n_labelers": draw(st.integers(1, 6)),
        "coverage": draw(st.floats(0.3, 1.0)), "repeats": draw(st.booleans()),
        "timed": draw(st.booleans()) if timed is None else timed,
        "optional": draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=len(OPTIONAL))),
        "seed": draw(st.integers(0, 2**16)),
    }


def write(case: dict, path: Path) -> None:
    rng = np.random.default_rng(case["seed"])
    header = ["item_id", "labeler_id", "label", *case["optional"]] + (["labeled_at"] if case["timed"] else [])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(case["n_items"]):
            truth = int(rng.integers(0, len(case["labels"])))
            for j in range(case["n_labelers"]):
                if rng.random() > case["coverage"]:
                    continue
                for _ in range(2 if case["repeats"] and rng.random() < 0.2 else 1):
                    k = truth if rng.random() < 0.7 else int(rng.integers(0, len(case["labels"])))
                    extra = {"failure_mode": f"fm{i % 3}", "batch_id": f"b{j % 2}", "vendor": f"v{j % 2}",
                             "guideline_version": "g1", "duration_s": f"{rng.uniform(5, 60):.1f}"}
                    row = [f"i{i}", f"w{j}", case["labels"][k], *(extra[c] for c in case["optional"])]
                    if case["timed"]:
                        row.append(f"2026-0{1 + i % 3}-{1 + int(rng.integers(0, 27)):02d}T0{j % 10}:00:00Z")
                    w.writerow(row)


def check(result, allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    stderr = result.stderr
    assert result.exit_code in allowed, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if result.exit_code == 2:
        lines = [line for line in stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
        assert len(lines) == 1, stderr


def ingest_and_run(case: dict, tmp: Path) -> None:
    runner = CliRunner()
    src, store, out = tmp / "labels.csv", tmp / "store", tmp / "out"
    write(case, src)
    ingested = runner.invoke(main, ["ingest", str(src), "--store", str(store)], catch_exceptions=False)
    check(ingested, (0, 2))
    args = ["run", "--store", str(store), "--out", str(out), "--fail-on", "high"]
    if case["config"]:
        (tmp / "evalaudit.toml").write_text(case["config"])
        args += ["--config", str(tmp / "evalaudit.toml")]
    check(runner.invoke(main, args, catch_exceptions=False))


@pytest.mark.slow
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(histories(timed=True))
def test_random_timed_histories_never_exit_3(tmp_path_factory: pytest.TempPathFactory, case: dict) -> None:
    ingest_and_run(case, tmp_path_factory.mktemp("case"))


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(histories(timed=False))
def test_random_untimed_histories_never_exit_3(tmp_path_factory: pytest.TempPathFactory, case: dict) -> None:
    ingest_and_run(case, tmp_path_factory.mktemp("case"))
