"""The merge driver in a real git repository: different names merge, the same name conflicts."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from kortix_guard.store import open_store
from tests.conftest import assert_exit, git, kg
from tests.store.conftest import STORE


def _setup(repo: Path) -> None:
    (repo / ".gitattributes").write_text(f"{STORE} merge=kortix-guard\n")
    driver = f"{shlex.quote(sys.executable)} -m kortix_guard merge-store %O %A %B"
    git("config", "merge.kortix-guard.name", "kortix-guard store", cwd=repo)
    git("config", "merge.kortix-guard.driver", driver, cwd=repo)
    kg("secrets", "set", "DATABASE_URL=base-value", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)


def _branch(repo: Path, name: str, *assignments: str) -> None:
    git("checkout", "-qb", name, "main", cwd=repo)
    assert kg("secrets", "set", *assignments, cwd=repo).code == 0
    git("commit", "-qam", name, cwd=repo)


def _merge(repo: Path, ours: str, theirs: str) -> subprocess.CompletedProcess[str]:
    """Branches a and b from main, each setting one assignment; merge b into a."""
    _setup(repo)
    _branch(repo, "a", ours)
    _branch(repo, "b", theirs)
    git("checkout", "-q", "a", cwd=repo)
    return subprocess.run(["git", "merge", "--no-edit", "b"], cwd=repo, capture_output=True,
                          text=True)


def _values(repo: Path) -> dict[str, str]:
    return {n: v.reveal() for n, v in open_store(repo / STORE).values().items()}


def test_different_names_merge_cleanly(store_project: Path) -> None:
    repo = store_project
    _setup(repo)
    _branch(repo, "a", "A_ONE=from-a")
    _branch(repo, "b", "B_TWO=from-b", "DATABASE_URL=changed-on-b")
    git("checkout", "-q", "a", cwd=repo)
    merged = subprocess.run(["git", "merge", "-q", "--no-edit", "b"], cwd=repo,
                            capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    assert _values(repo) == {"A_ONE": "from-a", "B_TWO": "from-b", "DATABASE_URL": "changed-on-b"}


def test_same_name_changed_on_both_sides_conflicts(store_project: Path) -> None:
    merged = _merge(store_project, "DATABASE_URL=planted-a", "DATABASE_URL=planted-b")
    assert merged.returncode != 0
    assert "conflict: DATABASE_URL changed on both sides" in merged.stderr + merged.stdout
    assert "planted" not in merged.stderr + merged.stdout


def test_same_value_on_both_sides_is_no_conflict(store_project: Path) -> None:
    merged = _merge(store_project, "DATABASE_URL=same", "DATABASE_URL=same")
    assert merged.returncode == 0, merged.stderr
    assert _values(store_project) == {"DATABASE_URL": "same"}


def test_reseal_after_a_hand_merge(store_project: Path) -> None:
    kg("secrets", "set", "A_ONE=1", "B_TWO=2", cwd=store_project)
    git("add", "-A", cwd=store_project)
    git("commit", "-qm", "store", cwd=store_project)
    path = store_project / STORE
    text = path.read_text()
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("B_TWO"))
                    + "\n")
    assert_exit(kg("secrets", "set", "C=3", cwd=store_project), 2, "MAC does not verify")
    assert kg("secrets", "reseal", cwd=store_project).code == 0
    assert _values(store_project) == {"A_ONE": "1"}


def _project_with_init(tmp_path: Path) -> Path:
    """A project set up the way a user sets one up: `identity new`, `init` (which writes the
    merge driver), a value, a commit."""
    from tests.conftest import git_init

    repo = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=repo).code == 0
    assert kg("init", cwd=repo).code == 0
    assert kg("secrets", "set", "DATABASE_URL=base-value", cwd=repo).code == 0
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    return repo


def _git_without_venv(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """git as a GUI client or an IDE runs it: no venv on PATH."""
    import os

    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)


def test_the_driver_init_writes_merges_without_the_venv_on_path(tmp_path: Path) -> None:
    repo = _project_with_init(tmp_path)
    _branch(repo, "a", "A_ONE=from-a")
    _branch(repo, "b", "B_TWO=from-b")
    git("checkout", "-q", "a", cwd=repo)
    merged = _git_without_venv(repo, "merge", "--no-edit", "b")
    assert merged.returncode == 0, merged.stderr
    assert _values(repo) == {"A_ONE": "from-a", "B_TWO": "from-b", "DATABASE_URL": "base-value"}


def test_a_driver_that_cannot_start_leaves_a_conflict_never_a_silent_pick(tmp_path: Path) -> None:
    """The venv moved (or the driver is "not found", 127): git must report a conflict and
    leave a store every command refuses, not keep ours and drop the other side's value."""
    from kortix_guard.repo_setup import merge_driver

    repo = _project_with_init(tmp_path)
    git("config", "merge.kortix-guard.driver", merge_driver([str(tmp_path / "gone" / "kortix-guard")]),
        cwd=repo)
    _branch(repo, "a", "A_ONE=from-a")
    _branch(repo, "b", "B_TWO=from-b")
    git("checkout", "-q", "a", cwd=repo)
    merged = _git_without_venv(repo, "merge", "--no-edit", "b")
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout + merged.stderr
    listed = kg("secrets", "ls", cwd=repo)
    assert listed.code == 2, listed.all
    check = kg("check", cwd=repo)
    assert check.code != 0
    assert "no longer exists" in check.all and "kortix-guard init" in check.all


