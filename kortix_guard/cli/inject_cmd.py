"""`inject` and `run`: the secrets into CI jobs and commands."""
from __future__ import annotations

from pathlib import Path

import click

from kortix_guard.cli._state import State, pass_state
from kortix_guard.inject import Allow
from kortix_guard.inject.command import inject as run_inject
from kortix_guard.inject.formats import Format
from kortix_guard.inject.run import run as run_command


def _names(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    return [n.strip() for item in value for n in item.split(",") if n.strip()]


only_option = click.option("--only", multiple=True, callback=_names, metavar="NAME[,NAME...]",
                           help="Exactly these names (each declared and set): least privilege.")
undeclared_option = click.option("--include-undeclared", is_flag=True,
                                 help="Also export store entries the manifest does not declare.")
agent_option = click.option("--agent", metavar="NAME",
                            help="Exactly what the manifest grants this agent "
                                 "(`agents.NAME.secrets` in kortix.yaml; deny by default), "
                                 "declared names only.")
stale_option = click.option("--allow-stale", is_flag=True,
                            help="Export a store older than the one this machine opened.")
carried_option = click.option("--allow-carried", is_flag=True,
                              help="Export values a merge carried from an older generation.")


@click.command()
@click.option("--github/--no-github", "github_mode", default=None,
              help="GitHub Actions mode (default when GITHUB_ACTIONS=true): masks, $GITHUB_ENV, "
                   "outputs, step summary.")
@click.option("--format", "fmt", type=click.Choice(["dotenv", "json", "shell", "docker"]),
              help="Write the values in this format (to stdout unless --output).")
@click.option("--output", type=click.Path(path_type=Path), help="Write to FILE (mode 0600).")
@only_option
@agent_option
@undeclared_option
@click.option("--check", is_flag=True, help="Decrypt and check presence only; export nothing.")
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@click.option("--outputs-only", is_flag=True,
              help="GitHub mode: the values only as the step's masked `values` output (JSON), "
                   "nothing in $GITHUB_ENV (least exposure: later steps get what they name).")
@stale_option
@carried_option
@pass_state
def inject(state: State, github_mode: bool | None, fmt: str | None, output: Path | None,
           only: list[str], agent: str | None, include_undeclared: bool, check: bool,
           force: bool, outputs_only: bool, allow_stale: bool, allow_carried: bool) -> int:
    """Export the manifest's secrets for CI; fail fast, exporting nothing, if any is missing."""
    return run_inject(state.project(), github_mode=github_mode, fmt=Format(fmt) if fmt else None,
                      output=output, only=only, include_undeclared=include_undeclared, check=check,
                      force=force, allow=Allow(allow_stale, allow_carried),
                      export_env=not outputs_only, agent=agent)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@only_option
@agent_option
@undeclared_option
@stale_option
@carried_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_state
def run(state: State, only: list[str], agent: str | None, include_undeclared: bool,
        allow_stale: bool, allow_carried: bool, command: tuple[str, ...]) -> int:
    """Run CMD with the secrets in its environment: kortix-guard run -- CMD [ARGS...]."""
    return run_command(state.project(), command, only=only, include_undeclared=include_undeclared,
                       allow=Allow(allow_stale, allow_carried), agent=agent)


COMMANDS = [inject, run]
