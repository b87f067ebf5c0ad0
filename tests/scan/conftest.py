"""Planted secrets, made at run time: this repository's own scan must stay clean, so no
test file holds a token in a form the scanner (or detect-secrets) would flag."""
from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

from kortix_guard.scan.examples import checksummed_token
from tests.conftest import kg

_rng = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def pem() -> str:
    body = base64.b64encode(bytes(_rng.randrange(256) for _ in range(600))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    kind = "RSA " + "PRIVATE KEY"
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])


def jwt() -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return ".".join([part({"alg": "HS256", "typ": "JWT"}),
                     part({"sub": rand(12), "name": "planted"}), rand(43, ALNUM + "-_")])


TOKENS = {
    "openai": "sk-" + "proj-" + rand(48, ALNUM + "-_"),
    "anthropic": "sk-" + "ant-" + "api03-" + rand(60, ALNUM + "-_"),
    "github-pat": "github" + "_pat_" + rand(82, ALNUM + "_"),
    "github-classic": checksummed_token(_rng, "gh" + "p"),
    "stripe": "sk" + "_live_" + rand(24),
    "slack": "xo" + "xb-" + rand(12, string.digits) + "-" + rand(24),
    "google": "AI" + "za" + rand(35, ALNUM + "-_"),
    "aws": "AK" + "IA" + rand(16, string.ascii_uppercase + string.digits),
    "jwt": jwt(),
}


def scan_json(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict]]:
    result = kg("scan", "--format", "json", *args, cwd=root, env=env)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def rules_found(root: Path, *args: str) -> list[str]:
    return [f["rule"] for f in scan_json(root, *args)[1]]
