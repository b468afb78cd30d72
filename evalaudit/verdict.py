"""The verdict: the answer an eval lead wants first — can I trust the eval score, where not, by how much, because
of whom — and the three to five actions that matter most, each with the command or setting that does it.

Built only from the findings document (``findings.json``) and the run's tables, so the report (``<section
id="verdict">``), ``summary.md`` and anything else that shows the verdict say the same thing. Numbers follow
docs/outputs.md: ``delta = score_current − score_audited``, positive = today's gold flatters the model.

The rules, in order of what a reader must know:
- an ``eval_score_inflation`` finding (medium or high) on a failure mode means "not there": the sentence names the
  model version, both scores, the delta with its interval, whether the release-over-release trend reverses once the
  gold is audited, and the labelers (leniency, severity, drift, spam, collusion findings on that failure mode, or on
  all of them) and gold items behind it;
- without such a finding, the score holds as far as was checked — and what was not checked is said
  (``summary.skipped``; no predictions means the score itself was not checked);
- actions: re-label the gold that rests on those labelers (``evalaudit relabel`` with the filters that select
  exactly those items), set the labelers aside, re-gate the batches a drifting or spamming labeler delivered, then
  poisoned and stale gold, then agreement and coverage — most severe first, at most five.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

LABELER_KINDS = ("labeler_leniency", "labeler_severity", "labeler_drift", "labeler_spam", "labeler_collusion")
MATERIAL = ("high", "medium")
MAX_ACTIONS = 5
_RANK = {"high": 0, "medium": 1, "low": 2}
_KIND_WORDS = {"labeler_leniency": "lenient", "labeler_severity": "severe", "labeler_drift": "drifting",
               "labeler_spam": "answering at random", "labeler_collusion": "copying another labeler"}


@dataclass
class Action:
    text: str            # what to do, for a person
    command: str | None  # the shell command or setting that does it, if any


@dataclass
class Verdict:
    headline: str         # one sentence: can I trust the eval score?
    sentences: list[str] = field(default_factory=list)  # the few plain sentences after it
    actions: list[Action] = field(default_factory=list)  # 3-5 most important actions


def build(doc: dict, tables: dict[str, pa.Table]) -> Verdict:
    """The verdict of one run, from its findings document and its tables (either may lack optional parts)."""
    summary = doc.get("summary") or {}
    findings = sorted(doc.get("findings") or [], key=lambda f: (_RANK.get(f.get("severity"), 3),
                                                                -abs(_num(f.get("effect")) or 0.0)))
    store = str(summary.get("store_path") or "STORE")
    inflated = [f for f in findings if f.get("kind") == "eval_score_inflation" and f.get("severity") in MATERIAL]
    by_mode = sorted((f for f in inflated if f.get("failure_mode")), key=lambda f: -abs(_num(f.get("effect")) or 0))
    overall = next((f for f in inflated if not f.get("failure_mode")), None)
    people = [f for f in findings if f.get("kind") in LABELER_KINDS and f.get("severity") in MATERIAL
              and f.get("labeler_id")]
    impact = summary.get("impact") if isinstance(summary.get("impact"), dict) else {}
    scored = bool(impact.get("computed")) or "impact" in tables

    sentences: list[str] = _change_sentences(summary.get("changes"))
    named: set[str] = set()
    for f in by_mode[:3]:
        sentences.append(_score_sentence(f))
        behind = _behind(f["failure_mode"], people)
        named.update(p["labeler_id"] for p in behind)
        sentences.append(_behind_sentence(f, behind, tables))
    if overall is not None and not by_mode:
        sentences.append(_score_sentence(overall))
    headline = _headline(by_mode, overall, people, findings, scored)
    others = [f for f in findings if f.get("severity") == "high" and f.get("kind") != "eval_score_inflation"
              and f.get("labeler_id") not in named]
    if others:
        kinds = _count_words(f["kind"] for f in others)
        sentences.append(f"Also high: {kinds}" + (" — see What needs action below." if kinds else "."))
    skipped = [s for s in summary.get("skipped") or [] if isinstance(s, dict)]
    if skipped:
        sentences.append("Not checked: " + "; ".join(f"{s.get('analysis')} ({s.get('reason')})"
                                                     for s in skipped[:4])
                         + (f"; and {len(skipped) - 4} more (see Not checked)" if len(skipped) > 4 else "") + ".")
    return Verdict(headline, sentences, _actions(by_mode, people, findings, store, scored))


# -- sentences -----------------------------------------------------------------------------------------------


def _change_sentences(changes: object) -> list[str]:
    """What changed since the previous run of this report (``summary.changes``, evalaudit.changes): the verdict
    opens with it, so a scheduled job's reader sees first whether anything is new."""
    if not isinstance(changes, dict) or not changes.get("previous_run") or not changes.get("comparable"):
        return []
    when = str((changes.get("previous_run") or {}).get("run_at", ""))[:10]
    new = [f for f in changes.get("new") or [] if isinstance(f, dict)]
    text = (f"Since the run of {when}: {changes.get('n_new', 0)} new finding(s), {changes.get('n_resolved', 0)} "
            f"resolved, {changes.get('n_persisting', 0)} persisting")
    serious = [f for f in new if f.get("severity") == "high"]
    return [text + (f"; new and high: {serious[0].get('message')}" if serious else "") + "."]


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else None