def test_init_rewrites_an_older_driver_and_check_warns_about_it(tmp_path: Path) -> None:
    repo = _project_with_init(tmp_path)
    git("config", "merge.kortix-guard.driver", "kortix-guard merge-store %O %A %B", cwd=repo)
    assert "runs kortix-guard from PATH" in kg("check", cwd=repo).all
    again = kg("init", cwd=repo)
    assert "merge.kortix-guard.driver (updated)" in again.all
    assert "sh -c" in git("config", "merge.kortix-guard.driver", cwd=repo)
    assert "merge driver" not in kg("check", cwd=repo).all


def _conflicted(repo: Path) -> None:
    """a and b both change DATABASE_URL; a also adds A_ONE, b adds B_TWO: merging b into a
    leaves the store in conflict."""
    _setup(repo)
    _branch(repo, "a", "DATABASE_URL=planted-a", "A_ONE=from-a")
    _branch(repo, "b", "DATABASE_URL=planted-b", "B_TWO=from-b")
    git("checkout", "-q", "a", cwd=repo)
    merged = subprocess.run(["git", "merge", "--no-edit", "b"], cwd=repo, capture_output=True,
                            text=True)
    assert merged.returncode != 0
    assert "secrets resolve --ours NAME" in merged.stderr + merged.stdout


def test_resolve_settles_a_conflict_by_name(store_project: Path) -> None:
    """SOPS users ask for exactly this (getsops/sops#52): each conflicting name keeps the side
    named, every other name merges as the driver merges it, and the result is a store every
    command opens again; `git add` and commit finish the merge."""
    repo = store_project
    _conflicted(repo)
    # ls lists both sides' names without opening anything, and says the store is in conflict.
    listed = kg("secrets", "ls", cwd=repo, env={"KORTIX_GUARD_KEY": "", "XDG_CONFIG_HOME": "/x"})
    assert listed.code == 0, listed.err
    assert all(n in listed.out for n in ("DATABASE_URL", "A_ONE", "B_TWO"))
    assert "is in conflict (a merge)" in listed.err and "planted" not in listed.out + listed.err
    result = kg("secrets", "resolve", "--theirs", "DATABASE_URL", cwd=repo)
    assert result.code == 0, result.err
    assert "✓ DATABASE_URL: theirs" in result.out and "git add" in result.err
    assert _values(repo) == {"DATABASE_URL": "planted-b", "A_ONE": "from-a", "B_TWO": "from-b"}
    assert "planted" not in result.out + result.err
    git("add", STORE, cwd=repo)
    git("commit", "-qm", "merged", cwd=repo)
    assert kg("inject", "--check", cwd=repo).code == 0


def test_resolve_needs_every_conflicting_name_and_a_conflict(store_project: Path) -> None:
    repo = store_project
    _conflicted(repo)
    assert_exit(kg("secrets", "resolve", "--ours", "A_ONE", cwd=repo), 1,
                "still not merged", "name every conflicting secret")
    assert_exit(kg("secrets", "resolve", "--ours", "X", "--theirs", "X", cwd=repo), 2,
                "both --ours and --theirs")
    assert kg("secrets", "resolve", "--ours", "DATABASE_URL", cwd=repo).code == 0
    assert _values(repo)["DATABASE_URL"] == "planted-a"
    git("add", STORE, cwd=repo)
    git("commit", "-qm", "merged", cwd=repo)
    assert_exit(kg("secrets", "resolve", "--ours", "DATABASE_URL", cwd=repo), 2,
                "not in conflict")
