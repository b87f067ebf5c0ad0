"""Trust bound to the project, not to a path; CI's comparison with the base branch with and
without a key; marks that hold no signing power; carried and stale values that inject and
run refuse. Each test is an attack from the second review, through the real CLI, real git
and real age identities; each failed before its fix."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pyrage")

from tests.conftest import MANIFEST, assert_exit, git, kg, make_v1_store, write
from tests.store.conftest import STORE
from tests.store.test_team_keys import VALUES, age_person, forge_rekey, injected
from tests.store.test_team_keys import team as team

EVIL = "postgres://attacker@evil.example/db"


def _forge_at(root: Path, path: str) -> None:
    """What a writer without any key can do: a brand-new store (a new store id), its own
    data key wrapped to the team's public recipients, holding their own value, at path."""
    from kortix_guard.secret import SecretValue
    from kortix_guard.store import fileformat, recipients
    from kortix_guard.store.core import signed
    from kortix_guard.store.crypto import Key

    current = fileformat.read(root / STORE)
    key = Key.generate()
    sid = fileformat.new_store_id()
    sealer = key.sealer(sid)
    forged = current.replace(
        store_id=sid, key_id=key.id, generation=1, previous_key_id="", chain="",
        entries={"DATABASE_URL": sealer.seal("DATABASE_URL", SecretValue(EVIL))},
        meta={"DATABASE_URL": fileformat.EntryMeta(fileformat.now())},
        recipients={n: r._replace(key=recipients.wrap(
            key.material(), recipients.Recipient.stored(r.recipient)))
            for n, r in current.recipients.items()})
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    fileformat.write(root / path, signed(key, forged))


def test_a_new_store_at_another_path_is_refused(team: dict) -> None:
    """[guard] store points at a new store of the attacker's: Alice's machine, which opened
    the real one, refuses it for run, inject and check; `store trust` shows both ids."""
    root, alice = team["root"], team["alice"]
    _forge_at(root, ".kortix/prod.enc.toml")
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = ".kortix/prod.enc.toml"\n'})
    git("add", "-A", cwd=root)
    git("commit", "-qm", "move the store", cwd=root)
    code, out, err = injected(root, alice.env)
    assert code == 2 and "is not the store this machine opened for this project" in err
    assert EVIL not in out
    assert_exit(kg("check", cwd=root, env=alice.env), 1, "is not the store this machine opened")
    shown = kg("store", "trust", cwd=root, env=alice.env)
    assert shown.code == 2 and "not trusted" in shown.err
    old_id = json.loads(Path(root / STORE).read_text().split("store_id = ")[1].split("\n")[0])
    assert old_id in shown.out and "it would trust instead" in shown.out
    assert kg("store", "trust", "--yes", cwd=root, env=alice.env).code == 0
    assert injected(root, alice.env)[0] == 0


def test_a_symlinked_store_folder_is_refused(team: dict) -> None:
    """`.kortix` turned into a link to another folder of the repository (kortix.toml
    untouched) holding the attacker's store."""
    root, alice = team["root"], team["alice"]
    _forge_at(root, "other/secrets.enc.toml")
    shutil.rmtree(root / ".kortix")
    (root / ".kortix").symlink_to("other")
    code, out, err = injected(root, alice.env)
    assert code == 2 and "is a symlink; refusing to follow it" in err
    assert EVIL not in out


