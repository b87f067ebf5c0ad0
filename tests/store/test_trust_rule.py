"""The rule of docs/store.md, proved by the third review's attacks: a project that has opened
a store keeps opening that store, and no commit can change which project it is.

Each test is a keyless writer's attack (push access, the team's public recipients, no data
key) through the real CLI, real git (a bare origin, clones, worktrees) and real age
identities; each one passed on 0.3.3, which keyed trust by root commits and by the folder
above the store."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pyrage")

from tests.conftest import MANIFEST, git, kg, kg_proc, tomllib, write
from tests.store.conftest import STORE, old_cli
from tests.store.test_team_keys import VALUES, Person, age_person
from tests.store.test_team_keys import team as team
from tests.store.test_trust import EVIL, _forge_at

PRINT_DB = ["run", "--", sys.executable, "-c", "import os; print('got:' + os.environ['DATABASE_URL'])"]


def commit_all(root: Path, message: str) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-qm", message, cwd=root)


def refused(root: Path, env: dict[str, str], *expected: str) -> None:
    """run, inject and `secrets set` are refused, and the writer's value reaches nothing."""
    for args in (PRINT_DB, ["inject", "--format", "dotenv"], ["secrets", "set", "NEW_ONE=x"]):
        result = kg_proc(*args, cwd=root, env=env)
        assert result.code == 2, (args, result.all)
        assert EVIL not in result.all and VALUES["DATABASE_URL"] not in result.out
        assert "store trust" in result.err, result.err
        for text in expected:
            assert text in result.err, (text, result.err)
    checked = kg_proc("check", cwd=root, env=env)
    assert checked.code == 1 and "✗ store" in checked.out, checked.out


def test_a_store_beside_a_copied_manifest_is_refused(team: dict) -> None:
    """Attack 1: a new store at vault/secrets.enc.toml, `[guard] store` pointing at it, and
    kortix.toml copied into vault/ (0.3.3 then named a new project `…|vault` and trusted it
    on first use). From the root and from inside vault/."""
    root, alice = team["root"], team["alice"]
    assert kg("inject", "--check", cwd=root, env=alice.env).code == 0  # Alice opened the real one
    _forge_at(root, "vault/secrets.enc.toml")
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = "vault/secrets.enc.toml"\n',
                 "vault/kortix.toml": MANIFEST + '\n[guard]\nstore = "secrets.enc.toml"\n'})
    commit_all(root, "tidy the vault")
    refused(root, alice.env, "is not the store this machine opened for this project")
    # From vault/, whose manifest names that store: a project folder never seen in this clone.
    refused(root / "vault", alice.env, "none of the project in 'vault'")


def test_a_moved_store_and_an_unrelated_root_commit_are_refused(team: dict) -> None:
    """Attack 2: a new store at a new path, and one unrelated root commit merged in (0.3.3
    named the project by its root commits, so this made it a new project)."""
    root, alice = team["root"], team["alice"]
    assert kg("inject", "--check", cwd=root, env=alice.env).code == 0
    git("checkout", "-q", "--orphan", "unrelated", cwd=root)
    git("rm", "-rfq", ".", cwd=root)
    write(root, {"README.md": "unrelated\n"})
    commit_all(root, "an unrelated root")
    git("checkout", "-qf", "main", cwd=root)
    git("merge", "-q", "--no-edit", "--allow-unrelated-histories", "unrelated", cwd=root)
    _forge_at(root, ".kortix/prod.enc.toml")
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = ".kortix/prod.enc.toml"\n'})
    commit_all(root, "move the store")
    refused(root, alice.env, "is not the store this machine opened for this project")
    # The same store id at another path is refused too, until reviewed.
    git("checkout", "-q", "HEAD~1", "--", "kortix.toml", cwd=root)
    git("mv", STORE, ".kortix/moved.enc.toml", cwd=root)
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = ".kortix/moved.enc.toml"\n'})
    commit_all(root, "moved on purpose")
    refused(root, alice.env, "a store that moves is refused until reviewed")
    assert kg("store", "trust", "--yes", cwd=root, env=alice.env).code == 0
    assert kg_proc(*PRINT_DB, cwd=root, env=alice.env).out.strip() == "got:" + VALUES["DATABASE_URL"]


