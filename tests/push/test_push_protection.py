"""Push protection with real bare repositories and real `git push` over file://: the
pre-receive hook on the server, the pre-push hook in the clone, and the kortix-scan-push
hook through the real pre-commit framework."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import commit, git, git_init, kg
from tests.scan.conftest import TOKENS

TOKEN = TOKENS["github-classic"]


def push(client: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "push", *args], cwd=client, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture
def server(tmp_path: Path) -> Path:
    bare = tmp_path / "server.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    return bare


@pytest.fixture
def client(tmp_path: Path, server: Path) -> Path:
    repo = git_init(tmp_path / "client")
    commit(repo, {"README.md": "hello\n"}, "init")
    git("remote", "add", "origin", f"file://{server}", cwd=repo)
    assert push(repo, "origin", "HEAD:refs/heads/main").returncode == 0
    return repo


def install(server: Path, config: str | None = None) -> Path | None:
    args = ["hook", "install", "--pre-receive", str(server)]
    path = None
    if config is not None:
        path = server.parent / "kortix-guard-server.toml"
        path.write_text(config)
        args += ["--config", str(path)]
    result = kg(*args, cwd=server.parent)
    assert result.code == 0, result.err
    return path


def server_head(server: Path, ref: str = "main") -> str:
    return git("--git-dir", str(server), "rev-parse", ref, cwd=server.parent).strip()


def test_a_token_is_rejected_and_the_servers_refs_are_unchanged(server: Path, client: Path) -> None:
    install(server)
    before = server_head(server)
    sha = commit(client, {"src/app.py": f'token = "{TOKEN}"\n'})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0
    out = result.stderr
    assert f"src/app.py:1:10: KG320 [high] GitHub token `ghp_…` (40 chars) in commit {sha[:12]}" in out
    assert "rotate it now" in out and "rewrite the commits" in out
    assert TOKEN[4:] not in out
    assert server_head(server) == before


def test_a_clean_push_is_accepted(server: Path, client: Path) -> None:
    """The pushed objects are still in git's quarantine when the hook runs: a hook that read
    only the main object store could not open these commits and would reject the push."""
    install(server)
    sha = commit(client, {"src/app.py": "print('hello')\n", "docs/a.md": "words\n"})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert "no secret in the 2 new file version(s)" in result.stderr
    assert server_head(server) == sha


# A medium provider token (Firecrawl's `fc-` and 32 hex digits).
MEDIUM = "fc" + "-" + "9c41d07be2f35a68" + "0d7e3b5a9f1c6284"


@pytest.mark.parametrize("suppression", [
    {"kortix.toml": '[project]\nname = "x"\n[env]\nrequired = []\n[guard]\nexclude = ["src/*"]\n'},
    {"src/app.py": f'token = "{TOKEN}"  # kortix-guard: allow\n'},
    {"src/app.py": f'token = "{TOKEN}"  # gitleaks:allow\n'},
    # The third review: `# sha256 …` on the line made the hash-context rule drop a medium
    # provider token; in a push it applies only to a value that is itself a digest.
    {"src/app.py": f'FIRECRAWL_KEY = "{MEDIUM}"  # sha256 of the release tarball\n'},
], ids=["guard-exclude-in-the-push", "inline-allow", "gitleaks-allow", "hash-context"])
def test_nothing_in_the_push_suppresses_its_findings(server: Path, client: Path,
                                                     suppression: dict[str, str]) -> None:
    install(server)
    commit(client, {"src/app.py": f'token = "{TOKEN}"\n', **suppression})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0
    assert "KG320" in result.stderr
    if "FIRECRAWL_KEY" in suppression.get("src/app.py", ""):
        assert "Firecrawl key `fc-…`" in result.stderr


def test_new_branch_of_commits_the_server_holds_is_not_rescanned(server: Path,
                                                                 client: Path) -> None:
    sha = commit(client, {"old.py": f'token = "{TOKEN}"\n'})
    assert push(client, "origin", "HEAD:refs/heads/main").returncode == 0  # before the hook
    install(server)
    result = push(client, "origin", f"{sha}:refs/heads/feature")
    assert result.returncode == 0, result.stderr
    assert server_head(server, "feature") == sha
    deleted = push(client, "origin", ":refs/heads/feature")
    assert deleted.returncode == 0, deleted.stderr


def test_server_config_threshold_exclude_and_baseline(server: Path, client: Path) -> None:
    install(server, 'min_confidence = "high"\nexclude = ["fixtures/*"]\n')
    commit(client, {"config.json": '{"pass": "' + "hunter" + '22"}\n',  # medium: below
                    "fixtures/t.py": f'token = "{TOKEN}"\n'})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("allowed", "accepted"), [(True, True), (False, False)])
def test_skip_push_option_only_when_allowed(server: Path, client: Path, allowed: bool,
                                            accepted: bool) -> None:
    log = server.parent / "skips.log"
    install(server, f'allow_skip = {str(allowed).lower()}\nskip_log = "{log}"\n')
    if not allowed:  # the option must reach the hook for the refusal to mean anything
        git("--git-dir", str(server), "config", "receive.advertisePushOptions", "true",
            cwd=server.parent)
    commit(client, {"app.py": f'token = "{TOKEN}"\n'})
    result = push(client, "-o", "kortix-guard.skip=hotfix INC-42", "origin",
                  "HEAD:refs/heads/main")
    assert (result.returncode == 0) is accepted, result.stderr
    if accepted:
        assert "scan skipped by push option ('hotfix INC-42')" in result.stderr
        record = json.loads(log.read_text().splitlines()[-1])
        assert record["reason"] == "hotfix INC-42"
        assert record["refs"][0]["ref"] == "refs/heads/main"
    else:
        assert "not allowed on this server" in result.stderr
        assert not log.exists()


@pytest.mark.parametrize(("fail_open", "accepted"), [(False, False), (True, True)])
def test_timeout_fails_closed_unless_the_server_says_otherwise(
        server: Path, client: Path, fail_open: bool, accepted: bool) -> None:
    install(server, f"timeout = 0\nfail_open = {str(fail_open).lower()}\n")
    commit(client, {"app.py": "x = 1\n"})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert (result.returncode == 0) is accepted
    assert "did not finish within 0 s" in result.stderr


def test_internal_error_rejects(server: Path, client: Path) -> None:
    config = install(server, "timeout = 30\n")
    assert config is not None
    config.write_text("timeout = [")  # broken after install: the hook cannot run
    commit(client, {"app.py": "x = 1\n"})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0
    assert "not valid TOML" in result.stderr


def test_install_refuses_a_different_hook_and_uses_hook_folders(server: Path) -> None:
    other = server / "hooks" / "pre-receive"
    other.write_text("#!/bin/sh\nexit 0\n")
    result = kg("hook", "install", "--pre-receive", str(server), cwd=server.parent)
    assert result.code == 1 and "exists and is not this hook; nothing was changed" in result.err
    assert other.read_text() == "#!/bin/sh\nexit 0\n"
    (server / "hooks" / "pre-receive.d").mkdir()
    assert kg("hook", "install", "--pre-receive", str(server), cwd=server.parent).code == 0
    hook = server / "hooks" / "pre-receive.d" / "kortix-guard"
    assert hook.read_text().startswith("#!/bin/sh\n")
    from kortix_guard.scan.hookscripts import installed_command

    assert installed_command()[0] in hook.read_text()
    assert os.access(hook, os.X_OK)
    again = kg("hook", "install", "--pre-receive", str(server), cwd=server.parent)
    assert again.code == 0 and "already installed" in again.out


def test_allow_skip_config_advertises_push_options(server: Path) -> None:
    install(server, f'allow_skip = true\nskip_log = "{server.parent / "s.log"}"\n')
    assert git("--git-dir", str(server), "config", "receive.advertisePushOptions",
               cwd=server.parent).strip() == "true"


def test_pre_push_hook_blocks_before_the_network(server: Path, client: Path) -> None:
    assert kg("hook", "install", "--pre-push", cwd=client).code == 0
    commit(client, {"ok.py": "x = 1\n"})
    assert push(client, "origin", "HEAD:refs/heads/main").returncode == 0
    before = server_head(server)
    commit(client, {"app.py": f'token = "{TOKEN}"\n'})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0
    assert "app.py:1:10: KG320" in result.stdout + result.stderr
    # The secret is in a commit now: the advice is amend or rebase, not the index.
    assert "git commit --amend" in result.stderr and "git rm --cached" not in result.stderr
    assert server_head(server) == before


# What a pushed or cloned repository can hold to take over `python -m kortix_guard`, which puts
# the working directory first on sys.path: its own click, or its own kortix_guard.
HIJACK = {
    "click.py": "import sys\nsys.exit(0)\n",
    "kortix_guard/__init__.py": "",
    "kortix_guard/__main__.py": "import sys\nsys.exit(0)\n",
}


def test_installed_hooks_ignore_code_in_the_working_directory(server: Path, client: Path) -> None:
    """The pre-push hook runs in the clone; a `click.py` or `kortix_guard/` committed there
    must not replace the installed kortix-guard (they would pass every push)."""
    assert kg("hook", "install", "--pre-push", cwd=client).code == 0
    commit(client, HIJACK, "tools")
    commit(client, {"app.py": f'token = "{TOKEN}"\n'})
    result = push(client, "origin", "HEAD:refs/heads/main")
    assert result.returncode != 0, result.stderr
    assert "app.py:1:10: KG320" in result.stdout + result.stderr
