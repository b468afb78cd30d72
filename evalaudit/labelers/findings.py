"""The labelers stage's findings: titles, evidence text and details written from the statistics' tables.

The method modules (:mod:`~evalaudit.labelers.severity`, :mod:`~evalaudit.labelers.spam`,
:mod:`~evalaudit.labelers.concentration`, :mod:`~evalaudit.labelers.drift`) return arrays, tables and masks and know
nothing of findings or configuration; this module, called by :mod:`evalaudit.labelers.stage`, turns their results
into :class:`~evalaudit.findings.Finding` records (docs/outputs.md): ``labeler_leniency``, ``labeler_severity``,
``labeler_drift``, ``labeler_spam``, ``labeler_collusion`` and ``labeler_concentration``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from evalaudit.config import ConcentrationConfig
from evalaudit.findings import Finding
from evalaudit.labelers import concentration, drift, spam
from evalaudit.labelers.severity import Thresholds, headlines


def _fmt(x: float) -> str:
    return f"{x:+.1%}".replace("%", " pts") if np.isfinite(x) else "n/a"


def leniency_findings(leniency: pa.Table, gold_items: dict[tuple[str, str], int], t: Thresholds,
                      since: dict[tuple[str, str], str] | None = None, positive: str | None = "pass",
                      mode: str = "positive", scale: float = 1.0, space: str = "binary") -> list[Finding]:
    """One labeler_leniency (effect > 0) or labeler_severity (effect < 0) finding per labeler × failure mode that
    :func:`evalaudit.labelers.severity.headlines` grades. In "per_label" mode the finding is ``labeler_leniency``
    when its headline is an over-use of a label (named in the message and in ``details.label``),
    ``labeler_severity`` when it is an under-use."""
    ev_all = np.asarray(leniency["evidence"].to_pylist(), dtype=object)
    has_combined = bool(np.any(ev_all == "combined"))
    p_all = np.asarray(leniency["p_value"].to_numpy(zero_copy_only=False), dtype=float)
    n_tests = int(np.sum(~np.isnan(p_all) & ((ev_all == "combined") if has_combined else True)))
    tests_word = "combined labeler × failure-mode tests" if has_combined else "labeler × failure-mode tests"
    findings = []
    for h in headlines(leniency, gold_items, t, mode=mode, scale=scale):
        key, sev, head, group, gold = h.key, h.severity, h.head, h.group, h.gold_items
        label = head.get("label")
        kind = "labeler_leniency" if head["effect"] > 0 else "labeler_severity"
        word = "more" if head["effect"] > 0 else "less"
        details = {
            "gold_items": gold,
            "labeler_rate": head["labeler_rate"],
            "peer_rate": head["peer_rate"],
            # the headline label's rows only: per-label tables hold one row per kind for every label
            "evidence_kinds": {
                r["evidence"]: {k: r[k] for k in ("effect", "ci_low", "ci_high", "p_value", "q_value", "n")}
                for r in group if r["evidence"] != "combined" and r.get("label") == label
            },
            "evidence_agrees_in_sign": h.agrees_in_sign,
        }
        if since and key in since:
            details["since"] = since[key]
        if label is not None:
            details["label"] = label
        if head["evidence"] == "combined":
            details["combined"] = {k: head[k] for k in ("effect", "ci_low", "ci_high", "p_value", "q_value", "n")}
            details["combined_of"] = (head.get("parts") or "").split(",")
        elif head["evidence"] == "assignment":
            details["assignment_capped"] = ("single-label items only: a labeler handed different items would look "
                                            "the same, so this evidence stays at low severity unless [labelers] "
                                            "assignment = \"random\" is declared and the balance check agrees")
        what = (f"combined ({head.get('parts', '').replace(',', ', ')}) evidence on {head['n']} judgments"
                if head["evidence"] == "combined" else f"{head['evidence']} evidence on {head['n']} items")
        if mode == "shift":
            unit = "category steps" if space == "ordinal" else "points"
            better = {"high": "higher", "low": "lower"}.get(positive or "")
            raw = head["effect"] if positive != "low" else -head["effect"]
            where = (f"toward the better end ({better} is better)" if better else "(no [labels] positive: the "
                     "higher end is taken as the better one)")
            text = (f"Labeler {key[0]} scores {'higher' if raw > 0 else 'lower'} than the other labelers of the "
                    f"same items on {key[1]}: {head['effect']:+.3g} {unit} {where}")
        elif label is not None:
            text = (f"Labeler {key[0]} uses the label {label!r} {word} often than peers on {key[1]} "
                    f"({_fmt(head['effect'])}")
        else:
            text = f"Labeler {key[0]} says {positive!r} {word} often than peers on {key[1]} ({_fmt(head['effect'])}"
        if mode == "shift":
            text += f" ({what}, q = {head['q_value']:.2g})"
        else:
            text += f", {what}, q = {head['q_value']:.2g})"
        if head["evidence"] == "assignment":
            text += " — assignment evidence alone is capped at low severity"
        message = f"{text}; {gold} gold items carry their labels."
        if "honeypot" not in (head.get("parts") or head["evidence"]).split(","):
            # the reference is built from the labels alone: what no statistic here can see is said where it is read
            details["reference"] = "labels_only"
            message += (" No known answers back it: its reference is built from the other labelers' labels, so a "
                        "lean the whole crowd shares would make an accurate labeler look biased the other way "
                        "(honeypots settle it).")
        findings.append(
            Finding(
                kind=kind,
                severity=sev,
                labeler_id=key[0],
                failure_mode=key[1],
                effect=head["effect"],
                ci_low=head["ci_low"],
                ci_high=head["ci_high"],
                p_value=head["p_value"],
                q_value=head["q_value"],
                n=head["n"],
                evidence=f"{head['method']}; BH q-value over {n_tests} {tests_word}",
                message=message,
                details=details,
            )
        )
    return findings


def spam_findings(overall: pa.Table, facts: dict[str, dict]) -> list[Finding]:
    """labeler_spam findings, one per labeler of ``overall`` (the 'all' profile rows) whose
    :func:`evalaudit.labelers.spam.signals` ``facts`` show a signal."""
    out = []
    for r in overall.to_pylist():
        lab = r["labeler_id"]
        info = facts[lab]
        signals = info["signals"]
        if not signals:
            continue
        n = int(r["n_judgments"])
        out.append(Finding(
            kind="labeler_spam", severity=spam.severity(signals, n), labeler_id=lab, failure_mode=None,
            effect=info.get("kappa"), ci_low=None, ci_high=info.get("kappa_upper"), n=n, evidence=spam.SPAM_METHOD,
            message=f"Labeler {lab}'s {n} judgments look like spam: {', '.join(signals)}.",
            details=dict(info),
        ))
    return out


def collusion_findings(pairs: pa.Table, suspect: np.ndarray) -> list[Finding]:
    """labeler_collusion findings for the ``suspect`` rows (:func:`evalaudit.labelers.spam.colluding`) of the
    labeler-pair table (:func:`evalaudit.labelers.spam.collusion`)."""
    findings = []
    method = spam.COLLUSION_METHOD.format(n=pairs.num_rows)
    for r in pairs.filter(pa.array(suspect, pa.bool_())).to_pylist():
        a, b, n, d, e = r["labeler_a"], r["labeler_b"], r["n"], r["n_disagree"], r["expected_disagree"]
        ratio_i = float(d / e) if e > 0 else 0.0
        sev = "high" if ratio_i <= 0.2 and n >= 50 else "medium"
        findings.append(Finding(
            kind="labeler_collusion", severity=sev, labeler_id=a, failure_mode=None, effect=ratio_i,
            p_value=float(r["p_value"]), q_value=float(r["q_value"]), n=int(n), evidence=method,
            message=(f"Labelers {a} and {b} disagree on {int(d)} of {int(n)} shared items where their "
                     f"accuracies predict about {e:.0f}: they may be copying each other."),
            details={"labeler_b": b, "observed_disagreements": int(d), "expected_disagreements": float(e)},
        ))
    return findings


def concentration_findings(stats: pa.Table, cfg: ConcentrationConfig) -> list[Finding]:
    """labeler_concentration findings for the rows of the concentration table that
    :func:`evalaudit.labelers.concentration.concentrated` marks: medium, high from ``share_high`` overall or
    ``fm_share_high`` on a failure mode (failure_mode None for the overall row)."""
    out = []
    hit = concentration.concentrated(stats, cfg.share_medium, cfg.fm_share_medium, cfg.min_gold_items,
                                     cfg.fair_share_ratio)
    rows = stats.filter(pa.array(hit)).to_pylist()
    for r in rows:
        share, total = r["gold_weight_share"], r["fm_gold_items"]
        high = cfg.share_high if r["failure_mode"] == "all" else cfg.fm_share_high
        sev = "high" if share >= high else "medium"
        fm = None if r["failure_mode"] == "all" else r["failure_mode"]
        where = "all failure modes" if fm is None else f"failure mode {fm}"
        out.append(Finding(
            kind="labeler_concentration", severity=sev, labeler_id=r["labeler_id"], failure_mode=fm,
            effect=share, n=int(r["n_gold_items"]), evidence=concentration.METHOD,
            message=(f"{share:.0%} of the gold on {where} rests on labeler {r['labeler_id']} "
                     f"({int(r['n_gold_items'])} of {int(total)} gold items, {int(r['n_sole_gold_items'])} labeled "
                     f"by them alone), so the eval there depends on one person's calibration."),
            details={"share_of_gold": r["share_of_gold"], "share_of_judgments": r["share_of_judgments"],
                     "gold_items": int(r["n_gold_items"]), "sole_gold_items": int(r["n_sole_gold_items"]),
                     "fm_gold_items": int(total), "hhi_gold": r["hhi_gold"]},
        ))
    return out


def drift_findings(t: pa.Table, n_tests: int, gold_items: dict, mode: str = "positive",
                   ref_label: str | None = None, scale: float = 1.0) -> list[Finding]:
    """labeler_drift findings. What drifts depends on the label space: the rate of the acceptable (or, per label,
    the reference) label against the consensus, the shift toward the better end of a scale, or the rate of
    disagreement with the leave-one-out consensus for many labels with none acceptable."""
    out = []
    for r in t.to_pylist():
        key = (r["labeler_id"], r["failure_mode"])
        ch = r["change"]
        sev = "high" if abs(ch) / scale >= 0.2 and r["q_value"] < 0.001 else "medium"
        if mode == "shift":
            what = f"moved {'toward the better' if ch > 0 else 'toward the worse'} end of the scale"
            measure = "shift against the other labelers of the same items"
        elif mode == "per_label" and ref_label is None:
            what = "disagrees with consensus " + ("more" if ch > 0 else "less") + " often"
            measure = "disagreement with the leave-one-out consensus"
        elif mode == "per_label":
            what = f"says {ref_label!r} " + ("more" if ch > 0 else "less") + " often"
            measure = f"discordance with consensus on {ref_label!r}"
        else:
            what = f"became {'more lenient' if ch > 0 else 'more severe'}"
            measure = "discordance with consensus"
        out.append(Finding(
            kind="labeler_drift", severity=sev, labeler_id=key[0], failure_mode=key[1], effect=ch,
            p_value=r["p_value"], q_value=r["q_value"], n=r["n"],
            evidence=f"{drift.METHOD}; BH q-value over {n_tests} labeler × failure-mode series",
            message=(f"Labeler {key[0]} {what} on {key[1]} from the week of {r['change_date']}: "
                     f"{measure} went from {r['effect_before']:+.2f} to {r['effect_after']:+.2f}."),
            details={"since": r["change_date"].isoformat(), "effect_before": r["effect_before"],
                     "effect_after": r["effect_after"], "statistic": r["statistic"], "threshold": r["threshold"],
                     "gold_items": int(gold_items.get(key, 0))},
        ))
    return out


def fold_spam(findings: list[Finding], spam_f: list[Finding], spammers: set[str]) -> list[Finding]:
    """A spammer's leniency and severity findings are folded into their spam finding (as
    ``details.also_differs_from_peers_on``: failure mode → effect): answers that carry no information are the one
    thing to say about them. Returns ``findings`` without those, with ``spam_f`` appended."""
    for f in spam_f:
        folded = [x for x in findings if x.labeler_id == f.labeler_id and x.kind in ("labeler_leniency",
                                                                                    "labeler_severity")]
        if f.labeler_id in spammers and folded:
            f.details["also_differs_from_peers_on"] = {x.failure_mode: x.effect for x in folded}
    findings = [x for x in findings if not (x.labeler_id in spammers and x.kind in ("labeler_leniency",
                                                                                    "labeler_severity"))]
    return findings + spam_f