def test_a_new_project_folder_needs_store_trust(team: dict) -> None:
    """A writer commits sub/kortix.toml and a store of their own beside it: in a clone with
    records, a project folder never seen is not trusted on first use."""
    root, alice = team["root"], team["alice"]
    assert kg("inject", "--check", cwd=root, env=alice.env).code == 0
    _forge_at(root, "sub/.kortix/secrets.enc.toml")
    write(root, {"sub/kortix.toml": MANIFEST})
    commit_all(root, "a service")
    sub = root / "sub"
    refused(sub, alice.env, "none of the project in 'sub'")
    shown = kg("store", "trust", cwd=sub, env=alice.env)
    assert shown.code == 2 and "nothing yet" in shown.out and "it would trust instead" in shown.out
    assert kg("store", "trust", "--yes", cwd=sub, env=alice.env).code == 0
    assert kg_proc(*PRINT_DB, cwd=sub, env=alice.env).out.strip() == f"got:{EVIL}"
    assert kg("inject", "--check", cwd=root, env=alice.env).code == 0  # the root's is unchanged


@pytest.fixture
def origin(team: dict, tmp_path: Path) -> Path:
    """The team's repository pushed to a bare origin."""
    server = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(server), cwd=tmp_path)
    git("remote", "add", "origin", str(server), cwd=team["root"])
    git("push", "-q", "-u", "origin", "main", cwd=team["root"])
    return server


def clone(origin: Path, where: Path) -> Path:
    git("clone", "-q", str(origin), str(where), cwd=where.parent)
    git("config", "user.email", "dev@example.com", cwd=where)
    return where


def push_forged(origin: Path, tmp_path: Path) -> None:
    """The keyless writer replaces the store in origin's main (a new store id)."""
    writer = clone(origin, tmp_path / "writer")
    _forge_at(writer, STORE)
    commit_all(writer, "refresh the store")
    git("push", "-q", "origin", "main", cwd=writer)


def test_a_fresh_clone_of_the_same_remote_inherits_the_record(team: dict, origin: Path,
                                                              tmp_path: Path) -> None:
    alice = team["alice"]
    first = clone(origin, tmp_path / "first")
    assert kg("inject", "--check", cwd=first, env=alice.env).code == 0
    push_forged(origin, tmp_path)
    fresh = clone(origin, tmp_path / "fresh")
    refused(fresh, alice.env, "is not the store this machine opened for this project")


def test_a_clone_whose_remote_changed_keeps_its_record(team: dict, origin: Path,
                                                       tmp_path: Path) -> None:
    """Matched by the clone's git common directory; a worktree shares it."""
    alice = team["alice"]
    mine = clone(origin, tmp_path / "mine")
    assert kg("inject", "--check", cwd=mine, env=alice.env).code == 0
    push_forged(origin, tmp_path)
    git("remote", "set-url", "origin", "https://mirror.example/team/app.git", cwd=mine)
    git("fetch", "-q", str(origin), "main", cwd=mine)
    git("reset", "-q", "--hard", "FETCH_HEAD", cwd=mine)
    refused(mine, alice.env, "is not the store this machine opened for this project")
    worktree = tmp_path / "worktree"
    git("worktree", "add", "-q", "--detach", str(worktree), "FETCH_HEAD", cwd=mine)
    refused(worktree, alice.env, "is not the store this machine opened for this project")


def test_insteadof_rewriting_names_the_same_remote(team: dict, origin: Path,
                                                   tmp_path: Path) -> None:
    """origin's URL as git uses it: a clone through an `insteadOf` alias and one through
    the plain URL are one remote."""
    alice = team["alice"]
    plain = clone(origin, tmp_path / "plain")
    assert kg("inject", "--check", cwd=plain, env=alice.env).code == 0
    push_forged(origin, tmp_path)
    aliased = tmp_path / "aliased"
    git("-c", f"url.{origin.parent}/.insteadOf=srv:", "clone", "-q", f"srv:{origin.name}",
        str(aliased), cwd=tmp_path)
    git("config", f"url.{origin.parent}/.insteadOf", "srv:", cwd=aliased)
    assert git("config", "remote.origin.url", cwd=aliased).strip() == f"srv:{origin.name}"
    refused(aliased, alice.env, "is not the store this machine opened for this project")


