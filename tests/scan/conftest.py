"""Planted secrets, made at run time: this repository's own scan must stay clean, so no
test file holds a token in a form the scanner (or detect-secrets) would flag."""
from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path

import pytest

from kortix_guard.scan import examples
from kortix_guard.scan.examples import checksummed_token
from tests.conftest import kg

RNG = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits


@pytest.fixture(autouse=True)
def _seed_per_test(request: pytest.FixtureRequest) -> None:
    """Each test draws the same fillers whatever ran before it (alone, in any order, or
    on another xdist worker)."""
    RNG.seed(request.node.nodeid)


def rand(n: int, alphabet: str = ALNUM) -> str:
    return examples.chars(RNG, alphabet, n)


def pem() -> str:
    body = base64.b64encode(bytes(RNG.randrange(256) for _ in range(600))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    kind = "RSA " + "PRIVATE KEY"
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])


def jwt() -> str:
    return examples.jwt(RNG)


TOKENS = {
    "openai": "sk-" + "proj-" + rand(48, ALNUM + "-_"),
    "anthropic": "sk-" + "ant-" + "api03-" + rand(60, ALNUM + "-_"),
    "github-pat": "github" + "_pat_" + rand(82, ALNUM + "_"),
    "github-classic": checksummed_token(RNG, "gh" + "p"),
    "stripe": "sk" + "_live_" + rand(24),
    "slack": "xo" + "xb-" + rand(12, string.digits) + "-" + rand(24),
    "google": "AI" + "za" + rand(35, ALNUM + "-_"),
    "aws": "AK" + "IA" + rand(16, string.ascii_uppercase + "234567"),
    "jwt": jwt(),
}


def scan_json(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict]]:
    result = kg("scan", "--format", "json", *args, cwd=root, env=env)
    assert result.code in (0, 1), result.err
    return result.code, json.loads(result.out)


def rules_found(root: Path, *args: str) -> list[str]:
    return [f["rule"] for f in scan_json(root, *args)[1]]
