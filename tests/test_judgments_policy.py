"""The one policy for repeated judgments and untimed judgments in the agreement stage (docs/agreement.md,
"Conventions"): real DuckDB, real named queries."""

from __future__ import annotations

import pandas as pd
import pytest

from evalaudit import agreement
from evalaudit.agreement.stage import agreement_table
from evalaudit.config import Config


def _history() -> pd.DataFrame:
    rows = []
    t0 = pd.Timestamp("2026-03-02", tz="UTC")
    for i in range(40):
        for j, lab in enumerate(("a", "b", "c")):
            label = "pass" if (i + (j == 2 and i % 3 == 0)) % 2 else "fail"
            rows.append((f"i{i}", lab, label, t0 + pd.Timedelta(days=i % 14, hours=j)))
    return pd.DataFrame(rows, columns=["item_id", "labeler_id", "label", "labeled_at"])


def test_agreement_counts_each_labelers_latest_judgment_only() -> None:
    base = _history()
    # labeler c re-grades 10 items: an earlier, opposite judgment stays in the table
    earlier = base[base["labeler_id"] == "c"].head(10).copy()
    earlier["label"] = earlier["label"].map({"pass": "fail", "fail": "pass"})
    earlier["labeled_at"] = earlier["labeled_at"] - pd.Timedelta(days=30)
    with_repeats = pd.concat([earlier, base], ignore_index=True)
    # and labeler a judges 5 items twice without any time: the row stored last counts
    untimed = base[base["labeler_id"] == "a"].head(5).copy()
    untimed_first = untimed.assign(labeled_at=pd.NaT, label="pass")
    untimed_last = untimed.assign(labeled_at=pd.NaT, label="fail")
    no_time = pd.concat([base[~base.index.isin(untimed.index)], untimed_first, untimed_last], ignore_index=True)
    expected_no_time = pd.concat([base[~base.index.isin(untimed.index)], untimed_last], ignore_index=True)
    cfg = Config()
    cfg.agreement.bootstrap = 50
    for data, kept, set_aside in ((with_repeats, base, 10), (no_time, expected_no_time, 5)):
        result = agreement_table(data, cfg, seed=1)
        overall = next(r for r in result.tables["agreement"].to_pylist()
                       if r["scope"] == "overall" and r["metric"] == "krippendorff_alpha")
        assert overall["value"] == pytest.approx(agreement.krippendorff_alpha(kept), abs=1e-12)
        assert overall["n_labels"] == len(kept) == len(data) - set_aside
        assert overall["value"] != pytest.approx(agreement.krippendorff_alpha(data), abs=1e-6)


def test_untimed_judgments_leave_the_window_scope_and_say_so() -> None:
    data = _history()
    data.loc[data.index[:30], "labeled_at"] = pd.NaT
    cfg = Config()
    cfg.agreement.bootstrap = 20
    result = agreement_table(data, cfg, seed=1)
    rows = result.tables["agreement"].to_pylist()
    windows = [r for r in rows if r["scope"] == "window" and r["metric"] == "krippendorff_alpha"]
    assert sum(r["n_labels"] for r in windows) == len(data) - 30
    assert [s["analysis"] for s in result.skipped] == ["agreement per time window"]
    assert "30 of 120" in result.skipped[0]["reason"]
    none = agreement_table(data.drop(columns=["labeled_at"]), cfg, seed=1)
    assert not [r for r in none.tables["agreement"].to_pylist() if r["scope"] == "window"]
    assert "no judgment has labeled_at" in none.skipped[0]["reason"]
    assert none.tables["agreement_failure_mode_window"].num_rows == 0


@pytest.mark.slow
def test_a_run_states_how_many_repeated_judgments_were_set_aside(cli, tmp_path) -> None:
    """Through the real CLI: a second export re-grades 12 judgments later; the run counts one judgment per labeler
    and item in agreement, says how many rows it set aside in summary.judgments and summary.skipped."""
    import json

    import pyarrow.parquet as pq

    base = _history()
    first = base.assign(labeled_at=base["labeled_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    again = base[base["labeler_id"] == "b"].head(12)
    again = again.assign(label=again["label"].map({"pass": "fail", "fail": "pass"}),
                         labeled_at=(again["labeled_at"] + pd.Timedelta(days=60)).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    first.to_csv(tmp_path / "first.csv", index=False)
    again.to_csv(tmp_path / "again.csv", index=False)
    store, out = tmp_path / "store", tmp_path / "out"
    assert cli("ingest", tmp_path / "first.csv", tmp_path / "again.csv", "--store", store)[0] == 0
    code, _, err = cli("run", "--store", store, "--out", out, "--fail-on", "never")
    assert code == 0, err
    summary = json.loads((out / "findings.json").read_text())["summary"]
    assert summary["judgments"]["n_rows"] == len(base) + 12
    assert summary["judgments"]["n_repeated_set_aside"] == 12
    assert [s for s in summary["skipped"] if s["analysis"] == "repeated judgments"]
    overall = next(r for r in pq.read_table(out / "agreement.parquet").to_pylist()
               if r["scope"] == "overall" and r["metric"] == "krippendorff_alpha")
    latest = pd.concat([base[~base.index.isin(again.index)], again.assign(labeled_at=pd.NaT)])
    assert overall["n_labels"] == len(base)
    assert overall["value"] == pytest.approx(agreement.krippendorff_alpha(latest), abs=1e-12)


def test_the_repeat_count_is_exact_among_the_key_hash_candidates() -> None:
    """The store stage counts repeats only among rows whose key hash occurs twice (stage.repeated_key_hashes); the
    count there is by the keys themselves, so a hash shared by different keys (here: every key offered as a
    candidate, as if all had collided) changes nothing, and no candidate means no repeat."""
    import numpy as np
    import pyarrow as pa

    from evalaudit.engine import engine_for_tables
    from evalaudit.stage import KEY_CANDIDATES, judgments_view, repeated_key_hashes

    base = _history()
    again = base.iloc[[0, 1, 5, 5, 7]].assign(labeled_at=pd.NaT)  # i1/c three times in all; i0/a, i0/b, i2/b twice
    data = pd.concat([base, again], ignore_index=True)
    eng = engine_for_tables({"labels": pa.Table.from_pandas(data, preserve_index=False)})
    candidates = repeated_key_hashes(eng)
    every = eng.sql("SELECT DISTINCT hash(item_id, labeler_id) AS h FROM labels").column("h").to_numpy()
    assert len(candidates) == 4 and set(candidates) <= set(every)
    assert judgments_view(eng) == {"n_rows": 125, "n_judgments": 120, "n_untimed": 5}
    for offered, n_judgments in ((every, 120), (np.zeros(0, dtype=every.dtype), 125)):
        eng.register(KEY_CANDIDATES, pa.table({"key_hash": offered}))
        row = eng.query("judgments_repeats").to_pylist()[0]
        assert (row["n_rows"], row["n_judgments"], row["n_untimed"]) == (125, n_judgments, 5)
    assert len(repeated_key_hashes(engine_for_tables({"labels": pa.Table.from_pandas(base)}))) == 0