def test_a_rekey_in_a_scratch_clone_blocks_no_other_clone(team: dict, origin: Path,
                                                          tmp_path: Path) -> None:
    """Freshness is per clone: `key rotate` tried in a scratch clone (never pushed) left
    every other clone of the machine stale on 0.3.3."""
    alice = team["alice"]
    work, scratch = clone(origin, tmp_path / "work"), clone(origin, tmp_path / "scratch")
    assert kg("inject", "--check", cwd=work, env=alice.env).code == 0
    assert kg("key", "rotate", cwd=scratch, env=alice.env).code == 0
    commit_all(scratch, "try a rotation")
    assert kg("inject", "--check", cwd=scratch, env=alice.env).code == 0
    got = kg_proc("secrets", "get", "DATABASE_URL", cwd=work, env=alice.env)
    assert got.code == 0 and got.out == VALUES["DATABASE_URL"], got.err


def test_first_use_names_the_store_and_its_recipients(team: dict, tmp_path: Path) -> None:
    """A machine that never saw the remote trusts on first use (CI's rule is `check --base`)
    and says what it trusted, so that a person can compare."""
    fresh = Person("fresh", tmp_path / "fresh-config", tmp_path / "fresh-home", "")
    env = {**fresh.env, "KORTIX_GUARD_KEY": team["ci"]["KORTIX_GUARD_KEY"]}
    store_id = tomllib.loads((team["root"] / STORE).read_text())["store_id"]
    first = kg_proc("inject", "--check", cwd=team["root"], env=env)
    assert first.code == 0
    assert f"first use of {STORE} on this machine: trusting store id {store_id}" in first.err
    assert "bob (SHA256:" in first.err and "alice@example.com (SHA256:" in first.err
    again = kg_proc("inject", "--check", cwd=team["root"], env=env)
    assert again.code == 0 and "first use" not in again.err


def test_store_trust_lists_and_forgets(team: dict) -> None:
    root, alice = team["root"], team["alice"]
    assert kg("inject", "--check", cwd=root, env=alice.env).code == 0
    listed = kg("store", "trust", "--list", cwd=root, env=alice.env)
    assert listed.code == 0 and "clone:" in listed.out and "project '.'" in listed.out
    assert "freshness of" in listed.out
    forgot = kg("store", "trust", "--forget", cwd=root, env=alice.env)
    assert forgot.code == 0 and "forgot the project in '.'" in forgot.out
    again = kg_proc("inject", "--check", cwd=root, env=alice.env)
    assert again.code == 0 and "first use" in again.err  # judged as the first one again


def test_a_record_0_3_3_kept_is_adopted_not_trusted_anew(project: Path, tmp_path: Path,
                                                         release_0_3_3: Path) -> None:
    """Dana's machine made and opened a store with 0.3.3 (its record: root commits, a mark
    per store id). After the upgrade the record is adopted: no first use is announced, and
    the attack of a new store beside a copied manifest is refused."""
    root, dana = project, age_person(tmp_path, "dana")
    for args in (["key", "new"], ["secrets", "set", f"DATABASE_URL={VALUES['DATABASE_URL']}"]):
        made = old_cli(release_0_3_3, *args, cwd=root, env=dana.env)
        assert made.returncode == 0, made.stderr
    commit_all(root, "a version 3 store, made by 0.3.3")
    assert list((dana.config / "kortix-guard" / "projects").glob("*.json"))
    assert not (dana.config / "kortix-guard" / "trust").exists()
    now = kg_proc("inject", "--check", cwd=root, env=dana.env)
    assert now.code == 0 and "first use" not in now.err, now.err
    assert "version 3" in kg_proc("check", cwd=root, env=dana.env).out  # upgrade recommended
    _forge_at(root, "vault/secrets.enc.toml")
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = "vault/secrets.enc.toml"\n',
                 "vault/kortix.toml": MANIFEST})
    commit_all(root, "tidy the vault")
    refused(root, dana.env, "is not the store this machine opened for this project")
