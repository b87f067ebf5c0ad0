"""Token formats (the ones detect-secrets lacks), the keyword prefilter that decides which
lines are worth a regex at all, and the contexts that are not secrets (hashes, data: URIs)."""
from __future__ import annotations

import base64
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterator

from kortix_guard.scan.model import Hit, Text
from kortix_guard.secret import SecretValue

# (code, what, pattern); group "s" is the secret when present, else the whole match.
PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    ("KG320", "OpenAI project key", re.compile(r"\bsk-proj-[A-Za-z0-9_-]{20,}")),
    ("KG320", "Anthropic key", re.compile(r"\bsk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_-]{20,}")),
    ("KG320", "GitHub token", re.compile(r"\b(?:github_pat_[A-Za-z0-9_]{22,}|gh[pousr]_[A-Za-z0-9]{36,})")),
    ("KG320", "Stripe live key", re.compile(r"\b[rs]k_live_[0-9a-zA-Z]{24,}")),
    ("KG320", "Slack token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    ("KG320", "Slack webhook", re.compile(
        r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}")),
    ("KG320", "Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("KG320", "AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("KG321", "private key", re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY"
        r"(?: BLOCK)?-----(?P<s>[\s\S]{0,20000}?)-----END[A-Z0-9 ]* PRIVATE KEY")),
    ("KG322", "URL with a password", re.compile(
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/?#@'\"]+:(?P<s>[^\s/?#@'\"]{3,})@[^\s'\"]")),
    ("KG322", "connection string password", re.compile(
        r"(?i:\b(?:password|pwd))=(?P<s>[^;\s'\"]{4,});")),
    ("KG323", "JSON Web Token", re.compile(
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    # base64url may end in '-' or '_', where \b would not hold.
    ("KG324", "kortix-guard key", re.compile(r"(?<![\w-])kgk1_[A-Za-z0-9_-]{48}(?![\w-])")),
]

# detect-secrets' KeywordDetector denylist (tests check it is the same list).
DS_KEYWORDS = (
    "api_?key", "auth_?key", "service_?key", "account_?key", "db_?key", "database_?key",
    "priv_?key", "private_?key", "client_?key", "db_?pass", "database_?pass", "key_?pass",
    "password", "passwd", "pwd", "secret", "contraseña", "contrasena",
)

# A line is worth a regex only when it holds one of these. They cover our patterns and every
# detect-secrets plugin's trigger; tests check that on real code every line detect-secrets
# flags passes them. Split in three so that each runs fast in Python's re: case-insensitive
# parts on a lower-cased copy, literal prefixes, and digit-led shapes (IPs, bot tokens).
CASELESS = (re.compile("|".join(DS_KEYWORDS) + r"|aws|xox|password=|pwd="),
            re.compile(r"(?:key|pw|pass|token)[^\n]{0,12}?[\w-]{24}"))
CASED = re.compile(
    r"sk-|sk_|rk_live|gh[pousr]_|github_pat_|hooks\.slack|AIza|A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA"
    r"|AccountKey=|AKC[a-zA-Z0-9]{10}|AP[\dA-F][a-zA-Z0-9]{8}|PRIVATE KEY|://[^\s:/?#@]+:[^\s@]+@"
    r"|eyJ|kgk1_|SG\.|pypi-|_authToken|sq0csp-|T3BlbkFJ|gl[a-z]{2,7}-|GR1348941|AC[a-z0-9]{32}"
    r"|SK[a-z0-9]{32}|-us\d")
SHAPES = re.compile(r"[0-9MNO](?:(?<=\d)(?:\d{7,9}:[\w-]{35}|\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)"
                    r"|(?<=[MNO])[\w-]{23,25}\.[\w-]{6}\.)")
# Quoted strings: candidates for detect-secrets' entropy plugins when entropic enough.
QUOTED = re.compile(r"""(["'])([A-Za-z0-9+/=_\\-]{8,})\1""")
_HEX = frozenset("0123456789abcdefABCDEF")

# Lines whose long strings are hashes, digests, embedded data or our own sealed values.
NOT_SECRET_LINE = re.compile(
    r"(?i:\bsha(?:1|224|256|384|512)[-:=]|integrity|checksum|digest|\bhash\b|@sha256:"
    r"|data:[\w/+.-]+;base64,|\$ANSIBLE_VAULT)|\"kg1:|\bkg1:"
)
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{2,63}")
LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
    "Pipfile.lock", "pylock.toml", "uv.lock", "go.sum", "Cargo.lock", "composer.lock",
    "Gemfile.lock", "pdm.lock", "bun.lock", "packages.lock.json",
})
_PLACEHOLDER_PASSWORD = re.compile(r"(?i)^(?:\$.*|\{.*|<.*>|\*+|x+|\.\.\.|password|pass|secret|"
                                   r"changeme|example|pw)$")


def entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def candidate_lines(text: Text) -> set[int]:
    """Line numbers that the regex layers (ours and detect-secrets') need to look at."""
    lower = text.text.lower()
    folded = text if len(lower) == len(text.text) else Text(text.path, lower)
    lines = {folded.position(m.start())[0] for regex in CASELESS for m in regex.finditer(lower)}
    for regex in (CASED, SHAPES):
        lines.update(text.position(m.start())[0] for m in regex.finditer(text.text))
    for m in QUOTED.finditer(text.text):
        body = m.group(2)
        # detect-secrets flags hex strings above entropy 3.0 and base64 ones above 4.5.
        limit = 3.0 if set(body) <= _HEX else 4.5
        if len(set(body)) >= 2 ** limit and entropy(body) > limit:
            lines.add(text.position(m.start())[0])
    return lines


def _valid_kortix_key(token: str) -> bool:
    blob = token[len("kgk1_"):]
    try:
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    except ValueError:
        return False
    key, checksum = raw[:32], raw[32:]
    return hashlib.sha256(b"kgk1_" + key).digest()[:4] == checksum


def find(text: Text, lines: set[int]) -> Iterator[Hit]:
    """Our patterns, on the candidate lines only."""
    for number in sorted(lines):
        start = text.starts[number - 1]
        line = text.line(number)
        for code, what, pattern in PATTERNS:
            # A private key block spans lines: match from the line start in the whole text.
            source, base = (text.text, 0) if code == "KG321" else (line, start)
            m = pattern.search(source, start if code == "KG321" else 0)
            if m is None or (code == "KG321" and m.start() >= start + len(line)):
                continue
            secret = m.group("s") if "s" in pattern.groupindex else m.group(0)
            if code == "KG322" and _PLACEHOLDER_PASSWORD.match(secret):
                continue
            if code == "KG324" and not _valid_kortix_key(secret):
                continue
            if code == "KG321" and len(re.findall(r"[A-Za-z0-9+/=]", secret.replace("\\n", ""))) < 40:
                continue  # a header with no key material after it: documentation, not a key
            yield Hit(base + m.start(), code, what, SecretValue(secret or m.group(0)))