def test_ci_fails_a_moved_replaced_or_vanished_store(team: dict) -> None:
    """CI remembers nothing: `check --base` reads the base's own manifest and store path."""
    root = team["root"]
    git("checkout", "-qb", "move", cwd=root)
    _forge_at(root, ".kortix/prod.enc.toml")
    write(root, {"kortix.toml": MANIFEST + '\n[guard]\nstore = ".kortix/prod.enc.toml"\n'})
    git("add", "-A", cwd=root)
    git("commit", "-qm", "move", cwd=root)
    moved = kg("check", "--base", "main", cwd=root, env=team["ci"])
    assert moved.code == 1 and "the store moved from .kortix/secrets.enc.toml" in moved.out
    git("checkout", "-qf", "main", cwd=root)
    git("checkout", "-qb", "vanish", cwd=root)
    git("rm", "-q", STORE, cwd=root)
    write(root, {"kortix.toml": MANIFEST.replace('required = ["DATABASE_URL"]', "required = []")
                 .replace('optional = ["OPENAI_API_KEY"]',
                          'optional = ["OPENAI_API_KEY", "DATABASE_URL"]')})
    git("commit", "-qam", "drop the store", cwd=root)
    vanished = kg("check", "--base", "main", cwd=root, env=team["ci"])
    assert vanished.code == 1 and "this change removes it" in vanished.out
    git("checkout", "-qf", "main", cwd=root)
    git("checkout", "-qb", "replace", cwd=root)
    _forge_at(root, STORE)
    git("commit", "-qam", "same path, new store", cwd=root)
    replaced = kg("check", "--base", "main", cwd=root, env=team["ci"])
    assert replaced.code == 1 and "this change replaces the store" in replaced.out


def test_keyless_ci_fails_a_forged_rekey_and_a_replacement(team: dict) -> None:
    """A fork's pull request has no key: what needs none is compared anyway."""
    root = team["root"]
    keyless = {**team["ci"], "KORTIX_GUARD_KEY": ""}
    keyless.pop("KORTIX_GUARD_KEY")
    git("checkout", "-qb", "forged", cwd=root)
    forge_rekey(root)
    git("commit", "-qam", "forged", cwd=root)
    checked = kg("check", "--base", "main", cwd=root, env=keyless)
    assert checked.code == 1 and "does not chain from the base branch" in checked.out
    git("checkout", "-qf", "main", cwd=root)
    git("checkout", "-qb", "replace", cwd=root)
    _forge_at(root, STORE)
    git("commit", "-qam", "replace", cwd=root)
    checked = kg("check", "--base", "main", cwd=root, env=keyless)
    assert checked.code == 1 and "replaces the store" in checked.out
    # A genuine re-key verifies without a key: version 3 links are signatures.
    git("checkout", "-qf", "main", cwd=root)
    git("checkout", "-qb", "genuine", cwd=root)
    assert kg("key", "rotate", cwd=root, env=team["alice"].env).code == 0
    git("commit", "-qam", "rotate", cwd=root)
    checked = kg("check", "--base", "main", cwd=root, env=keyless)
    assert checked.code == 0, checked.out
    # The same keyless check catches a value changed without the key (signature).
    text = (root / STORE).read_text()
    token = text.split('DATABASE_URL = { value = "')[1].split('"')[0]
    (root / STORE).write_text(text.replace(token, token[:-4] + "AAAA"))
    git("commit", "-qam", "tamper", cwd=root)
    checked = kg("check", "--base", "main", cwd=root, env=keyless)
    assert checked.code == 1 and "signature does not verify" in checked.out


def test_a_tag_named_like_the_base_branch_is_not_the_base(team: dict) -> None:
    """`origin/main` as a tag resolved before the remote-tracking branch: the check then
    compared the store with itself. The event's base sha, or the exact ref, is used."""
    root = team["root"]
    git("update-ref", "refs/remotes/origin/main", "main", cwd=root)
    git("checkout", "-qb", "forged", cwd=root)
    forge_rekey(root)
    git("commit", "-qam", "forged", cwd=root)
    git("tag", "origin/main", "HEAD", cwd=root)  # the pull request's own commit
    env = {**team["ci"], "GITHUB_BASE_REF": "main"}
    assert_exit(kg("check", cwd=root, env=env), 1, "does not chain from the base branch")
    event = root.parent / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {
        "sha": git("rev-parse", "main", cwd=root).strip()}}}))
    assert_exit(kg("check", cwd=root, env={**env, "GITHUB_EVENT_PATH": str(event)}), 1,
                "does not chain from the base branch")


