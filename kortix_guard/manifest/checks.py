"""The manifest rules (codes in kortix_guard.rules), run over one manifest's plain data, for
each of Kortix's versions: what touches secrets is checked; structure beyond secrets is the
platform's. A problem is located by its key path, resolved to a line and column only when it
is reported."""
from __future__ import annotations

import difflib
import re
from typing import Any

from kortix_guard import names
from kortix_guard.manifest.model import (
    GUARD_KEY_YAML,
    GUARD_TABLE,
    KNOWN_VERSIONS,
    Grant,
    Problem,
)
from kortix_guard.manifest.source import KeyPath, Source
from kortix_guard.rules import FIXABLE

KNOWN_TABLES = (
    "kortix_version", "project", "env", "sandbox", "opencode", "triggers", "apps",
    "connectors", "channels", "policies", "guard",
)
# The top-level keys of a YAML manifest that touch secrets (and the version): an unknown key
# is only reported when it is a near miss of one of these (`enviroment`), since Kortix
# ignores unknown keys and the rest of the structure is the platform's.
YAML_KEYS = ("kortix_version", "default_agent", "env", "agents", "triggers", "apps",
             "connectors", GUARD_KEY_YAML)
# Keys people bring from other tools' files (compose's `environment`, a CI's `variables`) that
# Kortix reads as nothing: the names under them would never be declared.
YAML_MISTAKES = {"environment": "env", "envs": "env", "secrets": "env", "variables": "env",
                 "vars": "env", "agent": "agents", "defaultAgent": "default_agent",
                 "default-agent": "default_agent", "version": "kortix_version",
                 "kortixVersion": "kortix_version"}
# A key under a YAML `env` besides `required` and `optional` is allowed by Kortix's schema; one
# shaped like an env var name holding a string is a value written where its name goes.
ENV_VAR_KEY_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
ENV_KEYS = ("required", "optional")
GUARD_KEYS = {"store": "a path string", "baseline": "a path string",
              "exclude": "an array of glob strings", "min_known_length": "a positive integer",
              "min_confidence": 'one of "low", "medium", "high"',
              "max_age_days": "a positive integer", "public_by_design": "true or false",
              "allow_env": "an array of names"}
APP_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
FIXED_LISTS = (("env", "required"), ("env", "optional"))  # where `--fix` works
SHAPE_CODES = frozenset({"KG110", "KG111", "KG112", "KG113", "KG114"})
ALL = ("all", "*")


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def version_of(data: Any, yaml: bool) -> int | str:
    """The manifest's version, or why it has none this release knows (a message)."""
    value = data.get("kortix_version") if isinstance(data, dict) else None
    known = ", ".join(map(str, KNOWN_VERSIONS[:-1])) + f" and {KNOWN_VERSIONS[-1]}"
    if isinstance(value, bool):
        return f"kortix_version must be a number ({known})"
    if yaml:
        if value is None:
            return "a kortix.yaml needs `kortix_version` (2 or 3)"
        if value in (2, 3) and isinstance(value, int):
            return value
        if value in (1, "1"):
            return ("kortix_version 1 is the TOML manifest (kortix.toml); a kortix.yaml is "
                    "version 2 or 3")
    else:
        if value is None or value in (1, "1"):
            return 1
        if value in (2, 3, "2", "3"):
            return (f"kortix_version {value} is YAML only: versions 2 and 3 are kortix.yaml "
                    f"(kortix.toml is version 1)")
    return (f"kortix_version {str(value)[:32]}: this kortix-guard knows versions {known} "
            f"(Kortix rejects a version it does not know too)")


def parse_grant(value: Any) -> Grant | None:
    """An agent's `secrets`: absent is `none` (deny by default); None when malformed."""
    if value is None:
        return Grant("none")
    if isinstance(value, str):
        if value in ALL:
            return Grant("all")
        return Grant("none") if value == "none" else None
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        if any(v in ALL for v in value):
            return Grant("all")
        return Grant("list", frozenset(v.upper() for v in value))
    return None


