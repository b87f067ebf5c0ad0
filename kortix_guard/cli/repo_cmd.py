"""`check`, `init` and `hook install`: a repository's set-up, checked and made."""
from __future__ import annotations

from pathlib import Path

import click

from kortix_guard.check import Format
from kortix_guard.check import run as run_check
from kortix_guard.cli._state import Group, State, pass_state
from kortix_guard.cli.scan_cmd import CONFIDENCE_OPTION, confidence
from kortix_guard.init import run as run_init
from kortix_guard.scan import hookscripts


@click.command()
@click.option("--all-files", is_flag=True, help="Scan every file in the index, not just what is staged.")
@click.option("--require-key", is_flag=True, help="Fail when no key is at hand to open the store.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@CONFIDENCE_OPTION
@click.option("--strict", is_flag=True, help="Warnings (no key, no merge driver, ...) fail too.")
@click.option("--base", metavar="REV",
              help="The branch a pull request merges into: the store must be its store or a "
                   "verified re-key of it (default in CI: GITHUB_BASE_REF, GitLab's MR base).")
@click.option("--kortix", is_flag=True,
              help="Also compare the manifest's names with those set in Kortix (a token is "
                   "needed; names only; never from a commit hook).")
@pass_state
def check(state: State, all_files: bool, require_key: bool, fmt: str,
          min_confidence: str | None, strict: bool, base: str | None, kortix: bool) -> int:
    """Run every check on the project: manifest, store, required secrets, secrets, git hygiene."""
    return run_check(state.project(), all_files=all_files, require_key=require_key,
                     fmt=Format(fmt), min_confidence=confidence(min_confidence), strict=strict,
                     base=base, kortix=kortix)


@click.command()
@pass_state
def init(state: State) -> int:
    """Set up kortix-guard in this git repository (idempotent, never overwrites a file)."""
    return run_init(state.project())


@click.group(cls=Group)
def hook() -> None:
    """Install push protection as plain git hooks (pre-receive on a server, pre-push)."""


@hook.command("install")
@click.option("--pre-receive", "repository", type=click.Path(path_type=Path, file_okay=False),
              metavar="REPO.git", help="The server's bare repository.")
@click.option("--pre-push", is_flag=True, help="This clone's pre-push hook.")
@click.option("--config", "server_config", type=click.Path(path_type=Path, dir_okay=False),
              help="With --pre-receive: the server's config file the hook passes on.")
@pass_state
def hook_install(state: State, repository: Path | None, pre_push: bool,
                 server_config: Path | None) -> int:
    """Write the hook (an absolute interpreter path); never overwrite a different hook."""
    if (repository is None) == (not pre_push):
        raise click.UsageError("choose one of --pre-receive REPO.git and --pre-push")
    if repository is not None:
        return hookscripts.install_pre_receive(state.cwd / repository, config=server_config)
    if server_config is not None:
        raise click.UsageError("--config goes with --pre-receive")
    return hookscripts.install_pre_push(state.cwd.absolute())


COMMANDS = [check, init, hook]
