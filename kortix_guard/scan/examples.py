"""Fill the detectors' example templates with random characters at run time, so that no
real-looking credential is ever committed. Used by the tests, the docs and bench_quality."""
from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid

from kortix_guard.scan import context
from kortix_guard.scan.detectors import all_detectors, files
from kortix_guard.scan.detectors.keys import _BECH32, _polymod
from kortix_guard.scan.detectors.tokens import crc32_base62
from kortix_guard.scan.model import Confidence
from kortix_guard.store import Key

_ALPHABETS = {
    "alnum": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase + string.digits,
    "digits": string.digits,
    "hex": "0123456789abcdef",
    "b64": string.ascii_letters + string.digits + "+/",
    "b64x": "./" + string.ascii_letters + string.digits,  # crypt(3)'s alphabet
    "bech": _BECH32.upper(),
    "base32": string.ascii_uppercase + "234567",  # RFC 4648's: AWS key ids' bodies
}
_FIELD = re.compile(r"\{(?P<name>alnum|letters|lower|upper|digits|hex|b64x|b64|bech|base32|uuid|jwt|"
                    r"kgk1|age|github|npm)(?::(?P<n>\d+|[a-z_]+))?\}")


def chars(rng: random.Random, alphabet: str, n: int) -> str:
    """n random characters; from 8 on, with a digit and both cases where the alphabet has
    them, so that a random value never happens to look like a word."""
    needs = [group for group in (string.digits, string.ascii_lowercase, string.ascii_uppercase)
             if n >= 8 and set(group) & set(alphabet)]
    while True:
        text = "".join(rng.choice(alphabet) for _ in range(n))
        if all(set(text) & set(group) for group in needs):
            return text


def jwt(rng: random.Random, role: str = "") -> str:
    """A JWT with random claims; `role` makes it a Supabase key (`anon`, `service_role`)."""
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    claims = ({"iss": "supabase", "ref": chars(rng, _ALPHABETS["lower"], 20), "role": role}
              if role else {"sub": chars(rng, _ALPHABETS["alnum"], 12)})
    return ".".join([part({"alg": "HS256", "typ": "JWT"}), part(claims),
                     chars(rng, _ALPHABETS["alnum"], 43)])


def age_identity(rng: random.Random) -> str:
    """A random age identity with a valid bech32 checksum."""
    raw = bytes(rng.randrange(256) for _ in range(32))
    bits, acc, data = 0, 0, []
    for byte in raw:
        acc, bits = acc << 8 | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    hrp = "age-secret-key-"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = _polymod(expanded + data + [0] * 6) ^ 1
    checksum = [mod >> 5 * (5 - i) & 31 for i in range(6)]
    return (hrp + "1" + "".join(_BECH32[d] for d in data + checksum)).upper()


def checksummed_token(rng: random.Random, prefix: str) -> str:
    """A GitHub (`ghp`, `gho`, …) or npm token: 30 random characters and their CRC32 in base62."""
    body = chars(rng, _ALPHABETS["alnum"], 30)
    return f"{prefix}_{body}{crc32_base62(body)}"


def expand(template: str, rng: random.Random | None = None) -> str:
    rng = rng or random.Random()

    def fill(m: re.Match[str]) -> str:
        name, arg = m.group("name"), m.group("n") or ""
        n = int(arg) if arg.isdigit() else 0
        if name == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128)))
        if name == "jwt":
            return jwt(rng, arg)
        if name in ("github", "npm"):
            return checksummed_token(rng, arg or ("ghp" if name == "github" else "npm"))
        if name == "kgk1":

            return Key(bytes(rng.randrange(256) for _ in range(32))).text()
        if name == "age":
            return age_identity(rng)
        return chars(rng, _ALPHABETS[name], n)

    return _FIELD.sub(fill, template)


def corpus(rng: random.Random | None = None) -> list[tuple[str, str, str, bool]]:
    """(class, path, text, is_secret) for every detector's and never-commit file's examples
    and counter-examples, every context rule's example and class lines (never a secret) and
    its counter-examples (still found). Detectors that only ever report `low` are left out:
    at the default threshold they are not findings."""

    rng = rng or random.Random(20261128)
    cases = []
    for detector in (d for d in all_detectors() if d.confidence > Confidence.LOW):
        cases += [(detector.id, e.path, expand(e.text, rng), True) for e in detector.examples]
        cases += [(detector.id, e.path, expand(e.text, rng), False) for e in detector.negatives]
    cases += [("never-commit-file", e.path, expand(e.text, rng), True) for e in files.EXAMPLES]
    cases += [("never-commit-file", e.path, expand(e.text, rng), False) for e in files.NEGATIVES]
    for rule in context.RULES:
        cases.append((f"context:{rule.id}", rule.example_path, expand(rule.example, rng), False))
        cases += [(f"context:{rule.id}", e.path, expand(e.text, rng), False) for e in rule.also]
        cases += [(f"context:{rule.id}:kept", e.path, expand(e.text, rng), True)
                  for e in rule.negatives]
    return cases
