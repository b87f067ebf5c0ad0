"""The manifest's records: what a check reports and what the other commands read."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from kortix_guard._out import quote_path
from kortix_guard.rules import Severity, rule

DEFAULT_STORE = ".kortix/secrets.enc.toml"
DEFAULT_BASELINE = ".kortix/guard-baseline.json"
DEFAULT_MIN_KNOWN_LENGTH = 8  # [guard] min_known_length: shorter known values are not scanned for


class Problem(NamedTuple):
    """One rule broken at one place. Never holds a secret value."""

    path: str
    line: int
    col: int
    code: str
    message: str

    @property
    def severity(self) -> Severity:
        return rule(self.code).severity

    def as_text(self) -> str:
        return f"{quote_path(self.path)}:{self.line}:{self.col}: {self.code} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }


class GuardConfig(NamedTuple):
    """kortix-guard's own `[guard]` table, paths resolved against the manifest's folder."""

    store: Path
    baseline: Path
    exclude: tuple[str, ...] = ()
    min_known_length: int = DEFAULT_MIN_KNOWN_LENGTH
    min_confidence: str | None = None  # "low", "medium" or "high"; the scanner's default: medium
    max_age_days: int | None = None  # `check` warns about values set longer ago (version 2)
    public_by_design: bool = True  # the scanner lowers client-side and publishable values
    allow_env: frozenset[str] = frozenset()  # loader-family names the project needs (KG123)


class Manifest(NamedTuple):
    path: Path
    required: tuple[str, ...]
    optional: tuple[str, ...]
    guard: GuardConfig

    @property
    def declared(self) -> tuple[str, ...]:
        return self.required + self.optional

    def undeclared(self, name: str) -> str:
        """`NAME is not declared in kortix.toml [env]`, with a did-you-mean when a declared
        name is close (a typo on one side is the usual reason), and what to do."""
        import difflib

        close = difflib.get_close_matches(name, self.declared, n=1, cutoff=0.8)
        if close:
            return (f"{name} is not declared in {self.path.name} [env]; did you mean "
                    f"{close[0]}? (rename one of them)")
        return (f"{name} is not declared in {self.path.name} [env]; add it to `required` or "
                f"`optional`")

    def undeclared_notes(self, names: Sequence[str], *, many: int = 10) -> list[str]:
        """One note per undeclared name (with its did-you-mean), or, past `many` names, one
        line for all: a wall of notes hides the one typo, and each did-you-mean costs a
        comparison with every declared name."""
        if len(names) <= many:
            return [self.undeclared(name) for name in names]
        shown = ", ".join(names[:5])
        return [(f"{len(names)} names are not declared in {self.path.name} [env] ({shown}, …); "
                 f"add the ones you use to `required` or `optional`")]

    def spec(self, name: str) -> str:
        """`required`, `optional` or `undeclared`, as `kortix secrets ls` says it."""
        if name in self.required:
            return "required"
        if name in self.optional:
            return "optional"
        return "undeclared"
