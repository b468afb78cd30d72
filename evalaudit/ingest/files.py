"""Which files an ingest reads: the files named, and those with a known suffix under the directories named, and
each file's SHA-256 (the identity that makes a re-ingest of the same file a no-op)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from evalaudit.errors import input_error
from evalaudit.paths import check_input

SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".jsonl", ".ndjson", ".json")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and regular files with a known suffix under directories named, in a stable order.

    Every path is checked to be a regular file or a directory first (evalaudit.paths.check_input), so a FIFO, a
    device or a symlink loop is one sentence, never a hang."""
    out: list[Path] = []
    for p in map(Path, paths):
        check_input(p)
        if p.is_dir():
            try:
                found = sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES and _regular(f))
            except OSError as e:
                raise input_error(p, e) from None
            out.extend(found)
        else:
            out.append(p)
    return out


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
