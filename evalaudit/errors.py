"""Errors a user can act on. The CLI prints their message as one sentence and exits 2; nothing else is caught.

The library speaks of its own parameters, never of command-line flags: an error about an argument names it in
``options`` (``"fail_on"``, ``"mapping"``, ...), and the CLI, which alone knows its flags, adds the flag's name
(``--fail-on``, ``--map``) to the sentence it prints (``evalaudit.cli.FLAGS``).
"""

from __future__ import annotations

from collections.abc import Sequence


class EvalauditError(Exception):
    """Base class: the message is a complete sentence naming the file, row or column at fault."""

    def __init__(self, message: str, *, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        #: the library parameters (keyword names) whose value is at fault; empty when a file, row or column is
        self.options = tuple(options)


class UnusableInput(EvalauditError):
    """An input file, table or config that cannot be used at all (exit code 2)."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (library messages run on), else its type's name."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _reason(e: OSError) -> str:
    return (e.strerror or str(e) or type(e).__name__).lower()


def _disk_error(role: str, where: object, e: OSError) -> UnusableInput:
    """One sentence for an OSError, naming the culprit: ``role`` is "store", "input" or "output"."""
    path = e.filename if e.filename else where
    return UnusableInput(f"{path}: {_reason(e)} ({role}{'' if str(path) == str(where) else f' {where}'})")


def output_error(out: object, e: OSError) -> UnusableInput:
    """An OSError while writing an output (a report or check page): a full disk, a read-only file system, a
    permission."""
    return _disk_error("output", out, e)


def store_error(store: object, e: OSError) -> UnusableInput:
    """An OSError while reading or writing the store."""
    return _disk_error("store", store, e)


def input_error(path: object, e: OSError) -> UnusableInput:
    """An OSError while reading an input file."""
    return _disk_error("input", path, e)
