"""Recipients and identities with real age and SSH keys (ssh-keygen in tmp_path): a wrapped
data key is a standard age file that pyrage alone decrypts; bad input is refused without
being echoed; identities are private files."""
from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest

pyrage = pytest.importorskip("pyrage")

from kortix_guard.errors import BadKey, InputError  # noqa: E402
from kortix_guard.store import recipients  # noqa: E402
from tests.conftest import assert_cannot_run, kg, kg_proc  # noqa: E402

DATA_KEY = bytes(range(32))


def ssh_key(tmp_path: Path, kind: str, passphrase: str = "") -> tuple[Path, str]:
    path = tmp_path / f"id_{kind}{'_protected' if passphrase else ''}"
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "dev@example", "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, capture_output=True)
    return path, Path(f"{path}.pub").read_text().strip()


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_ssh_recipient_wraps_and_the_key_unwraps(tmp_path: Path, kind: str) -> None:
    private, public = ssh_key(tmp_path, kind)
    recipient = recipients.parse_recipient(public)
    assert recipient.kind == f"ssh-{kind}"
    keygen = subprocess.run(["ssh-keygen", "-l", "-f", f"{private}.pub"], capture_output=True,
                            text=True, check=True).stdout.split()[1]
    assert recipient.fingerprint == keygen  # as `ssh-keygen -l` prints it
    wrapped = recipients.wrap(DATA_KEY, recipient)
    assert "\n" not in wrapped
    # Interop: a standard age file, which pyrage alone (or age/rage) decrypts.
    raw = base64.b64decode(wrapped)
    assert raw.startswith(b"age-encryption.org/v1\n")
    assert pyrage.decrypt(raw, [pyrage.ssh.Identity.from_buffer(private.read_bytes())]) == DATA_KEY
    identity = recipients.identity_from_file(private, explicit=True)
    assert identity.unwrap(wrapped) == DATA_KEY
    assert "PRIVATE" not in repr(identity)


def test_age_recipient_and_identity(tmp_path: Path) -> None:
    secret, public = recipients.generate()
    recipient = recipients.parse_recipient(public)
    wrapped = recipients.wrap(DATA_KEY, recipient)
    assert pyrage.decrypt(base64.b64decode(wrapped),
                          [pyrage.x25519.Identity.from_str(secret)]) == DATA_KEY
    assert recipients.identity_from_text(secret, "env").unwrap(wrapped) == DATA_KEY
    other, _ = recipients.generate()
    assert recipients.identity_from_text(other, "env").unwrap(wrapped) is None
    # A recipient given as a path to a file holding it.
    (tmp_path / "alice.pub").write_text(public + "\n")
    assert recipients.parse_recipient("alice.pub", cwd=tmp_path) == recipient


@pytest.mark.parametrize("case", ["age-bad-checksum", "ssh-dss", "ecdsa", "private-key",
                                  "age-identity", "garbage"])
def test_malformed_recipients_are_refused_without_echo(tmp_path: Path, case: str) -> None:
    _, public = recipients.generate()
    secret, _ = recipients.generate()
    value = {
        "age-bad-checksum": public[:-1] + ("q" if public[-1] != "q" else "p"),
        "ssh-dss": "ssh-dss AAAAB3NzaC1kc3MAAACBAPlanted dev@x",
        "ecdsa": ssh_key(tmp_path, "ecdsa")[1],
        "private-key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
        "age-identity": secret,
        "garbage": "hunter2-not-a-key",
    }[case]
    with pytest.raises(InputError) as raised:
        recipients.parse_recipient(value, cwd=tmp_path)
    message = raised.value.diagnostics()
    assert value.strip() not in message and secret not in message


def test_protected_and_ecdsa_identities_are_refused(tmp_path: Path) -> None:
    protected, _ = ssh_key(tmp_path, "ed25519", passphrase="correct horse")
    with pytest.raises(BadKey, match="passphrase-protected"):
        recipients.identity_from_file(protected, explicit=True)
    ecdsa, _ = ssh_key(tmp_path, "ecdsa")
    with pytest.raises(BadKey, match="only ed25519 and RSA"):
        recipients.identity_from_file(ecdsa, explicit=True)


