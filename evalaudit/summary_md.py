"""``summary.md``: the verdict and what changed since the last run, short enough to post (docs/outputs.md).

Written into ``--out`` beside ``index.html`` so a scheduled job can post it as a chat message or a pull-request
comment. It always stays under :data:`LIMIT` characters, whatever the store's size: lists are cut to the first
few entries ("and N more"), long messages are shortened, and if it is still too long the lists shrink until it
fits — the full detail is in ``index.html`` and ``findings.json``. User-supplied strings (labeler ids, failure
modes in messages) are escaped so they cannot turn into Markdown links, mentions or HTML where it is posted.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from evalaudit.verdict import Verdict

#: GitHub comments allow 65,536 characters and Slack messages 40,000; a summary a person reads is far shorter
LIMIT = 3000
#: characters of one finding's message
MAX_MESSAGE = 220
#: what can start emphasis, code, a link or a table cell; ``_`` only at a word's edge (GitHub ignores it inside
#: words like safety_jailbreak, and chat clients would show a needless backslash)
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def escape(text: str) -> str:
    """``text`` as literal Markdown: specials backslash-escaped, ``&``/``<``/``>`` as entities (HTML, and Slack's
    own escaping), ``@`` kept from becoming a mention."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u200b").replace("\n", " ")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _item(entry: dict[str, Any], message_limit: int) -> str:
    return f"- **{entry['severity']}** {escape(_short(entry.get('message') or entry['kind'], message_limit))}" \
           f" `{entry['key']}`"


def _listing(title: str, entries: list[dict[str, Any]], cap: int, message_limit: int) -> list[str]:
    if not entries:
        return []
    lines = ["", f"**{title}**"]
    lines += [_item(e, message_limit) for e in entries[:cap]]
    if len(entries) > cap:
        lines.append(f"- … and {len(entries) - cap} more (see the report)")
    return lines


def _since(changes: dict[str, Any]) -> str:
    prev = changes.get("previous_run")
    if prev is None:
        return "First run recorded for this report: every finding is new."
    when = datetime.fromisoformat(prev["run_at"]).strftime("%Y-%m-%d %H:%M UTC")
    if not changes.get("comparable"):
        return f"Previous run {when} recorded no finding keys (older evalaudit): every finding counts as new."
    return (f"Since the last run ({when}): {changes['n_new']} new, {changes['n_resolved']} resolved, "
            f"{changes['n_persisting']} persisting.")


def _moved(changes: dict[str, Any], cap: int) -> list[str]:
    moved = changes.get("moved") or []
    if not moved or cap == 0:
        return []
    lines = ["", "**Moved most** (effect before → now)"]
    for m in moved[:cap]:
        who = " · ".join(escape(str(v)) for v in (m["kind"], m.get("labeler_id"), m.get("failure_mode")) if v)
        lines.append(f"- {who}: {m['effect_before']:.3g} → {m['effect_now']:.3g} `{m['key']}`")
    return lines


def render(doc: dict[str, Any], verdict: Verdict, index_path: str, limit: int = LIMIT) -> str:
    """The Markdown text of summary.md (under ``limit`` characters)."""
    changes = doc["summary"].get("changes") or {}
    persisting = [{"key": f["key"], "kind": f["kind"], "severity": f["severity"], "message": f["message"]}
                  for f in doc["findings"] if f.get("change") == "persisting"]
    first_run = changes.get("previous_run") is None or not changes.get("comparable")
    text = ""
    # (entries per list, characters per message), from the fullest to the barest: the first that fits is written
    for cap, message_limit in ((8, MAX_MESSAGE), (8, 140), (5, 140), (5, 100), (3, 100), (2, 80), (1, 80), (0, 80)):
        lines = [f"### evalaudit: {escape(_short(verdict.headline, 200))}"]
        lines += [escape(_short(s, 300)) for s in verdict.sentences[: max(cap, 1)]]
        lines += ["", _since(changes)]
        if first_run:
            lines += _listing("Findings", changes.get("new") or [], cap, message_limit)
        else:
            lines += _listing("New", changes.get("new") or [], cap, message_limit)
            lines += _listing("Resolved", changes.get("resolved") or [], cap, message_limit)
            lines += _listing("Persisting (most severe first)", persisting, min(cap, 5), message_limit)
            lines += _moved(changes, min(cap, 3))
        actions = verdict.actions[: min(cap, 3)]
        if actions:
            lines += ["", "**Next steps**"]
            lines += [f"- {escape(_short(a.text, 200))}" + (f": `{_short(a.command, 200).replace('`', '')}`"
                                                           if a.command else "") for a in actions]
        lines += ["", f"Report: `{index_path.replace('`', '')}` (findings.json beside it)"]
        text = "\n".join(lines) + "\n"
        if len(text) < limit:
            return text
    return _short(text, limit - 2) + "\n"
