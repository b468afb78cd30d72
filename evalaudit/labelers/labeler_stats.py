"""The ``labeler_stats`` table (docs/outputs.md): one row per labeler × failure mode plus an 'all' row per labeler —
their profile and concentration shares, Dawid–Skene sensitivity and specificity, spam score and signals, the worst
severity of their findings, whether the one rule of :func:`evalaudit.gold.flagged_labelers` flags them, and their
honeypot error rates. Assembled by the labelers stage from what its methods returned.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalaudit.findings import Finding, severity_rank
from evalaudit.gold import flagged_labelers, is_flagged
from evalaudit.labelers import honeypot
from evalaudit.labelers.evidence import num
from evalaudit.labelers.judgments import bincount


def dawid_skene_rates(ds, J, lab_names: np.ndarray, fm_names: np.ndarray) -> pa.Table:
    """Per worker (labeler × failure mode): the binary Dawid–Skene fit's sensitivity, specificity and class
    prior, and the judgments; NaN rates when no binary model was fitted (``ds`` None)."""
    n_all = bincount(J.worker, minlength=J.n_workers).astype(float)
    if ds is not None:
        return pa.table({
            "labeler_id": pa.array(lab_names[J.worker_labeler], pa.string()),
            "failure_mode": pa.array(fm_names[J.worker_fm], pa.string()),
            "sensitivity": ds.sensitivity, "specificity": ds.specificity, "prior": ds.prior[J.worker_fm],
            "n": n_all.astype(np.int64),
        })
    nan = np.full(J.n_workers, np.nan)
    return pa.table({
        "labeler_id": pa.array(lab_names[J.worker_labeler], pa.string()),
        "failure_mode": pa.array(fm_names[J.worker_fm], pa.string()),
        "sensitivity": nan, "specificity": nan, "prior": nan, "n": n_all.astype(np.int64),
    })


def labeler_stats(stats_t: pa.Table, ds_workers: pa.Table, spam_facts: dict, findings: list[Finding]) -> pa.Table:
    """One row per labeler × failure mode plus an 'all' row per labeler (DS rates weighted by judgments)."""
    w = ds_workers
    n = num(w, "n")
    overall_ds = (
        pa.table({"labeler_id": w["labeler_id"], "sw": n * num(w, "sensitivity"), "tw": n * num(w, "specificity"),
                  "n": n})
        .group_by("labeler_id").aggregate([("sw", "sum"), ("tw", "sum"), ("n", "sum")])
    )
    overall_ds = pa.table({
        "labeler_id": overall_ds["labeler_id"],
        "failure_mode": pa.array(["all"] * overall_ds.num_rows, pa.string()),
        "ds_sensitivity": pc.divide(overall_ds["sw_sum"], overall_ds["n_sum"]),
        "ds_specificity": pc.divide(overall_ds["tw_sum"], overall_ds["n_sum"]),
    })
    per_fm = w.select(["labeler_id", "failure_mode", "sensitivity", "specificity"]).rename_columns(
        ["labeler_id", "failure_mode", "ds_sensitivity", "ds_specificity"])
    ds_all = pa.concat_tables([per_fm, overall_ds])
    out = stats_t.join(ds_all, ["labeler_id", "failure_mode"], join_type="left outer")
    sens, spec = num(out, "ds_sensitivity"), num(out, "ds_specificity")
    worst: dict[tuple[str, str], str] = {}
    for f in findings:
        if f.labeler_id is None or f.kind == "labeler_collusion":
            continue
        for key in ((f.labeler_id, f.failure_mode or "all"), (f.labeler_id, "all")):
            if key not in worst or severity_rank(f.severity) > severity_rank(worst[key]):
                worst[key] = f.severity
    labs = out["labeler_id"].to_pylist()
    fms = out["failure_mode"].to_pylist()
    sev = [worst.get((lab, fm)) for lab, fm in zip(labs, fms, strict=True)]
    flagged = flagged_labelers(findings)  # the one rule (evalaudit.gold): which pairs the audited gold sets aside
    signals = [(", ".join(spam_facts.get(lab, {}).get("signals", [])) or None) if fm == "all" else None
               for lab, fm in zip(labs, fms, strict=True)]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = num(out, "n_positive") / num(out, "n_judgments")
    for name, arr, typ in (("spam_score", 1 - np.abs(sens + spec - 1), pa.float64()),
                           ("spam_signals", signals, pa.string()), ("max_severity", sev, pa.string()),
                           ("flagged", is_flagged(flagged, labs, fms), pa.bool_()),
                           ("positive_rate", rate, pa.float64())):
        out = out.append_column(name, pa.array(arr, typ))
    return out.sort_by([("labeler_id", "ascending"), ("failure_mode", "ascending")])


def with_honeypot_rates(stats_t: pa.Table, hp: pa.Table | None) -> pa.Table:
    """Add honeypots judged, false-pass rate (positive on a truly negative honeypot) and false-fail rate, per
    labeler × failure mode and per labeler ('all')."""
    cols = ["n", "b", "c", "n_truth_neg", "n_truth_pos"]
    if hp is None or hp.num_rows == 0:
        empty = pa.nulls(stats_t.num_rows, pa.float64())
        return (stats_t.append_column("honeypots", pa.nulls(stats_t.num_rows, pa.int64()))
                .append_column("false_pass_rate", empty).append_column("false_fail_rate", empty))
    per = hp.select(["labeler_id", "failure_mode", *cols])
    tot = per.group_by("labeler_id").aggregate([(c, "sum") for c in cols]).rename_columns(["labeler_id", *cols])
    tot = tot.append_column("failure_mode", pa.array(["all"] * tot.num_rows, pa.string()))
    both = pa.concat_tables([per, tot.select(per.column_names)], promote_options="permissive")
    rates = honeypot.error_rates(both)
    both = pa.table({"labeler_id": both["labeler_id"], "failure_mode": both["failure_mode"],
                     "honeypots": both["n"].cast(pa.int64()),
                     "false_pass_rate": pa.array(rates["false_pass_rate"], pa.float64(), from_pandas=True),
                     "false_fail_rate": pa.array(rates["false_fail_rate"], pa.float64(), from_pandas=True)})
    out = stats_t.join(both, ["labeler_id", "failure_mode"], join_type="left outer")
    return out.sort_by([("labeler_id", "ascending"), ("failure_mode", "ascending")])
