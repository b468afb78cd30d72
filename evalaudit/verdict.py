"""The run's verdict in words (placeholder: the real module, written elsewhere, replaces this one at merge).

Kept to the agreed API so ``summary.md`` and the report can call it: ``build(doc, tables) -> Verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass
class Action:
    text: str
    command: str | None


@dataclass
class Verdict:
    headline: str
    sentences: list[str]
    actions: list[Action]


def build(doc: dict, tables: dict[str, pa.Table]) -> Verdict:
    """A one-line verdict from the findings' counts by severity."""
    sev = doc["summary"].get("by_severity", {})
    n = doc["summary"].get("n_findings", 0)
    headline = (f"{n} findings: {sev.get('high', 0)} high, {sev.get('medium', 0)} medium, {sev.get('low', 0)} low"
                if n else "No findings")
    return Verdict(headline, [], [])
