"""Batch contracts judged against the store's own history, in every label space.

Each store holds a simulated history: labelers l1..l4 judge 400 items (two labelers per item) on two failure modes,
each answering the item's true label with probability 0.85 and a uniformly random label otherwise, plus 40
honeypot items every labeler judged. A batch comes from the same labelers on 160 new items and 20 new honeypots.
The honest batch must pass; each bad batch (random answers, a lenient labeler, a spammer, an old guideline) must
fail the expectation that names its fault; a first batch (empty store) says which relative checks had nothing to
compare with and runs the absolute floors instead.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evalaudit import config as config_mod
from evalaudit.contracts import check_batch
from evalaudit.ingest import ingest_files

from .test_contracts import NOW

SPACES: dict[str, tuple[list[str], str, str]] = {
    # labels, [labels] settings, the shift expectation of the space
    "binary": (["fail", "pass"], "", "positive_rate_shift"),
    "nominal": (["bug", "ok", "refusal", "unsafe"], "", "label_rate_shift"),
    "ordinal": (["1", "2", "3", "4", "5"], 'level = "ordinal"\npositive = "high"\n', "mean_label_shift"),
    "interval": ([str(v) for v in range(-100, 101, 10)], 'level = "interval"\npositive = "high"\n',
                 "mean_label_shift"),
}
LABELERS = ("l1", "l2", "l3", "l4")
FIELDS = ["item_id", "labeler_id", "label", "failure_mode", "labeled_at", "guideline_version"]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    return path


def _answer(rng: np.random.Generator, truth: int, q: int, accuracy: float = 0.85) -> int:
    return truth if rng.random() < accuracy else int(rng.integers(q))


def simulate(labels: list[str], prefix: str, n_items: int, n_honeypots: int, when: str, seed: int,
             answer: Any = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows (two labelers per item, every labeler on every honeypot) and the honeypots' answers. ``answer(rng,
    labeler, truth, q)`` replaces the honest answer (bad batches)."""
    rng = np.random.default_rng(seed)  # items: truth and who judges them (the same whatever the answers)
    noise = np.random.default_rng(seed + 1000)  # answers
    q = len(labels)
    answer = answer or (lambda r, lab, truth, q_: _answer(r, truth, q_))
    rows, honeypots = [], {}
    for i in range(n_items + n_honeypots):
        hp = i >= n_items
        item = f"{prefix}{'hp' if hp else 'it'}{i:04d}"
        truth = int(rng.integers(q))
        who = LABELERS if hp else rng.choice(LABELERS, 2, replace=False)
        if hp:
            honeypots[item] = labels[truth]
        for lab in who:
            rows.append({"item_id": item, "labeler_id": str(lab), "label": labels[answer(noise, str(lab), truth, q)],
                         "failure_mode": "safety" if i % 2 else "tone",
                         "labeled_at": f"{when}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z", "guideline_version": "v2"})
    return rows, honeypots


@pytest.fixture(scope="module", params=list(SPACES))
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    space = request.param
    labels, settings, shift = SPACES[space]
    root = tmp_path_factory.mktemp(f"history_{space}")
    store = root / "store"
    history, hp_history = simulate(labels, "old-", 400, 40, "2024-03", seed=1)
    ingest_files(store, [_write(root / "history.csv", history)])
    _, hp_batch = simulate(labels, "new-", 160, 20, "2024-07", seed=2)
    answers = {**hp_history, **hp_batch}
    ingest_files(store, [_write(root / "items.csv", [{"item_id": k, "honeypot_label": v}
                                                     for k, v in answers.items()])], table="items")
    cfg = root / "evalaudit.toml"
    cfg.write_text(f"[labels]\n{settings}", encoding="utf-8")
    return {"space": space, "labels": labels, "store": store, "root": root, "config": cfg, "shift": shift}


def check(world: dict[str, Any], name: str, answer: Any = None, store: Path | None = None,
          edit: Any = None) -> Any:
    rows, _ = simulate(world["labels"], "new-", 160, 20, "2024-07", seed=2, answer=answer)
    if edit:
        rows = [edit(r) for r in rows]
    path = _write(world["root"] / f"{name}.csv", rows)
    return check_batch(path, store or world["store"], config_mod.load(world["config"]), now=NOW)


def names(result: Any) -> dict[str, Any]:
    return {r.expectation: r for r in result.results}


