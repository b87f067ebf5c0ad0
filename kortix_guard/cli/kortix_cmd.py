"""`kortix push` and `kortix diff`: the store's values into Kortix's Secrets Manager."""
from __future__ import annotations

import sys

import click

from kortix_guard.cli._state import Group, State, pass_state

project_option = click.option("--project", "project_id", metavar="ID",
                              help="The Kortix project (default: KORTIX_PROJECT_ID, else "
                                   ".kortix/link.json).")
timeout_option = click.option("--timeout", type=click.FloatRange(min=1), default=30,
                              show_default=True, help="Seconds to wait for each answer.")


def _names(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    return [n.strip() for item in value for n in item.split(",") if n.strip()]


@click.group(cls=Group)
def kortix() -> None:
    """Keep Kortix's Secrets Manager in step with the store (names compared, values pushed)."""


@kortix.command("push")
@click.option("--only", multiple=True, callback=_names, metavar="NAME[,NAME...]",
              help="Push these declared names only.")
@click.option("--dry-run", is_flag=True, help="Say what would be sent (new or replacing); send "
                                              "nothing.")
@click.option("--all", "everything", is_flag=True,
              help="Send every value, also those unchanged since the last push from here.")
@click.option("--prune", is_flag=True, help="Also remove names set in Kortix that the manifest "
                                            "no longer declares (after a prompt).")
@click.option("--yes", is_flag=True, help="Confirm --prune without a prompt (CI).")
@project_option
@timeout_option
@pass_state
def push(state: State, only: list[str], dry_run: bool, everything: bool, prune: bool, yes: bool,
         project_id: str | None, timeout: float) -> int:
    """Upload the store's values for the declared names to the Kortix project."""
    from kortix_guard.kortix.push import push as run_push

    confirm = (lambda q: click.confirm(q, default=False, err=True)) if sys.stdin.isatty() else None
    return run_push(state.project(), only=only, dry_run=dry_run, prune=prune,
                    everything=everything, project_id=project_id, yes=yes, confirm=confirm,
                    timeout=timeout)


@kortix.command("diff")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@project_option
@timeout_option
@pass_state
def diff(state: State, fmt: str, project_id: str | None, timeout: float) -> int:
    """Compare the manifest's names with the names set in Kortix (exit 1 when they differ)."""
    from kortix_guard.kortix.push import diff as run_diff

    return run_diff(state.project(), project_id=project_id, fmt=fmt, timeout=timeout)


COMMANDS = [kortix]
