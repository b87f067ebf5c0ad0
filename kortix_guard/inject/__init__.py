"""CI injection: pick the secrets a job gets, all or nothing, before anything is written."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kortix_guard import errors, names
from kortix_guard._out import echo
from kortix_guard.project import Project
from kortix_guard.rules import Severity
from kortix_guard.secret import SecretValue
from kortix_guard.store import Allow, open_trusted

__all__ = ["Allow", "Selection", "get", "report_missing", "select", "warn_rotate"]


@dataclass(frozen=True)
class Selection:
    values: dict[str, SecretValue]  # what to export, in manifest order
    missing: tuple[str, ...]  # required (or --only) names with no value in the store
    rotate: tuple[tuple[str, str], ...] = ()  # (name, set since) of exported values to rotate
    manifest_path: Path | None = None  # where the names are declared (annotations)


def select(project: Project, *, only: Sequence[str] = (), include_undeclared: bool = False,
           allow: Allow = Allow(), agent: str | None = None,
           all_or_nothing: bool = True) -> Selection:
    """Open the store and choose what to export. Raises (exit 2) on any manifest or store
    problem, and on a stale store or carried values unless allowed; the caller exits 1
    without exporting when `missing` is not empty.

    agent: export what the manifest grants that agent, as a session of it would get them,
    intersected with the declared names (stricter than Kortix, whose `env` is advisory);
    `required` fails fast only for the names it is granted.

    all_or_nothing=False: the values present even when some are missing (`kortix push`)."""

    manifest = project.load_manifest()  # reserved or dropped names are manifest errors: exit 2
    granted: tuple[str, ...] | None = None
    if agent is not None:
        if include_undeclared:
            raise errors.UsageError("--agent exports declared names only; --include-undeclared "
                                    "cannot be added to it", hint="drop one of them")
        granted = manifest.granted(agent)  # ProjectError: version 1, unknown, disabled
    display = project.display(project.store_path(manifest))
    opened, verdict = open_trusted(project, manifest, allow=allow, nothing="nothing was exported")
    present = opened.file.entries
    if only:
        undeclared = [n for n in only if n not in manifest.declared]
        if undeclared:
            raise errors.ProjectError(
                "--only: " + "; ".join(manifest.undeclared(n) for n in undeclared),
                hint=f"--only takes names declared in {project.display(manifest.path)}")
        if granted is not None:
            refused = [n for n in only if n not in granted]
            if refused:
                raise errors.ProjectError(
                    f"--only: agent {agent} is not granted {', '.join(refused)} in "
                    f"{project.display(manifest.path)} (`agents.{agent}.secrets`)",
                    hint=f"name what the agent is granted, or grant it in "
                         f"{project.display(manifest.path)}")
        wanted, must_have = list(dict.fromkeys(only)), list(dict.fromkeys(only))
    elif granted is not None:
        wanted = [n for n in granted if n in present]
        must_have = [n for n in manifest.required if n in granted]
    else:
        wanted = [n for n in manifest.declared if n in present]
        extra = sorted(n for n in present if n not in manifest.declared)
        if include_undeclared:
            wanted += extra
        else:
            for note in manifest.undeclared_notes(extra):  # usually a typo on one side
                echo(f"kortix-guard: note: not exported: {note} (or pass "
                           f"--include-undeclared)", err=True)
        must_have = list(manifest.required)
    # Declared names passed the manifest's checks; what --include-undeclared adds did not.
    _refuse_unsafe([n for n in wanted if n in present and not manifest.is_declared(n)],
                   manifest.guard.allow_env)
    carried = [n for n in wanted if n in verdict.carried]
    if carried and not allow.carried:
        raise errors.StoreError(
            f"{display}: {len(carried)} value(s) were carried by a merge from an older "
            f"generation (perhaps written by a removed recipient): {', '.join(carried)}; "
            f"nothing was exported",
            hint="review each (`git log -p -- " + display + "`), then `kortix-guard secrets "
                 "accept NAME` or set it again; or pass --allow-carried")
    missing = tuple(n for n in must_have if n not in present)
    if missing and all_or_nothing:
        return Selection({}, missing, manifest_path=manifest.path)
    values = {n: opened.value(n) for n in wanted if n in present}
    rotate = tuple((n, since) for n, since in verdict.rotate if n in values)
    return Selection(values, missing, rotate, manifest.path)


def warn_rotate(selection: Selection) -> None:
    """Values a removed recipient could read are exported all the same (CI must run), and
    said so: one line, or on GitHub an annotation and a summary column."""
    if not selection.rotate:
        return
    listed = ", ".join(f"{n} (set {since})" for n, since in selection.rotate)
    text = (f"{len(selection.rotate)} value(s) to rotate: {listed}; a removed recipient could "
            f"read them: change each at its provider, then `kortix-guard secrets set NAME=-`")
    from kortix_guard.inject import github

    if github.enabled():
        from kortix_guard._out import github_data

        echo(f"::warning title=kortix-guard: values to rotate::{github_data(text)}")
    else:
        echo(f"kortix-guard: warning: {text}", err=True)


def get(project: Project, name: str, *, reveal: bool, to_terminal: bool,
        allow: Allow = Allow()) -> int:
    """`secrets get NAME`: one value to stdout, as `op read`, `sops -d --extract` and `dotenvx
    get` give one. Only into a pipe or a file, or to a terminal with --reveal; byte for byte
    (no newline added, so `$(…)` and `| pbcopy` get the value itself). The same refusals
    as `inject` (stale store, carried value, loader names); an undeclared or unset name is a
    problem (exit 1) that names it."""
    if to_terminal and not reveal:
        raise errors.UsageError("stdout is a terminal: the value would be shown on screen",
                                hint=f"pipe it (`kortix-guard secrets get {name} | pbcopy`), "
                                     f"or pass --reveal to print it")
    manifest = project.load_manifest()
    if name not in manifest.declared:
        echo(f"kortix-guard: {manifest.undeclared(name)}", err=True)
        return errors.PROBLEMS
    selection = select(project, only=[name], allow=allow)
    if selection.missing:
        store = project.display(project.store_path(manifest))
        echo(f"kortix-guard: {name} is declared but not set in {store}; set it with "
             f"`kortix-guard secrets set {name}=-`", err=True)
        return errors.PROBLEMS
    data = (selection.values[name].reveal() + ("\n" if to_terminal else "")).encode("utf-8")
    out = getattr(sys.stdout, "buffer", None)  # bytes as stored, whatever the console's encoding
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        sys.stdout.flush()
        out.write(data)
        out.flush()
    return errors.CLEAN


def _refuse_unsafe(names_: Sequence[str], allow: frozenset[str]) -> None:
    """Undeclared store entries (--include-undeclared) pass no manifest check: a reserved,
    dropped or loader-changing name is refused here, before anything is exported."""

    bad = [(n, i.rule.code) for n in names_ for i in names.check(n, allow)
           if i.rule.severity is Severity.ERROR]
    if bad:
        listing = ", ".join(f"{names.shown(n)} ({code})" for n, code in bad)
        raise errors.ProjectError(f"the store holds name(s) that are never exported: {listing}; "
                                  f"nothing was exported",
                                  hint="remove them with `kortix-guard secrets rm NAME`")


def report_missing(missing: Sequence[str], *, only: bool = False, agent: str | None = None,
                   manifest_path: Path | None = None, cwd: Path | None = None) -> int:
    """With --only, the names asked for need not be `required` ones: say what they are. On
    GitHub, where people look: an error annotation on each missing name's line of the
    manifest, and the step summary."""
    for name in missing:
        echo(f"kortix-guard: missing: {name} has no value in the store", err=True)
    what = "secret(s) named by --only" if only else "required secret(s)"
    if agent is not None and not only:
        what += f" granted to agent {agent}"
    fix = "set them with `kortix-guard secrets set NAME=-`"
    echo(f"kortix-guard: {len(missing)} {what} missing; nothing was exported ({fix})", err=True)
    from kortix_guard.inject import github

    if github.enabled():
        github.annotate_missing(missing, what, fix, manifest_path, cwd or Path.cwd())
    return errors.PROBLEMS
