"""What is not a secret, as data: each rule has an id, what it does, an example line it applies
to and counter-examples it must leave alone (the tests run both; the docs table is generated
from this list).

A rule either drops a candidate or lowers it to `low`. No rule touches a `high` finding, but
two: `vendor-example` (an exact value a vendor documents as an example) and
`public-by-design`, which may lower a known value from a `.env` file (KG301) that is assigned
to a client-side variable. A store value (KG300) and a provider token at `high` stay as they
are under any name, in any file.

Rules that judge a file by its path (catalogues, lock files, example env files, development
defaults) only lower in the gate modes (`--pre-receive`, `--pre-push`, `--range`): a path is
chosen by whoever pushes, so there it never makes a finding disappear.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import NamedTuple

from kortix_guard.scan.detectors import Example, FileInfo
from kortix_guard.scan.detectors.credentials import strong
from kortix_guard.scan.model import Confidence, Hit, LazyPattern
from kortix_guard.store import PUBLIC_HEX_FIELDS, SEALED, SEALED_PREFIX


class Effect(str, enum.Enum):
    DROP = "drop"
    LOW = "lower to low"


class Candidate(NamedTuple):
    hit: Hit
    value: str
    line: str
    info: FileInfo
    # The values under user and database names anywhere in the file, found once per file and
    # only if a rule asks (a password equal to its user name).
    user_values: Callable[[], frozenset[str]] = frozenset


class ContextRule(NamedTuple):
    id: str
    effect: Effect
    summary: str
    example_path: str
    example: str  # a template line (detectors' template syntax) this rule applies to
    applies: Callable[[Candidate], bool]
    negatives: tuple[Example, ...] = ()  # lines it must leave at medium or above
    also: tuple[Example, ...] = ()  # more lines of its class, none reported at the default
    even_high: frozenset[str] = frozenset()  # codes whose `high` findings it may touch
    path_based: bool = False  # judges the file by its path: only lowers in gate modes
    note: str = ""  # said in the finding's message when the rule lowers it
    # In gate modes the content comes from whoever pushes: a rule that trusts a marker on the
    # line (which they could add) uses this stricter test instead.
    in_gate: Callable[[Candidate], bool] | None = None


E = Example
ALL_CODES = frozenset({"*"})
KNOWN_CODES = frozenset({"KG300", "KG301", "KG302"})  # this project's own values

PLACEHOLDER = LazyPattern(
    r"""(?ix)^(?:
        \$.* | \{\{.* | \$\{.* | <.*> | %\(.*\)s? | %[A-Z_]+% | \#\{.*\}
      | .*\{\w*(?::[^{}]*)?\}.*                # format fields: "{password}", "{0}", "{hex:64}"
      | x{3,} | \*{3,} | \.{3,} | •+ | _{3,} | -{3,} | \?{3,}
      | your.* | (?:my|some|the|enter|insert|put)[-_ ].* | .*[-_ ]here
      | .*(?:example|sample|placeholder|dummy|redacted|changeme|change[-_]me|notreal|
            not[-_]a[-_]real|xxxx).*
      | (?:test|fake|mock|dummy|demo|sample)(?:[-_.\d].*)?
      | pass | passw(?:or)?d | password\d* | pw | pwd | secret | secrets | token | key | apikey
      | api[-_]key | foo | bar | baz | qux | foobar | hunter2 | letmein | none | null | nil
      | true | false | yes | no | on | off | empty | default | todo | tbd | fixme | n/?a
      | admin | root | user | username | guest | demo | string | value | abc\d* | 123\d*
      | qwerty | s3cr3t | p@ssw(?:or|0r)d | password123 | secret123 | supersecret | topsecret
      | top[-_]secret | super[-_]secret | correct[-_ ]?horse.* | mysecret | mypassword
      | redact | changeit | unused | not[-_]?set | unset
    )$""")
# Searched, ending the host after a dot or at its start: each label is read once (the anchored
# form with `(?:.*\.)?` before `[\w.-]*placeholder` backtracked on a host of many dots).
_EXAMPLE_HOST = LazyPattern(
    r"(?i)(?:^|\.)(?:example\.(?:com|org|net)|localhost|localhost\.localdomain|127\.0\.0\.1|"
    r"0\.0\.0\.0|::1|[\w-]+\.(?:invalid|test|example|localhost)|host|hostname|server|"
    r"domain|yourdomain\.com|mydomain\.com|somehost)$")
_HASH_CONTEXT = LazyPattern(
    r"(?i:\bsha(?:1|224|256|384|512)[-:=\s\"']|integrity|checksum|\bdigest|\bhash(?:es)?\b|"
    r"@sha256:|\bmd5\b|h1:|data:[\w/+.-]+;base64,|\$ANSIBLE_VAULT|fingerprint|test[-_ ]?vector)")
_DIGEST_VALUE = LazyPattern(r"(?i)^(?:sha(?:1|256|384|512)[-:]|md5:)")
# A value that is itself a digest: hex of a hash's length (MD5, SHA-1, SHA-224, SHA-256,
# SHA-384, SHA-512), or their base64 (SHA-256, SHA-384, SHA-512; standard or URL-safe).
_DIGEST_SHAPE = LazyPattern(r"(?i)^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}"
                            r"|[0-9a-f]{96}|[0-9a-f]{128})$|^(?:[A-Za-z0-9+/_-]{43}=?"
                            r"|[A-Za-z0-9+/_-]{64}|[A-Za-z0-9+/_-]{86}(?:==)?)$")
_UUID = LazyPattern(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PUBLIC_MATERIAL = LazyPattern(
    r"BEGIN CERTIFICATE|BEGIN PUBLIC KEY|BEGIN RSA PUBLIC KEY|BEGIN PGP PUBLIC|"
    r"ssh-(?:rsa|ed25519|dss) AAAA|ecdsa-sha2-nistp\d+ AAAA|age1[a-z0-9]{58}")
# Vendors' own documented example credentials (AWS's, GitHub's docs, Stripe's docs, and the
# storage emulator key Microsoft publishes for Azurite).
VENDOR_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "ASIAIOSFODNN7EXAMPLE",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
})
_SEALED = LazyPattern(rf"^{SEALED}$")
_STORE_FIELD = LazyPattern(rf'(?:{"|".join(PUBLIC_HEX_FIELDS)}) = "[0-9a-f]*"|'
                          r'"[A-Za-z0-9._@+-]+" = \{ recipient = .*')

# --- Public by design -------------------------------------------------------------------------

# Variables a build tool inlines into client code: their values ship to every browser or app.
PUBLIC_PREFIXES = ("NEXT_PUBLIC_", "EXPO_PUBLIC_", "NUXT_PUBLIC_", "VITE_", "REACT_APP_",
                   "PUBLIC_", "GATSBY_")
_PUBLIC_NAME = LazyPattern(r"(?i)^(?:[\w.-]*[.\[\"'])?(?:" + "|".join(PUBLIC_PREFIXES) + ")")
# Keys their vendors publish for client code: Stripe and Clerk publishable keys, Supabase's,
# PostHog project keys, RevenueCat's public app keys, Mapbox public tokens.
# Kortix's public key id is `pk_` and 32 letters and digits, exactly (shown on purpose).
_PUBLISHABLE = LazyPattern(r"^(?:pk_(?:live|test)_|sb_publishable_|phc_|appl_|goog_|pk\.eyJ"
                           r"|pk_[A-Za-z0-9]{32}$)")
_SENTRY_DSN_HOST = LazyPattern(r"(?i)^(?:[\w-]+\.)*(?:ingest\.(?:[a-z]+\.)?)?sentry\.io$")
_ASSIGNED = LazyPattern(r"""([A-Za-z_$][\w.$-]*)["'\]]?\s*(?::=|=>|=|:)\s*["'`]?$""")
# How much of a line before a value `_ASSIGNED` reads: a name and its operator fit (names are
# at most 128 characters), and a long line (a minified file: 300,000 characters of one word
# made the unbounded search take an hour and a half) costs no more than a short one.
ASSIGNMENT_WINDOW = 256


def is_public_name(name: str) -> bool:
    """A client-side variable (`NEXT_PUBLIC_…`, `EXPO_PUBLIC_…`, `VITE_…`, …)."""
    return bool(_PUBLIC_NAME.match(name))


def _assigned_name(c: Candidate) -> str:
    """The name the value is assigned to on its line (`NAME=value`, `"name": "value"`)."""
    if c.hit.key:
        return c.hit.key
    at = c.line.find(c.value)
    m = _ASSIGNED.search(c.line[max(0, at - ASSIGNMENT_WINDOW):at]) if at > 0 else None
    return m.group(1) if m else ""


def public_reason(c: Candidate) -> str:
    """Why the candidate is public by design, or ''."""
    if c.hit.public:
        return c.hit.public
    if _PUBLISHABLE.match(c.value):
        return f"a publishable key (`{c.value.split('_')[0] if '_' in c.value[:4] else 'pk.'}…`)"
    if c.hit.kind == "url" and _SENTRY_DSN_HOST.match(_url_host(c)):
        return "a Sentry DSN"
    name = _assigned_name(c)
    if name and is_public_name(name):
        return f"a client-side variable ({name})"
    return ""


# --- Natural language, identifiers, placeholders, defaults ---------------------------------

_WORD_PUNCT = frozenset(" -_.,'’!?:;()&/«»¡¿")
_VOWELS = frozenset("aeiouyAEIOUY")


def reads_as_words(value: str) -> bool:
    """Letters of any script, spaces and punctuation: no digits, nothing random. `Passwort`,
    `Restablecer contraseña`, `nextcloud`, `パスワード` read as words; `xKqTzPwR` does not."""
    v = value.strip()
    if not v or any(ch.isdigit() for ch in v):
        return False
    if not all(ch.isalpha() or ch in _WORD_PUNCT for ch in v):
        return False
    words = re.findall(r"[^\W\d_]+", v)
    for word in words:
        if not word.isascii():
            continue
        if not (word.islower() or word.isupper() or word.istitle()) or len(word) > 24:
            return False  # random case, or too long for a word
        if len(word) >= 8 and sum(ch in _VOWELS for ch in word) < 0.2 * len(word):
            return False
    return bool(words)


_IDENTIFIER = LazyPattern(r"^(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # i.token, EXCLUDED.secret
                         r"|[a-z][a-z]*\d?(?:_[a-z]+\d?)+"  # lookup_invitation_token
                         r"|[a-z]+(?:[A-Z][a-z]+)+)$")  # newPassword
_PREFIXED = LazyPattern(
    r"^(?:sk|pk|rk|whsec|re|ghp|gho|ghs|npm|xox[a-z]|sb|fc|tvly|r8|hf|gsk|pplx|xai|lin_api)"
    r"[_-](?:(?:live|test|proj|api\d*|secret|publishable|dev|prod)[_-])?(?P<body>.*)$")
_FILLER = LazyPattern(r"(?i)^(?:[x*.•_-]*|your\w*|…|asdf\w*|qwerty\w*|abc\w*|\.\.\.)$")
ANDROID_DEBUG = frozenset({"android", "androiddebugkey"})
# Passwords that images document as their defaults, and the words compose files use for
# local services.
IMAGE_DEFAULTS = frozenset({
    "postgres", "root", "example", "password", "mysql", "mariadb", "admin", "secret", "guest",
    "rabbitmq", "minioadmin", "redis", "mongo", "sa", "changeit", "unused", "pass", "dev",
    "development", "local", "test", "keycloak", "grafana", "elastic", "changeme",
})
_USER_VALUE = LazyPattern(
    r"""(?i)(?:user(?:name)?|login|_db|database|db_?name)["']?[ \t]*[:=][ \t]*["']?"""
    r"""([^\s"',;#}]+)""")


def user_values(text: str) -> frozenset[str]:
    """The values under user and database names in a file's text, lower-cased."""
    return frozenset(m.group(1).lower() for m in _USER_VALUE.finditer(text))


def _unquoted(value: str) -> str:
    """A URL-encoded value as written by hand (`%7Bpassword%7D` is `{password}`)."""
    if "%" not in value:
        return value.strip()
    from urllib.parse import unquote

    return unquote(value).strip()


def _prefixed_placeholder(value: str) -> bool:
    """A real prefix on a fake body: `sk_test_asdf`, `whsec_xxx`, `sk-...`."""
    m = _PREFIXED.match(value)
    if m is None:
        return False
    body = m.group("body")
    return len(body) <= 8 or bool(_FILLER.match(body)) or bool(PLACEHOLDER.match(body))


# A body no generator makes: six of one character in a row (a random body of letters and
# digits holds one about once in a billion 40-character tokens, hex about once in 20,000),
# four x, #, * or ., or a counted sequence (`1234567890`, `abcdef`, `abc123`, `qwerty`).
_IMPOSSIBLE = LazyPattern(r"(?i)(.)\1{5,}|x{4,}|#{4,}|\*{4,}|\.{4,}|1234567890|0123456789"
                          r"|abcdefg|abc123|qwerty")


def impossible_body(value: str) -> bool:
    """A value whose characters no key generator would make (the whole value is read, so
    a provider's real prefix does not hide a body of `XXXX`); or of fewer than four
    distinct characters."""
    letters = [ch for ch in value if ch.isalnum()]
    return bool(_IMPOSSIBLE.search(value)) or (len(letters) >= 8 and len(set(letters)) < 4)


def one_case_body(value: str) -> bool:
    """A token whose random part (after its last `-`, `_` or `.`) is 16 letters or more of
    one case and no digit: `s.THISSTRINGISALLUPPERCASE`. A generator's body of that length
    has a digit or both cases all but always."""
    body = re.split(r"[-_.]", value)[-1]
    return len(body) >= 16 and body.isascii() and body.isalpha() and (body.isupper()
                                                                      or body.islower())


def _dev_default(c: Candidate) -> bool:
    value = c.value.strip().lower()
    if value in ANDROID_DEBUG:
        return True
    if c.hit.kind not in ("password", "token", "url"):
        return False
    local = c.info.is_dev_config or c.info.is_example_env or c.info.name.startswith(".env")
    if local and value in IMAGE_DEFAULTS:
        return True
    return c.hit.kind == "password" and value in c.user_values()


def _local_default(c: Candidate) -> bool:
    value = c.value.strip()
    return (not value or value.lower() in IMAGE_DEFAULTS or reads_as_words(value)
            or bool(PLACEHOLDER.match(value)))


def _alphabet_or_sequence(value: str) -> bool:
    """ABCDEFGHIJ…, 0123456789…, abcabcabc…, aaaaaaaa…, abcd-efgh-ijkl: data tables and
    made-up values, not secrets."""
    v = re.sub(r"[-_.: =]", "", value)
    if len(v) < 6:
        return False
    steps = {ord(b) - ord(a) for a, b in zip(v, v[1:], strict=False)}
    if steps <= {1} or steps <= {0}:
        return True
    for period in range(1, 5):
        if len(v) >= 3 * period and v == (v[:period] * (len(v) // period + 1))[:len(v)]:
            return True
    return any(run in v for run in ("ABCDEFGHIJKLMNOP", "abcdefghijklmnop", "0123456789",
                                    "QRSTUVWXYZ", "qrstuvwxyz"))


def _url_host(c: Candidate) -> str:
    """The host of a URL-password candidate ('' for other hits)."""
    if c.hit.kind != "url":
        return ""
    m = re.search(re.escape(c.value) + r"@([A-Za-z0-9._-]+)", c.line)
    return m.group(1) if m else ""


def _url_user(c: Candidate) -> str:
    m = re.search(r"://([^\s:/?#@'\"]+):" + re.escape(c.value) + "@", c.line)
    return m.group(1) if m else ""


_LOCK_AUTH_KEY = LazyPattern(r"(?i)(?:^|[:/])_?(?:authtoken|auth|password|npmauthtoken|token)$")


def _lock_noise(c: Candidate) -> bool:
    """Package names, versions and integrity hashes in a lock file; a registry credential
    written into one (`_authToken`, `npmAuthToken`) is still reported."""
    if not c.info.is_lock:
        return False
    if c.hit.key and _LOCK_AUTH_KEY.search(c.hit.key):
        return False
    return c.hit.code == "KG331" or c.hit.kind in ("entropy", "token", "jwt", "hash")


def _on_example_host(c: Candidate) -> bool:
    if c.hit.kind != "url":
        return False
    host = _url_host(c)
    return "placeholder" in host.lower() or bool(_EXAMPLE_HOST.search(host))


RULES: list[ContextRule] = [
    ContextRule("vendor-example", Effect.DROP,
                "An exact credential a vendor documents as an example (AWS's `…EXAMPLE` keys, "
                "the Azurite storage emulator's account key).",
                "docs.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
                lambda c: c.value in VENDOR_EXAMPLES, even_high=ALL_CODES,
                negatives=(E("deploy.sh", "AWS_ACCESS_KEY_ID=AKIA{base32:16}"),)),
    ContextRule("sealed-value", Effect.DROP,
                "A value sealed by kortix-guard's store (`kg1:…`): ciphertext, not a secret. "
                "Every other line of the store file is scanned.",
                "old-store.toml", 'API_KEY = "kg1:{alnum:60}"',
                lambda c: bool(_SEALED.match(c.value)) or SEALED_PREFIX + c.value in c.line),
    ContextRule("store-fields", Effect.DROP,
                "A kortix-guard store's own public fields: its ids, MAC and re-key chain (hex), "
                "and each recipient's line (a public key, and the data key wrapped to it as an "
                "age file). Only in a file that starts with the store's header.",
                ".kortix/secrets.enc.toml",
                "# kortix-guard encrypted store: names are public, values are sealed.\n"
                'mac = "{hex:64}"',
                lambda c: c.info.is_store and bool(_STORE_FIELD.fullmatch(c.line.strip())),
                negatives=(E(".kortix/secrets.enc.toml",
                             "# kortix-guard encrypted store: names are public, values are sealed.\n"
                             'mac = "{github}"'),)),
    ContextRule("placeholder", Effect.DROP,
                "A placeholder: `changeme`, `changeit`, `xxx`, `***`, `<…>`, `${…}`, `{{…}}`, "
                "`%(…)s`, format fields (`{password}`), `your-…-here`, `example`, `redact`, and "
                "common placeholder words (`secret`, `test`, `dummy`, `foo`, `password`).",
                "config.json", '{"password": "changeme"}',
                lambda c: c.hit.kind != "hash" and bool(PLACEHOLDER.match(_unquoted(c.value))),
                negatives=(E("config.json", '{"password": "{alnum:6}-{digits:4}"}'),)),
    ContextRule("impossible-body", Effect.LOW,
                "A body no key generator makes, whatever its prefix: six of one character in "
                "a row, `XXXX`, `####`, `****`, a counted sequence (`1234567890`, `abcdefg`, "
                "`abc123`, `qwerty`), fewer than four distinct characters, or a provider "
                "token whose random part is 16 letters of one case and no digit "
                "(`s.THISSTRINGISALLUPPERCASE`). Shown only at "
                "`low`, even for a provider's `high` shape; a store or `.env` value never.",
                "aws.env.txt", "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
                lambda c: c.hit.code not in KNOWN_CODES and (
                    impossible_body(c.value) or (c.hit.code == "KG320" and one_case_body(c.value))),
                even_high=frozenset({"KG320", "KG321", "KG322", "KG323", "KG324", "KG327",
                                     "KG331", "KG332", "KG310"}),
                note="a body no generator makes",
                negatives=(E("ci.yml", "token: {github:ghp}"),
                           E("deploy.sh", "AWS_ACCESS_KEY_ID=AKIA{base32:16}")),
                also=(E("app.py", 'GITHUB_TOKEN = "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"'),
                      E("llm.py",
                        'CEREBRAS_API_KEY = "csk-thisisnotarealkeyjustlowercaselettersandnodigits"'),
                      E("settings.py", 'API_KEY = "sk_live_1234567890abcdefghijklmn"'))),
    ContextRule("prefixed-placeholder", Effect.DROP,
                "Code is not a value, part 1: a provider's real prefix on a made-up body "
                "(`sk_test_asdf`, `whsec_xxx`, `sk-...`).",
                "billing.yaml", 'stripe_secret_key: "sk_test_asdf"',
                lambda c: _prefixed_placeholder(c.value),
                negatives=(E("billing.yaml", "webhook_secret: whsec_{alnum:32}"),)),
    ContextRule("identifier", Effect.DROP,
                "Code is not a value, part 2: an identifier on the right of a comparison or "
                "assignment in code and SQL (`i.token = lookup_invitation_token`, "
                "`password = new_password`, `EXCLUDED.webhook_secret`), unquoted, or in a code "
                "file.",
                "migrations/0001_invitations.sql",
                "where i.token = lookup_invitation_token",
                lambda c: c.hit.code == "KG331" and (not c.hit.quoted or c.info.kind == "code")
                and bool(_IDENTIFIER.match(c.value)),
                negatives=(E("config.yaml", 'db_password: "{alnum:8}_{digits:4}"'),),
                also=(E("supabase/migrations/001.sql", "--    SET webhook_secret = EXCLUDED.webhook_secret;"),
                      E("auth.sql", "update users set password = new_password"))),
    ContextRule("same-as-key", Effect.DROP,
                "A URL password equal to its user name (`guest:guest@`); a value equal to its "
                "own key (`password: password`) is refused by the keyword detector's shape "
                "checks.", "config.json", '{"url": "amqp://guest7:guest7@mq.corp.io:5672/"}',
                lambda c: c.hit.kind == "url" and _url_user(c).lower() == c.value.lower(),
                negatives=(E("config.json", '{"url": "amqp://guest7:{alnum:14}@mq.corp.io/"}'),)),
    ContextRule("example-host", Effect.DROP,
                "A weak URL password on an example host: `example.com/.org/.net`, `localhost`, "
                "`127.0.0.1`, `*.invalid`, `*.test`, `*.example` (a local default such as "
                "`postgres:postgres@localhost`).",
                "README.md", "DATABASE=postgres://app:{lower:8}@localhost/app",
                lambda c: _on_example_host(c) and not strong(c.value),
                negatives=(E("settings.yaml", "db: postgres://app:{lower:8}@db.corp.io/app"),)),
    ContextRule("example-host-strong", Effect.LOW,
                "A random-looking URL password on an example host: most likely a real password "
                "pasted into an example, so shown at `low` rather than dropped.",
                "README.md", "DATABASE=postgres://app:{alnum:14}-{digits:3}@localhost/app",
                _on_example_host,
                negatives=(E("settings.yaml", "db: postgres://app:{alnum:14}@db.corp.io/app"),)),
    ContextRule("documentation-brackets", Effect.DROP,
                "Optional parts in usage text: `scheme://[user:passwd@]host`.",
                "cli.py", 'help="proxy as scheme://[user:{alnum:10}@]host:port"',
                lambda c: c.hit.kind == "url" and _url_user(c).startswith("[")),
    ContextRule("hash-context", Effect.DROP,
                "A digest, checksum or test vector: the line says `sha256`, `checksum`, "
                "`digest`, `integrity`, `hash`, `md5`, `fingerprint`, or embeds `data:` base64. "
                "A hex value under a key that names a secret (`*_API_KEY`, `*_TOKEN`, "
                "`oauth_token`) is a key, not a digest.",
                "SHA256SUMS.txt", 'checksum = "{hex:64}"',
                lambda c: ((c.hit.kind == "entropy" or c.hit.code == "KG320")
                           and bool(_HASH_CONTEXT.search(c.line)))
                or (c.hit.code == "KG331" and bool(_DIGEST_VALUE.match(c.value))),
                negatives=(E("hub.yml", "github.com:\n  oauth_token: {hex:40}"),),
                # A pusher could append `# sha256 …` to any line: in gate modes only a value
                # that is itself a digest's shape (nothing that carries a provider's prefix).
                in_gate=lambda c: ((c.hit.kind == "entropy" or c.hit.code == "KG320")
                                   and bool(_HASH_CONTEXT.search(c.line))
                                   and bool(_DIGEST_SHAPE.match(c.value)))
                or (c.hit.code == "KG331" and bool(_DIGEST_VALUE.match(c.value)))),
    ContextRule("uuid", Effect.DROP,
                "A UUID under a generic key: an identifier, not a secret (a provider whose "
                "keys are UUIDs, under its own name, is still found).",
                "app.json", '{"client_secret": "{uuid}"}',
                lambda c: c.hit.code != "KG320" and bool(_UUID.match(c.value)),
                negatives=(E("agents.env", "EXA_API_KEY={uuid}"),)),
    ContextRule("alphabet", Effect.DROP,
                "An alphabet, a sequence or a repetition (`ABCDEF…`, `0123…`, `abcabc…`, "
                "`abcd-efgh-ijkl-mnop`).",
                "b64.py", '_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"',
                lambda c: _alphabet_or_sequence(c.value),
                negatives=(E("config.json", '{"password": "{alnum:12}"}'),),
                also=(E(".env.example", 'APPLE_APP_SPECIFIC_PASSWORD="abcd-efgh-ijkl-mnop"'),)),
    ContextRule("public-material", Effect.DROP,
                "Public keys and certificates (`ssh-ed25519 AAAA…`, `BEGIN CERTIFICATE`, age "
                "recipients).", "deploy.py",
                'PUBKEY = "AAAAC3NzaC1lZDI1NTE5{alnum:43}"  # ssh-ed25519 AAAA… of deploy@ci',
                lambda c: bool(_PUBLIC_MATERIAL.search(c.line)),
                # A pusher could append `# ssh-ed25519 AAAA` to any line: in gate modes only
                # a value that is itself public material (an SSH key blob, an age recipient).
                in_gate=lambda c: bool(_PUBLIC_MATERIAL.search(c.line))
                and c.value.startswith(("AAAA", "age1"))),
    ContextRule("lock-file", Effect.DROP,
                "Lock files of every ecosystem, by name (`pnpm-lock.yaml`, `package-lock.json`, "
                "`yarn.lock`, `bun.lock`, `Cargo.lock`, `go.sum`, `poetry.lock`, `uv.lock`, "
                "`Pipfile.lock`, `Gemfile.lock`, `composer.lock`, `Podfile.lock`, "
                "`gradle.lockfile`, `flake.lock`, `mix.lock`, `pubspec.lock`, "
                "`packages.lock.json`, `pylock*.toml`, …) or by what their first 4 KiB say of "
                "themselves: package names, versions and integrity hashes. A registry "
                "credential written into one (`_authToken`) and a URL password are still "
                "reported.",
                "pnpm-lock.yaml", "  parse-passwd: 1.0.0\n  blob: '{b64:64}'",
                _lock_noise, path_based=True,
                negatives=(E("pnpm-lock.yaml", "//registry.npmjs.org/:_authToken={alnum:36}"),),
                also=(E("package-lock.json", '{"lockfileVersion": 3, "packages": {"node_modules/'
                                             'parse-passwd": {"integrity": "sha512-{b64:86}=="}}}'),
                      E("vendor/deps.yaml", "lockfileVersion: '9.0'\npackages:\n  parse-passwd@1.0.0:\n"
                                            "    resolution: {integrity: sha512-{b64:86}==}\n"
                                            "  passwd-user@2.0.1:\n    passwd: 2.0.1"))),
    ContextRule("catalogue", Effect.LOW,
                "Natural language is not a password, part 1: translation and message catalogues "
                "(folders named `locales`, `locale`, `i18n`, `l10n`, `translations`, `lang`, "
                "`messages`; `*.po`, `*.pot`, `*.xliff`, `*.xlf`, `*.strings`, `*.arb`, "
                "`*.resx`).",
                "locales/de.json", '{"resetPassword": "Zur{lower:4}cksetzen2"}',
                lambda c: c.info.is_catalogue, path_based=True,
                negatives=(E("config/de.json", '{"resetPassword": "Zur{lower:4}cksetzen2"}'),),
                also=(E("apps/mobile/locales/ja.json",
                        '{"password": "パスワード", "allCredentials": "すべて"}'),
                      E("po/de.po", 'msgid "password"\nmsgstr "Passwort1"'))),
    ContextRule("natural-language", Effect.LOW,
                "Natural language is not a password, part 2: a value under a password-like key "
                "that reads as words (letters of any script and spaces, no digits or symbols "
                "beyond punctuation: `Passwort`, `Restablecer contraseña`, `nextcloud`).",
                "strings.json", '{"password": "Restablecer contrase{lower:1}a"}',
                lambda c: c.hit.code == "KG331" and reads_as_words(c.value),
                negatives=(E("strings.json", '{"password": "Restablecer{digits:2}!"}'),),
                also=(E("ui/strings.json", '{"password": "Passwort"}'),)),
    ContextRule("public-by-design", Effect.LOW,
                "Public by design: client-side variables (`NEXT_PUBLIC_`, `EXPO_PUBLIC_`, "
                "`VITE_`, `REACT_APP_`, `NUXT_PUBLIC_`, `PUBLIC_`, `GATSBY_`), publishable keys "
                "(Stripe and Clerk `pk_live_`/`pk_test_`, Supabase `sb_publishable_`, PostHog "
                "`phc_`, RevenueCat `appl_`/`goog_`, Kortix `pk_` key ids, Sentry DSNs, Mapbox "
                "`pk.`) and a Supabase "
                "JWT whose role is `anon`. Only keyword, entropy and known-from-`.env` hits (and "
                "JWTs) are lowered: a provider's `high` token stays `high` under any name, and a "
                "store value is never lowered. kortix-guard's `public_by_design: false` setting "
                "turns it off.",
                "eas.json", '{"EXPO_PUBLIC_REVENUECAT_IOS_API_KEY": "appl_{alnum:27}"}',
                lambda c: c.hit.code in ("KG331", "KG332", "KG301", "KG322", "KG323")
                and bool(public_reason(c)), even_high=frozenset({"KG301"}),
                note="public by design: {why}; the `public_by_design: false` setting reports it",
                negatives=(E("eas.json", '{"EXPO_REVENUECAT_IOS_API_KEY": "{alnum:27}"}'),
                           E("web.env.txt", "NEXT_PUBLIC_STRIPE_KEY=sk_live_{alnum:24}"),
                           E("seed.sql", "select '{jwt:service_role}';")),
                also=(E("eas.json", '{"EXPO_PUBLIC_SUPABASE_ANON_KEY": "{jwt:anon}"}'),
                      E("app.config.ts", "const key = 'pk_live_{alnum:24}';"),
                      E("kortix.ts", "const api_key = 'pk_{alnum:32}';"),
                      E("vite.config.ts", "define: { VITE_MAPBOX: 'pk.eyJ{alnum:60}.{alnum:22}' }"))),
    ContextRule("example-env", Effect.DROP,
                "Example env files (`.env.example`, `.env.sample`, `.env.template`, "
                "`.env.dist`): local defaults are placeholders (`postgres`, `password`, "
                "`unused`, `changeme`, empty, words). A value that looks real is reported at its "
                "line, by name (medium; high for a provider's token).",
                ".env.example", "SMTP_PASSWORD=mailpit",
                lambda c: c.info.is_example_env and _local_default(c), path_based=True,
                negatives=(E(".env.example", "SESSION_SECRET={alnum:32}"),
                           E(".env.sample", "OPENAI_API_KEY=sk-proj-{alnum:48}")),
                also=(E(".env.example", "DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:54322/"
                                        'postgres\nMODEL_TO_USE="gpt-4o"\nSMTP_PASS=unused'),)),
    ContextRule("dev-default", Effect.DROP,
                "Well-known development defaults: Android's debug keystore (`android`, "
                "`androiddebugkey`), a password equal to a user or database name in the same "
                "file, and an image's documented default in docker-compose files, devcontainers "
                "and env files (`postgres`, `root`, `example`, `password`, `mysql`, `guest`, "
                "`minioadmin`, `changeit`).",
                "docker-compose.yml", "POSTGRES_USER: kortix42\nPOSTGRES_PASSWORD: kortix42",
                _dev_default, path_based=True,
                negatives=(E("docker-compose.yml", "POSTGRES_USER: app\nPOSTGRES_PASSWORD: {alnum:16}"),),
                also=(E("android/app/build.gradle", "storePassword 'android'\nkeyPassword 'android'"),
                      E("docker-compose.yml", "environment:\n  SMTP_PASS: unused\n  "
                                              "MYSQL_ROOT_PASSWORD: example"),
                      E(".devcontainer/docker-compose.yml", "POSTGRES_PASSWORD: postgres"))),
    ContextRule("fixture", Effect.LOW,
                "A weak password or URL password in source code or documentation rather than in "
                "a configuration or credential file; any value under a secret-like key (or a "
                "declared name) in tests or prose (almost always a fixture or a sample; provider "
                "tokens there stay high); "
                "and a password hash in tests or prose (in any other file a hash stays `medium`).",
                "tests/test_login.py", 'client.login(user="bob", password="hunter22")',
                lambda c: ((c.info.is_test or c.info.kind == "docs")
                           and c.hit.code in ("KG331", "KG310")) or (
                    c.hit.kind == "hash" and (c.info.is_test or c.info.kind == "docs")) or (
                    c.hit.kind != "hash" and (c.info.kind != "config" or c.info.is_test)
                    and not strong(c.value)),
                negatives=(E("db/users.sql", "INSERT INTO users VALUES (1, 'bob', '$2y$10${b64x:53}');"),)),
]
_BY_ID = {rule.id: rule for rule in RULES}


def judge(hit: Hit, line: str, info: FileInfo, *, gate: bool = False, public: bool = True,
          users: Callable[[], frozenset[str]] = frozenset) -> tuple[Confidence | None, str]:
    """The hit's confidence after the rules (None when a rule drops it), and the note of the
    rule that lowered it. `gate`: path-based rules only lower; `public`: the public-by-design
    rule is on ([guard] public_by_design)."""
    candidate = Candidate(hit, hit.secret.reveal(), line, info, users)
    confidence, note = hit.confidence, ""
    for rule in RULES:
        if confidence is Confidence.HIGH and not (
                rule.even_high is ALL_CODES or hit.code in rule.even_high):
            continue
        if hit.code == "KG300" and rule.even_high is not ALL_CODES:
            continue  # this project's own store values: only a vendor's example is exempt
        if not public and rule.id == "public-by-design":
            continue
        effect = Effect.LOW if gate and rule.path_based else rule.effect
        if effect is Effect.LOW and confidence is Confidence.LOW:
            continue
        applies = rule.in_gate if gate and rule.in_gate is not None else rule.applies
        if applies(candidate):
            if effect is Effect.DROP:
                return None, ""
            confidence = Confidence.LOW
            if rule.note and not note:
                note = rule.note.format(why=public_reason(candidate))
    return confidence, note


def rule(rule_id: str) -> ContextRule:
    return _BY_ID[rule_id]
