"""Files that must never be committed, known by their path and, for some, their content."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from kortix_guard.scan.model import Hit
from kortix_guard.secret import SecretValue

_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
_ENV_PLACEHOLDER = re.compile(
    r"(?i)^(?:|\$.*|<.*>|\{\{.*\}\}|changeme|change[-_]me|x{3,}|\*{3,}|\.\.\.|todo|your[-_].*|"
    r".*example.*|dummy.*|placeholder|none|null|false|true|\d{1,5}|localhost|https?://localhost.*)$")


def _env_file(name: str, text: str) -> str | None:
    if not (name == ".env" or name.startswith(".env.")):
        return None
    if name.endswith(_EXAMPLE_SUFFIXES):
        if _example_has_real_values(text):
            return f"{name} is an example file holding values that look real; keep only empty " \
                   f"values or placeholders"
        return None
    return f"{name} holds real values: keep it out of git (add `.env*` to .gitignore) and " \
           f"push its values to the store with `kortix-guard env push --from {name}`"


def _example_has_real_values(text: str) -> bool:
    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):
        value = (binding.value or "").strip()
        if binding.key and not _ENV_PLACEHOLDER.match(value):
            return True
    return False


def _contains(pattern: str) -> Callable[[str, str], str | None]:
    regex = re.compile(pattern)

    def check(name: str, text: str) -> str | None:
        return f"{name} holds credentials" if regex.search(text) else None

    return check


def _always(what: str) -> Callable[[str, str], str | None]:
    return lambda name, text: f"{name} is {what}"


# (how the path matches, the check) in order; the first path that matches decides.
_BY_NAME: dict[str, Callable[[str, str], str | None]] = {
    ".netrc": _always("a .netrc (machine passwords)"),
    "_netrc": _always("a .netrc (machine passwords)"),
    ".pgpass": _always("a PostgreSQL password file"),
    ".git-credentials": _always("a git credential store"),
    ".npmrc": _contains(r"_authToken|_auth\s*=|_password\s*="),
    ".pypirc": _contains(r"(?m)^\s*password\s*[=:]"),
    ".dockercfg": _contains(r'"auth"\s*:'),
    "credentials": _contains(r"(?i)aws_secret_access_key|aws_session_token"),
    "application_default_credentials.json": _always("a Google Cloud credentials file"),
    "master.key": _always("a Rails master key"),
    ".htpasswd": _always("an htpasswd file"),
    "htpasswd": _always("an htpasswd file"),
    "shadow": _always("a shadow password file"),
    "gshadow": _always("a shadow password file"),
    "id_rsa": _always("an SSH private key"),
    "id_dsa": _always("an SSH private key"),
    "id_ecdsa": _always("an SSH private key"),
    "id_ed25519": _always("an SSH private key"),
}
_BY_SUFFIX: dict[str, Callable[[str, str], str | None]] = {
    ".ppk": _always("a PuTTY private key"),
    ".p12": _always("a PKCS#12 key store"),
    ".pfx": _always("a PKCS#12 key store"),
    ".pem": _contains(r"PRIVATE KEY-----"),
    ".key": _contains(r"PRIVATE KEY-----|^\s*kgk1_"),
    ".json": _contains(r'"type"\s*:\s*"service_account"[\s\S]*"private_key"\s*:\s*"-----BEGIN'),
}


def check(path: str, data: bytes) -> list[Hit]:
    """The path's verdict. Binary files (key stores) are judged by name alone."""
    posix = PurePosixPath(path)
    name = posix.name
    text = data[:1_000_000].decode("utf-8", errors="replace")
    message = _env_file(name, text)
    if message is None and name == "config.json":
        message = _contains(r'"auths"\s*:\s*\{[\s\S]*"auth"\s*:')(name, text)
    if message is None and name in _BY_NAME:
        message = _BY_NAME[name](name, text)
    if message is None and posix.suffix in _BY_SUFFIX:
        message = _BY_SUFFIX[posix.suffix](name, text)
    if message is None:
        return []
    # The file itself is the secret: its fingerprint is its content.
    return [Hit(0, "KG340", message, SecretValue(text))]
