"""Team keys: a version 2 store wrapped to age and SSH recipients, with real identities
(`identity new`, `ssh-keygen` in tmp_path), real git, the real CLI. Each person is a config
folder and a home folder of their own; CI is an identity in KORTIX_GUARD_KEY."""
from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import tomllib

pytest.importorskip("pyrage")

from tests.conftest import (
    MANIFEST,
    assert_cannot_run,
    assert_exit,
    assert_no_value,
    git,
    git_init,
    kg,
    kg_proc,
    make_v1_store,
    write,
)
from tests.store.conftest import STORE

VALUES = {"DATABASE_URL": "postgres://app:Planted-db-Secret-1@db/app",  # kortix-guard: allow (planted)
          "OPENAI_API_KEY": "sk-planted-openai-Secret-2-abcdefghij"}


@dataclass
class Person:
    name: str
    config: Path
    home: Path
    recipient: str

    @property
    def env(self) -> dict[str, str]:
        return {"XDG_CONFIG_HOME": str(self.config), "HOME": str(self.home)}


def age_person(tmp_path: Path, name: str) -> Person:
    person = Person(name, tmp_path / f"{name}-config", tmp_path / f"{name}-home", "")
    person.home.mkdir()
    result = kg("identity", "new", cwd=tmp_path, env=person.env)
    assert result.code == 0, result.err
    person.recipient = result.out.strip().splitlines()[-1]
    return person


def ssh_person(tmp_path: Path, name: str) -> Person:
    """Someone whose only key is ~/.ssh/id_ed25519, made by ssh-keygen."""
    home = tmp_path / f"{name}-home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, capture_output=True)
    return Person(name, tmp_path / f"{name}-config", home, f"{key}.pub")


@pytest.fixture
def team(tmp_path: Path) -> dict:
    """Alice made the store (init with her identity), added Bob's SSH key and a CI identity,
    set two values, and committed."""
    alice, bob = age_person(tmp_path, "alice"), ssh_person(tmp_path, "bob")
    root = git_init(tmp_path / "repo")
    git("config", "user.email", "alice@example.com", cwd=root)
    write(root, {"kortix.toml": MANIFEST})
    result = kg("init", cwd=root, env=alice.env)
    assert result.code == 0, result.err
    assert "version 4" in result.out
    assert kg("recipients", "add", "bob", bob.recipient, cwd=root, env=alice.env).code == 0
    ci = kg("recipients", "add", "ci", "--generate", cwd=root, env=alice.env)
    assert ci.code == 0, ci.err
    identity = ci.out.strip().splitlines()[-1]
    assert identity.startswith("AGE-SECRET-KEY-1") and "only time" in ci.err
    for name, value in VALUES.items():
        assert kg("secrets", "set", f"{name}=-", cwd=root, input=value, env=alice.env).code == 0
    git("add", "-A", cwd=root)
    git("commit", "-qm", "store", cwd=root)
    return {"root": root, "alice": alice, "bob": bob, "ci": {"KORTIX_GUARD_KEY": identity,
            "XDG_CONFIG_HOME": str(tmp_path / "ci-config"), "HOME": str(tmp_path / "ci-home")}}


def store(root: Path) -> dict:
    return tomllib.loads((root / STORE).read_text())


