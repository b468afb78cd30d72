"""Finding identity (docs/outputs.md `key`/`change`), summary.md's size and escaping, and the history's finding rows —
without running the stages (the end-to-end runs are in tests/test_changes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from evalaudit import changes, history, summary_md
from evalaudit import findings as fnd
from evalaudit.findings import Finding
from evalaudit.redact import Redactor
from evalaudit.verdict import Action, Verdict

BASE = Finding("labeler_leniency", "high", "Labeler ann@x.org says 'pass' more often than peers.", "overlap",
               labeler_id="ann@x.org", failure_mode="hallucination", effect=0.12, ci_low=0.05, ci_high=0.2,
               p_value=1e-4, q_value=1e-3, n=300, details={"gold_items": 40})

numbers = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@given(effect=numbers, lo=numbers, hi=numbers, q=st.floats(0, 1), n=st.integers(0, 10**7),
       severity=st.sampled_from(fnd.SEVERITIES), gold=st.integers(0, 10**6))
def test_key_ignores_numbers_severity_and_wording(effect, lo, hi, q, n, severity, gold):
    other = replace(BASE, effect=effect, ci_low=lo, ci_high=hi, q_value=q, n=n, severity=severity,
                    message=f"reworded {effect}", evidence="honeypot", details={"gold_items": gold})
    assert fnd.finding_key(other) == fnd.finding_key(BASE)


def test_key_changes_with_what_the_problem_is():
    keys = {fnd.finding_key(f) for f in (
        BASE,
        replace(BASE, labeler_id="bob"),
        replace(BASE, failure_mode="code_correctness"),
        replace(BASE, kind="labeler_severity"),
        replace(BASE, details={"label": "refuse"}),
        Finding("coverage_drift", "high", "m", "e", details={"slice_column": "language", "value": "de"}),
        Finding("coverage_drift", "high", "m", "e", details={"slice_column": "language", "value": "fr"}),
        Finding("coverage_drift", "high", "m", "e", details={"slice_column": "language"}),
        Finding("stale_items", "medium", "m", "e", details={"reason": "too_old"}),
        Finding("stale_items", "medium", "m", "e", details={"reason": "superseded_guideline"}),
    )}
    assert len(keys) == 10
    assert fnd.finding_key(BASE).startswith("labeler_leniency:")


def test_attributions_that_follow_the_data_stay_out_of_the_key():
    one = Finding("poisoned_items", "medium", "m", "e", labeler_id="crowdly-151", failure_mode="refusal")
    two = replace(one, labeler_id=None)  # a second flagged labeler appeared: no single attribution any more
    assert fnd.finding_key(one) == fnd.finding_key(two)
    assert fnd.finding_key(one) != fnd.finding_key(replace(one, failure_mode="tool_use"))
    stale = Finding("stale_items", "high", "m", "e", failure_mode="refusal", details={"reason": "too_old"})
    assert fnd.finding_key(stale) == fnd.finding_key(replace(stale, failure_mode=None))


def test_duplicate_identities_get_distinct_keys_in_severity_order():
    low, high = replace(BASE, severity="low"), replace(BASE, severity="high")
    fnd.assign_keys([low, high])
    assert high.key == fnd.finding_key(BASE) and low.key == high.key + "#2"


def test_redacted_keys_are_stable_under_one_secret_and_hash_no_real_id():
    def keys(salt: bytes) -> list[str]:
        red = Redactor(salt, ["ann@x.org", "bob"])
        found = [red.finding(f) for f in (BASE, replace(BASE, labeler_id="bob", message="Labeler bob ..."))]
        return [f.key for f in fnd.assign_keys(found)]

    plain = [f.key for f in fnd.assign_keys([replace(BASE), replace(BASE, labeler_id="bob")])]
    assert keys(b"secret-1") == keys(b"secret-1")
    assert keys(b"secret-1") != keys(b"secret-2")
    assert not set(keys(b"secret-1")) & set(plain)  # the key of a redacted run is not the real id's key


def _history_with(found: list[Finding], run_at: datetime, run_id: str) -> pa.Table:
    fnd.assign_keys(found)
    fnd.mark_changes(found, None)
    doc = fnd.document(found, {})
    return history.rows_for_run("nightly", run_id, run_at, doc, {})


def test_changes_against_the_previous_run_in_the_history():
    t1 = datetime(2026, 11, 28, 3, tzinfo=UTC)
    gone = Finding("stale_items", "medium", "12 gold items are stale.", "census", details={"reason": "too_old"})
    past = pa.concat_tables([
        _history_with([replace(BASE, effect=0.5), replace(gone)], datetime(2026, 11, 27, 3, tzinfo=UTC), "r0"),
        _history_with([replace(BASE, effect=0.10), gone], t1, "r1"),
    ])
    prev = changes.previous_run(past)
    assert prev is not None and prev.run_id == "r1" and prev.keyed
    added = Finding("labeler_spam", "high", "Labeler zed looks like spam.", "kappa", labeler_id="zed")
    now = fnd.assign_keys([replace(BASE, effect=0.15), added])
    changes.mark(now, prev)
    assert [f.change for f in now] == ["persisting", "new"]
    ch = changes.summarize(now, prev)
    assert ch["previous_run"] == {"run_id": "r1", "run_at": t1.isoformat()}
    assert [e["key"] for e in ch["new"]] == [added.key]
    assert ch["resolved"] == [{"key": gone.key, "kind": "stale_items", "severity": "medium",
                               "message": "12 gold items are stale."}]
    assert (ch["n_new"], ch["n_resolved"], ch["n_persisting"]) == (1, 1, 1)
    (moved,) = ch["moved"]  # against the previous run (0.10), not the one before (0.5)
    assert moved["effect_before"] == 0.10 and moved["effect_now"] == 0.15 and abs(moved["delta"] - 0.05) < 1e-12
    assert fnd.exceeds(now, "high", only_new=True)
    assert not fnd.exceeds([f for f in now if f.change == "persisting"], "high", only_new=True)
    assert fnd.exceeds([f for f in now if f.change == "persisting"], "high")


def test_a_first_run_and_a_run_after_an_unkeyed_history_count_everything_as_new(tmp_path):
    now = fnd.assign_keys([replace(BASE)])
    changes.mark(now, None)
    assert now[0].change == "new" and changes.summarize(now, None)["previous_run"] is None
    # a history written before finding keys existed: no key/kind/severity/message columns, no findings_keyed row
    old = _history_with([replace(BASE)], datetime(2026, 11, 1, tzinfo=UTC), "old")
    old = old.filter(pc.not_equal(old["metric"], "finding"))
    old = old.filter(pc.not_equal(old["metric"], "findings_keyed"))
    pq.write_table(old.drop_columns(["key", "kind", "severity", "message"]), tmp_path / "history.parquet")
    past = history.read(tmp_path / "history.parquet", report="nightly")
    assert past.schema == history.SCHEMA and past.num_rows == old.num_rows
    prev = changes.previous_run(past)
    assert prev is not None and not prev.keyed
    changes.mark(now, prev)
    ch = changes.summarize(now, prev)
    assert now[0].change == "new" and not ch["comparable"] and ch["resolved"] == []


def _doc(n: int, message: str) -> dict:
    found = [replace(BASE, labeler_id=f"labeler-{i:05d}", message=message, severity=fnd.SEVERITIES[i % 3])
             for i in range(n)]
    fnd.assign_keys(found)
    fnd.mark_changes(found, {f.key for f in found[: n // 2]})
    resolved = [{"key": f"labeler_leniency:{i:016x}", "kind": "labeler_leniency", "severity": "high",
                 "message": message} for i in range(n)]
    summary = {"changes": {"previous_run": {"run_id": "r", "run_at": "2026-11-28T03:00:00+00:00"},
                           "comparable": True, "new": [], "resolved": resolved, "n_new": n - n // 2,
                           "n_resolved": n, "n_persisting": n // 2, "moved": []}}
    doc = fnd.document(found, summary)
    doc["summary"]["changes"]["new"] = [{k: f[k] for k in ("key", "kind", "severity", "message")}
                                        for f in doc["findings"] if f["change"] == "new"]
    return doc


def test_summary_md_stays_under_3000_characters_whatever_the_size():
    verdict = Verdict("Do not trust the hallucination scores " * 20, ["A long sentence. " * 50] * 10,
                      [Action("Re-label the 500 items " * 30, "evalaudit relabel --store s --out r.csv " * 20)])
    for n in (0, 1, 5, 50, 5000):
        for message in ("short", "x" * 5000):
            text = summary_md.render(_doc(n, message), verdict, "/very/long/path/" * 10 + "index.html")
            assert len(text) < 3000, (n, len(message), len(text))
            assert text.startswith("### evalaudit:")
    small = summary_md.render(_doc(20, "Labeler a is lenient."), Verdict("2 high", [], []), "reports/n/index.html")
    assert "**New**" in small and "**Resolved**" in small and "**Persisting" in small
    assert "`reports/n/index.html`" in small and "… and" in small  # 8 of 20 resolved shown, "and 12 more"


def test_summary_md_escapes_user_strings():
    nasty = "<img src=x onerror=alert(1)> @channel [click](http://evil.example) **bold** `code`"
    text = summary_md.render(_doc(2, nasty), Verdict("x", [], []), "out/index.html")
    assert "<img" not in text and "@channel" not in text and "[click](" not in text and "**bold**" not in text
    assert "&lt;img" in text and "@\u200bchannel" in text
