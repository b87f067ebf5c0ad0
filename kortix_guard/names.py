"""The secret-name rules, one implementation for the manifest, `secrets set`, `env push` and
`inject`. Facts from Kortix: names are env-var shaped, `KORTIX_*` is the platform's, and some
names are dropped when a session starts.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from kortix_guard.rules import Rule, rule

NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
MAX_LEN = 64
RESERVED_PREFIX = "KORTIX_"
DROPPED = frozenset(
    "PORT PATH HOME PWD USER LOGNAME SHELL HOSTNAME TERM TMPDIR NODE_ENV NODE_OPTIONS "
    "LD_PRELOAD LD_LIBRARY_PATH".split()
)
DROPPED_PREFIX = "OPENCODE_"
# Names that change what a process loads or runs: set from a secret, they hand code execution
# to whoever can write the secret. kortix-guard's own policy (KG123), stricter than Kortix.
LOADER = frozenset(
    "BASH_ENV ENV PS4 SHELLOPTS BASHOPTS PROMPT_COMMAND GIT_SSH GIT_SSH_COMMAND GIT_ASKPASS "
    "SSH_ASKPASS GIT_EXEC_PATH GIT_EXTERNAL_DIFF LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT PYTHONPATH "
    "PYTHONSTARTUP PYTHONHOME PERL5OPT PERL5LIB RUBYOPT RUBYLIB JAVA_TOOL_OPTIONS _JAVA_OPTIONS "
    "NODE_OPTIONS NODE_PATH ACTIONS_ALLOW_UNSECURE_COMMANDS".split()
)
LOADER_PREFIXES = ("GIT_CONFIG_", "DYLD_")
GITHUB_REFUSED_PREFIXES = ("GITHUB_", "RUNNER_")


class NameIssue(NamedTuple):
    rule: Rule
    message: str
    fix: str | None = None  # the safe replacement, when there is one


def is_valid(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def shown(name: str) -> str:
    """A name as messages show it: whole when it is a valid name, else a masked preview (two
    characters and the length), since text in a name's place may be a value pasted by
    mistake (a PEM line, a token given as `secrets set TOKEN`)."""
    if is_valid(name):
        return name
    return repr(name[:2] + "…") + f" ({len(name)} chars)" if len(name) > 2 else repr(name)


def normalize(name: str) -> str:
    """What Kortix would store: trimmed and upper-cased (validity is not implied)."""
    return name.strip().upper()


def check(name: object) -> list[NameIssue]:
    """Every rule the name breaks: at most one about its shape, then any about its meaning."""
    if not isinstance(name, str):
        return [NameIssue(rule("KG115"), f"a name must be a string, not {type(name).__name__}")]
    issues = _shape(name)
    candidate = issues[0].fix if issues else name
    if candidate is not None and is_valid(candidate):
        issues += _meaning(candidate)
    return issues


def _shape(name: str) -> list[NameIssue]:
    stripped = name.strip()
    if not stripped:
        return [NameIssue(rule("KG114"), "empty name")]
    fixed = stripped.upper()
    fix = fixed if is_valid(fixed) else None
    if stripped != name:
        return [NameIssue(rule("KG113"), f"{name!r} has spaces around it" + _did_you_mean(fix), fix)]
    if len(name) > MAX_LEN:
        return [NameIssue(rule("KG112"),
                          f"{shown(name)} is {len(name)} characters; Kortix stores at most {MAX_LEN}")]
    if name != fixed and fix:
        return [NameIssue(rule("KG111"),
                          f"{name!r} is not upper case; Kortix stores it as {fix!r}",
                          fix)]
    if not is_valid(name):
        suggestion = re.sub(r"[^A-Z0-9_]", "_", fixed)
        if suggestion[:1].isdigit():
            suggestion = "_" + suggestion
        hint = _did_you_mean(suggestion if is_valid(suggestion) else None)
        return [NameIssue(rule("KG110"),
                          f"{name!r} is not a valid env var name (A-Z, 0-9, _; not starting with a digit)"
                          + hint)]
    return []


def _meaning(name: str) -> list[NameIssue]:
    if name.startswith(RESERVED_PREFIX):
        return [NameIssue(rule("KG120"), f"{name} is reserved: KORTIX_* names belong to the platform")]
    if name in LOADER or name.startswith(LOADER_PREFIXES):
        return [NameIssue(rule("KG123"), f"{name} changes what a process loads or runs; a "
                                         f"secret must not be able to set it")]
    if name in DROPPED or name.startswith(DROPPED_PREFIX):
        return [NameIssue(rule("KG121"),
                          f"{name} never reaches the session: Kortix drops it when a session starts")]
    if name.startswith(GITHUB_REFUSED_PREFIXES):
        return [NameIssue(rule("KG122"), f"{name}: GITHUB_* and RUNNER_* are the runner's own "
                                         f"variables; kortix-guard does not export them")]
    return []


def _did_you_mean(suggestion: str | None) -> str:
    return f"; did you mean {suggestion!r}?" if suggestion else ""