def test_honest_batch_passes_and_shows_batch_beside_history(world: dict[str, Any]) -> None:
    result = check(world, "honest")
    assert result.passed, result.to_text()
    got = names(result)
    for expectation in ("agreement_vs_history", "honeypot_vs_history", world["shift"]):
        assert got[expectation].status == "passed", (expectation, got[expectation].note)
    d = got["agreement_vs_history"].details[0]
    assert d["n_items_batch"] == 160 + 20 and d["n_items_history"] == 440
    assert d["batch_ci_low"] < d["alpha_batch"] < d["batch_ci_high"]
    assert d["history_ci_low"] < d["alpha_history"] < d["history_ci_high"]
    assert {r["reference"] for r in got["honeypot_vs_history"].details} == {"own history", "peers' history"}
    # the floors did not run (there is history), and the result says why
    assert got["agreement_alpha"].status == "skipped" and "absolute_floors" in got["agreement_alpha"].note


def test_batch_gate_shows_every_relative_check_beside_the_history(world: dict[str, Any]) -> None:
    """The batch-gate notebook's table (nb.beside_history) has a row per relative comparison of the check — the
    agreement, each honeypot comparison, each labeler's shift — with the check's own verdict, and both sides'
    value, interval and n."""
    from evalaudit.notebooks import beside_history

    result = check(world, "lenient_gate", answer=lambda r, lab, truth, q: (q - 1 if lab == "l1" and r.random() < 0.6
                                                                         else _answer(r, truth, q)))
    got = names(result)
    table = beside_history(result).to_pylist()
    per_check = {c: [row for row in table if row["check"] == c]
                 for c in ("agreement_vs_history", "honeypot_vs_history", world["shift"])}
    assert len(per_check["agreement_vs_history"]) == 1
    assert len(per_check["honeypot_vs_history"]) == len(got["honeypot_vs_history"].details) > 0
    assert len(per_check[world["shift"]]) == len(got[world["shift"]].details) > 0
    for name, rows in per_check.items():
        assert {row["status"] for row in rows} == {got[name].status}  # the verdict `evalaudit check` prints
        for row in rows:
            assert row["batch"] is not None and row["history"] is not None
            assert row["batch_interval"].startswith("[") and row["history_interval"].startswith("[")
            assert row["n_batch"] > 0 and row["n_history"] > 0
    assert any(row["who"].startswith("l1 · ") and row["status"] == "failed" for row in per_check[world["shift"]])


def test_labelers_answering_at_random_fail(world: dict[str, Any]) -> None:
    result = check(world, "random", answer=lambda r, lab, truth, q: int(r.integers(q)))
    got = names(result)
    assert got["agreement_vs_history"].status == "failed", got["agreement_vs_history"].note
    assert got["agreement_vs_history"].details[0]["alpha_batch"] < 0.2


