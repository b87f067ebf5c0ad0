"""Credentials without a provider's format: values under secret-like keys in every common
syntax (KG331), passwords in URLs and connection strings (KG322), JSON Web Tokens (KG323),
password hashes (KG326), framework secrets (KG327), and bare high-entropy strings (KG332).

These start at `medium` (or `low`); the context rules (`scan/context.py`) then drop what is
not a secret and lower what is almost always a fixture.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from kortix_guard.scan.detectors.base import (
    Detector,
    Example,
    FileInfo,
    H,
    L,
    M,
    entropy,
    regex_detector,
)
from kortix_guard.scan.model import Blob, Hit, LazyPattern
from kortix_guard.secret import SecretValue

E = Example

# --- Values under a secret-like key -------------------------------------------------------

PASSWORD_WORDS = frozenset({"password", "passwd", "pass", "pwd", "passphrase", "passwort",
                            "contrasena", "contraseña", "motdepasse", "pw", "psw", "pswd"})
TOKEN_WORDS = frozenset({"secret", "token", "apikey", "credential", "credentials", "secretkey",
                         "accesskey", "privatekey", "authkey", "clientsecret", "appsecret"})
_KEY_QUALIFIERS = frozenset({"api", "auth", "access", "secret", "private", "client", "master",
                             "encryption", "signing", "app", "account", "consumer", "session"})
_WORD_SPLIT = LazyPattern(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def key_kind(key: str) -> str | None:
    """"password" or "token" when the key's last word names a secret, else None.

    `userPassword`, `IRC_PASS`, `db.password`, `SECRET_KEY`, `api_key`, `client_secret` are
    secret-like; `bypass`, `password_hash`, `max_tokens`, `token_type`, `PASSWORD_MIN_LENGTH`
    are not (the last word decides)."""
    words = [w.lower() for w in _WORD_SPLIT.findall(key)]
    if not words:
        return None
    last = words[-1]
    if last in PASSWORD_WORDS:
        return "password"
    if last in TOKEN_WORDS:
        return "token"
    if last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS:
        return "token"
    if last in ("passwords",):
        return "password"
    return None


_KEY = rb"(?P<key>[A-Za-z_$@][\w.$@-]{0,80}?)"
# key = "value", key: 'value', "key": "value", key => "value", key="value" (XML attributes)
_QUOTED = (_KEY + rb"""["']?\]?[ \t]*(?::=|=>|==?|:)[ \t]*(?:[rbuf]{0,2})"""
                     rb"""(?P<q>["'`])(?P<s>(?:\\.|(?!(?P=q))[^\\\n]){1,300})(?P=q)""")
# key = value, key: value, KEY=value (configuration files: the value runs to a separator)
_BARE = (_KEY + rb"""[ \t]*(?:=|:)[ \t]*(?P<s>[^\s"'`#;,<>{}\[\]()|&][^\s#;,<>]{0,299})"""
                   rb"""(?=[ \t]*(?:[#;]|$|\r))""")
# <Pass>value</Pass>, <Pass encoding="base64">value</Pass>
_ELEMENT = (rb"<(?P<key>[\w:.-]+)(?:\s[^>\n]{0,120})?>(?P<s>[^<\n]{1,300})</(?P=key)\s*>")
# password "value" (rc files); machine h login u password p (netrc: the line's last word)
_SPACED = (_KEY + rb"""[ \t]+(?:(?P<q>["'])(?P<s>[^"'\n]{1,300})(?P=q)"""
                     rb"""|(?<=passwor[d])[ \t]+(?P<b>[^\s"']{1,300})[ \t]*$)""")

_HASH_PATTERN = (
    rb"(?P<s>\$(?:1|2[abxy]|5|6|apr1|md5)\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,22}\$[./A-Za-z0-9]{22,86}"
    rb"|\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}"
    rb"|\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}"
    rb"|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}"
    rb"|pbkdf2_sha256\$\d+\$[A-Za-z0-9]+\$[A-Za-z0-9+/=]{40,}"
    rb"|\{S?SHA\}[A-Za-z0-9+/]{27,}=*)")


