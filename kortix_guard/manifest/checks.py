"""The manifest rules (codes in kortix_guard.rules), run over one parsed kortix.toml."""
from __future__ import annotations

import difflib
import re
from typing import Any

from kortix_guard import names
from kortix_guard.manifest._toml import Document, Position
from kortix_guard.manifest.model import Problem

KNOWN_TABLES = (
    "kortix_version", "project", "env", "sandbox", "opencode", "triggers", "apps",
    "connectors", "channels", "policies", "guard",
)
ENV_KEYS = ("required", "optional")
GUARD_KEYS = {"store": "a path string", "baseline": "a path string",
              "exclude": "an array of glob strings", "min_known_length": "a positive integer",
              "min_confidence": 'one of "low", "medium", "high"',
              "max_age_days": "a positive integer", "public_by_design": "true or false",
              "allow_env": "an array of names"}
APP_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def plain(item: Any) -> Any:
    """The Python value of a tomlkit item (a Bool is not a bool subclass)."""
    return item.unwrap() if hasattr(item, "unwrap") else item


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _is_table(item: Any) -> bool:
    return isinstance(plain(item), dict)


def _tables(item: Any) -> list[Any]:
    """The entries of an array of tables, or [] when it is anything else."""
    if isinstance(item, list) or hasattr(item, "body") and isinstance(plain(item), list):
        return [t for t in item if _is_table(t)]
    return []


