"""The key's life: a version 1 store's export to CI, a teammate's import and rotation; the
lookup order of key sources (the current format's identities)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import assert_exit, kg, kg_proc
from tests.store.conftest import STORE

VALUE = "planted-rotating-value-42"


def test_export_then_teammate_imports(v1_store_project: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=v1_store_project)
    export = kg("key", "export", cwd=v1_store_project)
    assert export.code == 0
    assert "anyone holding it reads every value" in export.err
    key_text = export.out.strip()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "teammate"))
    no_key = kg_proc("key", "export", cwd=v1_store_project)  # the teammate has no key yet
    assert no_key.code == 2 and "no key for this store" in no_key.err
    imported = kg_proc("key", "import", cwd=v1_store_project, input=key_text + "\n")
    assert imported.code == 0, imported.err
    assert key_text not in imported.all
    assert kg_proc("secrets", "set", "OPENAI_API_KEY=x", cwd=v1_store_project).code == 0
    wrong = kg_proc("key", "import", cwd=v1_store_project, input=Key.generate().text())
    assert (wrong.code, "wrong key" in wrong.err) == (2, True)


def test_rotate(v1_store_project: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", "OPENAI_API_KEY=second", cwd=v1_store_project)
    old_key = kg("key", "export", cwd=v1_store_project).out.strip()
    result = kg_proc("key", "rotate", cwd=v1_store_project)
    assert result.code == 0, result.err
    assert "update CI" in result.err
    assert VALUE not in result.all
    new_key = kg("key", "export", cwd=v1_store_project).out.strip()
    assert new_key != old_key
    stale = kg_proc("key", "export", cwd=v1_store_project, env={"KORTIX_GUARD_KEY": old_key})
    assert (stale.code, "wrong key" in stale.err) == (2, True)
    from kortix_guard.store import open_store

    values = {n: v.reveal() for n, v in open_store(v1_store_project / STORE).values().items()}
    assert values == {"DATABASE_URL": VALUE, "OPENAI_API_KEY": "second"}  # kortix-guard: allow


def test_lookup_order(store_project: Path, tmp_path: Path) -> None:
    def identity(name: str) -> str:
        made = kg("recipients", "add", name, "--generate", cwd=store_project)
        assert made.code == 0, made.err
        return made.out.strip().splitlines()[-1]

    real = identity("ci")
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input="x-value").code == 0
    other = kg("identity", "new", cwd=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "o")})
    other_identity = (tmp_path / "o" / "kortix-guard" / "identity.txt").read_text()
    assert other.code == 0
    key_file, bad_file = tmp_path / "k", tmp_path / "bad"
    key_file.write_text(real)
    bad_file.write_text(other_identity)
    key_file.chmod(0o600)
    bad_file.chmod(0o600)
    check = ("inject", "--check")
    # --key-file wins over KORTIX_GUARD_KEY, which wins over KORTIX_GUARD_KEY_FILE and your
    # own identity; an explicit one that is not a recipient is an error, never a fallback.
    assert kg_proc("--key-file", str(key_file), *check, cwd=store_project,
                   env={"KORTIX_GUARD_KEY": other_identity}).code == 0
    wrong = kg_proc(*check, cwd=store_project, env={"KORTIX_GUARD_KEY": other_identity})
    assert wrong.code == 2 and "is not a recipient" in wrong.err
    assert kg_proc(*check, cwd=store_project,
                   env={"KORTIX_GUARD_KEY": real, "KORTIX_GUARD_KEY_FILE": str(bad_file)}).code == 0
    wrong = kg_proc(*check, cwd=store_project, env={"KORTIX_GUARD_KEY_FILE": str(bad_file)})
    assert wrong.code == 2 and "is not a recipient" in wrong.err


def test_key_is_never_a_command_line_value(store_project: Path) -> None:
    result = kg("--key", "kgk1_x", "key", "export", cwd=store_project)
    assert result.code == 2 and "No such option" in result.err


@pytest.mark.parametrize("public", [
    "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ci"])
def test_a_public_recipient_as_the_key_says_so(store_project: Path, public: str) -> None:
    """The public half pasted into KORTIX_GUARD_KEY: named as such, with the line CI needs,
    not "malformed kgk1_ key" and a `key export` a recipients store refuses."""
    result = kg("inject", "--check", cwd=store_project, env={"KORTIX_GUARD_KEY": public})
    assert_exit(result, 2, "KORTIX_GUARD_KEY holds a public recipient",
                "the `AGE-SECRET-KEY-1…` line")
    assert "kgk1_" not in result.all


@pytest.mark.parametrize("source", ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD",
                                    "keys.txt"])
def test_the_identities_sops_users_have_open_the_store(tmp_path: Path, user_config: Path,
                                                       source: str) -> None:
    """A teammate who uses SOPS: their age identity, from wherever sops reads it, opens a
    store it is a recipient of; `check` says which one did."""
    pytest.importorskip("pyrage")
    from kortix_guard.store import recipients
    from tests.conftest import git_init, write

    root = git_init(tmp_path / "repo")
    write(root, {"kortix.toml": '[project]\nname = "p"\n[env]\nrequired = ["A"]\n'})
    assert kg("identity", "new", cwd=root).code == 0
    assert kg("key", "new", cwd=root).code == 0
    identity, public = recipients.generate()
    assert kg("recipients", "add", "sops-user", public, cwd=root).code == 0
    assert kg("secrets", "set", "A=-", cwd=root, input="value-a").code == 0
    (user_config / "kortix-guard" / "identity.txt").unlink()  # only sops' identity is left
    keys = tmp_path / "age-keys.txt"
    keys.write_text(identity + "\n")
    keys.chmod(0o600)
    env = {"SOPS_AGE_KEY": {"SOPS_AGE_KEY": identity},
           "SOPS_AGE_KEY_FILE": {"SOPS_AGE_KEY_FILE": str(keys)},
           "SOPS_AGE_KEY_CMD": {"SOPS_AGE_KEY_CMD": f"cat {keys}"},
           "keys.txt": {}}[source]
    if source == "keys.txt":
        default = user_config / "sops" / "age" / "keys.txt"
        default.parent.mkdir(parents=True)
        default.write_text(identity + "\n")
        default.chmod(0o600)
    result = kg_proc("check", cwd=root, env=env)
    assert "opens and its MAC verifies" in result.out, result.all
    assert f"key from {source if source != 'keys.txt' else ''}" in result.out
    assert "(recipient sops-user)" in result.out
    assert identity not in result.all
