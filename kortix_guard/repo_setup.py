"""What a set-up repository holds, in one place: `init` writes it and `check` verifies it
(pre-commit's `constants.py` habit): the hook ids, the merge driver, and the lines of
.gitignore and .gitattributes."""
from __future__ import annotations

import shlex
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from kortix_guard.project import Project
from kortix_guard.store import MERGE_FAILED

HOOK_IDS = ("kortix-manifest", "kortix-scan")
MERGE_DRIVER_NAME = "kortix-guard store"
GITIGNORE_LINES = (".env", ".env.*", "!.env.example")
WORKFLOW = ".github/workflows/kortix-guard.yml"


def installed_command() -> list[str]:
    """How a hook starts this kortix-guard, whatever the working directory holds. Never
    `python -m kortix_guard`: it puts the working directory (the repository a push or a
    clone brings) first on sys.path, so a `click.py` or `kortix_guard/` there would run in
    its place. The console script beside this interpreter puts its own folder there instead;
    without one, the interpreter in isolated mode (`-I`: no working directory, no PYTHON*
    variables, no user site)."""
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        scripts = Path(sysconfig.get_path("scripts", scheme))
        for name in ("kortix-guard", "kortix-guard.exe"):
            if (scripts / name).is_file():
                return [str(scripts / name)]
    return [sys.executable, "-I", "-m", "kortix_guard"]


def merge_driver(command: Sequence[str] | None = None) -> str:
    """The merge driver's git config value. git runs it through the shell, often without the
    venv on PATH (a GUI client, an IDE): a bare `kortix-guard` is then "not found", and git
    keeps ours with no conflict marker, silently dropping the other branch's values. So it
    names the installed kortix-guard by its absolute path, and any failure (127 included)
    appends a line that makes the store unreadable to every command, and exits 1: git
    reports a conflict."""
    program = " ".join(shlex.quote(a) for a in (command or installed_command()))
    script = (f'{program} merge-store "$@" || {{ printf "\\n{MERGE_FAILED}\\n" >> "$2"; '
              f'exit 1; }}')
    return f"sh -c {shlex.quote(script)} - %O %A %B"


def driver_program(driver: str) -> str | None:
    """The program a configured driver of this shape runs (None for another shape)."""
    try:
        words = shlex.split(driver)
    except ValueError:
        return None
    if len(words) < 3 or words[:2] != ["sh", "-c"] or " merge-store " not in words[2]:
        return None
    program = shlex.split(words[2].split(" merge-store ", 1)[0])
    return program[0] if program else None


def gitattributes_lines(project: Project, root: Path) -> tuple[str, ...]:
    """The store merges by name; the store and the baseline are never converted (a Windows
    checkout with core.autocrlf would otherwise rewrite their line ends, and a store is
    accepted only byte for byte)."""
    manifest = project.load_manifest() if project.manifest_path.exists() else None
    lines = []
    for path, attributes in ((project.store_path(manifest), ("merge=kortix-guard", "-text")),
                             (manifest.guard.baseline if manifest else None, ("-text",))):
        if path is not None and path.is_relative_to(root):
            lines += [f"{path.relative_to(root).as_posix()} {a}" for a in attributes]
    return tuple(lines)
