"""Kortix's own credentials: a session's token in its environment is a known value (KG302),
and the token families are recognised by shape (their detectors' examples run in
test_detectors.py)."""
from __future__ import annotations

import base64
from pathlib import Path

from tests.conftest import git, git_init, kg, write
from tests.scan.conftest import rand, scan_json


def test_a_sessions_own_token_is_a_known_value(tmp_path: Path) -> None:
    """Inside a Kortix session the agent's KORTIX_TOKEN is in the environment: the value is
    found wherever it lands (whatever its shape, base64 too), a comment does not wave it
    through, and no output holds it."""
    root = git_init(tmp_path / "repo")
    token = "sess-" + rand(28)  # any shape: a known value is found by what it is
    write(root, {"debug.log": f"auth header: Bearer {token}  # kortix-guard: allow\n",
                 "k8s.yaml": f"data:\n  token: {base64.b64encode(token.encode()).decode()}\n"})
    git("add", "-A", cwd=root)
    code, found = scan_json(root, "--all-files", env={"KORTIX_TOKEN": token})
    assert code == 1
    assert sorted((f["path"], f["rule"]) for f in found) == [("debug.log", "KG302"),
                                                             ("k8s.yaml", "KG302")]
    assert "$KORTIX_TOKEN (a Kortix credential in this environment)" in found[0]["message"]
    text = kg("scan", "--all-files", cwd=root, env={"KORTIX_TOKEN": token})
    assert token not in text.all and token[:12] not in text.all
    # Without it in the environment, it is not a known value (only its surroundings speak).
    assert "KG302" not in [f["rule"] for f in scan_json(root, "--all-files")[1]]


def test_the_token_families_are_high_and_say_where_to_revoke(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    write(root, {"ci.env.txt": f"KORTIX_CLI_TOKEN=kortix_sa_{rand(32)}\n",
                 "client.py": f'KORTIX_PUBLIC_KEY = "pk_{rand(32)}"\n'})
    git("add", "-A", cwd=root)
    code, found = scan_json(root, "--all-files")
    assert [(f["path"], f["rule"], f["confidence"]) for f in found] == [
        ("ci.env.txt", "KG320", "high")]
    assert "Kortix service account token" in found[0]["message"]
    assert "rotate the service account's secret in Kortix" in found[0]["message"]


def _jwt(claims: dict) -> str:
    import json

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{rand(43)}"


def test_a_jwt_is_graded_by_what_it_is(tmp_path: Path) -> None:
    """A local-development issuer: low; an expired user session: medium, said; a service key
    that is not local: high."""
    root = git_init(tmp_path / "repo")
    write(root, {"local.ts": f"const t = '{_jwt({'iss': 'http://localhost:54321', 'sub': 'u'})}'\n",
                 "old.ts": f"const t = '{_jwt({'sub': 'user-1', 'exp': 1600000000})}'\n",
                 "svc.ts": f"const t = '{_jwt({'iss': 'https://x.supabase.co', 'role': 'service_role'})}'\n"})
    git("add", "-A", cwd=root)
    found = {f["path"]: f for f in scan_json(root, "--all-files", "--min-confidence", "low")[1]}
    assert found["local.ts"]["confidence"] == "low"
    assert "issued by this machine" in found["local.ts"]["message"]
    assert found["old.ts"]["confidence"] == "medium"
    assert "a user session that expired 2020-09-13" in found["old.ts"]["message"]
    assert found["svc.ts"]["confidence"] == "high"
