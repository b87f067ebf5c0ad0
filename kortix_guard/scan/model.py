"""The scanner's records. A Finding never holds the secret: only where it is, which rule, a
description (a provider's public prefix and the length at most), and, when a baseline is in
play, its slow salted hash."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from kortix_guard.secret import SecretValue

PUBLIC_PREFIXES = (
    "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "sk-proj-", "sk-ant-", "sk_live_",
    "rk_live_", "sk-", "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "AIza", "AKIA", "ASIA",
    "glpat-", "eyJ", "kgk1_", "SG.", "pypi-", "npm_",
)


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the project root, with '/'
    line: int
    col: int
    code: str
    message: str
    commit: str | None = None
    fingerprint: str | None = field(default=None, repr=False)  # the baseline's salted hash

    def as_text(self) -> str:
        where = f" (commit {self.commit[:12]})" if self.commit else ""
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}{where}"

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"path": self.path, "line": self.line, "col": self.col,
                                     "rule": self.code, "message": self.message}
        if self.commit:
            record["commit"] = self.commit
        return record


@dataclass(frozen=True)
class Hit:
    """A detector's raw result inside one file; the secret never leaves the scan of that file."""

    offset: int
    code: str
    what: str  # "GitHub token", "value of DATABASE_URL", ...
    secret: SecretValue
    hint: str | None = None  # what to do about this one, when there is something specific


def describe(what: str, secret: str) -> str:
    """What was found, never the secret beyond a provider's public prefix, and its length."""
    prefix = next((p for p in PUBLIC_PREFIXES if secret.startswith(p)), None)
    shown = f" `{prefix}…`" if prefix else ""
    return f"{what}{shown} ({len(secret)} chars)"


class Text:
    """One file's text and the line/column of any offset in it."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._starts = starts
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line(self, number: int) -> str:
        starts = self.starts
        end = starts[number] - 1 if number < len(starts) else len(self.text)
        return self.text[starts[number - 1]:end]

    def lines(self) -> list[str]:
        return self.text.split("\n")
