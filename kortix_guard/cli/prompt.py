"""Prompts on a terminal: no echo, one line, and nothing left behind for the shell.

A multi-line paste (a PEM key) into a one-line prompt would store only its first line, and
leave the rest in the terminal's input for the shell to run as commands: such a paste is
refused, the waiting lines are discarded, and the user is pointed to `NAME=- < file`.
"""
from __future__ import annotations

import getpass
import os
import select
import sys

import click

from kortix_guard import errors
from kortix_guard._out import echo


def _hidden_line(prompt: str) -> tuple[str, bool]:
    """One line from the terminal, not echoed, and whether more input was already waiting
    (a multi-line paste). Whatever is left is discarded when the terminal is restored, so
    the shell never runs the rest of a paste. Ctrl-C raises KeyboardInterrupt."""
    import termios

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    quiet = list(old)
    quiet[3] &= ~termios.ECHO
    # Echo off before the prompt appears, as getpass does: what a paste delivers the moment
    # the prompt is shown must never be echoed.
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(fd, 4096)  # canonical mode: one line at a time
            if not chunk:
                raise EOFError
            data += chunk
        more = bool(select.select([fd], [], [], 0.05)[0])
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)  # discards what was left
        sys.stderr.write("\n")
    return data.decode("utf-8", errors="replace").rstrip("\r\n"), more


def _line(prompt: str, *, paste_hint: str) -> str:
    try:
        if os.name == "nt":  # no termios: getpass, without paste detection
            value, more = getpass.getpass(prompt), False
        else:
            value, more = _hidden_line(prompt)
    except (KeyboardInterrupt, EOFError):
        raise click.Abort() from None
    if more:
        raise errors.InputError("more than one line was pasted; nothing was stored",
                                hint=paste_hint)
    return value


def secret_value(name: str) -> str:
    """The value of NAME, typed twice (as passwd asks), never echoed; an empty answer says why
    it asks again."""
    hint = f"read a multi-line value from a file: `kortix-guard secrets set {name}=- < FILE`"
    while True:
        value = _line(f"Value for {name} (not shown): ", paste_hint=hint)
        if value:
            break
        echo("an empty value is not stored; type the value, or Ctrl-C to stop", err=True)
    if _line(f"Again, to confirm {name}: ", paste_hint=hint) != value:
        raise errors.InputError(f"the two values for {name} differ; nothing was stored",
                                hint=f"run `kortix-guard secrets set {name}` again")
    return value


def pasted_key() -> str:
    """One line, not shown: a key pasted at `key import` on a terminal."""
    return _line("Paste the key (not shown): ",
                 paste_hint="paste the key alone, or pipe it: `... | kortix-guard key import`")