def points(v: float | None, signed: bool = True) -> str:
    """A share difference in percentage points, 3 significant figures at most (e.g. +3.14)."""
    if v is None:
        return "—"
    x = v * 100
    text = f"{x:+.3g}" if signed else f"{abs(x):.3g}"
    return text.replace("e+0", "e").replace("e-0", "e-")


def _interval(f: dict) -> str:
    lo, hi = _num(f.get("ci_low")), _num(f.get("ci_high"))
    if lo is None or hi is None:
        return "interval not computed"
    return f"95% interval {points(lo)} to {points(hi)}"


def _where(f: dict) -> str:
    return f.get("failure_mode") or "the whole eval"


def _score_sentence(f: dict) -> str:
    details = f.get("details") or {}
    model = details.get("model_version", "the latest model version")
    scores = (details.get("by_model_version") or {}).get(model) or {}
    cur, aud = _num(scores.get("current")), _num(scores.get("audited"))
    effect = _num(f.get("effect")) or 0.0
    word = "flatters" if effect > 0 else "understates"
    text = (f"On {_where(f)}, today's gold {word} {model} by {points(effect, signed=False)} points"
            + (f" ({cur:.1%} against today's gold, {aud:.1%} against audited gold" if cur is not None
               and aud is not None else " (")
            + f"; delta = current − audited = {points(effect)} points, {_interval(f)}, paired bootstrap over items)")
    trend = details.get("trend") or {}
    if trend.get("reversed") and trend.get("sentence"):
        text += f"; {trend['sentence']}: the improvement the eval showed is not in the audited data"
    return text + "."


def _behind(failure_mode: str | None, people: list[dict]) -> list[dict]:
    """The material labeler findings on this failure mode, or on every failure mode (spam), most severe first."""
    seen, out = set(), []
    for p in people:
        if p.get("failure_mode") in (failure_mode, None) and p["labeler_id"] not in seen:
            seen.add(p["labeler_id"])
            out.append(p)
    return out


