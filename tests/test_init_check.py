"""`init` (exact files, nothing overwritten, idempotent) and `check` (each failure kind)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard._meta import pinned, repository_url
from kortix_guard.init import WORKFLOW, manifest_text
from kortix_guard.store.crypto import Key
from tests.conftest import MANIFEST, MANIFEST_YAML, assert_exit, git, git_init, kg, kg_proc, write
from tests.scan.conftest import TOKENS
from tests.store.conftest import forget_user_keys

ROOT = Path(__file__).resolve().parents[1]


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_init(tmp_path / "my app")


def test_init_on_an_empty_repo(repo: Path, user_config: Path) -> None:
    result = kg("init", cwd=repo)
    assert result.code == 0, result.err
    files = snapshot(repo)
    assert sorted(files) == [".gitattributes", ".github/workflows/kortix-guard.yml", ".gitignore",
                             ".kortix/secrets.enc.toml", ".pre-commit-config.yaml", "kortix.yaml"]
    assert (repo / "kortix.yaml").read_text() == manifest_text("my-app")
    assert "created kortix.yaml (Kortix's manifest, version 3" in result.out
    assert kg("manifest", "check", cwd=repo).code == 0
    assert (repo / ".gitignore").read_text() == "# kortix-guard\n.env\n.env.*\n!.env.example\n"
    assert (repo / ".gitattributes").read_text() == (
        ".kortix/secrets.enc.toml merge=kortix-guard\n.kortix/secrets.enc.toml -text\n"
        ".kortix/guard-baseline.json -text\n")
    assert (repo / ".pre-commit-config.yaml").read_text() == (
        f"repos:\n  - repo: {repository_url()}\n    rev: {pinned()[0]}  # frozen: v{pinned()[1]}\n"
        "    hooks:\n"
        "      - id: kortix-manifest\n      - id: kortix-scan\n")
    from kortix_guard.repo_setup import installed_command

    driver = git("config", "merge.kortix-guard.driver", cwd=repo).strip()
    assert driver.startswith(f"sh -c '{installed_command()[0]} merge-store ")
    identity = user_config / "kortix-guard" / "identity.txt"
    assert oct(identity.stat().st_mode & 0o777) == "0o600"  # made by init: there was none
    assert "version 4" in result.out and "created your identity" in result.err
    assert "KORTIX_GUARD_KEY" in result.err
    workflow = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                               "vendor.github-workflows", str(repo / WORKFLOW)],
                              capture_output=True, text=True)
    assert workflow.returncode == 0, workflow.stdout


def test_init_twice_changes_nothing(repo: Path) -> None:
    kg("init", cwd=repo)
    before = snapshot(repo)
    again = kg("init", cwd=repo)
    assert again.code == 0
    assert snapshot(repo) == before
    assert "nothing to change" in again.err
    assert "✓" not in again.out


def test_init_keeps_the_users_files(repo: Path) -> None:
    own_config = "repos:\n  - repo: local\n    hooks: []\n"
    write(repo, {".pre-commit-config.yaml": own_config, ".gitignore": "node_modules/\n.env",
                 "kortix.toml": MANIFEST})
    result = kg("init", cwd=repo)
    assert result.code == 0
    assert (repo / ".pre-commit-config.yaml").read_text() == own_config
    assert "id: kortix-scan" in result.out  # the snippet to add by hand
    assert (repo / ".gitignore").read_text() == \
        "node_modules/\n.env\n# kortix-guard\n.env.*\n!.env.example\n"
    assert (repo / "kortix.toml").read_text() == MANIFEST


def test_init_outside_git(tmp_path: Path) -> None:
    result = kg_proc("init", cwd=tmp_path)
    assert result.code == 2
    assert "not inside a git repository" in result.err


@pytest.fixture
def ready(repo: Path) -> Path:
    """After init, a manifest with a required name, its value set, everything committed."""
    kg("init", cwd=repo)
    write(repo, {"kortix.yaml": MANIFEST_YAML})
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="postgres://x").code == 0
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "init", cwd=repo)
    return repo


def test_check_after_init_passes(ready: Path) -> None:
    result = kg("check", cwd=ready)
    assert result.code == 0, result.out
    assert [line[:2] for line in result.out.splitlines() if not line.startswith(" ")] == ["✓ "] * 5
    rows = json.loads(kg("check", "--format", "json", cwd=ready).out)
    assert [r["name"] for r in rows] == ["manifest", "store", "required secrets", "secrets",
                                         "git hygiene"]


def _break_manifest(root: Path) -> None:
    write(root, {"kortix.yaml": MANIFEST_YAML.replace('"DATABASE_URL"', '"KORTIX_DB"')})


def _tamper_store(root: Path) -> None:
    path = root / ".kortix" / "secrets.enc.toml"
    path.write_text(path.read_text().replace("DATABASE_URL = ", "DATABASE_URX = "))


def _missing_required(root: Path) -> None:
    write(root, {"kortix.yaml": MANIFEST_YAML.replace('["DATABASE_URL"]',
                                                      '["DATABASE_URL", "NEW_ONE"]')})


def _stage_token(root: Path) -> None:
    write(root, {"app.py": f'token = "{TOKENS["github-classic"]}"\n'})
    git("add", "app.py", cwd=root)


def _env_not_ignored(root: Path) -> None:
    write(root, {".gitignore": "# nothing\n"})


def _track_key(root: Path) -> None:
    write(root, {"ci.key": Key.generate().text() + "\n"})
    git("add", "-f", "ci.key", cwd=root)


def _no_merge_attribute(root: Path) -> None:
    write(root, {".gitattributes": ""})


def _store_converted(root: Path) -> None:
    write(root, {".gitattributes": ".kortix/secrets.enc.toml merge=kortix-guard\n"})


FAILURES = [
    ("manifest", _break_manifest, "✗ manifest", "kortix.yaml:6:14: KG120"),
    ("store", _tamper_store, "✗ store", "MAC does not verify"),
    ("required", _missing_required, "✗ required secrets: 1 required secret(s) missing", "NEW_ONE"),
    ("secret", _stage_token, "✗ secrets: 1 secret(s) staged", "app.py:1:10: KG320"),
    ("env-ignored", _env_not_ignored, "✗ git hygiene", ".env is not ignored"),
    ("key-tracked", _track_key, "✗ git hygiene", "ci.key: a kortix-guard key is tracked"),
    ("merge-attribute", _no_merge_attribute, "✗ git hygiene", "missing `.kortix/secrets.enc.toml merge"),
    ("text-attribute", _store_converted, "✗ git hygiene", "missing `.kortix/secrets.enc.toml -text`"),
]


@pytest.mark.parametrize(("breaker", "line", "detail"), [f[1:] for f in FAILURES],
                         ids=[f[0] for f in FAILURES])
def test_each_failure_fails_check(ready: Path, breaker, line: str, detail: str) -> None:
    breaker(ready)
    result = kg_proc("check", cwd=ready)
    assert result.code == 1
    assert line in result.out
    assert detail in result.out
    assert "Traceback" not in result.all


def test_no_key_is_a_warning_with_the_next_step(ready: Path, user_config: Path) -> None:
    forget_user_keys(user_config)
    result = kg_proc("check", cwd=ready)
    assert result.code == 0
    assert "⚠ store: .kortix/secrets.enc.toml: not opened: no key for this store: no identity " \
           "here opens" in result.out
    assert "tried: " in result.out  # what was tried, as inject says
    assert "`kortix-guard recipients add NAME <your recipient>`" in result.out
    assert "1 with warnings" in result.err
    statuses = {r["name"]: r["status"] for r in json.loads(kg_proc(
        "check", "--format", "json", cwd=ready).out)}
    assert statuses["store"] == "warn" and statuses["manifest"] == "pass"
    assert_exit(kg_proc("check", "--strict", cwd=ready), 1, "(--strict: failing)")
    assert_exit(kg_proc("check", "--require-key", cwd=ready), 1, "no key for this store")


def test_missing_hooks_and_driver_config_are_warnings(ready: Path) -> None:
    write(ready, {".pre-commit-config.yaml": "repos: []\n"})
    git("config", "--unset", "merge.kortix-guard.driver", cwd=ready)
    result = kg_proc("check", cwd=ready)
    assert result.code == 0
    assert "warning: .pre-commit-config.yaml does not run kortix-manifest, kortix-scan" in result.out
    assert "warning: git config has no merge.kortix-guard.driver" in result.out


def test_check_all_files(ready: Path) -> None:
    write(ready, {"old.py": f'token = "{TOKENS["stripe"]}"\n'})
    git("add", "old.py", cwd=ready)
    git("commit", "-qm", "old", cwd=ready)
    assert kg_proc("check", cwd=ready).code == 0  # nothing staged
    result = kg_proc("check", "--all-files", cwd=ready)
    assert result.code == 1
    assert "secret(s) in any file of the index" in result.out


def test_check_outside_a_project(tmp_path: Path) -> None:
    assert_exit(kg_proc("check", cwd=tmp_path), 2, "no such manifest", "kortix-guard init")


@pytest.mark.slow
@pytest.mark.parametrize("manifest", ["kortix.yaml", "kortix.toml"])
def test_the_demo_runs(tmp_path: Path, manifest: str) -> None:
    """The demo walks a kortix.yaml project (the Quick start's); the legacy kortix.toml one
    stays green too."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DEMO_MANIFEST": manifest}
    proc = subprocess.run(["bash", str(ROOT / "examples" / "demo" / "run.sh")], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "DATABASE_URL: received" in proc.stdout
    assert "leak.py:1:17: KG320" in proc.stdout
    assert "every step passed" in proc.stdout
    if manifest == "kortix.yaml":  # the notifier agent: its one granted name, nothing else
        assert "DATABASE_URL: not set\nWEBHOOK_SLACK_SECRET: received" in proc.stdout


@pytest.mark.parametrize(("config", "warned"), [
    ('repos:\n  - repo: x\n    rev: y\n    hooks:\n      - id: "kortix-manifest"\n'
     "      - id: 'kortix-scan'\n", False),
    ("repos:\n  - repo: x\n    rev: y\n    hooks:\n      - id: kortix-manifest\n"
     "      # - id: kortix-scan\n", True),
    ("repos: [\n", True),
], ids=["quoted-ids-count", "commented-out-does-not", "not-yaml"])
def test_check_reads_the_pre_commit_config_as_yaml(ready: Path, config: str, warned: bool) -> None:
    (ready / ".pre-commit-config.yaml").write_text(config)
    result = kg("check", cwd=ready)
    assert (".pre-commit-config.yaml" in result.out) is warned, result.out


def test_a_teammates_init_prints_only_what_is_left(ready: Path, tmp_path: Path) -> None:
    """After `init`, names declared and set and CI given its identity: a teammate's `init`
    in their clone says neither "declare names" nor "give CI its own identity"."""
    kg("recipients", "add", "ci", "--generate", cwd=ready)
    git("add", "-A", cwd=ready)
    git("commit", "-qm", "ci", cwd=ready)
    said = kg_proc("init", cwd=ready).err
    assert "declare names" not in said and "give CI its own identity" not in said
    assert "`kortix-guard check` and commit" in said
    write(ready, {"kortix.yaml": MANIFEST_YAML.replace('["DATABASE_URL"]',
                                                      '["DATABASE_URL", "NEW_ONE"]')})
    assert "set 1 required value(s) (NEW_ONE)" in kg_proc("init", cwd=ready).err