def test_lenient_labeler_fails_the_shift_naming_them(world: dict[str, Any]) -> None:
    labels = world["labels"]
    if world["space"] in ("ordinal", "interval"):
        def answer(r: np.random.Generator, lab: str, truth: int, q: int) -> int:
            honest = _answer(r, truth, q)
            return min(q - 1, honest + max(2, q // 4)) if lab == "l1" else honest
    else:
        favoured = labels.index("pass") if "pass" in labels else 0

        def answer(r: np.random.Generator, lab: str, truth: int, q: int) -> int:
            return favoured if lab == "l1" and r.random() < 0.6 else _answer(r, truth, q)
    result = check(world, "lenient", answer=answer)
    r = names(result)[world["shift"]]
    assert r.status == "failed", r.note
    assert {e["labeler_id"] for e in r.examples} == {"l1"}
    assert {e["reference"] for e in r.examples} == {"own history"}
    # batch value and history value, each with its interval and sample size, and the interval of the shift
    kind = "mean" if world["space"] in ("ordinal", "interval") else "rate"
    ex = r.examples[0]
    for key in (f"{kind}_batch", f"batch_{kind}_ci_low", f"batch_{kind}_ci_high", "n_batch", f"{kind}_reference",
                f"reference_{kind}_ci_low", f"reference_{kind}_ci_high", "n_reference", "ci_low", "ci_high"):
        assert key in ex, key
    assert ex[f"batch_{kind}_ci_low"] < ex[f"{kind}_batch"] < ex[f"batch_{kind}_ci_high"]


@pytest.mark.parametrize("world", ["binary"], indirect=True)  # the honeypot check does not depend on the space
def test_spammer_fails_honeypots_against_history(world: dict[str, Any]) -> None:
    result = check(world, "spam", answer=lambda r, lab, truth, q: 0 if lab == "l2" else _answer(r, truth, q))
    r = names(result)["honeypot_vs_history"]
    assert r.status == "failed"
    assert {e["labeler_id"] for e in r.examples} == {"l2"}
    ex = r.examples[0]
    for key in ("accuracy_batch", "batch_ci_low", "batch_ci_high", "n_batch", "accuracy_reference",
                "reference_ci_low", "reference_ci_high", "n_reference", "q_value"):
        assert key in ex, key
    assert ex["accuracy_batch"] < 0.7 < ex["accuracy_reference"]
    assert names(result)["positive_rate_shift"].status == "failed"


@pytest.mark.parametrize("world", ["binary"], indirect=True)  # the guideline check does not depend on the space
def test_batch_under_an_old_guideline_fails(world: dict[str, Any]) -> None:
    result = check(world, "old_guideline", edit=lambda r: {**r, "guideline_version": "v1"})
    r = names(result)["guideline_current"]
    # no [gold] current_guideline configured: the store's most recent guideline is the current one
    assert r.status == "failed" and "'v2'" in r.description and r.unexpected_count == result.n_rows


@pytest.mark.parametrize("world", ["binary", "ordinal"], indirect=True)
def test_first_batch_runs_the_floors_and_says_what_it_could_not_compare(world: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    _, answers = simulate(world["labels"], "new-", 160, 20, "2024-07", seed=2)
    ingest_files(empty, [_write(tmp_path / "items.csv", [{"item_id": k, "honeypot_label": v}
                                                         for k, v in answers.items()])], table="items")
    result = check(world, "first", store=empty)
    got = names(result)
    for relative in ("agreement_vs_history", "honeypot_vs_history", world["shift"]):
        assert got[relative].status == "skipped" and "nothing to compare with" in got[relative].note, relative
    # the absolute floors ran instead
    assert got["agreement_alpha"].status != "skipped", got["agreement_alpha"].note
    assert got["honeypot_accuracy"].status != "skipped", got["honeypot_accuracy"].note
    assert "skip" in result.to_text() and "nothing to compare with" in result.to_text()


def test_issue_example_honest_batch_alpha_059_on_67_items_against_064_passes(tmp_path: Path) -> None:
    """The honest batch of the issue: alpha 0.59 on 67 overlapping items of a 400-row batch, against a history that
    has always agreed at 0.64 (95% interval about 0.61–0.67), fails an absolute 0.667 floor but must pass."""
    pairs = (("l1", "l2"), ("l2", "l3"), ("l1", "l3"))

    def two_judgments(item: str, k: int, disagree: bool, month: str) -> list[dict[str, Any]]:
        truth = "pass" if k % 2 == 0 else "fail"
        other = truth if not disagree else ("fail" if truth == "pass" else "pass")
        return [{"item_id": item, "labeler_id": lab, "label": label, "failure_mode": "safety",
                 "labeled_at": f"{month}-{1 + k % 28:02d}T00:00:00Z", "guideline_version": "v2"}
                for lab, label in zip(pairs[k % 3], (truth, other), strict=True)]

    # history: 2,400 items, two labelers each, 432 disagreements (18%), pass and fail balanced:
    # alpha = 1 - (2n - 1) d / n² = 1 - 4799 * 432 / 2400² = 0.6401
    history = [row for i in range(2400) for row in two_judgments(f"o{i:04d}", i, i % 50 < 9, "2024-03")]
    ingest_files(tmp_path / "store", [_write(tmp_path / "history.csv", history)])
    # the batch: 67 items judged twice, 14 of them with a disagreement (alpha 0.585), and 266 judged once
    batch = [row for i in range(67) for row in two_judgments(f"n{i:03d}", i, i < 14, "2024-07")]
    batch += [{"item_id": f"s{i:03d}", "labeler_id": LABELERS[i % 3], "label": "pass" if i % 2 else "fail",
               "failure_mode": "safety", "labeled_at": "2024-07-20T00:00:00Z", "guideline_version": "v2"}
              for i in range(266)]
    assert len(batch) == 400
    path = _write(tmp_path / "batch.csv", batch)
    result = check_batch(path, tmp_path / "store", None, now=NOW)
    assert result.passed, result.to_text()
    d = names(result)["agreement_vs_history"].details[0]
    assert d["n_items_batch"] == 67 and d["alpha_batch"] == pytest.approx(1 - 133 * 28 / (2 * 68 * 66))
    assert d["alpha_history"] == pytest.approx(1 - 4799 * 432 / 2400**2, abs=5e-4)  # marginals nearly balanced
    assert d["history_ci_low"] == pytest.approx(0.61, abs=0.015) and d["history_ci_high"] == pytest.approx(0.67,
                                                                                                         abs=0.015)
    # the same batch under the absolute floor fails, as it did before the check became relative
    strict = config_mod.Config()
    strict.contracts.absolute_floors = "always"
    floor = {r.expectation: r for r in check_batch(path, tmp_path / "store", strict, now=NOW).results}
    assert floor["agreement_alpha"].status == "failed" and floor["agreement_vs_history"].status == "passed"
