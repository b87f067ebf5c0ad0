"""A store never goes back (version 4): every write raises the revision, covered by the MAC
and the signature, so an older copy of the store is recognised even within a generation.

The attack (third review, high): a keyless writer restores the store as it was before the
team rotated a leaked value (`git show HEAD~1:STORE > STORE`); 0.3.3 injected the leaked
value again, and `check` and `check --base` passed, with or without a key."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyrage")

from tests.conftest import git, kg, kg_proc, tomllib
from tests.store.conftest import STORE
from tests.store.test_team_keys import merge_setup, run_merge
from tests.store.test_team_keys import team as team

LEAKED, ROTATED = "whsec_leaked-Old-value-1", "whsec_rotated-New-value-2"


def rotate_webhook_secret(root: Path, env: dict[str, str]) -> str:
    """The team set WEBHOOK_SECRET, then rotated it after a leak; the commit before."""
    write_manifest = (root / "kortix.toml").read_text().replace(
        'optional = ["OPENAI_API_KEY"]', 'optional = ["OPENAI_API_KEY", "WEBHOOK_SECRET"]')
    (root / "kortix.toml").write_text(write_manifest)
    assert kg("secrets", "set", "WEBHOOK_SECRET=-", cwd=root, input=LEAKED, env=env).code == 0
    git("commit", "-qam", "webhook secret", cwd=root)
    before = git("rev-parse", "HEAD", cwd=root).strip()
    assert kg("secrets", "set", "WEBHOOK_SECRET=-", cwd=root, input=ROTATED, env=env).code == 0
    git("commit", "-qam", "rotate the leaked webhook secret", cwd=root)
    return before


def revision(root: Path) -> int:
    return tomllib.loads((root / STORE).read_text())["revision"]


def test_a_copy_of_an_older_write_is_refused_as_stale(team: dict) -> None:
    root, alice = team["root"], team["alice"]
    before = rotate_webhook_secret(root, alice.env)
    rotated = revision(root)
    (root / STORE).write_text(git("show", f"{before}:{STORE}", cwd=root))
    git("commit", "-qam", "innocent-looking change", cwd=root)
    assert revision(root) == rotated - 1
    for args in (["secrets", "get", "WEBHOOK_SECRET"], ["inject", "--format", "dotenv"],
                 ["run", "--", "true"], ["secrets", "set", "NEW_ONE=x"]):
        result = kg_proc(*args, cwd=root, env=alice.env)
        assert result.code == 2, (args, result.all)
        assert f"revision {rotated - 1} is older than revision {rotated}" in result.err
        assert LEAKED not in result.out
        if args[0] != "secrets" or args[1] == "get":
            assert "--allow-stale" in result.err
    checked = kg_proc("check", cwd=root, env=alice.env)
    assert checked.code == 1 and f"revision {rotated - 1} is older" in checked.out
    # An explicit override, for a revert the team meant: with a warning.
    allowed = kg_proc("inject", "--format", "dotenv", "--allow-stale", cwd=root, env=alice.env)
    assert allowed.code == 0 and LEAKED in allowed.out and "--allow-stale" in allowed.err


@pytest.mark.parametrize("keyed", [True, False], ids=["ci-key", "keyless"])
def test_check_base_fails_a_rollback_with_or_without_a_key(team: dict, keyed: bool) -> None:
    root = team["root"]
    before = rotate_webhook_secret(root, team["alice"].env)
    base = git("rev-parse", "HEAD", cwd=root).strip()
    git("checkout", "-qb", "pr", cwd=root)
    (root / STORE).write_text(git("show", f"{before}:{STORE}", cwd=root))
    git("commit", "-qam", "innocent-looking change", cwd=root)
    env = dict(team["ci"]) if keyed else {k: v for k, v in team["ci"].items()
                                           if k != "KORTIX_GUARD_KEY"}
    checked = kg("check", "--base", base, cwd=root, env=env)
    assert checked.code == 1
    assert "older than revision" in checked.out and "on the base branch" in checked.out


def test_the_merge_driver_refuses_a_rolled_back_side_and_counts_on(team: dict) -> None:
    """A rollback cannot be laundered through a merge; an ordinary merge writes the higher
    side's revision plus one."""
    root, alice = team["root"], team["alice"]
    merge_setup(root)
    before = rotate_webhook_secret(root, alice.env)
    base_revision = revision(root)
    git("checkout", "-qb", "rollback", cwd=root)
    (root / STORE).write_text(git("show", f"{before}:{STORE}", cwd=root))
    git("commit", "-qam", "innocent-looking change", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("secrets", "set", "OPENAI_API_KEY=-", cwd=root, input="sk-main-side-value-1234",
              env=alice.env).code == 0
    git("commit", "-qam", "main moves on", cwd=root)
    merged = run_merge(root, "rollback", alice.env)
    assert merged.returncode != 0
    assert f"older than the merge base's revision {base_revision}" in merged.stderr
    assert "<<<<<<< ours" in (root / STORE).read_text()
    git("merge", "--abort", cwd=root)
    git("checkout", "-qb", "feature", cwd=root)
    for value in ("postgres://feature", "postgres://feature-2"):
        assert kg("secrets", "set", "DATABASE_URL=-", cwd=root, input=value,
                  env=alice.env).code == 0
        git("commit", "-qam", "feature", cwd=root)
    feature = revision(root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("secrets", "set", "OPENAI_API_KEY=-", cwd=root, input="sk-main-again-value-5678",
              env=alice.env).code == 0
    git("commit", "-qam", "main again", cwd=root)
    main = revision(root)
    merged = run_merge(root, "feature", alice.env)
    assert merged.returncode == 0, merged.stderr
    assert revision(root) == max(feature, main) + 1
    got = kg_proc("secrets", "get", "DATABASE_URL", cwd=root, env=alice.env)
    assert got.out == "postgres://feature-2"
    assert kg_proc("secrets", "get", "OPENAI_API_KEY", cwd=root, env=alice.env).out == \
        "sk-main-again-value-5678"
