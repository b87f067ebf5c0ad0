"""Files that must never be committed, known by their path and, for some, their content."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from kortix_guard.scan.detectors import Example
from kortix_guard.scan.model import Confidence, Hit
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
    ".s3cfg": _contains(r"(?m)^\s*secret_key\s*=\s*\S"),
    "s3cfg": _contains(r"(?m)^\s*secret_key\s*=\s*\S"),
    "sitemanager.xml": _contains(r"<Pass\b"),
    "recentservers.xml": _contains(r"<Pass\b"),
    "filezilla.xml": _contains(r"<Pass\b"),
    "WinSCP.ini": _contains(r"(?im)^\s*Password\w*\s*="),
}
# An age identity file (`age-keygen -o key.txt`, SOPS' keys.txt), whatever its name.
_AGE_IDENTITY_FILE = re.compile(r"(?m)^AGE-SECRET-KEY-1[0-9A-Z]{58}\s*$")
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
    head = data[:4096]
    if b"AGE-SECRET-KEY-1" in head and b"# public key: age1" in head:
        text = data.decode("utf-8", errors="replace")
        if _AGE_IDENTITY_FILE.search(text[:4096]):
            return [Hit(0, "KG340", f"{name} is an age identity file", SecretValue(text),
                        Confidence.HIGH)]
    if not (name.startswith(".env") or name == "config.json" or name in _BY_NAME
            or posix.suffix in _BY_SUFFIX):
        return []  # most files: decided by the name alone, nothing decoded
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
    return [Hit(0, "KG340", message, SecretValue(text), Confidence.HIGH)]


E = Example
EXAMPLES = (
    E(".env", "API_TOKEN={alnum:20}"), E("config/.env.production", "A=real-value-here"),
    E(".env.sample", "API_KEY={alnum:30}"), E("id_rsa", "anything"),
    E("keys/server.pem", "-----BEGIN PRIVATE KEY-----\n{b64:64}\n-----END PRIVATE KEY-----"),
    E("putty.ppk", "PuTTY-User-Key-File-2: ssh-rsa"), E(".netrc", "machine h login u password p"),
    E(".pgpass", "db.corp.io:5432:app:app:{alnum:12}"),
    E(".git-credentials", "https://bob:{alnum:12}@git.corp.io"),
    E(".npmrc", "//registry.npmjs.org/:_authToken={alnum:20}"),
    E(".pypirc", "[pypi]\nusername = __token__\npassword = {alnum:20}"),
    E(".docker/config.json", '{"auths": {"r.io": {"auth": "{b64:20}"}}}'),
    E(".aws/credentials", "[default]\naws_access_key_id = AKIA{upper:12}\n"
                          "aws_secret_access_key = {b64:35}"),
    E(".s3cfg", "[default]\naccess_key = {upper:20}\nsecret_key = {b64:30}"),
    E("sitemanager.xml", "<Server><Host>h</Host><User>u</User><Pass>{alnum:10}</Pass></Server>"),
    E("WinSCP.ini", "[Sessions\\bob@h]\nHostName=h\nPassword={hex:40}"),
    E("config/master.key", "{hex:32}"), E(".htpasswd", "bob:$apr1${alnum:8}${b64x:22}"),
    E("etc/shadow", "root:*:19000:0:99999:7:::"),
    E("ci.key", "{kgk1}"),
    E("sops/keys.txt", "# created: 2026-11-28T00:00:00Z\n# public key: age1{bech:58}\n{age}"),
)
NEGATIVES = (
    E(".env.example", "API_KEY=\nDATABASE_URL=<url>\nDEBUG=true"),
    E("certs/public.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
    E(".npmrc", "registry=https://registry.npmjs.org/"),
    E(".s3cfg", "[default]\nhost_base = s3.amazonaws.com"),
)
