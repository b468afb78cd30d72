"""Errors a user can act on. The CLI prints their message as one sentence and exits 2; nothing else is caught."""


class EvalauditError(Exception):
    """Base class: the message is a complete sentence naming the file, row or column at fault."""


class UnusableInput(EvalauditError):
    """An input file, table or config that cannot be used at all (exit code 2)."""
