"""Which paths evalaudit may read and write: inputs must be regular files or directories, and no output may touch
a store (docs/store.md: the store is never an output).

Why here and not in each command: `run --out`, `relabel --out`, `ingest`, `check` and `demo` all need the same
answers, and each must get them *before* any work, so that a careless path fails in a second with one sentence
instead of after a whole audit (or, worse, after replacing a store with a report).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from evalaudit.errors import UnusableInput

#: the subdirectories only a store has (evalaudit.store): one of them makes a directory a store
STORE_MARKERS = ("manifest", "labels")
#: what an output directory written by `evalaudit run` holds; an existing --out without it is someone else's
REPORT_MARKER = "findings.json"
#: how many entries of an existing --out directory are searched for a store inside it
_SCAN_LIMIT = 20_000


def is_store(path: Path) -> bool:
    """True when ``path`` is a directory that holds an evalaudit store (its ``manifest/`` or ``labels/``)."""
    try:
        return path.is_dir() and any((path / m).is_dir() for m in STORE_MARKERS)
    except OSError:
        return False


def store_path(value: str | os.PathLike[str]) -> Path:
    """The ``--store`` argument as a path; an empty one is an error (it would silently mean the current
    directory)."""
    if not str(value).strip():
        raise UnusableInput("the store directory is empty; name one, e.g. data/store", options=("store",))
    return Path(value)


def check_input(path: Path, what: str = "input") -> os.stat_result:
    """Stat ``path`` and insist it is a regular file or a directory, before anything opens it.

    A FIFO or a device would block or never end when hashed or read; a symlink loop raises ELOOP deep inside a
    reader. Each becomes one sentence naming the path."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file or directory ({what})") from None
    except OSError as e:
        reason = "a symbolic link that loops" if e.errno == errno.ELOOP else (e.strerror or str(e)).lower()
        raise UnusableInput(f"{path}: cannot be read as {what} ({reason})") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise UnusableInput(f"{path}: is {kind}, not a regular file; evalaudit reads only files and directories")
    return st


def _resolved(path: Path) -> Path:
    try:
        return Path(os.path.realpath(path))
    except OSError:  # pragma: no cover - realpath tolerates missing parts; loops give the path as is
        return Path(os.path.abspath(path))


def _ancestors(path: Path) -> list[Path]:
    return [path, *path.parents]


def _first_existing(path: Path) -> Path:
    for p in _ancestors(path):
        if os.path.lexists(p):
            return p
    return Path("/")  # pragma: no cover


def _contains_store(root: Path) -> Path | None:
    """A store at or below ``root`` (searched breadth-first, bounded), else None."""
    seen = 0
    queue = [root]
    while queue and seen < _SCAN_LIMIT:
        d = queue.pop(0)
        if is_store(d):
            return d
        try:
            with os.scandir(d) as it:
                for entry in it:
                    seen += 1
                    if entry.is_dir(follow_symlinks=False):
                        queue.append(Path(entry.path))
        except OSError:
            continue
    return None


def _refuse_store_overlap(out: Path, store: Path | None) -> Path:
    """Common checks of an output path: not under a file, not a store, not inside one, not the store given."""
    real = _resolved(out)
    first = _first_existing(real)
    if first != real and not first.is_dir():
        raise UnusableInput(f"{out}: lies under {first}, which is a file, not a directory (output)", options=("out",))
    for anc in _ancestors(real):
        if is_store(anc):
            where = "is" if anc == real else "lies inside"
            raise UnusableInput(f"{out}: {where} the store {anc}; the store is never an output, "
                                "choose a directory outside it", options=("out",))
    if store is not None:
        sroot = _resolved(store)
        if sroot == real or real in sroot.parents:
            where = "is" if sroot == real else "contains"
            raise UnusableInput(f"{out}: {where} the store {store}; the store is never an output, "
                                "choose a directory outside it", options=("out",))
        if sroot in real.parents:
            raise UnusableInput(f"{out}: lies inside the store {store}; the store is never an output, "
                                "choose a directory outside it", options=("out",))
    return real


def check_output_dir(out: Path, store: Path | None) -> None:
    """Refuse an output directory that would destroy data when `run` swaps its report in (it replaces ``out``
    whole): a store, a directory holding one, a directory inside one, a path under a file, an existing file, or
    an existing directory with other files in it that is not an earlier report."""
    real = _refuse_store_overlap(out, store)
    if not real.exists():
        return
    if not real.is_dir():
        raise UnusableInput(f"{out}: exists and is a file, not a directory (output)", options=("out",))
    inner = _contains_store(real)
    if inner is not None:
        raise UnusableInput(f"{out}: contains the store {inner}; the store is never an output, "
                            "choose a directory outside it", options=("out",))
    try:
        entries = [e for e in os.listdir(real) if not e.startswith(".")]
    except OSError as e:
        raise UnusableInput(f"{out}: cannot be listed ({(e.strerror or str(e)).lower()}) (output)",
                            options=("out",)) from None
    if entries and REPORT_MARKER not in entries:
        raise UnusableInput(
            f"{out}: is a directory with other files in it ({', '.join(sorted(entries)[:3])}"
            f"{', ...' if len(entries) > 3 else ''}) and not an earlier evalaudit report; the report replaces "
            "the directory whole, so choose a new or empty one",
            options=("out",),
        )


def check_output_file(out: Path, store: Path | None) -> None:
    """Refuse an output file that is a directory, lies under a file, or is, or lies inside, a store."""
    real = _refuse_store_overlap(out, store)
    if real.is_dir():
        raise UnusableInput(f"{out}: is a directory; name a file to write (output)", options=("out",))
