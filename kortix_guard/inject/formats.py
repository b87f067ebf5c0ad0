"""Writers for other CI: dotenv, json, shell and docker. Each round-trips every value byte for
byte through its own reader (the tests prove it); docker's cannot carry some values and says so.
"""
from __future__ import annotations

import enum
import json

from kortix_guard.errors import Error
from kortix_guard.secret import SecretValue


class Format(str, enum.Enum):
    DOTENV = "dotenv"
    JSON = "json"
    SHELL = "shell"
    DOCKER = "docker"


def _dotenv(name: str, value: str) -> str:
    # Double quotes: python-dotenv decodes \\ \" \r; a literal newline stays readable (PEMs).
    # \r is escaped because a text-mode reader would turn it into \n.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
    return f'{name}="{escaped}"\n'


def _shell(name: str, value: str) -> str:
    return "export " + name + "='" + value.replace("'", "'\\''") + "'\n"


def _docker(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise Error(f"{name}: a multi-line value cannot go into a docker --env-file (docker reads "
                    f"one line per variable); nothing was written",
                    hint="use --format dotenv or json, or `kortix-guard run -- docker run ...`")
    return f"{name}={value}\n"


def render(fmt: Format, values: dict[str, SecretValue]) -> str:
    """The whole output, built before anything is written (a refusal writes nothing)."""
    if fmt is Format.JSON:
        return json.dumps({n: v.reveal() for n, v in values.items()}, ensure_ascii=False,
                          indent=2) + "\n"
    line = {Format.DOTENV: _dotenv, Format.SHELL: _shell, Format.DOCKER: _docker}[fmt]
    return "".join(line(name, value.reveal()) for name, value in values.items())