class Checker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.display = source.display
        self.data: dict = source.data if isinstance(source.data, dict) else {}
        self.yaml = source.format == "yaml"
        self.version = 1
        self.allow_env: frozenset[str] = frozenset()
        self.problems: list[Problem] = []
        self.declared: dict[str, str] = {}  # name → the list it is in

    def add(self, code: str, message: str, path: KeyPath, *, key: bool = False) -> None:
        line, col = self.source.at(path, key=key)
        fixable = code in FIXABLE and len(path) == 3 and path[:2] in FIXED_LISTS
        self.problems.append(Problem(self.display, line, col, code, message, fixable))

    def run(self) -> list[Problem]:
        if self.source.problem is not None:
            return [self.source.problem]
        version = version_of(self.data, self.yaml)
        if isinstance(version, str):
            where = ("kortix_version",) if "kortix_version" in self.data else ()
            self.add("KG101", version, where)
            return self.problems
        self.version = version
        guard_key = GUARD_KEY_YAML if self.yaml else GUARD_TABLE
        guard = self.data.get(guard_key)
        allowed = guard.get("allow_env") if isinstance(guard, dict) else None
        self.allow_env = frozenset(a for a in allowed if isinstance(a, str)) \
            if isinstance(allowed, list) else frozenset()
        if version == 1:
            self._project()
        self._env()
        self._triggers()
        if version == 1:
            self._v1_references()
            self._top_level(KNOWN_TABLES, every=True)
        else:
            self._agents()
            self._apps()
            self._yaml_connectors()
            self._top_level(YAML_KEYS, every=False)
        self._guard(guard_key)
        return sorted(self.problems, key=lambda p: (p.line, p.col))

    # --- Every version --------------------------------------------------------------------

    def _project(self) -> None:
        project = self.data.get("project")
        if not isinstance(project, dict):
            self.add("KG103", "kortix.toml needs a [project] table with a name",
                     ("project",) if project is not None else (), key=True)
            return
        name = project.get("name")
        if not isinstance(name, str) or not name.strip():
            self.add("KG103", "[project] needs a non-empty string `name`", ("project", "name"))

    def _env(self) -> None:
        env = self.data.get("env")
        if env is None:
            return
        section = "[env]" if not self.yaml else "`env`"
        if not isinstance(env, dict):
            self.add("KG104", f"`env` must be a table ({section}) holding `required` and "
                              f"`optional`", ("env",), key=True)
            return
        for key, value in env.items():
            if key in ENV_KEYS:
                continue
            if isinstance(value, str) and (not self.yaml or ENV_VAR_KEY_RE.fullmatch(str(key))):
                self.add("KG106", f"`{key}` under {section} holds a value; values never go "
                                  f"in the manifest: declare the name in `required` or "
                                  f"`optional` and set it with `kortix-guard secrets set "
                                  f"{key}`", ("env", key), key=True)
            elif not self.yaml:  # Kortix's YAML `env` allows more keys; its TOML does not
                self.add("KG105", f"unknown key `{key}` in [env]{suggest(str(key), ENV_KEYS)}",
                         ("env", key), key=True)
        for list_name in ENV_KEYS:
            if list_name in env:
                self._names(env[list_name], list_name)

    def _names(self, array: Any, list_name: str) -> None:
        if not isinstance(array, list):
            self.add("KG104", f"`{list_name}` must be an array of names", ("env", list_name),
                     key=True)
            return
        for i, item in enumerate(array):
            canonical = self._name(item, ("env", list_name, i))
            if canonical is None:
                continue
            first = self.declared.get(canonical)
            if first == list_name:
                self.add("KG130", f"{canonical} appears twice in `{list_name}`",
                         ("env", list_name, i))
            elif first is not None:
                self.add("KG131", f"{canonical} is in both `{first}` and `{list_name}`",
                         ("env", list_name, i))
            else:
                self.declared[canonical] = list_name

    def _name(self, value: Any, path: KeyPath) -> str | None:
        """Report the name's issues; return the name Kortix would store, if it has one."""
        issues = names.check(value, self.allow_env)
        for issue in issues:
            self.add(issue.rule.code, issue.message, path)
        if not isinstance(value, str):
            return None
        shape = next((i for i in issues if i.rule.code in SHAPE_CODES), None)
        return value if shape is None else shape.fix

    def _reference(self, value: Any, path: KeyPath, code: str, what: str) -> None:
        canonical = self._name(value, path)
        if canonical is not None and canonical not in self.declared:
            where = "[env]" if not self.yaml else "`env`"
            self.add(code, f"{what} names {canonical}, which {where} does not declare "
                           f"(Kortix answers 409 at run time); add it to `required`", path)

    def _triggers(self) -> None:
        for i, trigger in _items(self.data.get("triggers")):
            key = "secret_env" if "secret_env" in trigger else "secretEnv"
            if key in trigger:
                self._reference(trigger[key], ("triggers", i, key), "KG140", f"trigger `{key}`")

    def _top_level(self, known: tuple[str, ...], *, every: bool) -> None:
        for key in self.data:
            key = str(key)
            if key in known:
                continue
            hint = suggest(key, known)
            if not every:  # `environment` and its near misses (`enviroment`) mean `env`
                close = difflib.get_close_matches(key, tuple(YAML_MISTAKES), n=1, cutoff=0.8)
                if close:
                    hint = f"; did you mean {YAML_MISTAKES[close[0]]!r}?"
            if every or hint:
                self.add("KG150", f"unknown top-level `{key}`; Kortix ignores it{hint}", (key,),
                         key=True)

    def _guard(self, guard_key: str) -> None:
        guard = self.data.get(guard_key)
        if guard is None:
            return
        shown = f"[{guard_key}]" if not self.yaml else f"`{guard_key}`"
        if not isinstance(guard, dict):
            self.add("KG152", f"`{guard_key}` must be a table ({shown})", (guard_key,), key=True)
            return
        for key, item in guard.items():
            if key not in GUARD_KEYS:
                self.add("KG151", f"unknown key `{key}` in {shown}"
                                  f"{suggest(str(key), tuple(GUARD_KEYS))}", (guard_key, key),
                         key=True)
            elif not _guard_type_ok(key, item):
                self.add("KG152", f"{shown} `{key}` must be {GUARD_KEYS[key]}", (guard_key, key),
                         key=True)

    # --- Version 1 (kortix.toml) ----------------------------------------------------------

    def _v1_references(self) -> None:
        for i, connector in _items(self.data.get("connectors")):
            auth = connector.get("auth")
            if isinstance(auth, dict) and "secret" in auth:
                self._reference(auth["secret"], ("connectors", i, "auth", "secret"), "KG141",
                                "connector `auth.secret`")
        for i, app in _items(self.data.get("apps")):
            if "env" in app:
                self._app_env(app["env"], ("apps", i, "env"))

    def _app_env(self, env: Any, path: KeyPath) -> None:
        if not isinstance(env, dict):
            self.add("KG142", "an app's `env` must be a table of NAME = \"value\"", path)
            return
        for key, value in env.items():
            if not APP_ENV_NAME_RE.fullmatch(str(key)):
                self.add("KG142", f"app env name {str(key)[:64]!r} is not an env var name",
                         (*path, key), key=True)
            if not isinstance(value, str):
                self.add("KG142", f"app env `{str(key)[:64]}` must be a string", (*path, key),
                         key=True)

    # --- Versions 2 and 3 (kortix.yaml) ---------------------------------------------------

    def _agents(self) -> None:
        agents = self.data.get("agents")
        agents = agents if isinstance(agents, dict) else {}
        default = self.data.get("default_agent")
        if not isinstance(default, str) or not default:
            self.add("KG163", "`default_agent` must name one of `agents` (Kortix starts it "
                              "when a session names no agent)", ("default_agent",), key=True)
        elif default not in agents:
            self.add("KG163", f"`default_agent` names {default[:64]}, which `agents` does not "
                              f"declare{suggest(default, [str(a) for a in agents])}",
                     ("default_agent",))
        elif isinstance(agents[default], dict) and agents[default].get("enabled") is False:
            self.add("KG163", f"`default_agent` names {default}, which is disabled "
                              f"(`enabled: false`)", ("default_agent",))
        declared = {name.upper() for name in self.declared}
        for agent, block in agents.items():
            if not isinstance(block, dict):
                continue
            path: KeyPath = ("agents", agent, "secrets")
            grant = parse_grant(block.get("secrets"))
            if grant is None:
                self.add("KG162", f"agent {agent}: `secrets` must be a list of names, `all`, "
                                  f"`none` or `*`", path)
                continue
            if grant.kind == "all" and agent != default and block.get("enabled") is not False:
                self.add("KG161", f"agent {agent} is granted `all` secrets but is not the "
                                  f"default agent: grant it the names it needs (least "
                                  f"privilege)", path)
            if grant.kind == "list":
                for i, name in enumerate(block["secrets"]):
                    if name.upper() not in declared:
                        self.add("KG160", f"agent {agent} is granted {name[:64]}, which `env` "
                                          f"does not declare (a typo? Kortix treats `env` as "
                                          f"advisory; kortix-guard exports declared names "
                                          f"only)", (*path, i))

    def _yaml_connectors(self) -> None:
        for i, connector in _items(self.data.get("connectors")):
            auth = connector.get("auth")
            if isinstance(auth, dict) and "secret" in auth:
                self.add("KG141", f"version {self.version} connectors hold no `auth.secret` "
                                  f"(Kortix refuses the manifest): a connector's credential is "
                                  f"shared (`credential: shared`) and set in Kortix",
                         ("connectors", i, "auth", "secret"), key=True)

    def _apps(self) -> None:
        apps = self.data.get("apps")
        if self.version == 3 and apps not in (None, False):
            self.add("KG143", "version 3 has no `apps` (Kortix refuses the manifest): app "
                              "secrets are version 2's", ("apps",), key=True)
            return
        if not isinstance(apps, dict):
            return
        for slug, app in apps.items():
            if not isinstance(app, dict):
                continue
            if "env" in app:
                self._app_env(app["env"], ("apps", slug, "env"))
            secrets = app.get("secrets")
            if isinstance(secrets, dict):
                for env_name, target in secrets.items():
                    path: KeyPath = ("apps", slug, "secrets", env_name)
                    if not APP_ENV_NAME_RE.fullmatch(str(env_name)):
                        self.add("KG142", f"app {slug}: `secrets` name {str(env_name)[:64]!r} "
                                          f"is not an env var name", path, key=True)
                    self._reference(target, path, "KG143", f"app {slug} `secrets`")
            elif secrets is not None:
                self.add("KG143", f"app {slug}: `secrets` must map env names to project "
                                  f"secrets", ("apps", slug, "secrets"), key=True)


def _items(value: Any) -> list[tuple[int, dict]]:
    """The tables of a list (an array of tables), by index; [] for anything else."""
    return [(i, t) for i, t in enumerate(value) if isinstance(t, dict)] \
        if isinstance(value, list) else []


def _guard_type_ok(key: str, value: Any) -> bool:
    if key in ("store", "baseline"):
        return isinstance(value, str) and bool(value.strip())
    if key in ("exclude", "allow_env"):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if key == "min_confidence":
        return value in ("low", "medium", "high")
    if key == "public_by_design":
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def grants_of(data: dict) -> dict[str, Grant]:
    """Each agent's grant, from a manifest that passed its checks."""
    agents = data.get("agents")
    found: dict[str, Grant] = {}
    for agent, block in (agents.items() if isinstance(agents, dict) else ()):
        if isinstance(block, dict):
            grant = parse_grant(block.get("secrets")) or Grant("none")
            found[str(agent)] = grant._replace(enabled=block.get("enabled") is not False)
    return found
