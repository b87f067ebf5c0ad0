"""Where a secret can ride in a push besides a file's text: a commit message, an annotated
tag's message, a file name, a symlink's target, a binary file. Each is scanned (provider and key
detectors only) by the pre-receive hook, the pre-push hook, `scan --range` and `scan --history`;
and a blob is judged at every path it is pushed at, not only its first."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, kg, write
from tests.push.test_push_protection import TOKEN, client, commit, install, push, server, server_head

__all__ = ["client", "server"]  # fixtures, imported for pytest


def _message(repo: Path) -> None:
    write(repo, {"notes.md": "release notes\n"})
    git("add", "-A", cwd=repo)
    git("commit", "-qm", f"deploy with {TOKEN}", cwd=repo)


def _tag(repo: Path) -> None:
    commit(repo, {"notes.md": "release notes\n"})
    git("tag", "-a", "v1", "-m", f"release, token {TOKEN}", cwd=repo)


def _name(repo: Path) -> None:
    commit(repo, {f"keys/{TOKEN}.txt": "nothing here\n"})


def _link(repo: Path) -> None:
    os.symlink(f"../{TOKEN}", repo / "current")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a link", cwd=repo)


def _binary(repo: Path) -> None:
    (repo / "blob.bin").write_bytes(b"\x00\x01\x02 header\x00" + f"token={TOKEN}".encode()
                                    + b"\x00\xff" * 64)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a binary", cwd=repo)


def _object(repo: Path, kind: str, raw: bytes) -> str:
    """An object written as given (`--literally`: git itself would not write a NUL)."""
    return subprocess.run(["git", "hash-object", "-t", kind, "-w", "--literally", "--stdin"],
                          cwd=repo, input=raw, capture_output=True, check=True
                          ).stdout.decode().strip()


_WHO = "A U Thor <a@example.com> 1700000000 +0000"


def _message_after_nul(repo: Path) -> None:
    """The token after a NUL in the message: libgit2's reading of a message ends there."""
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    tree = git("rev-parse", "HEAD^{tree}", cwd=repo).strip()
    new = _object(repo, "commit", f"tree {tree}\nparent {head}\nauthor {_WHO}\ncommitter "
                                  f"{_WHO}\n\nfix a typo\0{TOKEN}\n".encode())
    git("update-ref", "HEAD", new, cwd=repo)


def _tag_after_nul(repo: Path) -> None:
    commit(repo, {"notes.md": "release notes\n"})
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    tag = _object(repo, "tag", f"object {head}\ntype commit\ntag v1\ntagger {_WHO}\n\n"
                               f"release\0{TOKEN}\n".encode())
    git("update-ref", "refs/tags/v1", tag, cwd=repo)


CHANNELS = {"commit-message": _message, "tag-message": _tag, "file-name": _name,
            "symlink-target": _link, "binary-file": _binary,
            "commit-message-after-nul": _message_after_nul,
            "tag-message-after-nul": _tag_after_nul}


def _push_all(repo: Path) -> subprocess.CompletedProcess:
    return push(repo, "origin", "HEAD:refs/heads/main", "--follow-tags")


@pytest.mark.parametrize("channel", CHANNELS)
def test_pre_receive_scans_every_channel(server: Path, client: Path, channel: str) -> None:
    install(server)
    before = server_head(server)
    CHANNELS[channel](client)
    result = _push_all(client)
    assert result.returncode != 0, result.stderr
    assert "KG320" in result.stderr
    assert TOKEN[4:] not in result.stderr
    assert server_head(server) == before
    assert git("--git-dir", str(server), "tag", cwd=server.parent).strip() == ""


@pytest.mark.parametrize("channel", CHANNELS)
def test_pre_push_scans_every_channel(server: Path, client: Path, channel: str) -> None:
    assert kg("hook", "install", "--pre-push", cwd=client).code == 0
    before = server_head(server)
    CHANNELS[channel](client)
    result = _push_all(client)
    assert result.returncode != 0, result.stderr
    assert "KG320" in result.stdout + result.stderr
    assert server_head(server) == before


