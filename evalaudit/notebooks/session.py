"""A notebook's session: the ``--store``/``--config`` arguments it was opened with, the one audit run of that store
held for the session, and the user's selection offered to SQL cells as a one-row view (so editable ``mo.sql`` cells
read it with a join, never with values formatted into text)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from evalaudit import pipeline
from evalaudit.config import Config
from evalaudit.config import load as load_config
from evalaudit.engine import DuckDBEngine
from evalaudit.errors import UnusableInput
from evalaudit.findings import Finding, severity_rank, sort_key
from evalaudit.store import Store

DEFAULT_STORE = "data/demo"
#: name of the one-row view holding the user's current selection (failure_mode, labeler_id; NULL = all)
SELECTION_VIEW = "nb_selection"
#: the sentinel a dropdown shows for "no filter"
ALL = "(all)"


def marimo_args() -> Mapping[str, Any]:
    """``mo.cli_args()`` when a marimo runtime is running the notebook, else {} (a cell run on its own, e.g. by
    the benchmark through ``cell.run()``); :func:`cli_value` then reads ``sys.argv``."""
    import marimo as mo

    try:
        return mo.cli_args()
    except Exception:  # marimo raises ContextNotInitializedError outside its runtime
        return {}


def cli_value(args: Mapping[str, Any] | None, name: str, default: str | None = None,
              argv: Sequence[str] | None = None) -> str | None:
    """The value of ``--name`` for a notebook.

    ``args`` is ``mo.cli_args()`` (what follows ``--`` under `marimo run/edit/export`); as a plain script
    (`python notebooks/audit.py --store DIR`) marimo's parsing can miss it, so ``argv`` (default ``sys.argv``)
    is read too: ``--name VALUE`` or ``--name=VALUE``."""
    if args:
        value = args.get(name)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        if value not in (None, "", True):
            return str(value)
    words = list(sys.argv[1:] if argv is None else argv)
    flag = f"--{name}"
    for i, word in enumerate(words):
        if word == flag and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return default


@dataclass
class Audit:
    """One audit of a store, held for a notebook session: the engine over the store's views, the settings, and
    every stage's tables and findings (a :class:`evalaudit.pipeline.Context`)."""

    store: Path
    cfg: Config
    engine: DuckDBEngine
    ctx: pipeline.Context
    _agreement_cache: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    _answers: pa.Table | None = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pa.Table]:
        return self.ctx.tables

    def answers(self) -> pa.Table | None:
        """Each model version's answer per item (named query ``impact_answers``), fetched once: re-deriving the
        gold re-scores the same answers."""
        if self._answers is None and self.engine.has_table("predictions"):
            self._answers = self.engine.query("impact_answers")
        return self._answers

    @property
    def findings(self) -> list[Finding]:
        return sorted(self.ctx.findings, key=sort_key)

    @property
    def summary(self) -> dict[str, Any]:
        return self.ctx.summary

    def failure_modes(self) -> list[str]:
        """Failure modes with judgments in the store, sorted."""
        return [r[0] for r in self.engine.con.execute(
            "SELECT DISTINCT failure_mode FROM labels WHERE failure_mode IS NOT NULL ORDER BY failure_mode"
        ).fetchall()]

    def labelers(self) -> list[str]:
        """Labelers with judgments in the store: flagged ones first (by their most severe finding), then by id."""
        everyone = [r[0] for r in self.engine.con.execute(
            "SELECT DISTINCT labeler_id FROM labels ORDER BY labeler_id").fetchall()]
        worst: dict[str, int] = {}
        for f in self.ctx.findings:
            if f.labeler_id:
                worst[f.labeler_id] = max(worst.get(f.labeler_id, -1), severity_rank(f.severity))
        return sorted(everyone, key=lambda lab: (-worst.get(lab, -1), lab))


def arg(name: str, default: str | None = None) -> str | None:
    """The notebook's ``--name`` value (:func:`cli_value` over :func:`marimo_args`)."""
    return cli_value(marimo_args(), name, default)


def audit_from_args() -> Audit:
    """The audit of the store the notebook was opened on (``--store``, default data/demo; ``--config``), run
    under a spinner: the first load of the audit, labeler and items notebooks."""
    import marimo as mo

    store_dir = arg("store", DEFAULT_STORE)
    with mo.status.spinner(title=f"Auditing {store_dir} …"):
        return load_audit(store_dir, arg("config"))


def load_audit(store_dir: str | Path, config: str | Path | Config | None = None,
               stages: list[tuple[str, pipeline.Stage]] | None = None) -> Audit:
    """Open the store and run the audit's stages on it (all of :func:`evalaudit.pipeline.stages` by default).

    The engine stays open for the notebook's SQL cells (``audit.engine.con``); the stage tables ``consensus``
    and ``items`` are registered as views beside the store's so those cells can join them."""
    store = Store.open(store_dir)
    if not store.files("labels"):
        raise UnusableInput(f"{store.root}: the store holds no labels yet (make one with `evalaudit demo --store "
                            f"{store.root}` or `evalaudit ingest`)")
    cfg = config if isinstance(config, Config) else load_config(config)
    engine = store.engine()
    ctx = pipeline.Context(engine=engine, cfg=cfg)
    pipeline.run_stages(ctx, stages)
    for name in ("consensus", "items"):
        if name in ctx.tables:
            engine.register(f"audit_{name}", ctx.tables[name])
    select(engine, None, None, ctx.labels.positive)
    return Audit(store.root, cfg, engine, ctx)


def select(engine: DuckDBEngine, failure_mode: str | None, labeler_id: str | None, positive: str = "pass") -> str:
    """Set the one-row view :data:`SELECTION_VIEW` (columns failure_mode, labeler_id — NULL = no filter — and
    positive, the `[labels] positive` label) and return its name. SQL cells filter with
    ``WHERE (s.failure_mode IS NULL OR l.failure_mode = s.failure_mode)`` after a
    ``CROSS JOIN`` of the view: the values are data, never formatted into the query text."""
    engine.register(SELECTION_VIEW, pa.table({
        "failure_mode": pa.array([chosen(failure_mode)], pa.string()),
        "labeler_id": pa.array([chosen(labeler_id)], pa.string()),
        "positive": pa.array([positive], pa.string()),
    }))
    return SELECTION_VIEW


def chosen(value: str | None) -> str | None:
    """A dropdown's value as a filter: None for :data:`ALL` or nothing chosen."""
    return None if value in (None, "", ALL) else value
