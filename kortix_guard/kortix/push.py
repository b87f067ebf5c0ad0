"""`kortix-guard kortix push` and `kortix diff`: the store in git is the source of truth, and
Kortix's Secrets Manager (write-only: it never gives a value back) is kept in step with it.

Push sends the declared names' values, each whole (multi-line included), one call per name,
and stops at the first refusal saying which names went. Only what changed since the last
push from this machine is sent: a digest per name, keyed with a random key of this user's
(so the state file says nothing about a value), unless `--all`. Diff compares names only:
there is no call that reads a value back.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from kortix_guard import errors
from kortix_guard._out import echo, names_list
from kortix_guard.kortix.api import DEFAULT_TIMEOUT, SecretsApi, ServiceError
from kortix_guard.kortix.cli_tool import KortixCli
from kortix_guard.kortix.connection import LOGIN_HINT, KortixError, connect, find_project
from kortix_guard.manifest.model import Manifest
from kortix_guard.names import RESERVED_PREFIX
from kortix_guard.project import Project
from kortix_guard.secret import SecretValue


class Sender(Protocol):
    @property
    def where(self) -> str: ...

    def set(self, name: str, value: SecretValue) -> None: ...

    def delete(self, name: str) -> None: ...


class PushState:
    """What this machine last pushed to one Kortix project: a keyed digest per name."""

    def __init__(self, target: str) -> None:
        from kortix_guard._dirs import private_folder

        self._key = _machine_key(private_folder("config"))
        self._target = target
        folder = private_folder("cache", "kortix-push")
        self.path = folder / (hashlib.sha256(target.encode("utf-8")).hexdigest()[:32] + ".json")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self._digests: dict[str, str] = data if isinstance(data, dict) else {}

    def _digest(self, name: str, value: SecretValue) -> str:
        message = f"{self._target}\0{name}\0".encode() + value.reveal().encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def unchanged(self, name: str, value: SecretValue) -> bool:
        return hmac.compare_digest(self._digests.get(name, ""), self._digest(name, value))

    def record(self, name: str, value: SecretValue | None) -> None:
        if value is None:
            self._digests.pop(name, None)
        else:
            self._digests[name] = self._digest(name, value)

    def save(self) -> None:
        from kortix_guard._fs import store_private

        store_private(self.path, json.dumps(self._digests, sort_keys=True).encode("utf-8"))


def _machine_key(folder: Path) -> bytes:
    from kortix_guard._fs import atomic_write

    path = folder / "kortix-push.key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    key = os.urandom(32)
    atomic_write(path, key, mode=0o600)
    return key


class Plan(NamedTuple):
    values: dict[str, SecretValue]  # the declared names with a value, in manifest order
    missing: tuple[str, ...]  # required names with no value in the store


def _plan(project: Project, only: Sequence[str]) -> Plan:
    from kortix_guard.inject import select

    reserved = [n for n in only if n.upper().startswith(RESERVED_PREFIX)]
    if reserved:
        raise errors.ProjectError(f"{', '.join(reserved)}: KORTIX_* names are the platform's "
                                  f"runtime variables, and Kortix refuses them; nothing was sent",
                                  hint="push the project's own names (drop these from --only)")
    selection = select(project, only=only, all_or_nothing=False)
    values = {n: v for n, v in selection.values.items() if not n.startswith(RESERVED_PREFIX)}
    return Plan(values, selection.missing)


def _sender(project: Project, project_id: str | None, timeout: float,
            scrub: tuple[SecretValue, ...]) -> tuple[Sender, SecretsApi | None, str]:
    """The API when a token is found, else the `kortix` CLI on PATH; and the key of the state
    (which Kortix, which project)."""
    connection = connect(project.root, project_id)
    if connection is not None:
        api = SecretsApi(connection, timeout=timeout, scrub=scrub)
        return api, api, f"{connection.api_url}\0{connection.project_id}"
    found = find_project(project.root, project_id)  # else the CLI's own default project
    project_id = found[0] if found else None
    cli = KortixCli.find(project_id, scrub=scrub)
    if cli is None:
        raise KortixError("no Kortix token here, and no `kortix` command on PATH",
                          hint=LOGIN_HINT + " (or install the Kortix CLI)")
    echo("kortix-guard: note: no Kortix token found; sending through `kortix secrets set "
         "NAME=-` (each value on its stdin, never in its arguments)", err=True)
    return cli, None, f"kortix-cli\0{project_id or 'linked'}"


def push(project: Project, *, only: Sequence[str] = (), dry_run: bool = False,
         prune: bool = False, everything: bool = False, project_id: str | None = None,
         yes: bool = False, confirm: Callable[[str], bool] | None = None,
         timeout: float = DEFAULT_TIMEOUT) -> int:
    manifest = project.load_manifest()
    plan = _plan(project, only)
    for name in plan.missing:
        echo(f"kortix-guard: warning: {name} is required but has no value in the store: not "
             f"pushed (`kortix-guard secrets set {name}=-`)", err=True)
    sender, api, target = _sender(project, project_id, timeout, tuple(plan.values.values()))
    state = PushState(target)
    todo = [n for n in plan.values if everything or not state.unchanged(n, plan.values[n])]
    kept = [n for n in plan.values if n not in todo]
    there = _names_there(api) if api is not None and (dry_run or prune) else None
    doomed = _prune_list(manifest, there) if prune else []
    if prune and there is None:
        raise KortixError("--prune needs the names set in Kortix, which only the API lists",
                          hint="set KORTIX_CLI_TOKEN (or `kortix login`) so kortix-guard can "
                               "read them")
    if dry_run:
        return _dry_run(sender.where, todo, kept, there, doomed)
    if doomed and not yes and not (confirm and confirm(
            f"remove {len(doomed)} secret(s) from {sender.where} that {manifest.path.name} no "
            f"longer declares: {', '.join(doomed)}?")):
        raise errors.UsageError(f"--prune would remove {', '.join(doomed)} from {sender.where}; "
                                f"nothing was sent",
                                hint="confirm at the prompt, or pass --yes (CI has no prompt)")
    sent = _send(sender, state, todo, plan.values)
    unchanged = (f" ({len(kept)} unchanged since the last push from here: {names_list(kept)}; "
                 f"--all sends them too)") if kept else ""
    echo(f"kortix-guard: pushed {len(sent)} secret(s) to {sender.where}: "
         f"{names_list(sent)}{unchanged}", err=True)
    if doomed:
        removed = _remove(sender, state, doomed)
        echo(f"kortix-guard: removed {len(removed)} secret(s) no longer declared: "
             f"{', '.join(removed)}", err=True)
    echo("kortix-guard: a value takes effect in the next session Kortix starts", err=True)
    return errors.CLEAN


def _send(sender: Sender, state: PushState, names: Sequence[str],
          values: dict[str, SecretValue]) -> list[str]:
    sent: list[str] = []
    try:
        for name in names:
            sender.set(name, values[name])
            sent.append(name)
            state.record(name, values[name])
            echo(f"✓ {name}", err=True)
    except ServiceError as e:
        failed, rest = names[len(sent)], names[len(sent) + 1:]
        e.message += (f"\n  pushed before it: {names_list(sent)}; not pushed: {failed}"
                      + (f", and {names_list(rest)} (not attempted)" if rest else ""))
        raise
    finally:
        state.save()
    return sent


def _remove(sender: Sender, state: PushState, names: Sequence[str]) -> list[str]:
    removed: list[str] = []
    try:
        for name in names:
            sender.delete(name)
            removed.append(name)
            state.record(name, None)
    except ServiceError as e:
        e.message += f"\n  removed before it: {', '.join(removed) or 'none'}"
        raise
    finally:
        state.save()
    return removed


def _names_there(api: SecretsApi) -> set[str]:
    items = api.names()["items"]
    return {item["name"] for item in items
            if isinstance(item, dict) and isinstance(item.get("name"), str)}


def _prune_list(manifest: Manifest, there: set[str] | None) -> list[str]:
    declared = {n.upper() for n in manifest.declared}
    return sorted(n for n in there or () if n.upper() not in declared
                  and not n.upper().startswith(RESERVED_PREFIX))


def _dry_run(where: str, todo: Sequence[str], kept: Sequence[str], there: set[str] | None,
             doomed: Sequence[str]) -> int:
    for name in todo:
        if there is None:
            echo(f"would set {name}")
        else:
            echo(f"would set {name} ({'replaces the value there' if name in there else 'new'})")
    for name in kept:
        echo(f"unchanged {name} (as last pushed from here; --all sends it)")
    for name in doomed:
        echo(f"would remove {name} (not declared)")
    note = "" if there is not None else " (which are new cannot be told without a token)"
    echo(f"kortix-guard: dry run for {where}: {len(todo)} to send, nothing sent{note}", err=True)
    return errors.CLEAN


class Difference(NamedTuple):
    where: str
    required_missing: list[str]
    optional_missing: list[str]
    undeclared_there: list[str]
    in_step: int
    service_manifest: str  # what Kortix says of the manifest it reads, when it differs

    @property
    def failing(self) -> bool:
        return bool(self.required_missing)

    def lines(self) -> list[str]:
        out = []
        if self.required_missing:
            out.append(f"missing in Kortix (required): {', '.join(self.required_missing)}; "
                       f"`kortix-guard kortix push`")
        if self.optional_missing:
            out.append(f"missing in Kortix (optional): {', '.join(self.optional_missing)}")
        if self.undeclared_there:
            out.append(f"set in Kortix, not declared here: {', '.join(self.undeclared_there)}; "
                       f"`kortix-guard kortix push --prune` removes them")
        if self.service_manifest:
            out.append(self.service_manifest)
        return out


def difference(project: Project, *, project_id: str | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> Difference:
    """The manifest's names against the names set in Kortix (names only: Kortix gives no
    value back, so a value changed on one side is not seen)."""
    manifest = project.load_manifest()
    connection = connect(project.root, project_id)
    if connection is None:
        raise KortixError("no Kortix token here: the names set in Kortix are read with the API",
                          hint=LOGIN_HINT)
    api = SecretsApi(connection, timeout=timeout)
    data = api.names()
    there = {item["name"].upper() for item in data["items"]
             if isinstance(item, dict) and isinstance(item.get("name"), str)}
    declared = {n.upper() for n in manifest.declared}
    note = ""
    theirs = {n.upper() for key in ("required", "optional") for n in data.get(key) or ()
              if isinstance(n, str)}
    if data.get("manifest_status") == "loaded" and theirs != declared:
        note = (f"note: the manifest Kortix reads (its default branch) declares other names "
                f"than {manifest.path.name} here: sessions follow the one Kortix reads")
    return Difference(
        api.where,
        [n for n in manifest.required if n.upper() not in there],
        [n for n in manifest.optional if n.upper() not in there],
        sorted(n for n in there if n not in declared and not n.startswith(RESERVED_PREFIX)),
        len(declared & there), note)


def diff(project: Project, *, project_id: str | None = None, fmt: str = "text",
         timeout: float = DEFAULT_TIMEOUT) -> int:
    found = difference(project, project_id=project_id, timeout=timeout)
    if fmt == "json":
        echo(json.dumps({"where": found.where, "required_missing": found.required_missing,
                         "optional_missing": found.optional_missing,
                         "undeclared_there": found.undeclared_there, "in_step": found.in_step},
                        indent=2))
    else:
        for line in found.lines():
            echo(line)
        echo(f"kortix-guard: {found.in_step} declared name(s) set in {found.where} (names "
             f"only: Kortix gives no value back)", err=True)
    return errors.PROBLEMS if found.failing or found.undeclared_there else errors.CLEAN
