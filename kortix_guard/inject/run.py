"""`kortix-guard run -- CMD`: CMD runs with the secrets in its environment.

The process replaces itself with CMD (exec), so CMD gets every signal directly and its exit
code is the command's. The store is read once, before: a value rotated while CMD runs does not
reach it (Kortix's "next session" rule).
"""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

from kortix_guard import errors
from kortix_guard._out import echo
from kortix_guard.inject import Allow, github, report_missing, select, warn_rotate
from kortix_guard.project import Project
from kortix_guard.store import IDENTITY_VARIABLES


def run(project: Project, command: Sequence[str], *, only: Sequence[str] = (),
        include_undeclared: bool = False, allow: Allow = Allow(), agent: str | None = None) -> int:
    if not command:
        raise errors.UsageError("nothing to run", hint="kortix-guard run [--only NAMES] "
                                                       "[--agent NAME] -- CMD [ARGS...]")
    selection = select(project, only=only, include_undeclared=include_undeclared, allow=allow,
                       agent=agent)
    if selection.missing:
        return report_missing(selection.missing, only=bool(only), agent=agent,
                              manifest_path=selection.manifest_path, cwd=project.cwd)
    warn_rotate(selection)
    program = shutil.which(command[0])
    if program is None:
        if os.sep in command[0] and os.path.isfile(command[0]):
            echo(f"kortix-guard: {command[0]}: not executable (exit 126, as a shell "
                       f"says); `chmod +x {command[0]}`, or run it with its interpreter",
                       err=True)
            return 126
        echo(f"kortix-guard: {command[0]}: command not found (exit 127); check the "
                   f"name, or give its path", err=True)
        return 127
    if github.enabled():
        github.register_masks(selection.values)

    # The command gets its secrets, never the key that opens every other one.
    env = {n: v for n, v in os.environ.items() if n not in IDENTITY_VARIABLES}
    env.update({n: v.reveal() for n, v in selection.values.items()})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, list(command), env)
    return errors.CANNOT_RUN  # not reached