def test_a_mark_holds_nothing_that_signs(team: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later job on the same runner reads the marks: they hold public values only, and
    a 0.2.0 mark's chain key no longer forges a link from a version 3 store."""
    import hmac as _hmac

    from kortix_guard.store import fileformat
    from kortix_guard.store.core import signed
    from kortix_guard.store.crypto import Key, chain_link

    root, alice = team["root"], team["alice"]
    records = [json.loads(p.read_text())
               for p in (alice.config / "kortix-guard" / "trust").glob("*.json")]
    marks = [mark for record in records for mark in record.get("marks", {}).values()]
    assert marks and all(set(mark) == {"generation", "key_id", "signer", "version", "revision"}
                         for mark in marks)
    current = fileformat.read(root / STORE)
    # The strongest a mark reader could have had: the old chain key (derived from the data
    # key, as 0.2.0 stored it). It makes a version 2 link, which a version 3 store refuses.
    from kortix_guard.store.keys import Keyring

    for name, value in alice.env.items():
        monkeypatch.setenv(name, value)
    data_key = Keyring(None).unwrap(current, "store").key
    stolen = data_key.chain_key()
    key = Key.generate()
    from kortix_guard.store import recipients

    forged = current.replace(key_id=key.id, generation=current.generation + 1,
                             previous_key_id=current.key_id,
                             chain=chain_link(stolen, current.store_id, key.id,
                                              current.generation + 1),
                             recipients={n: r._replace(key=recipients.wrap(
                                 key.material(), recipients.Recipient.stored(r.recipient)))
                                 for n, r in current.recipients.items()})
    assert not _hmac.compare_digest(forged.chain, "")
    fileformat.write(root / STORE, signed(key, forged))
    code, out, err = injected(root, alice.env)
    assert code == 2 and "does not chain" in err


def test_carried_values_are_refused_until_accepted(team: dict, tmp_path: Path) -> None:
    """Bob, removed, writes an old-generation store changing DATABASE_URL and dropping
    OPENAI_API_KEY; a merge with the driver carries the change: inject refuses the carried
    value until a current holder accepts it; a drop from the older side is a conflict;
    `check --base` fails on newly carried values."""
    from tests.store.test_team_keys import merge_setup, run_merge

    root, alice = team["root"], team["alice"]
    merge_setup(root)
    git("checkout", "-qb", "bob-old", cwd=root)
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=root, input=EVIL, env=team["bob"].env).code == 0
    git("commit", "-qam", "bob changes the url", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "remove bob", cwd=root)
    merged = run_merge(root, "bob-old", alice.env)
    assert merged.returncode == 0, merged.stderr
    code, out, err = injected(root, alice.env)
    assert code == 2 and "carried by a merge" in err and EVIL not in out
    assert kg("inject", "--format", "dotenv", "--allow-carried", cwd=root, env=alice.env).code == 0
    fresh = {**team["ci"], "XDG_CONFIG_HOME": str(tmp_path / "fresh-ci")}
    before = git("rev-parse", "HEAD~1", cwd=root).strip()
    assert "carries 1 value(s)" in kg("check", "--base", before, cwd=root, env=fresh).out
    accepted = kg("secrets", "accept", "DATABASE_URL", cwd=root, env=alice.env)
    assert accepted.code == 0 and "1/1 accepted" in accepted.out
    assert injected(root, alice.env)[0] == 0
    # A value the older side removed is a conflict, never a silent drop.
    git("commit", "-qam", "accepted", cwd=root)
    git("checkout", "-qb", "bob-drop", "HEAD~3", cwd=root)
    assert kg("secrets", "rm", "OPENAI_API_KEY", cwd=root, env=team["bob"].env).code == 0
    git("commit", "-qam", "bob drops a value", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    dropped = run_merge(root, "bob-drop", alice.env)
    assert dropped.returncode != 0
    assert "OPENAI_API_KEY removed on the older generation's side" in dropped.stderr


def test_a_version_1_store_after_version_3_is_refused(project: Path, tmp_path: Path) -> None:
    """The team moved from one shared key to recipients; a former holder of that key pushes
    a version 1 store of the same id with their own values. Bob still holds the old key, but
    his machine opened version 3 since, which retired it: refused, before and without
    --allow-stale, the values never exported."""
    from kortix_guard.secret import SecretValue
    from kortix_guard.store import StoreFile, fileformat
    from kortix_guard.store.core import signed
    from kortix_guard.store.crypto import Key

    alice, bob = age_person(tmp_path, "alice"), age_person(tmp_path, "bob")
    make_v1_store(project)  # the version 1 store, its key in this config
    kg("secrets", "set", "DATABASE_URL=-", cwd=project, input=VALUES["DATABASE_URL"])
    old_key = kg("key", "export", cwd=project).out.strip()
    for person in (alice, bob):
        assert kg("key", "import", cwd=project, input=old_key, env=person.env).code == 0
    old = fileformat.read(project / STORE)
    assert kg("store", "upgrade", cwd=project, env=alice.env).code == 0
    assert kg("recipients", "add", "bob", bob.recipient, cwd=project, env=alice.env).code == 0
    assert injected(project, bob.env)[0] == 0  # bob opens version 3
    key = Key.from_text(old_key, source="test")
    sealer = key.sealer(old.store_id)
    fileformat.write(project / STORE, signed(key, StoreFile(
        old.store_id, key.id, "0" * 64,
        {"DATABASE_URL": sealer.seal("DATABASE_URL", SecretValue(EVIL))})))
    for extra in ([], ["--allow-stale"]):
        result = kg("inject", "--format", "dotenv", *extra, cwd=project, env=bob.env)
        assert result.code == 2 and "re-keyed since" in result.err, result.err
        assert EVIL not in result.out


def test_a_rekey_waiting_for_review_does_not_block_main(team: dict, tmp_path: Path) -> None:
    """`key rotate` on an unmerged branch: main's store stays usable on this machine (the
    mark follows the default branch); once merged, the mark moves on."""
    root, alice = team["root"], team["alice"]
    server = tmp_path / "server.git"
    git("init", "-q", "--bare", str(server), cwd=tmp_path)
    git("remote", "add", "origin", str(server), cwd=root)
    git("push", "-q", "origin", "main", cwd=root)
    git("fetch", "-q", "origin", cwd=root)
    git("checkout", "-qb", "rotate", cwd=root)
    assert kg("key", "rotate", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "rotate", cwd=root)
    checked = kg("check", cwd=root, env=alice.env)
    assert checked.code == 0 and "exists on this branch only" in checked.out
    git("checkout", "-q", "main", cwd=root)
    assert kg("secrets", "set", "OPENAI_API_KEY=-", cwd=root, input="sk-new-value-123456",
              env=alice.env).code == 0
    assert kg("check", cwd=root, env=alice.env).code == 0


def test_a_foreign_store_reusing_a_store_id_retires_no_key(v1_store_project: Path,
                                                          tmp_path: Path) -> None:
    """Store ids are chosen by whoever writes a store: another repository's store of this
    project's id, wrapped to me, made 0.3.3 retire and delete my version 1 key when I
    opened it. Retiring is for this project's own store only (or `store upgrade`)."""
    from kortix_guard.store import fileformat, recipients
    from kortix_guard.store.core import signed
    from kortix_guard.store.crypto import Key
    from kortix_guard.store.fileformat import RecipientLine, StoreFile
    from tests.store.conftest import store_id

    root = v1_store_project
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=root, input=EVIL.replace("evil", "mine")).code == 0
    mine = kg("identity", "new", cwd=root).out.strip().splitlines()[-1]
    other = tmp_path / "elsewhere"
    git("init", "-q", str(other), cwd=tmp_path)
    write(other, {"kortix.toml": MANIFEST.replace('required = ["DATABASE_URL"]', "required = []")})
    key = Key.generate()
    foreign = StoreFile(store_id(root), key.id, "0" * 64, version=4, generation=1, revision=1,
                        recipients={"me": RecipientLine(
                            mine, fileformat.now(),
                            recipients.wrap(key.material(), recipients.parse_recipient(mine)),
                            "me")})
    fileformat.write(other / STORE, signed(key, foreign))
    opened = kg("inject", "--check", cwd=other)  # opened and verified with my identity
    assert opened.code == 0 and "first use" in opened.err, opened.err
    still = kg("inject", "--check", cwd=root)
    assert still.code == 0, still.err  # my version 1 store still opens with my key
