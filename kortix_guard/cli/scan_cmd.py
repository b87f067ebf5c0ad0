"""`kortix-guard scan`: block secret values before they enter git."""
from __future__ import annotations

from pathlib import Path

import click

from kortix_guard.cli.main import State, pass_state

confidence_option = click.option(
    "--min-confidence", type=click.Choice(["low", "medium", "high"]),
    help="Report findings at this confidence or above (default: [guard] min_confidence, "
         "else medium); `low` shows everything.")


def _confidence(value: str | None):
    from kortix_guard.scan.model import Confidence

    return Confidence.parse(value) if value else None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True,
              help="The staged blobs of the git index (of PATHS, else every staged change).")
@click.option("--all-files", is_flag=True, help="Every file in the git index.")
@click.option("--history", is_flag=True, help="Every blob reachable from any ref, once each.")
@click.option("--since", metavar="REV", help="With --history: only what is not reachable from REV.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True)
@click.option("--update-baseline", is_flag=True,
              help="Accept every current finding into the baseline ([guard] baseline).")
@confidence_option
@pass_state
def scan(state: State, paths: tuple[Path, ...], staged: bool, all_files: bool, history: bool,
         since: str | None, fmt: str, update_baseline: bool, min_confidence: str | None) -> int:
    """Find secret values in files, the index, or history. Exit 1 when any is found."""
    from kortix_guard.scan.command import Format, Mode, run

    chosen = [m for m, on in ((Mode.STAGED, staged), (Mode.ALL_FILES, all_files),
                              (Mode.HISTORY, history)) if on]
    if len(chosen) > 1:
        raise click.UsageError("choose one of --staged, --all-files and --history")
    mode = chosen[0] if chosen else Mode.DISK
    if since and mode is not Mode.HISTORY:
        raise click.UsageError("--since goes with --history")
    if paths and mode in (Mode.ALL_FILES, Mode.HISTORY):
        raise click.UsageError(f"--{mode.value} takes no PATHS")
    return run(state.project(), paths, mode=mode, since=since, fmt=Format(fmt),
               update_baseline=update_baseline, min_confidence=_confidence(min_confidence))


@click.command()
@click.option("--all-files", is_flag=True, help="Scan every file in the index, not just what is staged.")
@click.option("--require-key", is_flag=True, help="Fail when no key is at hand to open the store.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@confidence_option
@pass_state
def check(state: State, all_files: bool, require_key: bool, fmt: str,
          min_confidence: str | None) -> int:
    """Run every check on the project: manifest, store, required secrets, secrets, git hygiene."""
    from kortix_guard.check import Format
    from kortix_guard.check import run as run_check

    return run_check(state.project(), all_files=all_files, require_key=require_key,
                     fmt=Format(fmt), min_confidence=_confidence(min_confidence))


@click.command()
@pass_state
def init(state: State) -> int:
    """Set up kortix-guard in this git repository (idempotent, never overwrites a file)."""
    from kortix_guard.init import run as run_init

    return run_init(state.project())


COMMANDS = [scan, check, init]