@pytest.mark.parametrize("channel", CHANNELS)
def test_range_and_history_scan_every_channel(client: Path, channel: str) -> None:
    base = git("rev-parse", "HEAD", cwd=client).strip()
    CHANNELS[channel](client)
    # A range is commits: a tag is not in one (a pushed tag is scanned by the push hooks).
    # --since: the tree walk's listing (libgit2), not git's log.
    ranges = [] if channel.startswith("tag-") else [("--range", f"{base}..HEAD"),
                                                    ("--history", "--since", base)]
    for args in (*ranges, ("--history",)):
        result = kg("scan", *args, cwd=client)
        assert result.code == 1, (args, result.out, result.err)
        assert "KG320" in result.out
        assert TOKEN[4:] not in result.out + result.err


def test_a_plain_scan_of_the_work_tree_leaves_messages_alone(client: Path) -> None:
    """Channels are a history and push matter: the commit hook reads file contents."""
    _message(client)
    assert kg("scan", "--all-files", cwd=client).code == 0


@pytest.mark.parametrize("later", [False, True], ids=["same-commit", "later-commit"])
def test_an_excluded_path_does_not_cover_a_copy_elsewhere(server: Path, client: Path,
                                                         later: bool) -> None:
    install(server, 'exclude = ["vendor/*"]\n')
    before = server_head(server)
    body = f'token = "{TOKEN}"\n'
    if later:
        commit(client, {"vendor/lib.py": body})
        assert push(client, "origin", "HEAD:refs/heads/main").returncode == 0
        before = server_head(server)
        commit(client, {"web/app.py": body})
    else:
        commit(client, {"vendor/lib.py": body, "web/app.py": body})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    assert "web/app.py:1:10: KG320" in result.stderr
    assert "vendor/lib.py" not in result.stderr
    assert server_head(server) == before


def test_a_directory_copied_out_of_an_excluded_path_is_judged_where_it_lands(
        server: Path, client: Path) -> None:
    """A copied directory is the same git tree at a new path: judged where it lands too."""
    install(server, 'exclude = ["vendor/*"]\n')
    commit(client, {"vendor/lib/app.py": f'token = "{TOKEN}"\n', "vendor/lib/util.py": "x = 1\n"})
    assert push(client, "origin", "HEAD:refs/heads/main").returncode == 0
    before = server_head(server)
    commit(client, {"web/lib/app.py": f'token = "{TOKEN}"\n', "web/lib/util.py": "x = 1\n"})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    assert "web/lib/app.py:1:10: KG320" in result.stderr
    assert server_head(server) == before


MEDIUM = 'DB_PASSWORD = "q8Zr4kLm2Vx9Tp3W"'


@pytest.mark.parametrize("trick", [
    f"{MEDIUM}  # ssh-ed25519 AAAA\n",
    f"# BEGIN CERTIFICATE\n{MEDIUM}  # BEGIN CERTIFICATE\n",
    "# kortix-guard encrypted store: names are public, values are sealed.\n"
    '"ops" = { recipient = "age1qqqq", db_password = "q8Zr4kLm2Vx9Tp3W" }\n',
], ids=["ssh-key-comment", "certificate-comment", "store-header"])
def test_content_tricks_do_not_act_as_allows_on_the_server(server: Path, client: Path,
                                                          trick: str) -> None:
    install(server)
    commit(client, {"settings.py": f"{MEDIUM}\n"})
    plain = push(client, "origin", "HEAD:refs/heads/plain")
    assert plain.returncode != 0 and "KG33" in plain.stderr, plain.stderr  # found without a trick
    git("reset", "-q", "--hard", "HEAD~1", cwd=client)
    commit(client, {"settings.py": trick})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    assert "settings.py" in result.stderr


@pytest.mark.parametrize("fail_open", [False, True])
def test_a_ref_to_a_blob_is_refused_not_an_internal_error(server: Path, client: Path,
                                                          fail_open: bool) -> None:
    install(server, "fail_open = true\n" if fail_open else None)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=client, check=True,
                          input=f"token = {TOKEN}\n", capture_output=True, text=True).stdout.strip()
    git("tag", "loose", blob, cwd=client)
    result = push(client, "origin", "refs/tags/loose")
    assert result.returncode != 0, result.stderr
    assert "refs/tags/loose" in result.stderr and "not a commit" in result.stderr
    assert "internal error" not in result.stderr
    assert git("--git-dir", str(server), "tag", cwd=server.parent).strip() == ""
