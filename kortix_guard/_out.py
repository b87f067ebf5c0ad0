"""Printing without click, for the paths a commit hook takes (importing click costs more than
the scan of a typical commit). Writes to whatever sys.stdout/sys.stderr are at call time."""
from __future__ import annotations

import sys


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(message + ("\n" if nl else ""))
    stream.flush()