def _behind_sentence(f: dict, behind: list[dict], tables: dict[str, pa.Table]) -> str:
    fm = f.get("failure_mode")
    who = ", ".join(f"{p['labeler_id']} ({_KIND_WORDS.get(p['kind'], p['kind'])}"
                    + (f", effect {points(_num(p.get('effect')))} points" if _num(p.get("effect")) is not None
                       and p["kind"] in ("labeler_leniency", "labeler_severity", "labeler_drift") else "")
                    + ")" for p in behind[:3])
    changed = _gold_changed(tables.get("impact"), fm, (f.get("details") or {}).get("model_version"))
    items = (f"{changed[0]:,} of the {changed[1]:,} {fm or 'scored'} gold items change or drop out once "
             "their judgments are set aside" if changed else "")
    if who:
        return f"Behind it: {who}" + (f"; {items}." if items else ".")
    return f"No single labeler is flagged on {fm or 'it'}" + (f", but {items}." if items else ".")


def _gold_changed(impact: pa.Table | None, failure_mode: str | None, model: str | None) -> tuple[int, int] | None:
    """(gold items whose audited gold differs, gold items scored) for a failure mode, from impact.parquet."""
    if impact is None or not {"failure_mode", "n_gold_changed", "n_items"} <= set(impact.column_names):
        return None
    rows = impact.filter(pc.equal(impact["failure_mode"], failure_mode or "all"))
    if model is not None and "model_version" in rows.column_names:
        mine = rows.filter(pc.equal(rows["model_version"], model))
        rows = mine if mine.num_rows else rows
    if not rows.num_rows:
        return None
    r = rows.slice(0, 1).to_pylist()[0]
    return (int(r["n_gold_changed"] or 0), int(r["n_items"] or 0)) if r["n_gold_changed"] else None


def _headline(by_mode: list[dict], overall: dict | None, people: list[dict], findings: list[dict],
              scored: bool) -> str:
    if by_mode:
        worst = by_mode[0]
        effect = _num(worst.get("effect")) or 0.0
        model = (worst.get("details") or {}).get("model_version", "the latest model version")
        more = [f["failure_mode"] for f in by_mode[1:]]
        who = _join(sorted({p["labeler_id"] for f in by_mode for p in _behind(f["failure_mode"], people)})[:3])
        return (f"Not on {_join([worst['failure_mode'], *more])}: today's gold "
                f"{'inflates' if effect > 0 else 'deflates'} {model}'s score on {worst['failure_mode']} by "
                f"{points(effect, signed=False)} points ({_interval(worst)})"
                + (f", because of {who}" if who else "") + "; elsewhere the score holds against audited gold.")
    if overall is not None:
        effect = _num(overall.get("effect")) or 0.0
        return (f"Not entirely: over the whole eval today's gold {'inflates' if effect > 0 else 'deflates'} the "
                f"score by {points(effect, signed=False)} points, though no single failure mode moves materially.")
    high = [f for f in findings if f.get("severity") == "high"]
    if not scored:
        return ("The eval score itself was not checked (no predictions in the store); "
                + (f"the labelers behind the gold have {len(high)} high finding{'s' * (len(high) != 1)}."
                   if high else "the labelers behind the gold show nothing material."))
    if people or high:
        return ("Yes, for now: no eval score moves materially against audited gold, but "
                f"{len(high) or len(people)} problem{'s' * ((len(high) or len(people)) != 1)} in the gold need "
                "action before they do.")
    return "Yes: nothing material was found — no eval score moves against audited gold and no labeler is flagged."


def _join(words: list[str]) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1] if words else ""


def _count_words(kinds) -> str:
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


# -- actions -------------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "items"


def relabel_command(store: str, out: str, failure_modes: list[str] = (), labeler_ids: list[str] = (),
                    flags: list[str] = ()) -> str:
    """The `evalaudit relabel` line selecting these items, every value shell-quoted."""
    parts = ["evalaudit", "relabel", "--store", store, "--out", out]
    for fm in failure_modes:
        parts += ["--failure-mode", fm]
    for lab in labeler_ids:
        parts += ["--labeler", lab]
    for flag in flags:
        parts += ["--flag", flag]
    return shlex.join(parts)


