"""`kortix-guard hook install`: plain git hooks for push protection, a pre-receive hook in a
server's bare repository and a pre-push hook in a clone. Each runs the installed kortix-guard
by its absolute path, and an existing different hook is never overwritten."""
from __future__ import annotations

import shlex
from pathlib import Path

from kortix_guard import errors
from kortix_guard._fs import atomic_write
from kortix_guard._out import echo
from kortix_guard.git import hooks_dir, set_repository_config
from kortix_guard.repo_setup import installed_command
from kortix_guard.scan.push import ServerConfig

MARK = "# kortix-guard hook, written by `kortix-guard hook install`"


def script(args: list[str]) -> str:
    command = " ".join(shlex.quote(a) for a in [*installed_command(), *args])
    return f'#!/bin/sh\n{MARK}\nexec {command} "$@"\n'


def _write(path: Path, text: str, what: str) -> int:
    if path.exists():
        if path.read_text(errors="replace") == text:
            echo(f"· {path}: the kortix-guard {what} hook is already installed")
            return errors.CLEAN
        echo(f"kortix-guard: {path} exists and is not this hook; nothing was changed. Call "
             f"kortix-guard from it (add this line before its end):\n  "
             f"{text.splitlines()[-1]}", err=True)
        return errors.PROBLEMS
    atomic_write(path, text.encode(), mode=0o755)
    echo(f"✓ installed the {what} hook: {path}")
    return errors.CLEAN


def install_pre_receive(repository: Path, *, config: Path | None) -> int:
    """Into a bare repository: `hooks/pre-receive.d/kortix-guard` where that layout is used
    (Gitea, Forgejo; GitLab's `custom_hooks/pre-receive.d/`), else `hooks/pre-receive`."""
    repository = repository.resolve()
    if not ((repository / "HEAD").is_file() and (repository / "objects").is_dir()):
        raise errors.InputError(f"{repository}: not a bare git repository (no HEAD and objects/)",
                                hint="name the server's repository folder, such as "
                                     "/srv/git/app.git")
    args = ["scan", "--pre-receive"]
    server = None
    if config is not None:

        server = ServerConfig.load(config.absolute())  # a broken config fails now, not on push
        args += ["--config", str(config.absolute())]
    for folder in (repository / "custom_hooks" / "pre-receive.d",
                   repository / "hooks" / "pre-receive.d"):
        if folder.is_dir():
            target = folder / "kortix-guard"
            break
    else:
        target = repository / "hooks" / "pre-receive"
        target.parent.mkdir(exist_ok=True)
    code = _write(target, script(args), "pre-receive")
    if code == errors.CLEAN and server is not None and server.allow_skip:

        set_repository_config(repository, "receive.advertisePushOptions", "true")
        echo("✓ receive.advertisePushOptions = true (for `git push -o kortix-guard.skip=…`)")
    return code


def install_pre_push(start: Path) -> int:
    """Into the clone's hooks folder (core.hooksPath respected)."""
    folder = hooks_dir(start)
    folder.mkdir(parents=True, exist_ok=True)
    return _write(folder / "pre-push", script(["scan", "--pre-push"]), "pre-push")
