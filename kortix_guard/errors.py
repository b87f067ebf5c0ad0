"""One error family. Each error knows its exit code and what the user should do next.

Messages never hold a secret value: callers pass names, paths and positions, never values.
"""
from __future__ import annotations

# Exit codes, everywhere.
CLEAN = 0
PROBLEMS = 1
CANNOT_RUN = 2


class Error(Exception):
    """Something stopped kortix-guard from doing its job (exit 2 unless a subclass says)."""

    exit_code = CANNOT_RUN

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The message a user sees: what happened, then what to do next."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(Error):
    """The command was called wrongly: a missing or conflicting option (exit 2)."""


class InputError(Error):
    """A file could not be read or is not what it should be (missing, binary, too big)."""


class ProjectError(Error):
    """Not inside a Kortix project, or its manifest is unusable for the command."""


class BadKey(Error):
    """No key, a malformed key, or a key that does not open this store."""


class NoKey(BadKey):
    """Nothing on this machine was offered for the store: a setup step, not a wrong key."""


class StoreError(Error):
    """The store cannot be opened: corrupt, tampered with, or of an unknown version."""


def restore_hint(display: str) -> str:
    """The next step for a tracked file that was damaged or deleted."""
    return f"restore it with `git checkout -- {display}`"


def report(exc: BaseException, *, verbose: bool) -> int:
    """Print one message for an exception that stopped a command; return the exit code.

    A kortix-guard Error says what happened and what to do; anything else is a bug, shown
    without its text (it could quote data) and without a traceback unless asked for."""
    import traceback

    from kortix_guard._out import echo

    if isinstance(exc, KeyboardInterrupt):
        # Every write is one atomic replace: an interrupt leaves each file as it was or
        # as it is now, never half-written.
        echo("\nkortix-guard: interrupted; no file was left half-written", err=True)
        return 130
    if verbose:
        traceback.print_exception(exc)
    if isinstance(exc, Error):
        echo(f"kortix-guard: error: {exc.diagnostics()}", err=True)
        return exc.exit_code
    echo(f"kortix-guard: internal error ({type(exc).__name__}); rerun with -v and report it",
         err=True)
    return CANNOT_RUN
