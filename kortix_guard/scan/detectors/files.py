"""Files that must never be committed, known by their path and, for some, their content."""
from __future__ import annotations

import re
from collections.abc import Callable

from kortix_guard.scan.detectors.base import Example, suffix_of
from kortix_guard.scan.model import Confidence, Hit, LazyPattern, is_env_file
from kortix_guard.secret import SecretValue

_ENV_PLACEHOLDER = LazyPattern(
    r"(?i)^(?:|\$.*|<.*>|\{\{.*\}\}|changeme|change[-_]me|x{3,}|\*{3,}|\.\.\.|todo|your[-_].*|"
    r".*example.*|dummy.*|placeholder|none|null|false|true|\d{1,5}|localhost|https?://localhost.*)$")
_URL_PASSWORD = LazyPattern(r"://[^\s:/?#@]+:[^\s@/]+@([A-Za-z0-9._-]+)")


def _env_file(name: str, text: str, *, public: bool = True) -> tuple[int, str] | None:
    """A committed `.env` that holds a value that looks real: (byte offset of its line, the
    message naming it). Example files (`.env.example`, …) are judged line by line like any
    other file, never as a whole; a `.env` of placeholders, local defaults and client-side
    variables is not a secret."""
    if not is_env_file(name):
        return None
    from kortix_guard import _dotenv

    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for entry in _dotenv.entries(text):
        if entry.name and _real_entry(entry.name, entry.value.reveal().strip(), public):
            line = entry.line
            offset = len(text[:starts[min(line, len(starts)) - 1]].encode("utf-8"))
            return offset, (f"{name} holds a real value ({entry.name}, line {line}): keep it out "
                            f"of git (add `.env*` to .gitignore) and push its values to the "
                            f"store with `kortix-guard env push --from {name}`")
    return None


def _real_entry(name: str, value: str, public: bool) -> bool:
    from kortix_guard.scan.context import (
        _EXAMPLE_HOST,
        IMAGE_DEFAULTS,
        PLACEHOLDER,
        is_public_name,
        reads_as_words,
    )
    from kortix_guard.scan.detectors.credentials import key_kind, strong

    if (not value or (public and is_public_name(name)) or PLACEHOLDER.match(value)
            or _ENV_PLACEHOLDER.match(value) or value.lower() in IMAGE_DEFAULTS
            or reads_as_words(value)):
        return False
    url = _URL_PASSWORD.search(value)
    if url is not None:
        return not _EXAMPLE_HOST.match(url.group(1))
    if key_kind(name) is not None:
        return True
    # Under any other name only a random-looking value counts (not a version or a date).
    return strong(value) and len(value) >= 16 and all(
        any(test(ch) for ch in value) for test in (str.isupper, str.islower, str.isdigit))


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
_AGE_IDENTITY_FILE = LazyPattern(r"(?m)^AGE-SECRET-KEY-1[0-9A-Z]{58}\s*$")
_BY_SUFFIX: dict[str, Callable[[str, str], str | None]] = {
    ".ppk": _always("a PuTTY private key"),
    ".p12": _always("a PKCS#12 key store"),
    ".pfx": _always("a PKCS#12 key store"),
    ".pem": _contains(r"PRIVATE KEY-----"),
    ".key": _contains(r"PRIVATE KEY-----|^\s*kgk1_"),
    ".json": _contains(r'"type"\s*:\s*"service_account"[\s\S]*"private_key"\s*:\s*"-----BEGIN'),
}


def check(path: str, data: bytes, *, public: bool = True) -> list[Hit]:
    """The path's verdict. Binary files (key stores) are judged by name alone."""
    name = path.rpartition("/")[2]
    suffix = suffix_of(name)
    head = data[:4096]
    if b"AGE-SECRET-KEY-1" in head and b"# public key: age1" in head:
        text = data.decode("utf-8", errors="replace")
        if _AGE_IDENTITY_FILE.search(text[:4096]):
            return [Hit(0, "KG340", f"{name} is an age identity file", SecretValue(text),
                        Confidence.HIGH)]
    if not (name.startswith(".env") or name == "config.json" or name in _BY_NAME
            or suffix in _BY_SUFFIX):
        return []  # most files: decided by the name alone, nothing decoded
    text = data[:1_000_000].decode("utf-8", errors="replace")
    env = _env_file(name, text, public=public)
    if env is not None:
        # The file itself is the secret: its fingerprint is its content.
        return [Hit(env[0], "KG340", env[1], SecretValue(text), Confidence.HIGH)]
    message = None
    if name == "config.json":
        message = _contains(r'"auths"\s*:\s*\{[\s\S]*"auth"\s*:')(name, text)
    if message is None and name in _BY_NAME:
        message = _BY_NAME[name](name, text)
    if message is None and suffix in _BY_SUFFIX:
        message = _BY_SUFFIX[suffix](name, text)
    if message is None:
        return []
    # The file itself is the secret: its fingerprint is its content.
    return [Hit(0, "KG340", message, SecretValue(text), Confidence.HIGH)]


E = Example
EXAMPLES = (
    E(".env", "API_TOKEN={alnum:20}"), E("config/.env.production", "SESSION_SECRET={alnum:24}"),
    E(".env.staging", "DATABASE_URL=postgres://app:{alnum:16}@db.corp.io/app"),
    E("id_rsa", "anything"),
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
    E(".env.example", "DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:54322/postgres\n"
                      'MODEL_TO_USE="gpt-4o"\nOPENAI_API_KEY='),
    E(".env.production", "NEXT_PUBLIC_SUPABASE_URL=https://{lower:20}.supabase.co\n"
                         "NEXT_PUBLIC_SUPABASE_ANON_KEY={jwt:anon}"),
    E("plex/.env", "TIMEZONE=Etc/UTC\nPLEX_MEDIA_PATH=/media/your/plex/path\nPORT=32400"),
    E("pgadmin/.env", "POSTGRES_USER=yourUser\nPOSTGRES_PW=changeit\nPGADMIN_PW=changeit"),
    E("certs/public.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
    E(".npmrc", "registry=https://registry.npmjs.org/"),
    E(".s3cfg", "[default]\nhost_base = s3.amazonaws.com"),
)
