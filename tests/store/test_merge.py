"""The merge driver in a real git repository: different names merge, the same name conflicts."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from kortix_guard.store import open_store
from tests.conftest import git, kg
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
    assert kg("secrets", "set", "C=3", cwd=store_project).code == 2  # the MAC catches it
    assert kg("secrets", "reseal", cwd=store_project).code == 0
    assert _values(store_project) == {"A_ONE": "1"}