def injected(root: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = kg("inject", "--format", "dotenv", cwd=root, env=env)
    return result.code, result.out, result.err


def test_each_person_and_ci_open_the_store_with_their_own_identity(team: dict) -> None:
    root = team["root"]
    for env in (team["alice"].env, team["bob"].env, team["ci"]):
        code, out, err = injected(root, env)
        assert code == 0, err
        assert all(value in out for value in VALUES.values())
    listed = kg("recipients", "ls", "--json", cwd=root, env={"XDG_CONFIG_HOME": "/nonexistent"})
    rows = {r["name"]: r for r in __import__("json").loads(listed.out)}
    assert set(rows) == {"alice@example.com", "bob", "ci"}
    assert rows["bob"]["type"] == "ssh-ed25519" and rows["alice@example.com"]["type"] == "age"
    keygen = subprocess.run(["ssh-keygen", "-l", "-f", team["bob"].recipient], text=True,
                            capture_output=True, check=True).stdout.split()[1]
    assert rows["bob"]["fingerprint"] == keygen
    assert rows["ci"]["added"].endswith("Z")


def test_a_wrapped_key_is_a_standard_age_file(team: dict) -> None:
    """Interop: pyrage alone (as `base64 -d | age -d -i KEY` would) gives the data key back,
    and it is the store's key (its key id)."""
    import pyrage

    from kortix_guard.store.crypto import Key

    data = store(team["root"])
    identity = pyrage.ssh.Identity.from_buffer((team["bob"].home / ".ssh/id_ed25519").read_bytes())
    raw = pyrage.decrypt(base64.b64decode(data["recipients"]["bob"]["key"]), [identity])
    assert Key(raw).id == data["key_id"]


def test_rm_locks_the_removed_person_out_and_marks_values_to_rotate(team: dict) -> None:
    root, alice, bob = team["root"], team["alice"], team["bob"]
    before = store(root)
    result = kg("recipients", "rm", "bob", cwd=root, env=alice.env)
    assert result.code == 0, result.err
    after = store(root)
    assert after["generation"] == before["generation"] + 1
    assert after["key_id"] != before["key_id"] and after["previous_key_id"] == before["key_id"]
    assert "bob" not in after["recipients"] and "DATABASE_URL" in result.err
    # Bob's identity no longer opens it: exit 2, naming the recipients, what was tried, and
    # the next step.
    code, out, err = injected(root, bob.env)
    assert code == 2 and "no identity here opens" in err
    assert "alice@example.com (age SHA256:" in err and "id_ed25519 (SHA256:" in err
    assert "recipients add NAME <your recipient>" in err
    assert_no_value(VALUES.values(), out, err)
    # CI, still a recipient, needs nothing new.
    assert injected(root, team["ci"])[0] == 0
    # Every value is to rotate: ls shows it, check warns (exit 0), --strict fails.
    listed = kg("secrets", "ls", cwd=root, env=alice.env)
    assert "● set · rotate" in listed.out
    assert all(row["rotate"] for row in __import__("json").loads(
        kg("secrets", "ls", "--json", cwd=root).out) if row["status"] == "set")
    checked = kg("check", cwd=root, env=alice.env)
    assert checked.code == 0 and "to rotate: DATABASE_URL, OPENAI_API_KEY" in checked.out
    assert_exit(kg("check", "--strict", cwd=root, env=alice.env), 1, "(--strict: failing)")
    kg("secrets", "set", "DATABASE_URL=-", cwd=root, input="postgres://new", env=alice.env)
    assert "rotate" not in store(root)["secrets"]["DATABASE_URL"].get("marks", [])
    assert store(root)["secrets"]["OPENAI_API_KEY"]["marks"] == ["rotate"]


@pytest.mark.parametrize("case", ["last", "own"])
def test_rm_refuses_last_or_own_recipient_without_force(tmp_path: Path, case: str) -> None:
    alice = age_person(tmp_path, "alice")
    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": MANIFEST})
    assert kg("key", "new", cwd=root, env=alice.env).code == 0
    name = store(root)["recipients"].popitem()[0]
    if case == "own":
        other = age_person(tmp_path, "other")
        assert kg("recipients", "add", "other", other.recipient, cwd=root, env=alice.env).code == 0
    before = (root / STORE).read_bytes()
    result = kg("recipients", "rm", name, cwd=root, env=alice.env)
    assert_cannot_run(result, "lock yourself out" if case == "own" else "last recipient")
    assert (root / STORE).read_bytes() == before
    assert kg("recipients", "rm", name, "--force", cwd=root, env=alice.env).code == 0


@pytest.mark.parametrize("tamper", ["added-line", "changed-added", "swapped-key", "generation"])
def test_tampered_recipient_lines_are_refused(team: dict, tamper: str) -> None:
    """Someone without the data key edits the recipients: the MAC refuses it."""
    from kortix_guard.store import recipients
    from kortix_guard.store.crypto import Key

    root = team["root"]
    path = root / STORE
    text = path.read_text()
    data = store(root)
    if tamper == "added-line":
        _, public = recipients.generate()
        wrapped = recipients.wrap(Key.generate().material(), recipients.parse_recipient(public))
        line = (f'"mallory" = {{ recipient = "{public}", added = "2026-01-01T00:00:00Z", '
                f'person = "mallory", key = "{wrapped}" }}\n')
        text = text.replace("\n[secrets]", line + "\n[secrets]")
    elif tamper == "changed-added":
        added = data["recipients"]["bob"]["added"]
        text = text.replace(added, "2020-01-01T00:00:00Z", 1)
    elif tamper == "swapped-key":
        ci, bob = data["recipients"]["ci"]["key"], data["recipients"]["bob"]["key"]
        text = text.replace(ci, "@@").replace(bob, ci).replace("@@", bob)
    else:
        text = text.replace("generation = 1", "generation = 7")
    path.write_text(text)
    for env in (team["alice"].env, team["ci"]):
        result = kg("secrets", "set", "DATABASE_URL=x", cwd=root, env=env)
        assert result.code == 2, result.all
        assert "MAC does not verify" in result.err or "not the store's key" in result.err


def forge_rekey(root: Path) -> None:
    """What someone with write access but without the data key can do: a new key, wrapped to
    the same (public) recipients, their own value, a valid MAC, a made-up chain link."""
    from kortix_guard.secret import SecretValue
    from kortix_guard.store import fileformat, recipients
    from kortix_guard.store.core import signed
    from kortix_guard.store.crypto import Key

    old = fileformat.read(root / STORE)
    key = Key.generate()
    sealer = key.sealer(old.store_id)
    forged = old.replace(
        key_id=key.id, generation=old.generation + 1, previous_key_id=old.key_id,
        chain="ab" * 64,
        entries={"DATABASE_URL": sealer.seal("DATABASE_URL", SecretValue("postgres://evil"))},
        meta={"DATABASE_URL": fileformat.EntryMeta(fileformat.now())},
        recipients={n: r._replace(key=recipients.wrap(
            key.material(), recipients.Recipient.stored(r.recipient)))
            for n, r in old.recipients.items()})
    fileformat.write(root / STORE, signed(key, forged))


def test_a_forged_rekey_is_refused_locally_and_in_ci(team: dict) -> None:
    root, alice = team["root"], team["alice"]
    git("checkout", "-qb", "forged", cwd=root)
    forge_rekey(root)
    git("commit", "-qam", "innocent-looking change", cwd=root)
    # Alice's machine opened generation 1: the forged generation 2 does not chain from it.
    code, out, err = injected(root, alice.env)
    assert code == 2 and "does not chain from generation 1" in err and "store trust" in err
    assert "postgres://evil" not in out
    # CI has no memory (a fresh config folder): the store opens, but the pull request check
    # against the base branch fails.
    checked = kg("check", "--base", "main", cwd=root, env=team["ci"])
    assert checked.code == 1 and "does not chain from the base branch" in checked.out
    ci_env = {**team["ci"], "GITHUB_BASE_REF": "main"}
    git("update-ref", "refs/remotes/origin/main", "main", cwd=root)  # as actions/checkout fetches it
    assert_exit(kg("check", cwd=root, env=ci_env), 1, "does not chain from the base branch")
    # A genuine re-key (`key rotate`) on a branch passes the same check.
    git("checkout", "-qf", "main", cwd=root)
    git("checkout", "-qb", "genuine", cwd=root)
    assert kg("key", "rotate", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "rotate", cwd=root)
    fresh_ci = {**team["ci"], "XDG_CONFIG_HOME": str(root.parent / "another-ci-run")}
    checked = kg("check", "--base", "main", cwd=root, env=fresh_ci)
    assert checked.code == 0, checked.out


def test_a_revert_of_rm_is_refused_for_writing(team: dict) -> None:
    root, alice = team["root"], team["alice"]
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "remove bob", cwd=root)
    git("revert", "--no-edit", "HEAD", cwd=root)
    result = kg("secrets", "set", "DATABASE_URL=x", cwd=root, env=alice.env)
    assert_cannot_run(result, "generation 1 is older than generation 2")
    assert "git pull" in result.err
    assert_exit(kg("check", cwd=root, env=alice.env), 1, "generation 1 is older than generation 2")
    code, _, err = injected(root, alice.env)
    assert code == 2 and "older than generation 2" in err and "--allow-stale" in err
    allowed = kg("inject", "--format", "dotenv", "--allow-stale", cwd=root, env=alice.env)
    assert allowed.code == 0 and "older than generation 2" in allowed.err


