"""docs/getting-started.md, run as written: every `sh` block, line by line, by the person it
is addressed to (two homes, one origin), then CI's check with the key `gh secret set` was
given, so the next mismatch between the walkthrough and the tool fails the suite.

Only what cannot run here is stood in for, on PATH: `gh` (keeps the secret it is given),
`pipx` (pre-commit is installed already), and the `pip install` line (this checkout is the
kortix-guard on PATH). The hooks `init` configures are pointed at a snapshot of this
checkout (the README's repository is not reachable from a test)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.e2e.conftest import CHECKOUT, HookEnv

pytestmark = [pytest.mark.slow, pytest.mark.network]
GUIDE = CHECKOUT / "docs" / "getting-started.md"


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.S)


class Person:
    def __init__(self, name: str, root: Path, standins: Path) -> None:
        self.home = root / f"{name}-home"
        (self.home / "config").mkdir(parents=True)
        self.env = {**os.environ, "HOME": str(self.home),
                    "XDG_CONFIG_HOME": str(self.home / "config"),
                    "PATH": f"{standins}{os.pathsep}{Path(sys.executable).parent}"
                            f"{os.pathsep}{os.environ['PATH']}",
                    "GIT_AUTHOR_NAME": name, "GIT_COMMITTER_NAME": name,
                    "GIT_AUTHOR_EMAIL": f"{name}@example.com",
                    "GIT_COMMITTER_EMAIL": f"{name}@example.com"}

    def run(self, lines: str, cwd: Path, **extra: str) -> str:
        """The lines as the guide writes them, in bash, failing at the first that fails."""
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-c",
                               "set -eo pipefail\n" + lines], cwd=cwd, capture_output=True,
                              text=True, env={**self.env, **extra}, timeout=600)
        assert proc.returncode == 0, f"{lines}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        return proc.stdout + proc.stderr


def _standins(folder: Path) -> None:
    folder.mkdir()
    (folder / "gh").write_text('#!/bin/sh\n# gh secret set NAME: keep stdin as the secret\n'
                               f'cat > "{folder}/secret-$3"\n')
    (folder / "pipx").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("gh", "pipx"):
        (folder / tool).chmod(0o755)


def _hooks_to_snapshot(repo: Path, home: HookEnv) -> None:
    config = repo / ".pre-commit-config.yaml"
    text = re.sub(r"repo: \S+", f"repo: {home.source}", config.read_text(), count=1)
    config.write_text(re.sub(r"rev: \S+.*", f"rev: {home.rev}", text, count=1))


def test_the_walkthrough_as_written(tmp_path: Path, pre_commit_home: HookEnv) -> None:
    install, declare, commit, ci, joins, leaves = blocks()
    standins = tmp_path / "standins"
    _standins(standins)
    you, them = Person("alice", tmp_path, standins), Person("bob", tmp_path, standins)
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    mine = tmp_path / "your-repo"
    subprocess.run(["git", "clone", "-q", str(origin), str(mine)], check=True, env=you.env)
    (mine / "README.md").write_text("our project\n")
    hooks = {"PRE_COMMIT_HOME": str(pre_commit_home.home)}

    # Install: the pip line is this checkout; `cd your-repo` is the clone.
    lines = [line for line in install.splitlines() if not line.startswith("pip install")]
    you.run("\n".join(lines).replace("cd your-repo", f"cd {mine}"), tmp_path)
    # Declare: the guide's kortix.yaml fragment, then its commands.
    manifest = mine / "kortix.yaml"
    manifest.write_text(re.sub(r"env:\n(  .*\n)+",
                               "env:\n  required: [DATABASE_URL]\n  optional: [OPENAI_API_KEY]\n",
                               manifest.read_text()))
    (mine / ".env").write_text("OPENAI_API_KEY=sk-walkthrough-not-a-real-key-0000\n")
    out = you.run(declare, mine, DATABASE_URL="postgres://walkthrough")
    assert "DATABASE_URL" in out and "postgres://walkthrough" not in out
    # Commit, with the hooks on (pointed at this checkout).
    _hooks_to_snapshot(mine, pre_commit_home)
    out = you.run(commit, mine, **hooks)
    assert "kortix-guard check: 5/5 passed" in out, out
    assert re.search(r"no secret values staged\.+Passed", out), out  # the hook ran on commit
    # CI: CI's identity goes to `gh secret set`; the push; CI's own clone checks it all.
    you.run(ci, mine, **hooks)
    you.run("git push -q -u origin HEAD", mine)
    key = (standins / "secret-KORTIX_GUARD_KEY").read_text().strip()
    assert key.startswith("AGE-SECRET-KEY-1")
    ci_clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(origin), str(ci_clone)], check=True, env=you.env)
    runner = Person("ci", tmp_path, standins)
    out = runner.run("kortix-guard check --all-files", ci_clone, KORTIX_GUARD_KEY=key, CI="true")
    assert "kortix-guard check: 5/5 passed" in out, out
    # A teammate joins: each `# them` / `# you` part by that person, in their own clone.
    theirs = tmp_path / "their-clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(theirs)], check=True, env=them.env)
    recipient = ""
    for part in re.split(r"(?m)^(# .*)$", joins)[1:]:
        if part.startswith("#"):
            speaker = part
            continue
        lines = part.strip()
        if not lines:
            continue
        if "# them" in speaker:
            if "after git pull" in speaker:
                them.run("git pull -q", theirs)
            out = them.run(lines, theirs, **hooks)
            recipient = recipient or next((w for w in out.split() if w.startswith("age1")), "")
        else:
            assert recipient, "the teammate's identity printed its recipient"
            you.run(lines.replace("age1…", recipient), mine, **hooks)
    assert recipient.startswith("age1")
    opened = them.run("kortix-guard secrets ls", theirs)
    assert "DATABASE_URL" in opened and "unverified" not in opened
    # A teammate leaves.
    you.run(leaves, mine, **hooks)
    them.run("git pull -q", theirs)
    proc = subprocess.run(["kortix-guard", "inject", "--check"], cwd=theirs, env=them.env,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no identity here opens" in proc.stderr
