"""`evalaudit check`: the data contract of a new labeling batch, in one pass (docs/contracts.md).

Order of work: hash the file (a batch already ingested is reported, not re-checked); read and normalise it as
ingest would; join the store facts each row needs; compute the batch metrics in DuckDB; run every expectation with
Great Expectations (row frame and metric frames); then, with ``promote``, append a passing batch through ingest's
writer or keep a failing one whole in quarantine. Nothing is written to the store's tables unless every
expectation holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evalaudit import __version__
from evalaudit.config import Config
from evalaudit.contracts import batch as batch_mod
from evalaudit.contracts import batch_expectations, promote, row_expectations
from evalaudit.contracts.gx import Spec, skipped, validate
from evalaudit.contracts.result import FAILED, CheckResult, ExpectationResult
from evalaudit.contracts.settings import validate_config
from evalaudit.errors import UnusableInput
from evalaudit.ingest import sha256_of
from evalaudit.paths import check_input
from evalaudit.store import Store


def run_expectations(specs: list[Spec], cannot: dict[str, str], frames: dict, examples: int
                     ) -> list[ExpectationResult]:
    """Validate the runnable specs with GX; the others become ``skipped`` with their reason, in spec order."""
    runnable = [s for s in specs if s.expectation not in cannot]
    done = iter(validate(frames, runnable, examples)) if runnable else iter(())
    return [skipped(s, cannot[s.expectation]) if s.expectation in cannot else next(done) for s in specs]


def check_batch(path: str | Path, store_dir: str | Path, cfg: Config | None = None, *, promote_batch: bool = False,
                docs: str | Path | None = None, fmt: str = "auto", now: datetime | None = None) -> CheckResult:
    """Check the batch file ``path`` against the contract and the store at ``store_dir``.

    ``promote_batch``: append a passing batch to the store (ingest's writer), or keep a failing one whole under
    ``STORE/quarantine/batches/<sha256>/`` with ``validation.json`` and ``validation.html``. ``docs``: write the
    offline validation page to ``docs/index.html``. ``now``: the clock for "not in the future" (tests).
    Raises UnusableInput (exit 2) for a file or store that cannot be used at all."""
    cfg = cfg or Config()
    validate_config(cfg)
    path = Path(path)
    check_input(path)  # a FIFO, device or symlink loop: one sentence, never a hang
    if not path.is_file():
        raise UnusableInput(f"{path}: is a directory, not a batch file (input)")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    store = Store.open(store_dir, create=promote_batch)
    sha = sha256_of(path)
    result = CheckResult(str(path), sha, 0, "passed", checked_at=now.isoformat(), evalaudit_version=__version__,
                         config=cfg.source)
    if store.has_source("labels", sha):
        result.status = "already_in_store"
        return result
    engine = store.engine()
    try:
        batch = batch_mod.load(engine, path, fmt)
        if batch.n_rows == 0 and not batch.bad_rows:
            raise UnusableInput(f"{path}: holds no judgments")
        result.n_rows = batch.n_rows + len(batch.bad_rows)
        result.ignored_columns = batch.ignored
        rows = batch_mod.rows(engine)
        label_counts = engine.query("contracts_label_values").to_pylist()
        allowed = cfg.labels.values or [r["label"] for r in label_counts if r["n_stored"]]
        known = (engine.query("contracts_known_labelers").column("labeler_id").to_pylist()
                 if engine.has_table("labelers") else None)
        latest = None if cfg.gold.current_guideline else engine.query("items_current_guideline").column(0)[0].as_py()
        specs, cannot = row_expectations.specs(batch, cfg, allowed, known, now, latest)
        frames = row_expectations.frames(batch, rows)
        metric = batch_expectations.checks(engine, cfg, label_counts)
    finally:
        engine.close()
    specs += metric.specs
    cannot.update(metric.cannot)
    frames.update(metric.frames)
    result.results = run_expectations(specs, cannot, frames, cfg.contracts.examples)
    if any(r.status == FAILED for r in result.results):
        result.status = "failed"
    if promote_batch or docs is not None:
        from evalaudit.contracts import page  # jinja2: only for a page to write (most checks write none)
    if promote_batch:
        if result.passed:
            promote.promote(store, path, result, fmt)
        else:
            promote.quarantine(store, path, result, page.render(result))
    if docs is not None:
        page.write(docs, result)
    return result
