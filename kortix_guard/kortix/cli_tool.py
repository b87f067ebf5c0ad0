"""Kortix's own CLI as the way in, where kortix-guard finds no token but `kortix` is on PATH
(it may keep its login where kortix-guard does not look). The pinned CLI
(kortix-ai/suna apps/cli/src/commands/secrets.ts) reads `NAME=-` from stdin once and strips
one trailing newline (`.replace(/\\n$/, '')`): the value goes on stdin, never in argv, with a
newline added after it, so what the CLI strips is that newline and a value that ends in one
(every PEM does) arrives whole.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from kortix_guard.kortix.api import ServiceError
from kortix_guard.secret import SecretValue
from kortix_guard.store import IDENTITY_VARIABLES

TIMEOUT = 120.0


class KortixCli:
    def __init__(self, program: str, project: str | None, *, timeout: float = TIMEOUT,
                 scrub: tuple[SecretValue, ...] = ()) -> None:
        self.program = program
        self.project = project
        self.timeout = timeout
        self._scrub = [v.reveal() for v in scrub if len(v) >= 4]

    @classmethod
    def find(cls, project: str | None, **kw) -> KortixCli | None:
        program = shutil.which("kortix")
        return cls(program, project, **kw) if program else None

    @property
    def where(self) -> str:
        return f"project {self.project}" if self.project else "the project `kortix` is linked to"

    def set(self, name: str, value: SecretValue) -> None:
        self._run(["secrets", "set", f"{name}=-"], name, value.reveal() + "\n")

    def delete(self, name: str) -> None:
        self._run(["secrets", "unset", name], name, "")

    def _run(self, args: list[str], name: str, stdin: str) -> None:
        command = [self.program, *args, *(["--project", self.project] if self.project else [])]
        # The CLI gets what it needs to log in, never the key that opens every other secret.
        env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARIABLES}
        try:
            done = subprocess.run(command, input=stdin.encode("utf-8"), capture_output=True,
                                  timeout=self.timeout, env=env)
        except subprocess.TimeoutExpired:
            raise ServiceError(f"{name}: `kortix {args[0]} {args[1]}` gave no answer within "
                               f"{self.timeout:g} s", hint="check `kortix whoami` and the "
                                                           "network, then run it again") from None
        except OSError as e:
            raise ServiceError(f"{name}: could not run {self.program} ({e.strerror})",
                               hint="check the Kortix CLI's installation (`kortix --help`)"
                               ) from None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace")
            for value in self._scrub:
                said = said.replace(value, "***")
            first = next((line.strip() for line in said.splitlines() if line.strip()), "")
            first = "".join(ch for ch in first if ch.isprintable())[:200]
            raise ServiceError(f"{name}: `kortix {args[0]} {args[1]}` failed (exit "
                               f"{done.returncode}{': ' + first if first else ''})",
                               hint="fix what it says (`kortix login`, `kortix projects link`), "
                                    "then run it again: without --all, what already went is not sent again")
