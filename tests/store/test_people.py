"""A person's keys come and go together: `recipients add bob -` with a keys file (as
`github.com/bob.keys` serves it) makes bob, bob-2, …; `recipients rm bob` must remove every
one of them. The attack (third review, medium): on 0.3.3, `rm bob` removed only `bob`,
said "✓ removed" and re-keyed, and bob's RSA key (`bob-2`) still opened the store."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pyrage")

from tests.conftest import MANIFEST, git_init, kg, kg_proc, write
from tests.store.conftest import STORE, old_cli
from tests.store.test_team_keys import Person, age_person

VALUE = "postgres://app:People-Planted-1@db/app"  # kortix-guard: allow (planted)


def bob_with_two_keys(tmp_path: Path) -> tuple[Person, Person, str]:
    """Bob's ed25519 and RSA keys, each the only key of a home of its own (so that each can
    be tried alone), and his keys file as GitHub serves it: one public key a line."""
    people, lines = [], []
    for kind in ("ed25519", "rsa"):
        home = tmp_path / f"bob-{kind}-home"
        (home / ".ssh").mkdir(parents=True, mode=0o700)
        key = home / ".ssh" / f"id_{kind}"
        args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "bob", "-f", str(key)]
        if kind == "rsa":
            args[4:4] = ["-b", "3072"]
        subprocess.run(args, check=True, capture_output=True)
        lines.append(Path(f"{key}.pub").read_text().strip())
        people.append(Person("bob", tmp_path / f"bob-{kind}-config", home, ""))
    return people[0], people[1], "\n".join(lines) + "\n"


def opens(root: Path, person: Person) -> bool:
    return kg_proc("inject", "--check", cwd=root, env=person.env).code == 0


def test_rm_removes_every_key_of_the_person(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST})
    alice = age_person(tmp_path, "alice")
    assert kg("init", cwd=root, env=alice.env).code == 0
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=root, input=VALUE, env=alice.env).code == 0
    ed25519, rsa, keys_file = bob_with_two_keys(tmp_path)
    added = kg("recipients", "add", "bob", "-", cwd=root, input=keys_file, env=alice.env)
    assert added.code == 0 and "✓ bob:" in added.out and "✓ bob-2:" in added.out
    listed = json.loads(kg("recipients", "ls", "--format", "json", cwd=root).out)
    assert {r["name"]: r["person"] for r in listed}["bob-2"] == "bob"
    assert opens(root, ed25519) and opens(root, rsa)
    removed = kg("recipients", "rm", "bob", cwd=root, env=alice.env)
    assert removed.code == 0, removed.err
    assert "✓ removed bob and their other key(s) bob-2" in removed.out
    assert not opens(root, ed25519) and not opens(root, rsa)
    assert [r["name"] for r in json.loads(kg("recipients", "ls", "--format", "json",
                                              cwd=root).out)] == ["dev@example.com"]


def test_a_version_3_store_refuses_until_all_keys_are_named(tmp_path: Path,
                                                            release_0_3_3: Path) -> None:
    """Version 3 records no person: `rm bob` refuses while bob-2 exists, names it, and
    `--all` removes both. `store upgrade` then records persons from the names."""
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST})
    alice = age_person(tmp_path, "alice")
    ed25519, rsa, keys_file = bob_with_two_keys(tmp_path)
    for args, stdin in ((["init"], None), (["secrets", "set", "DATABASE_URL=-"], VALUE),
                        (["recipients", "add", "bob", "-"], keys_file)):
        made = old_cli(release_0_3_3, *args, cwd=root, env=alice.env, input=stdin)
        assert made.returncode == 0, made.stderr
    assert "\nversion = 3\n" in (root / STORE).read_text()
    refused = kg("recipients", "rm", "bob", cwd=root, env=alice.env)
    assert refused.code == 2 and "bob-2" in refused.err and "--all" in refused.err
    assert opens(root, rsa)  # nothing changed
    both = kg("recipients", "rm", "bob", "--all", cwd=root, env=alice.env)
    assert both.code == 0 and "bob-2" in both.out
    assert not opens(root, ed25519) and not opens(root, rsa)


def test_upgrade_records_the_persons_a_keys_file_gave(tmp_path: Path,
                                                      release_0_3_3: Path) -> None:
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST})
    alice = age_person(tmp_path, "alice")
    _, rsa, keys_file = bob_with_two_keys(tmp_path)
    for args, stdin in ((["init"], None), (["recipients", "add", "bob", "-"], keys_file)):
        assert old_cli(release_0_3_3, *args, cwd=root, env=alice.env, input=stdin).returncode == 0
    checked = kg("check", cwd=root, env=alice.env)
    assert "`kortix-guard store upgrade` makes it version 4" in checked.out
    upgraded = kg("store", "upgrade", cwd=root, env=alice.env)
    assert upgraded.code == 0 and "bob, bob-2 are recorded as one person, bob" in upgraded.err
    text = (root / STORE).read_text()
    assert "\nversion = 4\n" in text and "\nrevision = 1\n" in text
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    assert not opens(root, rsa)
    # 0.3.3 now refuses it, and says what to do.
    old = old_cli(release_0_3_3, "secrets", "ls", cwd=root, env=alice.env)
    assert old.returncode == 2 and "upgrade kortix-guard" in old.stderr
