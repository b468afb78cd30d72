"""`--redact-labelers`: replace labeler ids with stable salted pseudonyms in every output of a run.

A pseudonym is ``L-`` + the first 12 hex digits of HMAC-SHA256(salt, labeler_id) (RFC 2104). HMAC with a secret
salt, not a bare hash: labeler ids are often emails or short vendor codes, which an outsider could hash and match
by brute force. The same salt gives the same pseudonym in every run, so trends and history stay comparable; a new
salt unlinks the report from earlier ones. 48 bits make a collision among 10^4 labelers about 1e-7 likely.

The salt comes from ``EVALAUDIT_REDACT_SALT`` or from a ``.evalaudit-redact-salt`` file beside the output
directory, created once with 256 random bits (mode 0600) — never from the store, which runs only read.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: Columns of stage tables that hold labeler ids (``judge_id``: a model judge, judges.parquet).
LABELER_COLUMNS = ("labeler_id", "labeler_a", "labeler_b", "judge_id")
SALT_ENV = "EVALAUDIT_REDACT_SALT"
SALT_FILE = ".evalaudit-redact-salt"


def pseudonym(labeler_id: str, salt: bytes) -> str:
    """The stable pseudonym of ``labeler_id`` under ``salt``."""
    return "L-" + hmac.new(salt, labeler_id.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def load_salt(beside: Path) -> bytes:
    """The redaction salt: $EVALAUDIT_REDACT_SALT, else the salt file in directory ``beside`` (created once)."""
    env = os.environ.get(SALT_ENV)
    if env:
        return env.encode("utf-8")
    path = Path(beside) / SALT_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


class Redactor:
    """Maps known labeler ids to pseudonyms in tables, findings and free text."""

    def __init__(self, salt: bytes, labeler_ids: Iterable[str]) -> None:
        ids = sorted({i for i in labeler_ids if i}, key=lambda s: (-len(s), s))
        self._salt = salt
        self.mapping = {i: pseudonym(i, salt) for i in ids}
        # longest first, so "L10" is replaced whole before "L1" could match inside it
        self._pattern = (re.compile("(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, ids)) + ")(?![A-Za-z0-9_])")
                         if ids else None)

    @classmethod
    def for_run(cls, salt: bytes, tables: dict[str, pa.Table], findings: Iterable[Any]) -> Redactor:
        ids: set[str] = set()
        for t in tables.values():
            for col in LABELER_COLUMNS:
                if col in t.column_names:
                    ids.update(v for v in pc.unique(t.column(col)).to_pylist() if v is not None)
        ids.update(f.labeler_id for f in findings if getattr(f, "labeler_id", None))
        return cls(salt, ids)

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self.mapping[m.group(1)], value)

    def value(self, value: Any) -> Any:
        """Any JSON-like value with labeler ids replaced in every string (keys too)."""
        if isinstance(value, str):
            return self.mapping.get(value) or self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value

    def table(self, table: pa.Table) -> pa.Table:
        """``table`` with its labeler columns mapped (ids not seen at construction are pseudonymised too)."""
        for col in LABELER_COLUMNS:
            if col not in table.column_names:
                continue
            i = table.column_names.index(col)
            enc = pc.dictionary_encode(table.column(col).cast(pa.string())).combine_chunks()
            names = [None if v is None else self.mapping.get(v) or pseudonym(v, self._salt)
                     for v in enc.dictionary.to_pylist()]
            mapped = pa.array(names, pa.string()).take(enc.indices)
            table = table.set_column(i, table.schema.field(i).with_type(pa.string()), mapped)
        return table

    def finding(self, finding: Any) -> Any:
        """A redacted copy of a Finding."""
        from dataclasses import replace

        return replace(finding, labeler_id=self.value(finding.labeler_id), message=self.value(finding.message),
                       evidence=self.value(finding.evidence), details=self.value(finding.details))
