"""Printing without click, for the paths a commit hook takes (importing click costs more than
the scan of a typical commit). Writes to whatever sys.stdout/sys.stderr are at call time.

Symbols come from one table, with ASCII stand-ins used whenever the stream cannot encode
them (a Windows console or pipe in cp1252, `PYTHONIOENCODING=ascii`): output never stops a
command half done. Anything else the stream cannot encode (a name in another script) is
replaced, not raised.
"""
from __future__ import annotations

import os
import sys
from typing import NoReturn

# Every symbol kortix-guard prints, and what stands in for it where it cannot be encoded.
SYMBOLS = {
    "\u2713": "+",  # check mark: passed, set
    "\u2717": "x",  # ballot x: failed
    "\u26a0": "!",  # warning sign
    "\u00b7": "-",  # middle dot: kept, nothing to do
    "\u2026": "...",  # ellipsis
    "\u2192": "->",  # arrow
    "\u25cf": "*",  # black circle: set
    "\u25cb": "o",  # white circle: missing
    "\u2022": "*",  # bullet
    "\u2016": "||",
    "\u2019": "'",
    "\u00ab": "<<",
    "\u00bb": ">>",
}
_ASCII = str.maketrans(SYMBOLS)


def encodable(text: str, stream=None) -> str:
    """text as the stream can take it: unchanged when it can, else with the ASCII stand-ins,
    and `?` for anything else it cannot encode."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.translate(_ASCII).encode(encoding, "replace").decode(encoding)
    except LookupError:
        return text


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(encodable(message + ("\n" if nl else ""), stream))
    stream.flush()


# Characters that end a line or move the cursor where a CI runner or a terminal reads them: C0
# and C1 controls, DEL, and Unicode's line and paragraph separators.
_CONTROL = frozenset([*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029])
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
            "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def names_list(names, *, limit: int = 20) -> str:
    """`A, B, C`, or past `limit` names the first ones and how many more: a line naming
    10,000 secrets says nothing anyone reads."""
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names) or "none"
    return f"{', '.join(names[:limit])}, … ({len(names) - limit} more)"


def quote_path(path: str) -> str:
    """A path as text output shows it, quoted the way git's `core.quotePath` quotes: a path
    holding a control character (a newline could start a runner's workflow command, such as
    `::stop-commands::`), a double quote or a backslash is shown in double quotes with C
    escapes; any other path as it is."""
    if not any(ord(c) in _CONTROL or c in '"\\' for c in path):
        return path
    out = []
    for c in path:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) in _CONTROL:
            out.append("".join(f"\\{b:03o}" for b in c.encode("utf-8")))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def github_summary(markdown: str) -> None:
    """Append to the job's step summary ($GITHUB_STEP_SUMMARY), when there is one. Names,
    paths and codes only: what goes there is shown to anyone who can read the run."""
    import os

    path = os.environ.get("GITHUB_STEP_SUMMARY")  # set by the runner, for each step
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(markdown)


def github_data(text: str) -> str:
    """A workflow command's message, escaped as the actions toolkit escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value, escaped as the actions toolkit escapes it."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def end_now(code: int) -> NoReturn:
    """End the process with code once its output is flushed, skipping the interpreter's
    teardown of every module (9 of a commit hook's 65 ms; 3% of a range's scan). Only where
    nothing is left to finalize: a scan's workers have ended and its git processes are
    reaped by then."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone (`| head`), or a closed stream
            pass
    os._exit(code)
