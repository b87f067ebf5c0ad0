"""What is not a secret, as data: each rule has an id, what it does, and an example line it
applies to (the tests run every example; the docs table is generated from this list).

A rule either drops a candidate or lowers it to `low`. No rule touches a `high` finding,
except `vendor-example`: an exact value a vendor documents as an example.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from kortix_guard.scan.detectors import FileInfo
from kortix_guard.scan.model import Confidence, Hit


class Effect(str, enum.Enum):
    DROP = "drop"
    LOW = "lower to low"


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    value: str
    line: str
    info: FileInfo


@dataclass(frozen=True)
class ContextRule:
    id: str
    effect: Effect
    summary: str
    example_path: str
    example: str  # a template line (detectors' template syntax) this rule applies to
    applies: Callable[[Candidate], bool]
    even_high: bool = False


PLACEHOLDER = re.compile(
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
    )$""")
_EXAMPLE_HOST = re.compile(
    r"(?i)^(?:.*\.)?(?:example\.(?:com|org|net)|localhost|localhost\.localdomain|127\.0\.0\.1|"
    r"0\.0\.0\.0|::1|[\w-]+\.(?:invalid|test|example|localhost)|host|hostname|server|"
    r"domain|yourdomain\.com|mydomain\.com|somehost|[\w.-]*placeholder[\w.-]*)$")
_HASH_CONTEXT = re.compile(
    r"(?i:\bsha(?:1|224|256|384|512)[-:=\s\"']|integrity|checksum|\bdigest|\bhash(?:es)?\b|"
    r"@sha256:|\bmd5\b|h1:|data:[\w/+.-]+;base64,|\$ANSIBLE_VAULT|fingerprint|test[-_ ]?vector)")
_UUID = re.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PUBLIC = re.compile(r"BEGIN CERTIFICATE|BEGIN PUBLIC KEY|BEGIN RSA PUBLIC KEY|BEGIN PGP PUBLIC|"
                     r"ssh-(?:rsa|ed25519|dss) AAAA|ecdsa-sha2-nistp\d+ AAAA|age1[a-z0-9]{58}")
# Vendors' own documented example credentials.
VENDOR_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "ASIAIOSFODNN7EXAMPLE",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
})
_SEALED = re.compile(r"^kg1:[A-Za-z0-9_-]+$")
_STORE_FIELD = re.compile(r'(?:store_id|key_id|previous_key_id|chain|mac) = "[0-9a-f]*"|'
                          r'"[A-Za-z0-9._@+-]+" = \{ recipient = .*')