def test_identity_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secret, _ = recipients.generate()
    path = tmp_path / "identity.txt"
    path.write_text(secret + "\n")
    path.chmod(0o644)
    with pytest.raises(BadKey) as raised:
        recipients.identity_from_file(path, explicit=True)
    assert f"chmod 600 {path}" in raised.value.diagnostics()


def test_identity_new_and_show(tmp_path: Path, user_config: Path) -> None:
    created = kg_proc("identity", "new", cwd=tmp_path)
    assert created.code == 0, created.err
    public = created.out.strip().splitlines()[-1]
    assert recipients.AGE_RECIPIENT.fullmatch(public)
    path = user_config / "kortix-guard" / "identity.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    secret = recipients.AGE_IDENTITY.search(path.read_text()).group(0)
    assert secret not in created.all
    assert kg("identity", "show", cwd=tmp_path).out.strip() == public
    again = kg_proc("identity", "new", cwd=tmp_path)
    assert_cannot_run(again, "never replaces it")
    assert path.read_text().count("AGE-SECRET-KEY-1") == 1 and secret in path.read_text()
    assert secret not in again.all
    os.chmod(path, 0o644)
    assert_cannot_run(kg_proc("identity", "show", cwd=tmp_path), "chmod 600")


def _team_store(tmp_path: Path) -> Path:
    from tests.conftest import git_init

    repo = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=repo).code == 0 and kg("init", cwd=repo).code == 0
    return repo


def test_a_keys_file_adds_every_supported_key_and_skips_ecdsa(tmp_path: Path) -> None:
    """What `github.com/bob.keys` serves: several keys, one of them ECDSA. Each supported key
    is added (bob, bob-2), ECDSA is skipped with a note, and each new recipient opens the
    store with its own private key."""
    repo = _team_store(tmp_path)
    (ed, ed_pub), (rsa, rsa_pub) = ssh_key(tmp_path, "ed25519"), ssh_key(tmp_path, "rsa")
    _, ecdsa_pub = ssh_key(tmp_path, "ecdsa")
    (repo / "bob.keys").write_text(f"{ed_pub}\n{ecdsa_pub}\n{rsa_pub}\n")
    added = kg_proc("recipients", "add", "bob", "bob.keys", cwd=repo)
    assert added.code == 0, added.all
    assert "✓ bob: ssh-ed25519" in added.out and "✓ bob-2: ssh-rsa" in added.out
    assert "bob.keys:2: skipped, ecdsa-sha2-nistp256 keys are not supported" in added.err
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=repo, input="v-1\n").code == 0
    for private in (ed, rsa):
        opened = kg_proc("--key-file", str(private), "inject", "--format", "json",
                         "--include-undeclared", cwd=repo)
        assert opened.code == 0 and '"v-1"' in opened.out, opened.all


def test_keys_from_stdin_and_urls_are_never_fetched(tmp_path: Path) -> None:
    repo = _team_store(tmp_path)
    _, ed_pub = ssh_key(tmp_path, "ed25519")
    before = (repo / ".kortix" / "secrets.enc.toml").read_bytes()
    for url in ("github.com/bob.keys", "https://gitlab.com/bob.keys"):
        refused = kg_proc("recipients", "add", "bob", url, cwd=repo)
        assert_cannot_run(refused, "does not fetch keys from the network")
        assert "curl -fsSL https://" in refused.err and "ssh-keygen -lf" in refused.err
    assert (repo / ".kortix" / "secrets.enc.toml").read_bytes() == before
    piped = kg_proc("recipients", "add", "bob", "-", cwd=repo, input=ed_pub + "\n")
    assert piped.code == 0 and "✓ bob: ssh-ed25519" in piped.out, piped.all
    (tmp_path / "c").mkdir()
    only_ecdsa = kg_proc("recipients", "add", "carol", "-", cwd=repo,
                         input=ssh_key(tmp_path / "c", "ecdsa")[1])
    assert_cannot_run(only_ecdsa, "stdin: no supported key")
