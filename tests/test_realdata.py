"""docs/realdata.md: the audit on real public crowdsourcing data with ground truth (tests/fixtures/realdata/README.md).

Each dataset is ingested through the real CLI into a temporary store, exactly as committed (no `labeled_at`: the
sources have none), and audited with its own evalaudit.toml. Then, against the truth (scoring in tests/realdata.py):

- the derived gold is at least as accurate as crowd-kit's Dawid–Skene minus half a point (numeric labels: Pearson r
  with the true score at least that of the per-item mean minus 0.005), an item without gold counting as wrong;
- no worker who agrees with the truth at Cohen's kappa >= 0.6 on >= 30 items is flagged `labeler_spam`;
- every medium/high `labeler_leniency` / `labeler_severity` finding points the way the worker's true bias points
  (one known exception, a strict expected failure: below);
- every medium/high finding that rests on peers alone (overlap evidence only: per-label and ordered-scale rows
  without known answers) is true as stated — the worker's labels differ from the other workers' on the same items
  in the finding's direction.

docs/realdata.md has the table as measured and what was tried for the exception.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests import realdata


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> dict[str, realdata.Audit]:
    """One ingest and one run per dataset, shared by the tests below (lazily, so -k selects cheaply)."""
    cache: dict[str, realdata.Audit] = {}

    def get(name: str) -> realdata.Audit:
        if name not in cache:
            cache[name] = realdata.audit(name, tmp_path_factory.mktemp(name))
        return cache[name]

    return get  # type: ignore[return-value]


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


def _audited(audits, name: str) -> realdata.Audit:
    a = audits(name)
    assert a.ingest.returncode == 0, f"{name}: ingest exit {a.ingest.returncode}: {_last_line(a.ingest.stderr)}"
    assert a.run is not None and a.run.returncode in (0, 1), (
        f"{name}: run exit {a.run.returncode}: {_last_line(a.run.stderr)}")
    return a


def test_fixtures_are_small_and_complete():
    """Every dataset has judgments, truth for every judged item, a reference figure, and stays small."""
    assert len(realdata.DATASETS) >= 5
    kinds = set()
    for name in realdata.DATASETS:
        labels, truth, space, _ = realdata.load(name)
        kinds.add(space.kind)
        assert set(labels["item_id"]) == set(truth.index), name
        assert list(labels.columns) == ["item_id", "labeler_id", "label"], name
        assert name in realdata.REFERENCE["datasets"], name
        for f in (realdata.REALDATA / name).iterdir():
            assert f.stat().st_size < 1_000_000, f
    assert {"binary", "nominal"} <= kinds and kinds & {"ordinal", "interval", "ratio"}


@pytest.mark.parametrize("name", realdata.DATASETS)
def test_gold_at_least_reference(audits, name):
    a = _audited(audits, name)
    score, ref = realdata.gold_score(a), realdata.reference(name)
    assert score >= ref - realdata.TOLERANCE, (
        f"{name}: gold {'Pearson r' if a.space.numeric else 'accuracy'} {score:.4f} < reference {ref:.4f} - 0.005")


@pytest.mark.parametrize("name", realdata.DATASETS)
def test_no_good_worker_flagged_spam(audits, name):
    a = _audited(audits, name)
    flagged = realdata.good_workers_flagged_spam(a)
    assert flagged == [], f"{name}: workers with Cohen's kappa >= 0.6 against the truth flagged spam: {flagged}"


#: the crowd itself is biased here, so a reference built from the labels points the wrong way (docs/realdata.md,
#: "The one finding against the truth"): zheng_face's crowd over-uses 'neutral' (42% of judgments, 25% true) and
#: the fixture has no honeypots; one peer, the leave-one-out consensus, the Dawid–Skene posterior and its class
#: prior (neutral 0.45) all share the lean, and the rules tried (a per-label empirical null, a cap against the
#: model's class prior, Dawid–Skene per-label evidence, agreement with the estimated truth, clear items only) each
#: lose correct findings or keep this one. The finding is true against peers
#: (test_peer_only_findings_hold_against_the_other_labelers). Strict: the day it passes, the marker must go.
CROWD_BIASED = {
    "zheng_face": "the crowd over-uses 'neutral'; no reference built from the labels alone recovers the truth",
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=CROWD_BIASED[n])) if n in CROWD_BIASED else n
    for n in realdata.DATASETS])
def test_leniency_findings_point_the_way_of_true_bias(audits, name):
    a = _audited(audits, name)
    wrong = [c for c in realdata.leniency_checks(a) if not c["agrees"]]
    assert wrong == [], f"{name}: medium/high leniency/severity findings against the true bias: {wrong}"


@pytest.mark.parametrize("name", realdata.DATASETS)
def test_peer_only_findings_hold_against_the_other_labelers(audits, name):
    """A finding whose evidence is peers alone says "more/less often than peers": the labels must show it."""
    a = _audited(audits, name)
    wrong = [c for c in realdata.leniency_checks(a) if c["parts"] == ["overlap"] and not c["agrees_with_peers"]]
    assert wrong == [], f"{name}: peer-only findings the labels do not bear out: {wrong}"


# ---------------------------------------------------------------- the scoring itself, on constructed cases


def _audit_of(rows: list[tuple[str, str, str]], truth: dict[str, str], space: realdata.Space) -> realdata.Audit:
    labels = pd.DataFrame(rows, columns=["item_id", "labeler_id", "label"])
    return realdata.Audit("constructed", None, None, None, None, labels, pd.Series(truth), space)  # type: ignore[arg-type]


def test_gold_accuracy_counts_missing_gold_as_wrong():
    truth = pd.Series({"a": "1", "b": "0", "c": "1", "d": "0"})
    gold = pd.Series({"a": "1", "b": "1", "c": None})  # d absent, c null
    assert realdata.gold_accuracy(gold, truth) == 0.25
    assert math.isnan(realdata.gold_correlation(gold, truth))


def test_kappa_against_truth_nominal_and_quadratic():
    x = pd.Series(["a", "b", "a", "b", "c", "c"])
    assert realdata._kappa(x, x, numeric=False) == pytest.approx(1.0)
    # two raters, 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4 (Cohen 1960)
    a = pd.Series(["y"] * 25 + ["n"] * 25)
    b = pd.Series(["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15)
    assert realdata._kappa(a, b, numeric=False) == pytest.approx(0.4)
    v = pd.Series(["-100", "-50", "0", "50", "100"])
    assert realdata._kappa(v, v, numeric=True) == pytest.approx(1.0)
    assert realdata._kappa(v, v.iloc[::-1].reset_index(drop=True), numeric=True) < 0


def test_true_bias_signs():
    truth = {"i1": "1", "i2": "0", "i3": "0", "i4": "1"}
    rows = [("i1", "w", "1"), ("i2", "w", "1"), ("i3", "w", "0"), ("i4", "w", "1")]
    binary = _audit_of(rows, truth, realdata.Space("nominal", "1", [], 2))
    assert realdata.true_bias(binary, "w", None) == pytest.approx(0.25)  # says "1" on 3 of 4, truth on 2 of 4
    nominal = _audit_of(rows, truth, realdata.Space("nominal", None, [], 3))
    assert realdata.true_bias(nominal, "w", "0") == pytest.approx(-0.25)
    scores = [("i1", "w", "10"), ("i2", "w", "-20")]
    numeric = _audit_of(scores, {"i1": "0", "i2": "0"}, realdata.Space("interval", "high", [], 2))
    assert realdata.true_bias(numeric, "w", None) == pytest.approx(-5.0)
    low = _audit_of(scores, {"i1": "0", "i2": "0"}, realdata.Space("interval", "low", [], 2))
    assert realdata.true_bias(low, "w", None) == pytest.approx(5.0)
    ordinal = _audit_of([("i1", "w", "2"), ("i2", "w", "1")], {"i1": "0", "i2": "1"},
                        realdata.Space("ordinal", "high", ["0", "1", "2"], 3))
    assert realdata.true_bias(ordinal, "w", None) == pytest.approx(1.0)


def test_peer_difference_against_the_other_labelers_of_the_same_items():
    # w says "a" on i1 and i2; the others say a, b on i1 (mean 1/2) and b, b on i2 (0): (1 - 1/2 + 1 - 0) / 2; i3 has
    # nobody else and does not count
    rows = [("i1", "w", "a"), ("i1", "p", "a"), ("i1", "q", "b"), ("i2", "w", "a"), ("i2", "p", "b"),
            ("i2", "q", "b"), ("i3", "w", "b")]
    nominal = _audit_of(rows, {}, realdata.Space("nominal", None, [], 2))
    assert realdata.peer_difference(nominal, "w", "a") == pytest.approx(0.75)
    assert realdata.peer_difference(nominal, "w", "b") == pytest.approx(-0.75)
    scores = [("i1", "w", "10"), ("i1", "p", "0"), ("i1", "q", "-10"), ("i2", "w", "0"), ("i2", "p", "20")]
    low = _audit_of(scores, {}, realdata.Space("interval", "low", [], 5))
    # i1: 10 - mean(0, -10) = 15; i2: 0 - 20 = -20; mean -2.5, and lower is better here: +2.5
    assert realdata.peer_difference(low, "w", None) == pytest.approx(2.5)
