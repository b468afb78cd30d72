"""What happens to a checked batch under ``--promote``: a passing batch is appended by ingest's own writer
(atomic, idempotent by sha256, with provenance); a failing one is kept whole under
``STORE/quarantine/batches/<sha256>/`` with its validation result beside it, and the store's tables are untouched.

The kept copy is named ``<original name>.quarantined`` — byte for byte the delivered file — so that a Parquet batch
is never mistaken for one of the store's row-level quarantine files (``Store.quarantine_files`` reads every
``*.parquet`` under ``quarantine/``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from evalaudit.contracts.result import CheckResult
from evalaudit.errors import UnusableInput
from evalaudit.ingest import ingest_files, sha256_of
from evalaudit.store import Store, fsync_file

RESULT_JSON = "validation.json"
RESULT_HTML = "validation.html"


def batch_dir(store: Store, sha256: str) -> Path:
    return store.root / "quarantine" / "batches" / sha256


def promote(store: Store, path: Path, result: CheckResult, fmt: str = "auto") -> None:
    """Append the passing batch through `ingest_files` (the same writer as `evalaudit ingest`)."""
    if sha256_of(path) != result.sha256:
        raise UnusableInput(f"{path}: the file changed while it was being checked; nothing was promoted")
    (added,) = ingest_files(store.root, [path], table="labels", fmt=fmt)
    result.promoted = added.status == "added"
    result.rows_added = added.rows_added
    if added.rows_quarantined:  # cannot happen for a batch that passed: its rows are ingest's good rows
        raise RuntimeError(f"{added.rows_quarantined} rows of a passing batch were quarantined by ingest")


def quarantine(store: Store, path: Path, result: CheckResult, page: str) -> Path:
    """Keep the failing batch whole, with ``validation.json`` and ``validation.html`` beside it. Staged then
    renamed into place, so the directory appears complete or not at all; checking the same failing bytes again
    replaces the result files only."""
    dest = batch_dir(store, result.sha256)
    result.quarantine_dir = str(dest)
    doc = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
    with store.lock(), store.staging() as staging:
        work = staging / result.sha256
        work.mkdir()
        for name, text in ((RESULT_JSON, doc), (RESULT_HTML, page)):
            (work / name).write_text(text, encoding="utf-8")
            fsync_file(work / name)
        if dest.exists():
            for name in (RESULT_JSON, RESULT_HTML):
                os.replace(work / name, dest / name)
            return dest
        kept = work / f"{path.name}.quarantined"
        shutil.copyfile(path, kept)
        fsync_file(kept)
        if sha256_of(kept) != result.sha256:
            raise UnusableInput(f"{path}: the file changed while it was being checked; nothing was kept")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, dest)
    return dest