class Checker:
    def __init__(self, display: str, document: Document) -> None:
        self.allow_env: frozenset[str] = frozenset()
        self.display = display
        self.document = document
        self.problems: list[Problem] = []
        self.declared: set[str] = set()

    def add(self, code: str, message: str, where: Position) -> None:
        self.problems.append(Problem(self.display, where[0], where[1], code, message))

    def at(self, item: Any, default: Position = (1, 1)) -> Position:
        return self.document.position(item, default)

    def key_at(self, table: Any, key: str, default: Position = (1, 1)) -> Position:
        return self.document.key_position(table, key, default)

    def run(self, *, yaml_beside: bool = False) -> list[Problem]:
        doc = self.document.doc
        if yaml_beside:
            self.add("KG102", "kortix.yaml sits beside this file: Kortix reads the YAML and "
                              "ignores kortix.toml", (1, 1))
        if not self._version(doc):
            return self.problems
        guard: Any = doc.get("guard")
        allowed = plain(guard.get("allow_env")) if _is_table(guard) else None
        self.allow_env = frozenset(a for a in allowed if isinstance(a, str)) \
            if isinstance(allowed, list) else frozenset()
        self._project(doc)
        self._env(doc)
        self._references(doc)
        self._top_level(doc)
        self._guard(doc)
        return sorted(self.problems, key=lambda p: (p.line, p.col))

    def _version(self, doc: Any) -> bool:
        if "kortix_version" not in doc:
            return True
        value = plain(doc["kortix_version"])
        if (value == 1 and not isinstance(value, bool)) or value == "1":
            return True
        self.add("KG101", "kortix_version other than 1: v2 and later manifests are YAML "
                          "(kortix.yaml) and are not checked here",
                 self.at(doc["kortix_version"], self.key_at(doc, "kortix_version")))
        return False

    def _project(self, doc: Any) -> None:
        project = doc.get("project")
        if project is None or not _is_table(project):
            where = self.key_at(doc, "project") if project is not None else (1, 1)
            self.add("KG103", "kortix.toml needs a [project] table with a name", where)
            return
        name = project.get("name")
        if not isinstance(plain(name), str) or not plain(name).strip():
            where = self.at(name, self.key_at(doc, "project"))
            self.add("KG103", "[project] needs a non-empty string `name`", where)

    def _env(self, doc: Any) -> None:
        env = doc.get("env")
        if env is None:
            return
        if not _is_table(env):
            self.add("KG104", "`env` must be a table ([env]) holding `required` and `optional`",
                     self.key_at(doc, "env"))
            return
        for key, value in env.items():
            where = self.key_at(env, key, self.key_at(doc, "env"))
            if key in ENV_KEYS:
                continue
            if isinstance(plain(value), str):
                self.add("KG106", f"`{key}` under [env] holds a value; values never go in "
                                  f"kortix.toml: declare the name in `required` or `optional` "
                                  f"and set it with `kortix-guard secrets set {key}`", where)
            else:
                self.add("KG105", f"unknown key `{key}` in [env]{suggest(key, ENV_KEYS)}", where)
        seen: dict[str, str] = {}
        for list_name in ENV_KEYS:
            if list_name in env:
                self._names(env, list_name, seen)
        self.declared = set(seen)

    def _names(self, env: Any, list_name: str, seen: dict[str, str]) -> None:
        array = env[list_name]
        key_where = self.key_at(env, list_name)
        if not isinstance(plain(array), list):
            self.add("KG104", f"`{list_name}` must be an array of names", key_where)
            return
        for item in array:
            where = self.at(item, key_where)
            canonical = self._name(item, where)
            if canonical is None:
                continue
            first = seen.get(canonical)
            if first == list_name:
                self.add("KG130", f"{canonical} appears twice in `{list_name}`", where)
            elif first is not None:
                self.add("KG131", f"{canonical} is in both `{first}` and `{list_name}`", where)
            else:
                seen[canonical] = list_name

    def _name(self, item: Any, where: Position) -> str | None:
        """Report the name's issues; return the name Kortix would store, if it has one."""
        value = plain(item)
        issues = names.check(value, self.allow_env)
        for issue in issues:
            self.add(issue.rule.code, issue.message, where)
        if not isinstance(value, str):
            return None
        shape_codes = {"KG110", "KG111", "KG112", "KG113", "KG114"}
        shape = next((i for i in issues if i.rule.code in shape_codes), None)
        return value if shape is None else shape.fix

    def _references(self, doc: Any) -> None:
        for trigger in _tables(doc.get("triggers")):
            key = "secret_env" if "secret_env" in trigger else "secretEnv"
            if key in trigger:
                self._reference(trigger, key, "KG140", f"trigger `{key}`")
        for connector in _tables(doc.get("connectors")):
            auth = connector.get("auth")
            if _is_table(auth) and "secret" in auth:
                self._reference(auth, "secret", "KG141", "connector `auth.secret`")
        for app in _tables(doc.get("apps")):
            self._app_env(app)

    def _reference(self, table: Any, key: str, code: str, what: str) -> None:
        item = table[key]
        where = self.at(item, self.key_at(table, key))
        canonical = self._name(item, where)
        if canonical is not None and canonical not in self.declared:
            self.add(code, f"{what} names {canonical}, which [env] does not declare "
                           f"(Kortix answers 409 at run time); add it to `required`", where)

    def _app_env(self, app: Any) -> None:
        if "env" not in app:
            return
        env = app["env"]
        where = self.at(env, self.key_at(app, "env"))
        if not _is_table(env):
            self.add("KG142", "an app's `env` must be a table of NAME = \"value\"", where)
            return
        for key, value in env.items():
            key_where = self.key_at(env, key, where)
            if not APP_ENV_NAME_RE.fullmatch(key):
                self.add("KG142", f"app env name {key!r} is not an env var name", key_where)
            if not isinstance(plain(value), str):
                self.add("KG142", f"app env `{key}` must be a string", key_where)

    def _top_level(self, doc: Any) -> None:
        for key in doc:
            if key not in KNOWN_TABLES:
                self.add("KG150", f"unknown top-level `{key}`; Kortix ignores it"
                                  f"{suggest(key, KNOWN_TABLES)}", self.key_at(doc, key))

    def _guard(self, doc: Any) -> None:
        guard = doc.get("guard")
        if guard is None:
            return
        if not _is_table(guard):
            self.add("KG152", "`guard` must be a table ([guard])", self.key_at(doc, "guard"))
            return
        for key, item in guard.items():
            where = self.key_at(guard, key, self.key_at(doc, "guard"))
            if key not in GUARD_KEYS:
                self.add("KG151", f"unknown key `{key}` in [guard]{suggest(key, tuple(GUARD_KEYS))}",
                         where)
            elif not _guard_type_ok(key, plain(item)):
                self.add("KG152", f"[guard] `{key}` must be {GUARD_KEYS[key]}", where)


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