@functools.cache
def _hashes() -> re.Pattern[bytes]:
    return re.compile(_HASH_PATTERN)

_SYNTAX_PATTERNS = ((_QUOTED, "quoted"), (_ELEMENT, "element"), (_BARE, "bare"),
                    (_SPACED, "spaced"))


@functools.cache
def _syntaxes() -> tuple[tuple[re.Pattern[bytes], str], ...]:
    return tuple((re.compile(p), name) for p, name in _SYNTAX_PATTERNS)

_REFERENCE = LazyPattern(
    r"""(?x)^(?:\+\s*[A-Za-z_][\w.]*\s*\+|.*\$\{.*\}|\$|%|@|&|\*[A-Za-z]|\{|<|\[|os\.|env\.|ENV\[|process\.env|getenv|System\.|
        settings\.|config\.|self\.|this\.|params\.|args?\.|request\.|window\.|import\b|
        require\(|lambda\b|function\b|new\s|[A-Za-z_][\w.]*\(|None$|nil$|null$|undefined$)""")
_ENV_NAME = LazyPattern(r"[A-Z_][A-Z0-9_]{2,63}")
_PATHLIKE = LazyPattern(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|https?://|file:)")


def _value_ok(key: str, value: str, kind: str) -> bool:
    """The shape checks: a value, not a reference, a path, prose or the key itself."""
    if not (4 <= len(value) <= 300) or _REFERENCE.match(value) or _ENV_NAME.fullmatch(value):
        return False
    if _PATHLIKE.match(value) or value.count(" ") >= 2 or "\\n" in value:
        return False
    simple = re.sub(r"[\W_]", "", value).lower()
    if simple and simple == re.sub(r"[\W_]", "", key).lower():
        return False  # password = "password", api_key: API_KEY
    if _hashes().fullmatch(value.encode()):
        return False  # a password hash: KG326 reports it
    if kind == "token":
        # token-like keys name many things; a secret under one has some length and variety,
        # and no spaces or quotes.
        if re.search(r"[\s\"']", value):
            return False
        one_case_word = value.isalpha() and (value.islower() or value.isupper())
        return len(value) >= 8 and entropy(value) >= 2.8 and not one_case_word
    return True


def strong(value: str) -> bool:
    """Random-looking enough that no one types it as a fixture."""
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    return len(value) >= 12 and entropy(value) >= 3.3 and classes >= 3


# The assignment of a quoted value, as _QUOTED has it: what code and docs need before the
# whole pattern is tried at each place on the line.
_QUOTED_VALUE = LazyPattern(rb"""(?::=|=>|==?|:)[ \t]*(?:[rbuf]{0,2})["'`]""")


def _confirm_keyword(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
    """The values under secret-like keys on the line. What a line holds depends on the line
    and the file's kind alone, and a history holds the same lines in version after version:
    each (line, kind) is read once a process (a bounded cache)."""
    start, end = span
    line = blob.data[start:end]
    found = _KEYWORD_LINES.get((line, info.kind))
    if found is None:
        found = tuple(_keyword_values(line, info.kind))
        if len(_KEYWORD_LINES) >= 1 << 16:
            _KEYWORD_LINES.clear()
        _KEYWORD_LINES[(line, info.kind)] = found
    for hit in found:
        yield hit._replace(offset=start + hit.offset)


_KEYWORD_LINES: dict[tuple[bytes, str], tuple[Hit, ...]] = {}


def _keyword_values(line: bytes, kind: str) -> Iterator[Hit]:
    """_confirm_keyword's hits on one line, at offsets in the line."""
    # What no syntax below could read, ruled out first: most triggers in code and prose are
    # `password = read_password();` or "the password is". Code and docs need a quoted value
    # or an element; other files an assignment or an element, but for a config file's
    # `password value`.
    if kind in ("code", "docs"):
        if b"<" not in line and not _QUOTED_VALUE.search(line):
            return
    elif kind != "config" and b"=" not in line and b":" not in line and b"<" not in line:
        return
    seen: set[int] = set()
    for regex, syntax in _syntaxes():
        if syntax == "bare" and kind in ("code", "docs"):
            continue  # an unquoted right-hand side in code is an expression
        if syntax == "spaced" and kind != "config":
            continue
        for m in regex.finditer(line):
            group = "s" if m.group("s") is not None else "b"
            if m.start(group) in seen:
                continue
            key = m.group("key").decode("utf-8", "replace")
            secret_kind = key_kind(key)
            if secret_kind is None or (syntax == "spaced" and secret_kind != "password"):
                continue
            raw = m.group(group)
            value = raw.decode("utf-8", "replace").strip()
            if not _value_ok(key, value, secret_kind):
                continue
            seen.add(m.start(group))
            quoted = syntax in ("quoted", "element") or group == "s" and syntax == "spaced"
            yield Hit(m.start(group), "KG331", f"value of `{key}`", SecretValue(value), M,
                      kind=secret_kind, key=key, quoted=quoted)


_KEYWORD_TRIGGERS = (
    # a key then an assignment: `password =`, `"pass":`, `api_key:`, `IRC_PASS=`, `x => "…"`
    rb"(?:pass(?:word|wd|phrase)?|pwd|pw|psw|secret|token|credentials?"
    rb"|(?:[_.-]|api|auth|access|secret|private|client|master|app|account)key)"
    rb"[\"'\]]?[ \t]{0,4}[:=]",
    # rc and netrc files: `password "x"`, `machine h login u password p`
    rb"(?:pass(?:word|wd)?|pwd)[ \t]+[\"']?[^\s=:\"']{4}",
    # XML elements: <Pass>, <password encoding="base64">
    rb"<[\w:.-]*(?:pass|pwd|secret|token|key)[\w.-]*(?:[ \t][^>\n]{0,120})?>[^<\n]",
)

KEYWORD = Detector(
    "keyword", "KG331", "value under a secret-like key", M, _KEYWORD_TRIGGERS, _confirm_keyword,
    caseless=True,
    examples=(
        E("config.json", '{"user": "bob", "pass": "hunter22"}'),
        E("config.json", '{"passphrase": "{lower:6}-{lower:7}-{digits:2}"}'),
        E("ldap.json", '{"userPassword": "s3cret-ish"}'),
        E("ftp-sites.xml", "<Server><Host>ftp.corp.io</Host><Pass>hunter22</Pass></Server>"),
        E("ftp-recent.xml", '<Pass encoding="base64">{b64:16}</Pass>'),
        E("web.config", '<add name="db" password="{alnum:12}" />'),
        E(".ircrc", 'password "hunter22"'),
        E("irc.env", "IRC_PASS={alnum:10}"),
        E("values.yaml", "api_key: {hex:32}"),
        E("app.ini", "[server]\nsecret_key = {alnum:24}"),
        E("app.properties", "db.password=hunter22"),
        E("settings.py", 'DB_PASSWORD = "{alnum:6}-{alnum:6}-{digits:4}"'),
        E("config.php", "$password = '{alnum:16}';"),
    ),
    negatives=(
        E("a.py", "def check(password):\n    return password"),
        E("a.py", 'password = os.environ["DB_PASSWORD"]'),
        E("a.yaml", "password: ${DB_PASSWORD}"),
        E("a.yaml", "password: '{{ vault_password }}'"),
        E("a.json", '{"password": "changeme"}'),
        E("a.json", '{"password": "<your password here>"}'),
        E("a.ini", "password = %(db_password)s"),
        E("a.json", '{"bypass": "hunter22", "compass": "north-east"}'),
        E("a.json", '{"password_hash": "x", "max_tokens": 4096, "token_type": "bearer"}'),
        E("kortix.toml", 'secret_env = "WEBHOOK_SLACK_SECRET"'),
        E("i18n.yaml", "password: Please enter your password"),
        E("a.yaml", "password: your-password-here"),
        E("a.yaml", "secret: true\ntoken: null"),
        E("a.json", '{"password": "********"}'),
        E("test_login.py", 'client.login(username="bob", password="hunter22")'),
    ),
)

# --- Passwords in URLs and connection strings ---------------------------------------------

URL = regex_detector(
    "url-password", "KG322", "URL with a password", M, (rb"://[^\s:/?#@'\"]{1,100}:[^\s@/]{1,200}@",),
    rb"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://(?P<user>\[?[^\s:/?#@'\"\[\]<>{}]+):"
    rb"(?P<s>[^\s/?#@'\"\[\]<>]{3,200})@\]?(?P<host>[A-Za-z0-9._-]+)", kind="url",
    examples=(E("settings.yaml", "db: postgres://app:{alnum:14}@db.internal:5432/app"),
              E("deploy.sh", "git clone https://deploy:{alnum:20}@git.corp.io/app.git")),
    negatives=(E("cli.py", 'help="scheme://[user:passwd@]proxy.server:port"'),
               E("test_x.md", "see http://foo:bar@example.com/path"),
               E("a.md", "postgres://user:<password>@localhost/db"),
               E("a.yaml", "url: redis://:${REDIS_PASSWORD}@redis:6379"),
               E("a.md", "mysql://root:password@127.0.0.1/db")))

CONNECTION = regex_detector(
    "connection-string", "KG322", "connection string password", M, (rb"password=", rb"pwd="),
    rb"[;?&\"'][ \t]*(?:password|pwd)[ \t]*=[ \t]*(?P<s>[^;&\s'\"<>]{3,200})(?=[;&\s'\"<]|$)",
    kind="password", caseless=True,
    examples=(E("app.config", '<add value="Server=db;User Id=app;Password={alnum:12};" />'),
              E("db.properties", "url=jdbc:mysql://db.corp.io:3306/app?user=app&password={alnum:12}"),
              E("odbc.ini", "conn = Driver={PostgreSQL};Server=db;Uid=app;Pwd={alnum:12};")),
    negatives=(E("app.config", '<add value="Server=db;Password={{db_password}};" />'),
               E("db.properties", "url=jdbc:postgresql://db/app?user=app&password=${DB_PASSWORD}")))


# --- Credentials on a curl command line --------------------------------------------------
# `curl -u user:password` and `curl -H "Authorization: Bearer …"`: what betterleaks'
# curl-auth-user and curl-auth-header rules find (BETTERLEAKS_CURL), read here as curl reads
# its arguments. The flag counts only where `curl` is on its line or one of the five above
# (a command continued with `\`): `git push -u origin` is not a user.

_CURL = LazyPattern(rb"\bcurl\b")
_CURL_ARGUMENT = LazyPattern(
    rb"""[ \t](?P<flag>-u|--user|-H|--header)(?:=|[ \t]{1,5})"""
    rb"""(?P<arg>(?:"[^"\n]*"|'[^'\n]*'|[^\s"'])+)""")
_HEADER = LazyPattern(
    r"(?i)(?P<name>Authorization|(?:X-(?:[a-z]+-)?)?(?:Api-?)?(?:Key|Token))[ \t]*:[ \t]*"
    r"(?:(?P<basic>Basic)[ \t]+|(?:Bearer|(?:Api-)?Token)[ \t]+)?(?P<value>\S+)$")
_BASE64_VALUE = LazyPattern(r"[A-Za-z0-9+/]{8,}={0,3}")
_TOKEN_VALUE = LazyPattern(r"[\w=~@.+/-]{8,}")


def _unquoted(arg: str) -> str:
    """A shell word without its quotes (`kevin:'pR…'` is `kevin:pR…`)."""
    return re.sub(r""""([^"]*)"|'([^']*)'""", lambda m: m.group(1) or m.group(2) or "", arg)


def _a_reference(value: str) -> bool:
    """A shell, template or placeholder reference, not a value: `$1`, `${X}`, `$(cat f)`,
    `{{ .Values.x }}`, `<password>`, `[PASSWORD]`."""
    return value.startswith(("$", "{{", "<", "[", "%"))


def _curl_secret(flag: bytes, arg: str) -> tuple[str, str] | None:
    """(the secret in a -u or -H argument, its kind), or None when it holds none."""
    value = _unquoted(arg)
    if flag in (b"-u", b"--user"):
        user, colon, password = value.partition(":")
        secret = password or user
        if not colon or not secret or _a_reference(user) or _a_reference(password):
            return None
        if entropy(secret) <= 2.0:  # placeholder words are the context rules' (placeholder)
            return None
        return secret, "password"
    header = _HEADER.match(value)
    if header is None:
        return None
    token = header.group("value")
    shape = _BASE64_VALUE if header.group("basic") else _TOKEN_VALUE
    if _a_reference(token) or not shape.fullmatch(token) or entropy(token) <= 2.75:
        return None
    return token, "token"


def _confirm_curl(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
    start, end = span
    above = blob.start_above(start, 5)
    for m in _CURL_ARGUMENT.finditer(blob.data, start, end):
        if not _CURL.search(blob.data, above, m.start()):
            continue
        arg = m.group("arg").decode("utf-8", "replace")
        found = _curl_secret(m.group("flag"), arg)
        if found is None:
            continue
        secret, kind = found
        at = m.group("arg").find(secret.encode("utf-8", "replace"))
        what = "password in a curl command" if kind == "password" else "token in a curl header"
        yield Hit(m.start("arg") + max(at, 0), "KG322", what, SecretValue(secret), M, kind=kind,
                  key="curl -u" if kind == "password" else "curl -H", quoted=True)


BETTERLEAKS_CURL = "betterleaks/betterleaks cmd/generate/config/rules/curl.go"
CURL = Detector(
    "curl", "KG322", "credential on a curl command line", M,
    (rb"[ \t](?:-u|--user)(?:=|[ \t]{1,5})\S",
     rb"[ \t](?:-H|--header)(?:=|[ \t]{1,5})[\"'](?:Authorization|[A-Za-z-]*(?:Key|Token))"
     rb"[ \t]*:"),
    _confirm_curl, caseless=True, source=BETTERLEAKS_CURL,
    examples=(
        E("deploy.sh", "curl --cacert ca.crt -u elastic:{alnum:12} https://localhost:9200"),
        E("notes.txt", "curl -s --user 'api:{alnum:16}' \\\n  https://api.mailgun.net/v3/x"),
        E("setup.sh", "curl -X POST https://api.example.io/v1/jobs \\\n"
                      "  -H 'Content-Type: application/json' \\\n"
                      "  -H \"Authorization: Bearer {alnum:32}\""),
        E("octopus.sh", "curl -H 'X-Octopus-ApiKey: API-{alnum:26}' "
                        "https://octopus.corp.io/api"),
    ),
    negatives=(
        E("release.sh", "git push -u origin main"),
        E("ci.sh", 'curl -sL --user "$GITHUB_USERNAME:$GITHUB_PASSWORD" "$GITHUB_URL"'),
        E("a.sh", "curl -u <user:password> https://test.com/endpoint"),
        E("a.sh", "curl --user neo4j:[PASSWORD] http://db:7474/db/data/"),
        E("a.sh", 'curl -u "myusername" http://localhost:15130/api/check_user/'),
        E("a.sh", "curl http://127.0.0.1:5000/file --user user:pass --digest"),
        E("a.sh", 'curl -H "Authorization: Bearer $API_KEY" https://api.example.io'),
        E("a.sh", 'curl -H "Authorization: Bearer XXXXXXXXXXXX" https://example.com'),
        E("a.sh", 'curl --header "Authorization: Basic ..." https://accounts.example.com'),
    ))


def _jwt_claims(token: bytes) -> dict:
    """The payload of a JSON Web Token, or {} when it does not decode."""
    import base64
    import json

    try:
        body = token.split(b".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (ValueError, IndexError):
        return {}
    return claims if isinstance(claims, dict) else {}


_JWT = rb"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"


_LOCAL_ISSUER = re.compile(r"(?i)^(?:https?://)?(?:localhost|127\.0\.0\.1|0\.0\.0\.0|"
                           r"\[::1\]|[\w.-]+\.local|host\.docker\.internal)(?:[:/].*)?$")


def _sample(claims: dict) -> str:
    """Why a JWT is public sample material or a local-development key, or ''."""
    issuer = claims.get("iss")
    if issuer == "supabase-demo":
        return "Supabase's local-development key (issuer `supabase-demo`, the same everywhere)"
    if isinstance(issuer, str) and _LOCAL_ISSUER.match(issuer):
        return f"issued by this machine ({issuer[:40]}): a local-development token"
    if claims.get("sub") == "1234567890" and claims.get("name") == "John Doe":
        return "jwt.io's sample token"
    return ""


def _expired(claims: dict) -> str:
    """When a user's session token expired (it then opens nothing), or ''."""
    import datetime

    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or "sub" not in claims:
        return ""
    try:
        when = datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return ""
    if when >= datetime.datetime.now(datetime.timezone.utc):
        return ""
    return f"a user session that expired {when:%Y-%m-%d}"


def _confirm_jwt(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
    """Supabase's keys are JWTs that say their role: `service_role` bypasses row-level
    security (high, wherever it is); `anon` ships to every browser (public by design). A
    JWT is graded by what it is: a local-development or public sample token is `low`, an
    expired user session `medium` at most."""
    start, end = span
    for m in re.finditer(_JWT, blob.data[start:end]):
        token = m.group(0)
        claims = _jwt_claims(token)
        role = claims.get("role")
        value = SecretValue(token.decode("ascii"))
        sample = _sample(claims)
        if sample:
            yield Hit(start + m.start(), "KG323", f"JSON Web Token ({sample})", value, L,
                      kind="jwt")
            continue
        expired = _expired(claims)
        if expired and role != "service_role":
            yield Hit(start + m.start(), "KG323", f"JSON Web Token ({expired})", value, M,
                      kind="jwt")
            continue
        if role == "service_role":
            yield Hit(start + m.start(), "KG323", "Supabase service-role key (a JWT)", value, H,
                      kind="jwt", hint="rotate it in Supabase (Settings → API): it bypasses "
                                       "row-level security")
        else:
            yield Hit(start + m.start(), "KG323", "JSON Web Token", value, M, kind="jwt",
                      public="a Supabase anon key (a JWT whose role is `anon`)"
                      if role == "anon" else "")


JWT = Detector(
    "jwt", "KG323", "JSON Web Token (a Supabase service-role key: high)", H, (rb"eyJ",),
    _confirm_jwt,
    examples=(E("app.js", "const t = '{jwt}';"),
              E("supabase/seed.sql", "select set_config('app.key', '{jwt:service_role}', false);")),
    negatives=(E("eas.json", '{"EXPO_PUBLIC_SUPABASE_ANON_KEY": "{jwt:anon}"}'),
               E("auth.spec.ts", "const token = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIx"
                                 "MjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                                 "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';"),
               E("supabase/config.toml", "service_role_key = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                 "eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4M"
                 "zgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU")),
    source="https://supabase.com/docs/guides/api/api-keys")

# --- Password hashes ---------------------------------------------------------------------

_HASHES = regex_detector(
    "password-hash", "KG326", "password hash", M,
    tuple(re.escape(t) for t in (b"$1$", b"$2a$", b"$2b$", b"$2y$", b"$5$", b"$6$", b"$apr1$",
                                 b"$y$", b"$argon2", b"pbkdf2_sha256$", b"{SHA}", b"{SSHA}")),
    _HASH_PATTERN, kind="hash",
    examples=(E("etc/shadow.bak", "root:$6$saltsalt${b64x:86}:19000:0:99999:7:::"),
              E("users.htpasswd", "bob:$apr1${alnum:8}${b64x:22}"),
              E("users.sql", "INSERT INTO users VALUES (1, 'bob', '$2y$10${b64x:53}');"),
              E("auth.htpasswd", "alice:{SHA}{b64:27}=")),
    negatives=(E("docs.md", "hashes look like $6$salt$..."),))
# A hash kept to compare against when a user does not exist, so both paths take as long:
# said so in the lines above it (Caddy's FakeHash, Django's make_password(None) dummy).
_TIMING_CONSTANT = LazyPattern(rb"(?i)timing|fake[ _-]?hash|dummy[ _-]?hash|constant[ -]time|"
                               rb"user enumeration")


def _confirm_hash(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
    for hit in _HASHES.confirm(blob, span, info):
        before = blob.data[blob.start_above(hit.offset, 4):blob.span_at(hit.offset)[1]]
        if _TIMING_CONSTANT.search(before):
            hit = hit._replace(confidence=L, hint="a constant for timing-safe comparison")
        yield hit


HASHES = _HASHES._replace(
    confirm=_confirm_hash,
    negatives=(*_HASHES.negatives,
               E("bcrypt.go", "func (BcryptHash) FakeHash() []byte {\n"
                              "\t// hashed with: caddy hash-password --plaintext antitiming\n"
                              "\treturn []byte(\"$2a$14${b64x:53}\")\n}")))

# --- Framework secrets -------------------------------------------------------------------

FRAMEWORKS = [
    regex_detector(
        "rails-secret-key-base", "KG327", "Rails secret_key_base", M, (rb"secret_key_base",),
        rb"secret_key_base[\"']?\s*[:=]\s*[\"']?(?P<s>[0-9a-f]{64,})",
        examples=(E("config/secrets.yml", "production:\n  secret_key_base: {hex:128}"),)),
    regex_detector(
        "wordpress-keys", "KG327", "WordPress key or salt", M,
        (rb"define\(\s*['\"](?:AUTH|SECURE_AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)['\"]",),
        rb"define\(\s*['\"](?:AUTH|SECURE_AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)['\"]\s*,\s*"
        rb"(?P<q>['\"])(?P<s>(?:(?!(?P=q)).){16,200})(?P=q)",
        examples=(E("wp-config.php", "define('AUTH_KEY', '{alnum:20}%^&*{alnum:20}');"),),
        negatives=(E("wp-config.php", "define('AUTH_KEY', 'put your unique phrase here');"),)),
]

# --- High-entropy strings with no context (low) ------------------------------------------

_QUOTED_BLOB = rb"""(["'])(?P<s>[A-Za-z0-9+/=_-]{20,})\1"""
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _confirm_entropy(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
    start, end = span
    for m in re.finditer(_QUOTED_BLOB, blob.data[start:end]):
        body = m.group("s")
        # detect-secrets' thresholds: hex above 3.0 bits a character, base64 above 4.5.
        limit = 3.0 if set(body) <= _HEX else 4.5
        if entropy(body) > limit:
            what = "hex" if set(body) <= _HEX else "base64"
            yield Hit(start + m.start("s"), "KG332", f"high-entropy {what} string",
                      SecretValue(body.decode("ascii")), L, kind="entropy")


ENTROPY = Detector("entropy", "KG332", "high-entropy string", L,
                   (rb"""["'][A-Za-z0-9+/=_-]{20,}["']""",), _confirm_entropy,
                   examples=(E("data.py", 'blob = "{alnum:40}"'),))

DETECTORS = [KEYWORD, URL, CONNECTION, CURL, JWT, HASHES, *FRAMEWORKS, ENTROPY]