def _alphabet_or_sequence(value: str) -> bool:
    """ABCDEFGHIJ…, 0123456789…, abcabcabc…, aaaaaaaa…: data tables, not secrets."""
    v = value.strip("=")
    if len(v) < 6:
        return False
    steps = {ord(b) - ord(a) for a, b in zip(v, v[1:])}
    if steps <= {1} or steps <= {0}:
        return True
    for period in range(1, 5):
        if len(v) >= 3 * period and v == (v[:period] * (len(v) // period + 1))[:len(v)]:
            return True
    return any(run in v for run in ("ABCDEFGHIJKLMNOP", "abcdefghijklmnop", "0123456789",
                                    "QRSTUVWXYZ", "qrstuvwxyz"))


def _url_context(c: Candidate) -> str:
    """The host of a URL-password candidate ('' for other hits)."""
    if c.hit.kind != "url":
        return ""
    m = re.search(re.escape(c.value) + r"@([A-Za-z0-9._-]+)", c.line)
    return m.group(1) if m else ""


def _url_user(c: Candidate) -> str:
    m = re.search(r"://([^\s:/?#@'\"]+):" + re.escape(c.value) + "@", c.line)
    return m.group(1) if m else ""


RULES: list[ContextRule] = [
    ContextRule("vendor-example", Effect.DROP,
                "An exact credential a vendor documents as an example (AWS's `…EXAMPLE` keys).",
                "docs.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
                lambda c: c.value in VENDOR_EXAMPLES, even_high=True),
    ContextRule("sealed-value", Effect.DROP,
                "A value sealed by kortix-guard's store (`kg1:…`): ciphertext, not a secret. "
                "Every other line of the store file is scanned.",
                "old-store.toml", 'API_KEY = "kg1:{alnum:60}"',
                lambda c: bool(_SEALED.match(c.value)) or "kg1:" + c.value in c.line),
    ContextRule("store-fields", Effect.DROP,
                "A kortix-guard store's own public fields: its ids, MAC and re-key chain (hex), "
                "and each recipient's line (a public key, and the data key wrapped to it as an "
                "age file). Only in a file that starts with the store's header.",
                ".kortix/secrets.enc.toml",
                "# kortix-guard encrypted store: names are public, values are sealed.\n"
                'mac = "{hex:64}"',
                lambda c: c.info.is_store and bool(_STORE_FIELD.fullmatch(c.line.strip()))),
    ContextRule("placeholder", Effect.DROP,
                "A placeholder: `changeme`, `xxx`, `***`, `<…>`, `${…}`, `{{…}}`, `%(…)s`, "
                "format fields (`{password}`), "
                "`your-…-here`, `example`, and common placeholder words (`secret`, `test`, "
                "`dummy`, `foo`, `password`).", "config.json", '{"password": "changeme"}',
                lambda c: c.hit.kind != "hash" and bool(PLACEHOLDER.match(unquote(c.value).strip()))),
    ContextRule("same-as-key", Effect.DROP,
                "A URL password equal to its user name (`guest:guest@`); a value equal to its "
                "own key (`password: password`) is refused by the keyword detector's shape "
                "checks.", "config.json", '{"url": "amqp://guest7:guest7@mq.corp.io:5672/"}',
                lambda c: c.hit.kind == "url" and _url_user(c).lower() == c.value.lower()),
    ContextRule("example-host", Effect.DROP,
                "A URL password on an example host: `example.com/.org/.net`, `localhost`, "
                "`127.0.0.1`, `*.invalid`, `*.test`, `*.example`.",
                "README.md", "DATABASE=postgres://app:{alnum:12}@localhost/app",
                lambda c: bool(_EXAMPLE_HOST.match(_url_context(c))) if c.hit.kind == "url"
                else False),
    ContextRule("documentation-brackets", Effect.DROP,
                "Optional parts in usage text: `scheme://[user:passwd@]host`.",
                "cli.py", 'help="proxy as scheme://[user:{alnum:10}@]host:port"',
                lambda c: c.hit.kind == "url" and _url_user(c).startswith("[")),
    ContextRule("hash-context", Effect.DROP,
                "A digest, checksum or test vector: the line says `sha256`, `checksum`, "
                "`digest`, `integrity`, `hash`, `md5`, `fingerprint`, or embeds `data:` base64.",
                "SHA256SUMS.txt", 'checksum = "{hex:64}"',
                lambda c: c.hit.kind in ("entropy", "token") and bool(_HASH_CONTEXT.search(c.line))),
    ContextRule("uuid", Effect.DROP, "A UUID: an identifier, not a secret.",
                "app.json", '{"client_secret": "{uuid}"}', lambda c: bool(_UUID.match(c.value))),
    ContextRule("alphabet", Effect.DROP,
                "An alphabet, a sequence or a repetition (`ABCDEF…`, `0123…`, `abcabc…`).",
                "b64.py", '_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"',
                lambda c: _alphabet_or_sequence(c.value)),
    ContextRule("public-material", Effect.DROP,
                "Public keys and certificates (`ssh-ed25519 AAAA…`, `BEGIN CERTIFICATE`, age "
                "recipients).", "deploy.py",
                'PUBKEY = "AAAAC3NzaC1lZDI1NTE5{alnum:43}"  # ssh-ed25519 AAAA… of deploy@ci',
                lambda c: bool(_PUBLIC.search(c.line))),
    ContextRule("lock-file", Effect.DROP,
                "High-entropy strings and tokens in lock files, known by name (`*.lock`, "
                "`pylock.*.toml`, `package-lock.json`, …) or by what they say of themselves "
                "(`lockfileVersion`, `@generated by …`); a URL password in one is still "
                "reported.",
                "poetry.lock", 'files = [{file = "x.whl", blob = "{b64:64}"}]',
                lambda c: c.info.is_lock and c.hit.kind in ("entropy", "token")),
    ContextRule("fixture", Effect.LOW,
                "A weak password or URL password, or a password hash, in source code or "
                "documentation rather than in a configuration or credential file; and any "
                "value under a secret-like key in tests (almost always a fixture; provider "
                "tokens there stay high).",
                "tests/test_login.py", 'client.login(user="bob", password="hunter22")',
                lambda c: (c.info.is_test and c.hit.code == "KG331") or (
                    (c.info.kind != "config" or c.info.is_test)
                    and (c.hit.kind == "hash" or not _strong(c.value)))),
]


def _strong(value: str) -> bool:
    from kortix_guard.scan.detectors.credentials import strong

    return strong(value)


def judge(hit: Hit, line: str, info: FileInfo) -> Confidence | None:
    """The hit's confidence after the rules, or None when a rule drops it."""
    candidate = Candidate(hit, hit.secret.reveal(), line, info)
    confidence = hit.confidence
    for rule in RULES:
        if confidence is Confidence.HIGH and not rule.even_high:
            continue
        if rule.effect is Effect.LOW and confidence is Confidence.LOW:
            continue
        if rule.applies(candidate):
            if rule.effect is Effect.DROP:
                return None
            confidence = Confidence.LOW
    return confidence
