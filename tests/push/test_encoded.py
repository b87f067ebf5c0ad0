"""A token inside base64 (a Docker config's `auth`, a Kubernetes Secret's `data:`, a `Basic`
header), `%XX` text, or a `.gz`, `.zip` or `.tar.gz` file is blocked by the commit hook, the
pre-push hook and the pre-receive hook alike, and reported where it is: at the encoded run,
or as `archive!inner/path`. The token never shows in any output."""
from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import git, kg
from tests.push.test_push_protection import TOKEN, client, install, push, server, server_head

__all__ = ["client", "server"]  # fixtures, imported for pytest


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _tar_gz(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


LINE = f"GITHUB_TOKEN={TOKEN}\n".encode()
# name -> (path, content, where the finding is reported)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "docker-config": (".docker/config.json", lambda: json.dumps(
        {"auths": {"ghcr.io": {"auth": _b64(f"ci:{TOKEN}")}}}).encode(), ".docker/config.json:1:"),
    "kubernetes-secret": ("k8s/secret.yaml", lambda: (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: gh}\ndata:\n"
        f"  token: {_b64(TOKEN)}\n").encode(), "k8s/secret.yaml:5:"),
    "dockerconfigjson": ("k8s/pull.yaml", lambda: (
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: " +
        _b64(json.dumps({"auths": {"ghcr.io": {"username": "ci", "password": TOKEN}}})) +
        "\n").encode(), "k8s/pull.yaml:4:"),
    "basic-header": ("scripts/call.sh", lambda: (
        f"curl -H 'Authorization: Basic {_b64('x-access-token:' + TOKEN)}' "
        "https://api.github.com/user\n").encode(), "scripts/call.sh:1:"),
    "url-encoded": ("notes/link.txt", lambda: (
        "https://example.org/cb?state=" + quote(json.dumps({"token": TOKEN}), safe="") +
        "\n").encode(), "notes/link.txt:1:"),
    "gzip": ("backup/env.txt.gz", lambda: gzip.compress(LINE), "backup/env.txt.gz!env.txt:1:"),
    "zip": ("dist/bundle.zip", lambda: _zip("config/prod.env", LINE),
            "dist/bundle.zip!config/prod.env:1:"),
    "tar-gz": ("dist/site.tar.gz", lambda: _tar_gz("site/config.txt", LINE),
               "dist/site.tar.gz!site/config.txt:1:"),
    "jar-by-content": ("lib/app.jar", lambda: _zip("BOOT-INF/application.properties", LINE),
                       "lib/app.jar!BOOT-INF/application.properties:1:"),
}


def _add(repo: Path, case: str) -> str:
    path, content, where = CASES[case]
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_bytes(content())
    git("add", "-A", cwd=repo)
    return where


def _assert_reported(out: str, where: str) -> None:
    assert where in out, out
    assert TOKEN[4:] not in out
    assert "KG320" in out


@pytest.mark.parametrize("case", CASES)
def test_the_commit_hook_blocks_it(client: Path, case: str) -> None:
    where = _add(client, case)
    result = kg("scan", "--staged", cwd=client)
    assert result.code == 1, result.err
    _assert_reported(result.out + result.err, where)


@pytest.mark.parametrize("case", ["docker-config", "kubernetes-secret", "basic-header", "gzip",
                                  "zip", "tar-gz"])
def test_the_pre_push_hook_blocks_it(server: Path, client: Path, case: str) -> None:
    assert kg("hook", "install", "--pre-push", cwd=client).code == 0
    before = server_head(server)
    _add(client, case)
    git("commit", "-qm", "add it", cwd=client)
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    _assert_reported(result.stdout + result.stderr, CASES[case][0])
    assert server_head(server) == before


@pytest.mark.parametrize("case", ["docker-config", "kubernetes-secret", "basic-header", "gzip",
                                  "zip", "tar-gz"])
def test_the_pre_receive_hook_blocks_it(server: Path, client: Path, case: str) -> None:
    install(server)
    before = server_head(server)
    _add(client, case)
    git("commit", "-qm", "add it", cwd=client)
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    _assert_reported(result.stderr, CASES[case][0])
    assert server_head(server) == before


def test_history_and_tree_scans_read_inside_too(client: Path) -> None:
    for case in ("kubernetes-secret", "zip"):
        _add(client, case)
    git("commit", "-qm", "add them", cwd=client)
    for args in (("--history",), ("--all-files",), ()):
        result = kg("scan", *args, cwd=client)
        assert result.code == 1, (args, result.err)
        for case in ("kubernetes-secret", "zip"):
            assert CASES[case][2] in result.out, (args, result.out)
