"""`kortix-guard inject`: GitHub mode, or an explicit destination for other CI."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kortix_guard import errors
from kortix_guard._fs import write_output
from kortix_guard._out import echo, names_list
from kortix_guard.inject import Allow, github, report_missing, select, warn_rotate
from kortix_guard.inject.formats import Format, render
from kortix_guard.project import Project


def inject(project: Project, *, github_mode: bool | None = None, fmt: Format | None = None,
           output: Path | None = None, only: Sequence[str] = (),
           include_undeclared: bool = False, check: bool = False, force: bool = False,
           allow: Allow = Allow(), export_env: bool = True, agent: str | None = None) -> int:
    if github_mode is None:
        github_mode = github.enabled() and fmt is None and output is None
    if not (github_mode or check or fmt or output):
        raise errors.UsageError("choose where the values go; kortix-guard never prints values "
                                "by default", hint="pass --github, --format FORMAT (stdout) or "
                                                   "--output FILE")
    selection = select(project, only=only, include_undeclared=include_undeclared, allow=allow,
                       agent=agent)
    if selection.missing:
        if github_mode:
            github.report_missing_outputs(selection.missing)
        return report_missing(selection.missing, only=bool(only), agent=agent,
                              manifest_path=selection.manifest_path, cwd=project.cwd)
    names = names_list(selection.values)
    if check:
        whose = f" for agent {agent}" if agent is not None else ""
        echo(f"kortix-guard: ok: {len(selection.values)} secret(s) present{whose}: {names}",
             err=True)
        return errors.CLEAN
    if not export_env and not github_mode:
        raise errors.UsageError("--outputs-only is a GitHub mode: it writes the step's outputs",
                                hint="pass --github (the default on GitHub Actions)")
    warn_rotate(selection)
    if github_mode:
        github.export(selection.values, export_env=export_env,
                      rotate=dict(selection.rotate))
    else:
        if github.enabled():  # on Actions, a value a later step echoes must be masked too
            github.register_masks(selection.values, err=True)
        text = render(fmt or Format.DOTENV, selection.values)
        if output is None:
            echo(text, nl=False)
        else:
            write_output(project.cwd / output, text.encode("utf-8"), display=str(output),
                         force=force)
    whose = f" for agent {agent}" if agent is not None else ""
    echo(f"kortix-guard: injected {len(selection.values)} secret(s){whose}: {names}", err=True)
    return errors.CLEAN