def _actions(by_mode: list[dict], people: list[dict], findings: list[dict], store: str, scored: bool) -> list[Action]:
    out: list[Action] = []
    handled: set[str] = set()
    for f in by_mode[:2]:
        fm = f["failure_mode"]
        labs = [p["labeler_id"] for p in _behind(fm, people)][:3]
        handled.update(labs)
        out.append(Action(
            f"Re-label the gold items of {fm} that " + (f"{_join(labs)} judged" if labs else "the audit flags")
            + ", highest priority first; the eval score there is not trustworthy until they are.",
            relabel_command(store, f"relabel-{_slug(fm)}.csv", [fm], labs,
                            [] if labs else ["gold_disagrees_with_consensus"])))
    for p in people:
        if len(out) >= MAX_ACTIONS:
            break
        lab, fm = p["labeler_id"], p.get("failure_mode")
        since = (p.get("details") or {}).get("since")
        if p["kind"] in ("labeler_drift", "labeler_spam") and since:
            out.append(Action(
                f"Re-gate what {lab} delivered since {str(since)[:10]}: run the data-contract check on each of "
                "those batches and re-label the items it rejects.",
                f"evalaudit check BATCH_FILE --store {shlex.quote(store)}"))
        elif lab not in handled and p["kind"] == "labeler_collusion":
            partner = (p.get("details") or {}).get("labeler_b")
            out.append(Action(
                f"Review {lab}'s judgments" + (f" and {partner}'s" if partner else "") + ": they agree far more "
                "than chance allows (one may copy the other); the audited gold keeps both, so re-label their items.",
                relabel_command(store, f"relabel-{_slug(lab)}.csv", [fm] if fm else [],
                                [lab, partner] if partner else [lab])))
        elif lab not in handled:
            out.append(Action(
                f"Set aside {lab}'s judgments{' on ' + fm if fm else ''} ({_KIND_WORDS.get(p['kind'], p['kind'])}): "
                "the audited scores already leave them out; to set them aside whatever later findings say, add "
                "their id to `[labelers] exclude` in evalaudit.toml; the re-labeling line selects the items they "
                "judged.",
                relabel_command(store, f"relabel-{_slug(lab)}.csv", [fm] if fm else [], [lab])))
        handled.add(lab)
    for f in findings:
        if len(out) >= MAX_ACTIONS or f.get("severity") not in MATERIAL:
            continue
        kind, fm = f.get("kind"), f.get("failure_mode")
        if kind == "poisoned_items" and not any(a.command and f"--failure-mode {fm}" in a.command for a in out):
            out.append(Action(f"Re-label the {f.get('n', 0):,} gold items of {fm} that rest on flagged labelers or "
                              "contradict the consensus.",
                              relabel_command(store, f"relabel-poisoned-{_slug(fm or 'all')}.csv",
                                              [fm] if fm else [], [], ["gold_disagrees_with_consensus"])))
        elif kind == "stale_items":
            reason = (f.get("details") or {}).get("reason", "superseded_guideline")
            out.append(Action(f"Refresh stale gold: {f.get('message', '')}",
                              relabel_command(store, f"relabel-{_slug(reason)}.csv", [], [], [reason])))
        elif kind == "low_agreement":
            out.append(Action(f"Clarify the guideline for {fm or 'the eval'}: labelers disagree more than "
                              "chance-corrected agreement allows (Krippendorff's alpha below the threshold).", None))
        elif kind == "coverage_drift" and fm:
            out.append(Action(f"Add eval items for {fm}: its share of production traffic differs from its share "
                              "of the eval set.", None))
    if not scored and len(out) < MAX_ACTIONS:
        out.append(Action("Add the model versions' answers on the eval items so the eval score can be checked "
                          "against audited gold.",
                          f"evalaudit ingest PREDICTIONS_FILE --store {shlex.quote(store)} --table predictions"))
    return _dedupe(out)[:MAX_ACTIONS]


def _dedupe(actions: list[Action]) -> list[Action]:
    seen, out = set(), []
    for a in actions:
        key = a.command or a.text
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out
