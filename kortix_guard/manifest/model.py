"""The manifest's records: what a check reports and what the other commands read.

One model for Kortix's three manifest versions (kortix.toml version 1; kortix.yaml versions
2 and 3): the declared names, each agent's secret grant, kortix-guard's own settings. Every
lookup by name is a dictionary lookup, so 10,000 names cost about what 10 do.
"""
from __future__ import annotations

from collections.abc import KeysView, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from kortix_guard._out import quote_path
from kortix_guard.errors import ProjectError
from kortix_guard.rules import Severity, rule

# Where Kortix looks for the manifest, in its own order: the first that exists is the one.
FILE_NAMES = ("kortix.yaml", "kortix.yml", "kortix.toml")
YAML_NAMES = FILE_NAMES[:2]
KNOWN_VERSIONS = (1, 2, 3)
CURRENT_VERSION = 3  # what `init` writes
# kortix-guard's own settings: `[guard]` in kortix.toml; in a YAML manifest this top-level key
# (an extension key, as docker compose and OpenAPI name theirs, which Kortix ignores).
GUARD_TABLE = "guard"
GUARD_KEY_YAML = "x-kortix-guard"
DEFAULT_STORE = ".kortix/secrets.enc.toml"
DEFAULT_BASELINE = ".kortix/guard-baseline.json"
DEFAULT_MIN_KNOWN_LENGTH = 8  # [guard] min_known_length: shorter known values are not scanned for


def setting(key: str, manifest_name: str | None = None) -> str:
    """How a message names one of kortix-guard's settings in this manifest (a YAML one's
    when none is known: what `init` writes)."""
    if manifest_name is not None and not manifest_name.endswith(YAML_NAMES[0][-5:]) \
            and not manifest_name.endswith(".yml"):
        return f"[{GUARD_TABLE}] {key}"
    return f"{GUARD_KEY_YAML}: {key}"


class Problem(NamedTuple):
    """One rule broken at one place. Never holds a secret value."""

    path: str
    line: int
    col: int
    code: str
    message: str
    fixable: bool = False  # `manifest check --fix` repairs it here (a name in `env`'s lists)

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
    """kortix-guard's own settings, paths resolved against the manifest's folder."""

    store: Path
    baseline: Path
    exclude: tuple[str, ...] = ()
    min_known_length: int = DEFAULT_MIN_KNOWN_LENGTH
    min_confidence: str | None = None  # "low", "medium" or "high"; the scanner's default: medium
    max_age_days: int | None = None  # `check` warns about values set longer ago (version 2)
    public_by_design: bool = True  # the scanner lowers client-side and publishable values
    allow_env: frozenset[str] = frozenset()  # loader-family names the project needs (KG123)


class Grant(NamedTuple):
    """What one agent may be given: `all`, `none`, or a list of names (upper-cased: Kortix
    compares secret identifiers without case)."""

    kind: str  # "all", "none" or "list"
    names: frozenset[str] = frozenset()
    enabled: bool = True

    def allows(self, name: str) -> bool:
        return self.kind == "all" or self.kind == "list" and name.upper() in self.names


class Manifest:
    """What the commands read from a manifest that passed its checks."""

    __slots__ = ("path", "version", "required", "optional", "guard", "agents", "default_agent",
                 "_specs", "_declared")

    def __init__(self, path: Path, required: Sequence[str], optional: Sequence[str],
                 guard: GuardConfig, *, version: int = 1,
                 agents: Mapping[str, Grant] | None = None,
                 default_agent: str | None = None) -> None:
        self.path = path
        self.version = version
        self.required = tuple(required)
        self.optional = tuple(optional)
        self.guard = guard
        self.agents = dict(agents or {})
        self.default_agent = default_agent
        # Ordered (manifest order) and a dictionary's keys: `name in manifest.declared` is a
        # lookup, not a walk over 10,000 names.
        self._declared = dict.fromkeys(self.required + self.optional).keys()
        self._specs = {**dict.fromkeys(self.optional, "optional"),
                       **dict.fromkeys(self.required, "required")}

    def __repr__(self) -> str:
        return (f"Manifest({self.path.name!r}, version={self.version}, "
                f"{len(self._declared)} names, {len(self.agents)} agents)")

    @property
    def declared(self) -> KeysView[str]:
        """Every declared name, required first, in manifest order; `in` is a lookup."""
        return self._declared

    def is_declared(self, name: str) -> bool:
        return name in self._specs

    def spec(self, name: str) -> str:
        """`required`, `optional` or `undeclared`, as `kortix secrets ls` says it."""
        return self._specs.get(name, "undeclared")

    def setting(self, key: str) -> str:
        return setting(key, self.path.name)

    @property
    def env_section(self) -> str:
        """Where names are declared, as messages name it."""
        return f"{self.path.name} [env]" if self.version == 1 else f"{self.path.name} `env`"

    def undeclared(self, name: str) -> str:
        """`NAME is not declared in kortix.yaml `env``, with a did-you-mean when a declared
        name is close (a typo on one side is the usual reason), and what to do."""
        import difflib

        close = difflib.get_close_matches(name, list(self._declared), n=1, cutoff=0.8)
        if close:
            return (f"{name} is not declared in {self.env_section}; did you mean "
                    f"{close[0]}? (rename one of them)")
        return (f"{name} is not declared in {self.env_section}; add it to `required` or "
                f"`optional`")

    def undeclared_notes(self, names: Sequence[str], *, many: int = 10) -> list[str]:
        """One note per undeclared name (with its did-you-mean), or, past `many` names, one
        line for all: a wall of notes hides the one typo, and each did-you-mean costs a
        comparison with every declared name."""
        if len(names) <= many:
            return [self.undeclared(name) for name in names]
        shown = ", ".join(names[:5])
        return [(f"{len(names)} names are not declared in {self.env_section} ({shown}, …); "
                 f"add the ones you use to `required` or `optional`")]

    def granted(self, agent: str) -> tuple[str, ...]:
        """The declared names the manifest grants agent, in manifest order: deny by default,
        `all`, `none`, a list (compared without case). ProjectError for a version 1
        manifest (it has no per-agent grants), an agent it does not declare, or one that
        is disabled."""
        if self.version == 1:
            raise ProjectError(f"--agent {agent}: {self.path.name} is version 1, which has no "
                               f"per-agent secret grants",
                               hint="per-agent grants are kortix.yaml's (versions 2 and 3): "
                                    "drop --agent, or move to kortix.yaml")
        grant = self.agents.get(agent)
        if grant is None:
            known = ", ".join(sorted(self.agents)) or "none"
            raise ProjectError(f"--agent {agent}: {self.path.name} declares no agent {agent} "
                               f"(its agents: {known})",
                               hint=f"name one of its agents, or declare {agent} under `agents`")
        if not grant.enabled:
            raise ProjectError(f"--agent {agent}: the agent is disabled (`enabled: false` in "
                               f"{self.path.name})", hint="enable it, or name another agent")
        return tuple(n for n in self._declared if grant.allows(n))
