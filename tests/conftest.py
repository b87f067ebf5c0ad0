"""Shared helpers: the real CLI in-process (CliRunner) and as a subprocess, real git repos."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from kortix_guard.cli.main import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (scripts/check-floors)
    import tomli as tomllib
__all__ = ["tomllib"]  # for the tests that read a store as TOML, on 3.10 too

MANIFEST = """\
[project]
name = "demo"

[env]
required = ["DATABASE_URL"]
optional = ["OPENAI_API_KEY"]
"""
# The same names in Kortix's current manifest (kortix.yaml, version 3), as `init` makes it.
MANIFEST_YAML = """\
kortix_version: 3
default_agent: kortix
project:
  name: demo
env:
  required: ["DATABASE_URL"]
  optional: ["OPENAI_API_KEY"]
runtimes:
  opencode:
    harness: opencode
agents:
  kortix:
    runtime: opencode
    secrets: all
"""


VERSIONS = (1, 2, 3)


def manifest_for(version: int, required: Sequence[str] = ("DATABASE_URL",),
                 optional: Sequence[str] = ("OPENAI_API_KEY",), *,
                 agents: dict[str, object] | None = None,
                 guard: dict[str, object] | None = None) -> tuple[str, str]:
    """(file name, text) of a manifest declaring these names in Kortix's manifest version:
    kortix.toml for 1, kortix.yaml for 2 and 3. agents: name -> its `secrets` grant (the
    first is the default agent; default {"kortix": "all"}). guard: kortix-guard's settings."""
    import json

    def array(names: Sequence[str]) -> str:
        return json.dumps(list(names))
    guard = guard or {}
    if version == 1:
        text = (f'[project]\nname = "demo"\n\n[env]\nrequired = {array(required)}\n'
                f"optional = {array(optional)}\n")
        if guard:
            text += "\n[guard]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in guard.items())
        return "kortix.toml", text
    agents = agents if agents is not None else {"kortix": "all"}
    runtime = "    runtime: opencode\n" if version == 3 else ""
    text = (f"kortix_version: {version}\ndefault_agent: {next(iter(agents), 'kortix')}\n"
            f"env:\n  required: {array(required)}\n  optional: {array(optional)}\n"
            + ("runtimes:\n  opencode:\n    harness: opencode\n" if version == 3 else "")
            + "agents:\n" + "".join(f"  {a}:\n{runtime}    secrets: {json.dumps(g)}\n"
                                     for a, g in agents.items()))
    if guard:
        text += "x-kortix-guard:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in guard.items())
    return "kortix.yaml", text


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def kg(*args: str, cwd: Path, input: str | bytes | None = None,
       env: dict[str, str] | None = None) -> Result:
    """kortix-guard in-process through click's CliRunner, as if started in cwd."""
    runner = CliRunner()
    result = runner.invoke(cli, ["-C", str(cwd), *args], input=input, env=env,
                           prog_name="kortix-guard", catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def kg_proc(*args: str, cwd: Path, input: str | bytes | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """kortix-guard as a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "kortix_guard", *args], cwd=cwd,
                          input=input.encode() if isinstance(input, str) else input,
                          capture_output=True, env=full_env, timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    """Write files, commit everything, return the new commit's id."""
    write(repo, files)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.email", "dev@example.com", cwd=path)
    git("config", "user.name", "Dev", cwd=path)
    git("config", "commit.gpgsign", "false", cwd=path)
    return path


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository holding a valid kortix.toml."""
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST})
    return root


@pytest.fixture(scope="session")
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One per-user cache folder for the session (compiled scanner rules, store locks): the
    real one is never touched, and the rules compile once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_cache: Path) -> Path:
    """Per-user key files go to a temporary config folder and HOME to an empty one (no
    `~/.ssh` key or git setting of whoever runs the tests is read); no key comes from the
    real environment."""
    config = tmp_path / "config"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Dev")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    monkeypatch.delenv("KORTIX_GUARD_KEY", raising=False)
    monkeypatch.delenv("KORTIX_GUARD_KEY_FILE", raising=False)
    for name in list(os.environ):
        if name in _RUNNER_NAMES or name.startswith(_RUNNER_PREFIXES):
            monkeypatch.delenv(name)
    return config


# What a CI runner or a hook runner sets and kortix-guard reads (CI=true silences the merge
# driver warning, GITHUB_ACTIONS=true turns reports into annotations): the suite runs as on a
# developer's machine wherever it runs, and a test that wants a runner sets it itself.
_RUNNER_NAMES = frozenset({"CI", "GIT_PUSH_OPTION_COUNT", "PRE_COMMIT", "PRE_COMMIT_FROM_REF",
                           "PRE_COMMIT_TO_REF"})
_RUNNER_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "RUNNER_")


@pytest.fixture
def store_project(project: Path) -> Path:
    """A project with an empty store of the current format, wrapped to this test's own age
    identity (made here): what `kortix-guard init` makes today."""
    result = kg("key", "new", cwd=project)
    assert result.code == 0, result.err
    return project


def make_v1_store(root: Path) -> None:
    """An empty version 1 store (one shared `kgk1_` key, saved as the per-user key), as
    kortix-guard made before 0.2: only the tests of reading and upgrading it use one."""
    from kortix_guard.project import Project
    from kortix_guard.store.commands import v1

    v1.create_with_new_key(Project.discover(root))


@pytest.fixture
def v1_store_project(project: Path) -> Path:
    """A project with an empty version 1 store (make_v1_store)."""
    make_v1_store(project)
    return project


def plant(root: Path, name: str, value: str, *, set_at: str | None = None) -> None:
    """Seal a value into root's store as a store written before a rule existed would hold
    it (no name check); the store is opened as this test's own user opens it."""
    from kortix_guard.project import Project
    from kortix_guard.secret import SecretValue
    from kortix_guard.store import transaction

    with transaction(Project.discover(root)) as draft:
        draft.set(name, SecretValue(value), set_at=set_at)


def assert_exit(result: Result, code: int, *messages: str) -> None:
    """The exit code and its reason: each message somewhere in what the command printed;
    never a traceback."""
    assert result.code == code, result.all
    for message in messages:
        assert message in result.all, (message, result.all)
    assert "Traceback" not in result.all


def assert_cannot_run(result: Result, message: str) -> None:
    """Exit 2 with the message on stderr, and no traceback anywhere."""
    assert result.code == 2, result.all
    assert message in result.err
    assert "Traceback" not in result.all


def assert_no_value(values: Sequence[str], *texts: str) -> None:
    """No planted value appears in any output."""
    for value in values:
        for text in texts:
            assert value not in text, "a secret value leaked into output"
