"""The `kortix-guard` command: global options, the error handler, and the command groups.

Each command only parses its arguments and calls a plain function that returns an exit code.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from kortix_guard import errors
from kortix_guard._meta import version
from kortix_guard._out import echo
from kortix_guard.cli._state import PATH, Group, State

# Each command's module, imported only when that command runs (or `--help` lists them all):
# a command pays for its own imports, never for every other command's.
LAZY_COMMANDS = {
    "check": "repo_cmd", "env": "store_cmd", "hook": "repo_cmd", "identity": "store_cmd",
    "init": "repo_cmd", "inject": "inject_cmd", "key": "store_cmd", "kortix": "kortix_cmd",
    "manifest": "manifest_cmd", "merge-store": "store_cmd", "recipients": "store_cmd",
    "run": "inject_cmd", "scan": "scan_cmd", "secrets": "store_cmd", "store": "store_cmd",
}


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from kortix_guard.scan import catalog

        click.echo(f"kortix-guard {version()}")
        click.echo(catalog.status())
        ctx.exit(0)


SIGPIPE_EXIT = 141  # 128 + SIGPIPE, as git and the shell's own tools end on a closed pipe


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class GuardGroup(Group):
    """Turns a command's returned int into the exit code and every error into one message;
    loads each command's module when it is called."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = LAZY_COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        import importlib

        module = importlib.import_module(f"kortix_guard.cli.{module_name}")
        return next(c for c in module.COMMANDS if c.name == cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        state = ctx.ensure_object(State)
        try:
            result = super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.Abort:  # Ctrl-C (or end of input) at a prompt: as a shell would
            echo("\nkortix-guard: interrupted; nothing was changed", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # `kortix-guard secrets ls | head -1`: the reader is done
            _quiet_stdout()
            ctx.exit(SIGPIPE_EXIT)
        except (errors.Error, KeyboardInterrupt, Exception) as e:
            ctx.exit(errors.report(e, verbose=state.verbose))
        if isinstance(result, int):
            ctx.exit(result)
        return result


@click.group(cls=GuardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and exit.")
@click.option("-C", "cwd", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=".", help="Run as if started in DIRECTORY (like git -C).")
@click.option("--manifest", type=PATH,
              help="The manifest (default: the project root's kortix.yaml, kortix.yml or "
                   "kortix.toml, the first that exists, as Kortix reads them).")
@click.option("--store", type=PATH,
              help="The encrypted store (default: the manifest's `store` setting, or "
                   ".kortix/secrets.enc.toml beside the manifest).")
@click.option("--key-file", type=PATH, help="Read the store's key from this file (before "
                                            "KORTIX_GUARD_KEY and the per-user key).")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks and debug detail on errors.")
@click.pass_context
def cli(ctx: click.Context, cwd: Path, manifest: Path | None, store: Path | None,
        key_file: Path | None, verbose: bool) -> None:
    """Keep a Kortix project's secrets out of git and get them into CI."""
    state = ctx.ensure_object(State)
    state.cwd, state.manifest, state.store, state.key_file = cwd, manifest, store, key_file
    state.verbose = state.verbose or verbose



def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (pre-commit's entry-point shape)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="kortix-guard")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else errors.CANNOT_RUN)
    return errors.CLEAN


if __name__ == "__main__":
    sys.exit(main())