def test_a_gap_of_two_rekeys_is_verified_through_git_history(team: dict) -> None:
    """Bob (via CI's identity here) re-keys twice while Alice is away: her machine verifies
    both links from the committed versions. Uncommitted, the gap cannot be verified:
    refused, and `store trust` is the reviewed way past it."""
    root, alice = team["root"], team["alice"]
    for _ in range(2):
        assert kg("key", "rotate", cwd=root, env=team["ci"]).code == 0
        git("commit", "-qam", "rotate", cwd=root)
    assert injected(root, alice.env)[0] == 0
    for _ in range(2):  # two more re-keys, only the last one committed
        assert kg("key", "rotate", cwd=root, env=team["ci"]).code == 0
    git("commit", "-qam", "rotate twice", cwd=root)
    code, _, err = injected(root, alice.env)
    assert code == 2 and "does not chain from generation 3" in err and "store trust" in err
    assert kg("store", "trust", "--yes", cwd=root, env=alice.env).code == 0
    assert injected(root, alice.env)[0] == 0


def merge_setup(root: Path) -> None:
    git("config", "merge.kortix-guard.driver", "kortix-guard merge-store %O %A %B", cwd=root)


def run_merge(root: Path, branch: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    bin_dir = Path(os.sys.executable).parent
    return subprocess.run(["git", "merge", "--no-edit", branch], cwd=root, text=True,
                          capture_output=True, check=False,
                          env={**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}"})


def test_two_branches_adding_different_recipients_merge_cleanly(team: dict, tmp_path: Path) -> None:
    root, alice = team["root"], team["alice"]
    merge_setup(root)
    carol, dave = age_person(tmp_path, "carol"), age_person(tmp_path, "dave")
    git("checkout", "-qb", "carol", cwd=root)
    assert kg("recipients", "add", "carol", carol.recipient, cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "carol", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("recipients", "add", "dave", dave.recipient, cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "dave", cwd=root)
    merged = run_merge(root, "carol", alice.env)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert {"carol", "dave"} <= set(store(root)["recipients"])
    for person in (carol, dave):
        assert injected(root, person.env)[0] == 0


@pytest.mark.parametrize("merged_into", ["main", "feature"])
def test_a_value_set_on_an_old_generation_merges_under_the_newer_key(team: dict,
                                                                      merged_into: str) -> None:
    """feature set a value on generation 1; main removed Bob (generation 2) and set another.
    Merged either way, the result is main's generation with both values, the carried one
    flagged."""
    root, alice = team["root"], team["alice"]
    merge_setup(root)
    git("checkout", "-qb", "feature", cwd=root)
    kg("secrets", "set", "OPENAI_API_KEY=-", cwd=root, input="sk-feature-value-123456", env=alice.env)
    git("commit", "-qam", "new openai key", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    kg("secrets", "set", "DATABASE_URL=-", cwd=root, input="postgres://rotated", env=alice.env)
    git("commit", "-qam", "remove bob", cwd=root)
    git("checkout", "-q", merged_into, cwd=root)
    merged = run_merge(root, "feature" if merged_into == "main" else "main", alice.env)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "OPENAI_API_KEY" in merged.stderr and "carried" in merged.stderr
    data = store(root)
    assert data["generation"] == 2 and "bob" not in data["recipients"]
    # Set before Bob's removal: readable by him (rotate), and from the older side (carried).
    assert data["secrets"]["OPENAI_API_KEY"]["marks"] == ["rotate", "carried"]
    assert "marks" not in data["secrets"]["DATABASE_URL"]
    code, out, err = injected(root, alice.env)
    assert code == 2 and "carried by a merge" in err and "sk-feature-value-123456" not in out
    allowed = kg("inject", "--format", "dotenv", "--allow-carried", cwd=root, env=alice.env)
    assert allowed.code == 0
    assert "sk-feature-value-123456" in allowed.out and "postgres://rotated" in allowed.out
    assert "● set · rotate · carried" in kg("secrets", "ls", cwd=root).out
    assert "review" in kg("check", cwd=root, env=alice.env).out
    assert injected(root, team["bob"].env)[0] == 2  # the merge did not let Bob back in


@pytest.mark.parametrize("merged_into", ["main", "feature"])
def test_a_plain_rotation_carries_nothing(team: dict, merged_into: str) -> None:
    """The third review: a value set on a branch while someone ran `key rotate` on main
    (nobody removed) came out of the merge "carried … perhaps written by a removed
    recipient", and inject refused it until `secrets accept`. Nobody could have written the
    older generation who cannot read the newer one: it is re-sealed, not carried."""
    root, alice = team["root"], team["alice"]
    merge_setup(root)
    git("checkout", "-qb", "feature", cwd=root)
    assert kg("secrets", "set", "OPENAI_API_KEY=-", cwd=root, input="sk-feature-value-123456",
              env=alice.env).code == 0
    git("commit", "-qam", "new openai key", cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("key", "rotate", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "rotate", cwd=root)
    git("checkout", "-q", merged_into, cwd=root)
    merged = run_merge(root, "feature" if merged_into == "main" else "main", alice.env)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "carried" not in merged.stderr
    data = store(root)
    assert data["generation"] == 2 and "marks" not in data["secrets"]["OPENAI_API_KEY"]
    code, out, err = injected(root, alice.env)
    assert code == 0, err
    assert "sk-feature-value-123456" in out
    assert "carried" not in kg("check", cwd=root, env=alice.env).out


@pytest.mark.parametrize(("branch_change", "why"), [
    ("rotate", "neither side's key chains from the other's"),  # both made a generation 2
    ("add-carol", "never carried across a re-key"),
    ("rotate-older", "neither side's key chains from the other's"),
])
def test_a_failed_merge_leaves_a_refused_file(team: dict, tmp_path: Path, branch_change: str,
                                              why: str) -> None:
    """main removed Bob (generation 2) while a branch either re-keyed too (on Bob's machine:
    no side chains from the other) or added Carol on generation 1 (recipient changes are never
    carried across a re-key, or Carol would get the new key without anyone deciding it).
    Conflict markers, refused by every command: `git add` cannot silently revert a side."""
    root, alice = team["root"], team["alice"]
    merge_setup(root)
    git("checkout", "-qb", "other", cwd=root)
    if branch_change.startswith("rotate"):
        assert kg("key", "rotate", cwd=root, env=team["bob"].env).code == 0
    else:
        carol = age_person(tmp_path, "carol")
        assert kg("recipients", "add", "carol", carol.recipient, cwd=root, env=alice.env).code == 0
    git("commit", "-qam", branch_change, cwd=root)
    git("checkout", "-q", "main", cwd=root)
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    if branch_change == "rotate-older":  # main is two re-keys ahead: the fork is older
        assert kg("key", "rotate", cwd=root, env=alice.env).code == 0
    git("commit", "-qam", "remove bob", cwd=root)
    merged = run_merge(root, "other", alice.env)
    assert merged.returncode != 0
    assert why in merged.stderr and "git checkout --theirs" in merged.stderr
    assert "<<<<<<< ours" in (root / STORE).read_text()
    for args in (["inject", "--format", "dotenv"], ["secrets", "set", "A=b"]):
        assert_exit(kg(*args, cwd=root, env=alice.env), 2, "conflict markers")
    listed = kg("secrets", "ls", cwd=root, env=alice.env)  # both sides' names, no value read
    assert listed.code == 0 and "is in conflict (a merge)" in listed.err


def test_ci_opens_with_an_age_identity_in_the_environment(team: dict) -> None:
    """KORTIX_GUARD_KEY holds an AGE-SECRET-KEY-1 identity: inject as a subprocess, with
    --github, writes the values; the identity is never printed."""
    root = team["root"]
    github_env, github_output = root.parent / "github_env", root.parent / "github_output"
    github_env.write_text("")
    github_output.write_text("")
    result = kg_proc("inject", "--github", cwd=root,
                     env={**team["ci"], "GITHUB_ENV": str(github_env), "GITHUB_ACTIONS": "true",
                          "GITHUB_OUTPUT": str(github_output)})
    assert result.code == 0, result.err
    assert VALUES["DATABASE_URL"] in github_env.read_text()
    assert_no_value([team["ci"]["KORTIX_GUARD_KEY"]], result.out, result.err)


def test_upgrade_from_version_1(project: Path, tmp_path: Path) -> None:
    alice_env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    make_v1_store(project)  # a store made by kortix-guard 0.1 (version 1)
    assert store(project)["version"] == 1
    kg("secrets", "set", "DATABASE_URL=-", cwd=project, input=VALUES["DATABASE_URL"])
    old_key = kg("key", "export", cwd=project).out.strip()
    no_identity = kg("store", "upgrade", cwd=project)
    assert_cannot_run(no_identity, "you have no identity yet")
    assert "identity new" in no_identity.err
    kg("identity", "new", cwd=project, env=alice_env)
    result = kg("store", "upgrade", cwd=project, env=alice_env)
    assert result.code == 0, result.err
    assert "teammates need kortix-guard" in result.err and "no longer opens it" in result.err
    data = store(project)
    assert data["version"] == 4 and data["generation"] == 1 and data["chain"]
    assert injected(project, alice_env)[0] == 0
    wrong = kg("inject", "--format", "dotenv", cwd=project,
               env={**alice_env, "KORTIX_GUARD_KEY": old_key})
    assert_cannot_run(wrong, "opens only version 1 stores")
    assert_cannot_run(kg("key", "export", cwd=project, env=alice_env), "applies to version 1")
    assert_cannot_run(kg("key", "import", cwd=project, input=old_key, env=alice_env),
                      "applies to version 1")
    assert_no_value([old_key], wrong.all)


@pytest.mark.parametrize("case", ["malformed", "duplicate-name", "duplicate-key", "bad-name",
                                  "private-key"])
def test_bad_recipients_are_refused_and_nothing_changes(team: dict, case: str) -> None:
    root, alice = team["root"], team["alice"]
    secret = "AGE-SECRET-KEY-1" + "Q" * 58
    args = {"malformed": ["carol", "age1notarecipient"],
            "duplicate-name": ["bob", team["bob"].recipient],
            "duplicate-key": ["bobby", team["bob"].recipient],
            "bad-name": ["carol smith", team["bob"].recipient],
            "private-key": ["carol", secret]}[case]
    before = (root / STORE).read_bytes()
    result = kg("recipients", "add", *args, cwd=root, env=alice.env)
    assert result.code == 2 and "Traceback" not in result.all
    assert "hint:" in result.err
    assert secret not in result.all
    assert (root / STORE).read_bytes() == before


def test_identity_problems_are_clear(team: dict, tmp_path: Path) -> None:
    root = team["root"]
    protected = tmp_path / "protected"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(protected)],
                   check=True, capture_output=True)
    result = kg("--key-file", str(protected), "inject", "--format", "dotenv", cwd=root)
    assert_cannot_run(result, "passphrase-protected")
    identity = team["alice"].config / "kortix-guard" / "identity.txt"
    identity.chmod(0o644)
    result = kg("inject", "--format", "dotenv", cwd=root, env=team["alice"].env)
    assert_cannot_run(result, "readable by others")
    assert f"chmod 600 {identity}" in result.err
    identity.chmod(0o600)
    # An implicit, protected ~/.ssh key is skipped with a note, not an error.
    (team["bob"].home / ".ssh" / "id_ed25519").write_bytes(protected.read_bytes())
    result = kg("inject", "--format", "dotenv", cwd=root, env=team["bob"].env)
    assert result.code == 2 and "skipped" in result.err and "passphrase-protected" in result.err


def test_max_age_days_warns_about_old_values(team: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from kortix_guard.project import Project
    from kortix_guard.secret import SecretValue
    from kortix_guard.store import transaction

    root, alice = team["root"], team["alice"]
    for name, value in alice.env.items():
        monkeypatch.setenv(name, value)
    with transaction(Project.discover(root)) as draft:
        draft.set("DATABASE_URL", SecretValue("postgres://old"), set_at="2025-01-01T00:00:00Z")
    write(root, {"kortix.toml": MANIFEST + "\n[guard]\nmax_age_days = 90\n"})
    checked = kg("check", cwd=root, env=alice.env)
    assert checked.code == 0 and "more than 90 day(s) ago" in checked.out
    assert "DATABASE_URL" in checked.out and "OPENAI_API_KEY" not in checked.out.split("max_age")[1]
    assert_exit(kg("check", "--strict", cwd=root, env=alice.env), 1, "(--strict: failing)")
    assert "AGE" in kg("secrets", "ls", cwd=root).out


def test_no_identity_or_data_key_in_any_output_or_file(team: dict, tmp_path: Path) -> None:
    """Planted-value search: the identities and the data key appear nowhere but where the
    user asked (`--generate`'s one line), on success and error paths alike."""
    import pyrage

    root, alice, bob = team["root"], team["alice"], team["bob"]
    data = store(root)
    identity_text = (alice.config / "kortix-guard" / "identity.txt").read_text()
    age_secret = next(w for w in identity_text.split() if w.startswith("AGE-SECRET-KEY-1"))
    raw = pyrage.decrypt(base64.b64decode(data["recipients"]["alice@example.com"]["key"]),
                         [pyrage.x25519.Identity.from_str(age_secret)])
    planted = [age_secret, team["ci"]["KORTIX_GUARD_KEY"], raw.hex(),
               base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode()]
    outputs = []
    for args, env in ((["recipients", "ls"], {}), (["secrets", "ls", "--json"], {}),
                      (["check"], alice.env), (["inject", "--format", "dotenv"], bob.env),
                      (["recipients", "rm", "bob"], alice.env),
                      (["inject", "--format", "dotenv"], bob.env),
                      (["key", "export"], alice.env), (["store", "trust"], alice.env),
                      (["recipients", "add", "x", "age1bad"], alice.env)):
        result = kg_proc(*args, cwd=root, env=env)
        outputs += [result.out, result.err]
    files = [p.read_bytes().decode("latin-1") for folder in (root, alice.config, bob.config)
             if folder.exists() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts
             and p.name != "identity.txt"]
    assert_no_value(planted, *outputs, *files)


def test_init_in_a_fresh_clone_sets_up_the_driver_and_says_if_the_store_opens(
        team: dict, tmp_path: Path) -> None:
    root = team["root"]
    carol = age_person(tmp_path, "carol")
    clone = tmp_path / "clone"
    git("clone", "-q", str(root), str(clone), cwd=tmp_path)
    result = kg("init", cwd=clone, env=carol.env)
    assert result.code == 0, result.err
    assert "git config: merge.kortix-guard.driver" in result.out
    assert "it does not open here" in result.out
    assert "recipients add NAME RECIPIENT" in result.err and "identity show" in result.err
    assert git("config", "merge.kortix-guard.driver", cwd=clone).strip()
    assert kg("recipients", "add", "carol", carol.recipient, cwd=root, env=team["alice"].env).code == 0
    git("commit", "-qam", "add carol", cwd=root)
    git("pull", "-q", cwd=clone)
    assert "you can open it" in kg("init", cwd=clone, env=carol.env).out


def test_a_wrapped_key_that_does_not_open_for_its_recipient_is_named(team: dict) -> None:
    """Alice's own line holds another recipient's wrapped key: her identity matches the line's
    recipient but cannot unwrap it. Exit 2 naming the line, never "no identity"."""
    root = team["root"]
    path = root / STORE
    data = store(root)
    mine, ci = data["recipients"]["alice@example.com"]["key"], data["recipients"]["ci"]["key"]
    path.write_text(path.read_text().replace(mine, ci, 1))
    for args in (["secrets", "ls"], ["inject", "--format", "dotenv"]):  # ls verifies too
        result = kg(*args, cwd=root, env=team["alice"].env)
        assert_cannot_run(result, "the key wrapped to recipient alice@example.com does not open")
        assert "git checkout --" in result.err


def test_reseal_lists_a_recipient_line_added_by_hand(team: dict) -> None:
    """A recipient line pasted in by someone without the data key fails the MAC; `secrets
    reseal` would sign it, so it lists it and asks first."""
    from kortix_guard.store import recipients
    from kortix_guard.store.crypto import Key

    root = team["root"]
    _, public = recipients.generate()
    wrapped = recipients.wrap(Key.generate().material(), recipients.parse_recipient(public))
    path = root / STORE
    line = (f'"mallory" = {{ recipient = "{public}", added = "2026-01-01T00:00:00Z", '
            f'person = "mallory", key = "{wrapped}" }}\n')
    path.write_text(path.read_text().replace("\n[secrets]", line + "\n[secrets]"))
    result = kg("secrets", "reseal", cwd=root, env=team["alice"].env)
    assert result.code == 1 and "recipient mallory" in result.err
    assert "mallory" in path.read_text() and "rerun with --yes" in result.err


def test_recipients_add_converts_a_version_1_store_and_keeps_you(project: Path,
                                                                  tmp_path: Path) -> None:
    me = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "USER": "dev"}
    os.environ["XDG_CONFIG_HOME"] = me["XDG_CONFIG_HOME"]  # the key saved where `me` looks
    make_v1_store(project)
    kg("secrets", "set", "DATABASE_URL=-", cwd=project, input=VALUES["DATABASE_URL"], env=me)
    kg("identity", "new", cwd=project, env=me)
    added = kg("recipients", "add", "ci", "--generate", cwd=project, env=me)
    assert added.code == 0, added.err
    assert "upgraded" in added.err and "no longer opens it" in added.err
    data = store(project)
    assert data["version"] == 4
    assert set(data["recipients"]) == {"ci", "dev@example.com"}  # you, by git's user.email
    ci = {"KORTIX_GUARD_KEY": added.out.split()[-1], "XDG_CONFIG_HOME": str(tmp_path / "ci")}
    for env in (me, ci):
        code, out, err = injected(project, env)
        assert code == 0 and VALUES["DATABASE_URL"] in out, err


def test_a_base_missing_from_a_shallow_clone(team: dict) -> None:
    """Named with --base, a revision the clone lacks fails the check; guessed from
    GITHUB_BASE_REF (a shallow checkout), it is a warning naming `fetch-depth: 0`."""
    root = team["root"]
    named = kg("check", "--base", "no-such-branch", cwd=root, env=team["ci"])
    assert named.code == 1 and "fetch-depth: 0" in named.out
    guessed = kg("check", cwd=root, env={**team["ci"], "GITHUB_BASE_REF": "no-such-branch"})
    assert guessed.code == 0 and "⚠ store" in guessed.out and "fetch-depth: 0" in guessed.out


def test_the_commit_hook_knows_a_version_2_stores_values(team: dict) -> None:
    """The scanner opens a recipients store with your identity and blocks a commit that
    holds one of its values (KG300), without printing it; with no identity it still runs."""
    root, alice = team["root"], team["alice"]
    write(root, {"config.py": f"DSN = '{VALUES['DATABASE_URL']}'\n"})
    git("add", "config.py", cwd=root)
    blocked = kg_proc("scan", "--staged", cwd=root, env=alice.env)
    assert blocked.code == 1 and "KG300" in blocked.all
    assert_no_value(VALUES.values(), blocked.out, blocked.err)
    nobody = kg_proc("scan", "--staged", cwd=root,
                     env={"XDG_CONFIG_HOME": str(root.parent / "nobody"),
                          "HOME": str(root.parent / "nobody")})
    # Without a key the store's values are unknown; the URL's password is still found.
    assert nobody.code == 1 and "KG300" not in nobody.all and "Traceback" not in nobody.all


def test_a_store_replaced_by_a_new_store_id_is_refused(team: dict, tmp_path: Path) -> None:
    """Someone without the data key writes a brand-new store (new store id) wrapped to the
    same public recipients: trust on first use must not accept it where this machine opened
    the old one, and the pull request check names the changed store id."""
    from kortix_guard.project import Project
    from kortix_guard.store import create, recipients
    from kortix_guard.store.crypto import Key

    root, alice = team["root"], team["alice"]
    git("checkout", "-qb", "replaced", cwd=root)
    old = store(root)
    (root / STORE).unlink()
    create(Project.discover(root), Key.generate(), recipients={
        n: recipients.Recipient.stored(r["recipient"]) for n, r in old["recipients"].items()})
    git("commit", "-qam", "replace", cwd=root)
    result = kg("inject", "--format", "dotenv", cwd=root, env=alice.env)
    assert_cannot_run(result, "is not the store this machine opened for this project")
    fresh_ci = {**team["ci"], "XDG_CONFIG_HOME": str(tmp_path / "fresh-ci")}
    checked = kg("check", "--base", "main", cwd=root, env=fresh_ci)
    assert checked.code == 1 and "the store id changed" in checked.out
    assert kg("store", "trust", "--yes", cwd=root, env=alice.env).code == 0
    code, _, err = injected(root, alice.env)  # it opens now; it holds no value yet
    assert code == 1 and "DATABASE_URL" in err


def test_a_key_file_that_is_a_pipe_is_read_once_for_every_generation(team: dict,
                                                                     tmp_path: Path) -> None:
    """`--key-file <(cat identity)` after two re-keys made elsewhere: the store is opened, and
    the generation between this machine's mark and the head is verified, from the one read
    of the pipe (a second read of an emptied pipe failed the chain check)."""
    import threading

    root, alice, bob = team["root"], team["alice"], team["bob"]
    for _ in range(2):
        assert kg("key", "rotate", cwd=root, env=bob.env).code == 0
        git("commit", "-qam", "re-key", cwd=root)
    assert store(root)["generation"] == 3
    identity = (alice.config / "kortix-guard" / "identity.txt").read_text()
    fifo = tmp_path / "identity.fifo"
    os.mkfifo(fifo, 0o600)

    def feed() -> None:
        with open(fifo, "w") as pipe:
            pipe.write(identity)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = kg_proc("--key-file", str(fifo), "inject", "--check", cwd=root, env=alice.env)
    writer.join(timeout=5)
    assert result.code == 0, result.err
    assert "2 secret(s) present" in result.err


def test_values_to_rotate_are_injected_and_said_so(team: dict, tmp_path: Path) -> None:
    """After a recipient leaves, CI still runs with the values, and says which to rotate:
    one line on stderr, or on GitHub a warning annotation and a summary column."""
    root, alice = team["root"], team["alice"]
    assert kg("recipients", "rm", "bob", cwd=root, env=alice.env).code == 0
    code, out, err = injected(root, team["ci"])
    assert code == 0 and "warning: 2 value(s) to rotate: DATABASE_URL (set " in err
    assert_no_value(VALUES.values(), err)
    ran = kg_proc("run", "--", "true", cwd=root, env=team["ci"])  # run execs: a process
    assert "value(s) to rotate" in ran.err
    summary = tmp_path / "summary.md"
    summary.write_text("")
    files = {"GITHUB_ENV": tmp_path / "env", "GITHUB_OUTPUT": tmp_path / "out"}
    for f in files.values():
        f.write_text("")
    github = {**team["ci"], "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
              **{k: str(v) for k, v in files.items()}}
    result = kg("inject", cwd=root, env=github)
    assert result.code == 0, result.err
    assert "::warning title=kortix-guard: values to rotate::2 value(s) to rotate" in result.out
    assert "| `DATABASE_URL` | injected (masked) | to rotate (set " in summary.read_text()
