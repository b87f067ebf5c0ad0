"""The adversarial review's attacks on the store, each reproduced through the real CLI and
shown refused: a reverted rotation, a reused store id, special files, readable key files,
a merge across a rotation."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import (
    MANIFEST,
    assert_cannot_run,
    assert_no_value,
    git,
    kg,
    kg_proc,
    plant,
    tomllib,
    write,
)
from tests.store.conftest import STORE, forget_user_keys

VALUE = "planted-value-before-rotation-77"


def commit(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("commit", "-qm", message, cwd=repo)


def keys_dir(config: Path) -> Path:
    return config / "kortix-guard" / "keys"


def test_reverted_rotation_is_refused(v1_store_project: Path, user_config: Path) -> None:
    """The attack: `key export > leaked; key rotate; git commit; git revert HEAD`, then
    `secrets set` sealed new values under the leaked key and `check` said ✓."""
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=v1_store_project)
    commit(v1_store_project, "store")
    leaked = kg("key", "export", cwd=v1_store_project).out.strip()
    old_id = tomllib.loads((v1_store_project / STORE).read_text())["key_id"]
    rotated = kg_proc("key", "rotate", cwd=v1_store_project)
    assert rotated.code == 0, rotated.err
    commit(v1_store_project, "rotate")
    # The old key's material is gone from this machine; only the retirement record stays.
    names = sorted(p.name for p in keys_dir(user_config).iterdir())
    assert not any(old_id in n and n.endswith((".key", ".key.next", ".old")) for n in names)
    assert any(n.endswith(f"{old_id}.retired") for n in names)
    assert all(leaked not in p.read_text() for p in keys_dir(user_config).iterdir())
    git("revert", "--no-edit", "HEAD", cwd=v1_store_project)
    with_leaked = {"KORTIX_GUARD_KEY": leaked}
    for args in (["secrets", "set", "OPENAI_API_KEY=attacker"], ["key", "export"],
                 ["inject", "--format", "json"]):
        result = kg_proc(*args, cwd=v1_store_project, env=with_leaked)
        assert_cannot_run(result, "re-keyed since")
        assert leaked not in result.all
    for env in (with_leaked, {}):
        check = kg_proc("check", cwd=v1_store_project, env=env)
        assert check.code == 1
        assert "re-keyed since" in check.out
        assert "✓ store" not in check.out


def test_attacker_store_with_old_key_is_not_injected(v1_store_project: Path, tmp_path: Path) -> None:
    """Someone holding the leaked key writes a pre-rotation store with values of their own;
    the victim's `run` must not inject them."""
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=v1_store_project)
    leaked = kg("key", "export", cwd=v1_store_project).out.strip()
    before = (v1_store_project / STORE).read_bytes()
    assert kg_proc("key", "rotate", cwd=v1_store_project).code == 0
    # The attacker restores the old store and sets a value with the leaked key elsewhere.
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    write(elsewhere, {"kortix.toml": MANIFEST, STORE: before})
    assert kg_proc("secrets", "set", "DATABASE_URL=evil-value", cwd=elsewhere,
                   env={"KORTIX_GUARD_KEY": leaked,
                        "XDG_CONFIG_HOME": str(tmp_path / "attacker-config")}).code == 0
    (v1_store_project / STORE).write_bytes((elsewhere / STORE).read_bytes())
    result = kg_proc("run", "--", "sh", "-c", 'echo "got:$DATABASE_URL"', cwd=v1_store_project,
                     env={"KORTIX_GUARD_KEY": leaked})
    assert result.code == 2
    assert "evil-value" not in result.out


def test_failed_rotation_leaves_no_next_key(v1_store_project: Path, user_config: Path) -> None:
    forget_user_keys(user_config)
    result = kg_proc("key", "rotate", cwd=v1_store_project)
    assert result.code == 2 and "no key for this store" in result.err
    assert not [p for p in keys_dir(user_config).iterdir() if p.name.endswith(".next")]


def test_import_for_a_reused_store_id_keeps_the_other_projects_key(
        v1_store_project: Path, tmp_path: Path, user_config: Path) -> None:
    """The attack: a repository reusing another project's store id made `key import`
    overwrite that project's key. Keys are per (store id, key id) now."""
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=v1_store_project)
    mine = kg("key", "export", cwd=v1_store_project).out.strip()
    store_text = (v1_store_project / STORE).read_text()
    sid = tomllib.loads(store_text)["store_id"]
    # Another repository, same store id, another key: its owner gives us its key.
    other = tmp_path / "other"
    other.mkdir()
    git("init", "-q", cwd=other)
    write(other, {"kortix.toml": MANIFEST})
    foreign_key = Key.generate()
    from kortix_guard.store import StoreFile, fileformat
    from kortix_guard.store.core import signed

    sf = signed(foreign_key, StoreFile(sid, foreign_key.id, "0" * 64))
    fileformat.write(other / STORE, sf)
    imported = kg_proc("key", "import", cwd=other, input=foreign_key.text() + "\n")
    assert imported.code == 0, imported.err
    # My project still opens with my key, untouched.
    assert kg_proc("key", "export", cwd=v1_store_project).out.strip() == mine
    assert kg_proc("key", "export", cwd=other).out.strip() == foreign_key.text()


def test_import_of_a_retired_key_is_refused(v1_store_project: Path) -> None:
    leaked = kg("key", "export", cwd=v1_store_project).out.strip()
    before = (v1_store_project / STORE).read_bytes()
    assert kg_proc("key", "rotate", cwd=v1_store_project).code == 0
    (v1_store_project / STORE).write_bytes(before)
    assert_cannot_run(kg_proc("key", "import", cwd=v1_store_project, input=leaked + "\n"),
                      "re-keyed since")


def _ci_identity(root: Path) -> str:
    """A CI identity made for the store (`recipients add ci --generate`), as CI holds it."""
    made = kg("recipients", "add", "ci", "--generate", cwd=root)
    assert made.code == 0, made.err
    return made.out.strip().splitlines()[-1]


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640])
def test_readable_key_file_is_refused(store_project: Path, tmp_path: Path, mode: int) -> None:
    identity = _ci_identity(store_project)
    path = tmp_path / "ci.key"
    path.write_text(identity + "\n")
    path.chmod(mode)
    result = kg_proc("--key-file", str(path), "inject", "--check", cwd=store_project)
    assert_cannot_run(result, f"chmod 600 {path}")
    assert identity not in result.all
    env_result = kg_proc("inject", "--check", cwd=store_project,
                         env={"KORTIX_GUARD_KEY_FILE": str(path)})
    assert_cannot_run(env_result, "readable by others")


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_committed_symlinks_to_devices_are_refused(store_project: Path, target: str) -> None:
    """A committed link from the store, the manifest or the baseline to /dev/zero
    exhausted memory; files kortix-guard finds by itself must be regular files."""
    for relative in (STORE, "kortix.toml", ".kortix/guard-baseline.json"):
        path = store_project / relative
        saved = path.read_bytes() if path.exists() else None
        path.unlink(missing_ok=True)
        path.symlink_to(target)
        command = ["scan", "."] if relative.endswith(".json") else ["secrets", "ls"]
        result = kg_proc(*command, cwd=store_project, timeout=30)
        # kortix.toml: not a regular file; a path it configures: a link, refused before
        # anything is opened.
        assert_cannot_run(result, "not a regular file" if relative == "kortix.toml"
                          else "is a symlink; refusing to follow it")
        path.unlink()
        if saved is not None:
            path.write_bytes(saved)


def test_symlink_leaving_the_repository_is_refused(store_project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text(MANIFEST)
    manifest = store_project / "kortix.toml"
    manifest.unlink()
    manifest.symlink_to(outside)
    assert_cannot_run(kg_proc("secrets", "ls", cwd=store_project), "a symlink that leaves")
    inside = store_project / "config" / "kortix.toml"
    inside.parent.mkdir()
    inside.write_text(MANIFEST)
    manifest.unlink()
    manifest.symlink_to(inside)
    assert kg_proc("secrets", "ls", cwd=store_project).code == 0


def test_fifo_hangs_nothing(store_project: Path, tmp_path: Path) -> None:
    """A FIFO found by kortix-guard itself is refused at once; one the user names is read."""
    fifo = store_project / "kortix.toml"
    fifo.unlink()
    os.mkfifo(fifo)
    assert_cannot_run(kg_proc("secrets", "ls", cwd=store_project, timeout=30),
                      "not a regular file")
    fifo.unlink()
    fifo.write_text(MANIFEST)
    identity = _ci_identity(store_project)
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    result = kg_proc("--key-file", "/dev/stdin", "inject", "--check", cwd=store_project,
                     input=identity + "\n")
    assert result.code == 0, result.err  # a pipe the user named: `--key-file <(pass show …)`
    assert "secret(s) present" in result.err
    assert_cannot_run(kg_proc("--key-file", "/dev/zero", "inject", "--check", cwd=store_project,
                              timeout=30), "not a regular file")
    assert_cannot_run(kg_proc("env", "push", "--from", "/dev/zero", cwd=store_project,
                              timeout=30), "not a regular file")


def test_inject_output_refuses_a_non_regular_path(store_project: Path, tmp_path: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    (store_project / "out.env").mkdir()
    result = kg_proc("inject", "--output", "out.env", cwd=store_project)
    assert_cannot_run(result, "not a regular file")
    assert_no_value([VALUE], result.all)


def test_merge_across_a_rotation_leaves_a_refused_file(v1_store_project: Path) -> None:
    """A teammate with the old key sets a value, then pulls a rotation: the driver must not
    leave a valid old-key store that `git add` turns into a silent revert."""
    driver = f"{shlex.quote(sys.executable)} -m kortix_guard merge-store %O %A %B"
    git("config", "merge.kortix-guard.driver", driver, cwd=v1_store_project)
    write(v1_store_project, {".gitattributes": f"{STORE} merge=kortix-guard\n"})
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=v1_store_project)
    commit(v1_store_project, "base")
    main = git("rev-parse", "--abbrev-ref", "HEAD", cwd=v1_store_project).strip()
    git("checkout", "-qb", "teammate", cwd=v1_store_project)
    kg("secrets", "set", "OPENAI_API_KEY=teammate-value", cwd=v1_store_project)
    commit(v1_store_project, "teammate sets a value")
    git("checkout", "-q", main, cwd=v1_store_project)
    old_key = kg("key", "export", cwd=v1_store_project).out.strip()
    assert kg_proc("key", "rotate", cwd=v1_store_project).code == 0
    commit(v1_store_project, "rotate")
    # The teammate's machine holds only the old key, and never retired it.
    git("checkout", "-q", "teammate", cwd=v1_store_project)
    merge = subprocess.run(["git", "merge", "--no-edit", main], cwd=v1_store_project,
                           capture_output=True, text=True,
                           env={**os.environ, "KORTIX_GUARD_KEY": old_key,
                                "XDG_CONFIG_HOME": str(v1_store_project.parent / "teammate")})
    assert merge.returncode != 0
    assert "set again" in merge.stderr + merge.stdout
    assert old_key not in merge.stderr + merge.stdout
    assert (v1_store_project / STORE).read_text().startswith("<<<<<<< ")
    assert_cannot_run(kg_proc("inject", "--format", "dotenv", cwd=v1_store_project),
                      "conflict markers")
    # ls lists both sides' names (what to resolve) and reads no value.
    listed = kg_proc("secrets", "ls", cwd=v1_store_project)
    assert listed.code == 0 and "is in conflict (a merge)" in listed.err


TOKEN = "gh" + "p_" + "Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8Lz0Xc2V"


def _canonical_breaks():
    def append_comment(text: str) -> str:
        return text + f"# note: {TOKEN}\n"

    def flip_header(text: str) -> str:
        return text.replace("names are public", "names are pubLic", 1)

    def reorder(text: str) -> str:
        lines = text.splitlines(keepends=True)
        i = next(i for i, line in enumerate(lines) if line.startswith("store_id"))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        return "".join(lines)

    return {
        "appended-comment": append_comment,
        "header-byte": flip_header,
        "crlf": lambda t: t.replace("\n", "\r\n"),
        "reordered": reorder,
        "quoted-key": lambda t: t.replace("DATABASE_URL =", '"DATABASE_URL" ='),
        "version-float": lambda t: t.replace("version = 4\n", "version = 4.0\n"),
        "version-bool": lambda t: t.replace("version = 4\n", "version = true\n"),
    }


@pytest.mark.parametrize("name", list(_canonical_breaks()))
def test_store_accepted_only_in_canonical_form(store_project: Path, name: str) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    path = store_project / STORE
    path.write_bytes(_canonical_breaks()[name](path.read_text()).encode())
    before = path.read_bytes()
    for args in (["secrets", "ls"], ["inject", "--check"], ["secrets", "set", "A_NEW=x"]):
        result = kg_proc(*args, cwd=store_project)
        assert_cannot_run(result, f"git checkout -- {STORE}")
        assert VALUE not in result.all
    assert path.read_bytes() == before  # nothing rewritten


def test_appended_token_in_the_store_is_scanned(store_project: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    path = store_project / STORE
    path.write_text(path.read_text() + f"# note: {TOKEN}\n")
    result = kg_proc("scan", STORE, cwd=store_project)
    assert result.code == 1
    assert "KG320" in result.out


def test_reseal_rewrites_a_hand_merged_store_canonical(store_project: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={VALUE}", cwd=store_project)
    path = store_project / STORE
    canonical = path.read_bytes()
    path.write_bytes(canonical.replace(b"\n", b"\r\n"))
    assert kg_proc("secrets", "reseal", "--yes", cwd=store_project).code == 0
    # The same store, canonical again (every command reads it), at the next revision (a
    # reseal is a write).
    before, after = tomllib.loads(canonical.decode()), tomllib.loads(path.read_text())
    assert b"\r" not in path.read_bytes() and after["secrets"] == before["secrets"]
    assert after["revision"] == before["revision"] + 1
    assert kg_proc("secrets", "ls", cwd=store_project).code == 0


def test_baseline_accepted_only_as_written(project: Path) -> None:
    write(project, {"a.py": f'x = "{TOKEN}"\n'})
    assert kg("scan", "--update-baseline", cwd=project).code == 0
    baseline = project / ".kortix" / "guard-baseline.json"
    baseline.write_text(baseline.read_text() + " ")
    assert_cannot_run(kg_proc("scan", cwd=project), "git checkout -- .kortix/guard-baseline.json")


def test_reseal_asks_before_a_single_value_rollback(store_project: Path) -> None:
    """The attack: an old sealed line pasted back (a rollback of one value) opens with the
    key; reseal lists what differs from HEAD and needs a yes."""
    kg("secrets", "set", "DATABASE_URL=old-value", cwd=store_project)
    path = store_project / STORE
    old_line = next(line for line in path.read_text().splitlines() if line.startswith("DATABASE_URL"))
    kg("secrets", "set", "DATABASE_URL=new-value", cwd=store_project)
    commit(store_project, "new value")
    text = path.read_text()
    new_line = next(line for line in text.splitlines() if line.startswith("DATABASE_URL"))
    path.write_text(text.replace(new_line, old_line))
    declined = kg_proc("secrets", "reseal", cwd=store_project)
    assert declined.code == 1
    assert "DATABASE_URL" in declined.err and "--yes" in declined.err
    assert old_line in path.read_text() and "old-value" not in declined.all
    assert kg_proc("secrets", "reseal", "--yes", cwd=store_project).code == 0


def test_names_are_public_and_shown_even_when_invalid(store_project: Path) -> None:
    """A name written wrongly (lower case, 65 characters) is shown whole: it is a name, and
    the user needs to see which one. Only text shaped like a value is masked."""
    long_name = "SERVICE_" + "X" * 57
    write(store_project, {"in.env": f"db_url=x\n{long_name}=y\n"})
    pushed = kg_proc("env", "push", "--from", "in.env", cwd=store_project)
    assert pushed.code == 1
    assert "in.env:1: KG111 'db_url' is not a valid name" in pushed.err and long_name in pushed.err
    assert long_name in kg_proc("secrets", "set", f"{long_name}=z", cwd=store_project).err
    write(store_project, {"kortix.toml": f'[project]\nname = "x"\n[env]\nrequired = ["{long_name}"]\n'})
    assert "KG112" in (checked := kg_proc("manifest", "check", cwd=store_project)).out
    assert long_name in checked.out


PEM_BODY = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "Xq9Lm2Nv8Rt4Yu6Io0Pa1Sd3Fg5Hj7Kl9Zx"]


def test_errors_never_print_secret_material(store_project: Path) -> None:
    """The attacks: `env push` of an unquoted multi-line PEM printed the key's base64 three
    times as 'not upper case' names; `secrets set <a token>` printed the token."""
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END PRIVATE KEY-----"
    write(store_project, {"pem.env": f"PRIVATE_KEY={pem}\n", "pem2.env": f"{TOKEN.lower()}=x\n"})
    results = [
        kg_proc("env", "push", "--from", "pem.env", cwd=store_project),
        kg_proc("env", "push", "--from", "pem2.env", cwd=store_project),
        kg_proc("secrets", "set", TOKEN, cwd=store_project),
        kg_proc("secrets", "set", TOKEN.lower() + "=x", cwd=store_project),
        kg_proc("secrets", "set", f"{PEM_BODY[0]}=x", cwd=store_project),
        kg_proc("secrets", "rm", TOKEN.lower(), cwd=store_project),
        kg_proc("-v", "secrets", "set", f"{'Ab' * 35}=x", cwd=store_project),
    ]
    assert all(r.code in (1, 2) for r in results), [r.all for r in results]
    assert "pem.env:2:" in results[0].err  # the line number, not the text
    planted = [*PEM_BODY, TOKEN, TOKEN.lower(), TOKEN[4:], TOKEN.lower()[4:], "Ab" * 10]
    for piece in planted:
        for result in results:
            assert piece[:12] not in result.all, (piece, result.all)


def test_lock_lives_in_a_private_folder(store_project: Path) -> None:
    """The attack: /tmp/kortix-guard-<uid>-<hash>.lock could be created first by another
    user (every write then fails) or be a symlink (truncating its target)."""
    from kortix_guard.store.fileformat import lock_dir

    folder = lock_dir()
    assert folder.stat().st_mode & 0o777 == 0o700
    assert not str(folder).startswith("/tmp/kortix-guard-")
    assert kg_proc("secrets", "set", "DATABASE_URL=x1", cwd=store_project).code == 0
    folder.chmod(0o777)
    try:
        assert_cannot_run(kg_proc("secrets", "set", "DATABASE_URL=x2", cwd=store_project),
                          f"chmod 700 {folder}")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("name", ["BASH_ENV", "LD_PRELOAD", "PYTHONPATH", "GIT_SSH_COMMAND",
                                  "DYLD_INSERT_LIBRARIES", "GIT_CONFIG_COUNT", "NODE_OPTIONS",
                                  "ACTIONS_ALLOW_UNSECURE_COMMANDS", "KORTIX_TOKEN", "PORT"])
def test_names_that_change_loading_are_refused_everywhere(store_project: Path, name: str) -> None:
    """The attack: `secrets set BASH_ENV=…` then `inject --include-undeclared` put a loader
    variable into every job and session."""
    result = kg_proc("secrets", "set", f"{name}=/tmp/evil.sh", cwd=store_project)
    assert result.code == 1 and "0/1 set" in result.out
    write(store_project, {"in.env": f"{name}=/tmp/evil.sh\n"})
    pushed = kg_proc("env", "push", "--from", "in.env", cwd=store_project)
    assert pushed.code == 1 and "nothing was written" in pushed.err
    # A store that already holds one (written before this rule): inject refuses it.
    plant(store_project, name, "/tmp/evil.sh")
    exported = kg_proc("inject", "--format", "json", "--include-undeclared", cwd=store_project)
    assert_cannot_run(exported, "never exported")
    assert "/tmp/evil.sh" not in exported.out


# One per family the second and third reviews found passing (and a few more of each family).
LOADER_FAMILIES = ["PYTHONWARNINGS", "BROWSER", "GIT_PROXY_COMMAND", "GIT_TEMPLATE_DIR",
                   "JDK_JAVA_OPTIONS", "DOTNET_STARTUP_HOOKS", "GCONV_PATH", "PIP_INDEX_URL",
                   "NPM_CONFIG_REGISTRY", "GOFLAGS", "RUSTC_WRAPPER", "CARGO_HOME", "EDITOR",
                   "PAGER", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "LD_AUDIT", "PERL5OPT",
                   "RUBYOPT", "NODE_PATH", "YARN_RC_FILENAME", "BUNDLE_GEMFILE", "GOPROXY",
                   # the third review: a config folder, tar's exec, package managers, TLS
                   "XDG_CONFIG_HOME", "TAR_OPTIONS", "MAKEFLAGS", "MAKEFILES", "UV_INDEX_URL",
                   "POETRY_REPOSITORIES_EVIL_URL", "PDM_PYPI_URL", "PIPENV_PYPI_MIRROR",
                   "BUN_CONFIG_REGISTRY", "PNPM_HOME", "DENO_DIR", "CONDA_PKGS_DIRS",
                   "SOPS_AGE_KEY_CMD", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                   "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "CURL_HOME",
                   "WGETRC", "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS",
                   "RUSTFLAGS"]


@pytest.mark.parametrize("name", LOADER_FAMILIES)
def test_every_loader_family_is_refused(store_project: Path, name: str) -> None:
    """The deny list was names: each of these passed the manifest check, `secrets set` and
    inject. Refused at `secrets set` and in the manifest; a store that holds one (written
    before the rule) is never exported."""
    refused = kg_proc("secrets", "set", f"{name}=-", cwd=store_project, input="/tmp/evil.sh")
    assert refused.code == 1 and "KG123" in refused.err and "0/1 set" in refused.out
    plant(store_project, name, "/tmp/evil.sh")
    exported = kg_proc("inject", "--format", "json", "--include-undeclared", cwd=store_project)
    assert_cannot_run(exported, "never exported")
    assert "/tmp/evil.sh" not in exported.out
    write(store_project, {"kortix.toml": MANIFEST.replace('optional = [', f'optional = ["{name}", ')})
    checked = kg("manifest", "check", cwd=store_project)
    assert checked.code == 1 and "KG123" in checked.out and "allow_env" in checked.out


@pytest.mark.parametrize("name", ["GOOGLE_API_KEY", "GITHUB_APP_ID_X", "PIPELINE_TOKEN",
                                  "RUSSIAN_API", "GOLD_API_KEY", "LDAP_PASSWORD", "EDITOR_TOKEN",
                                  "FEATURE_FLAGS", "CCTV_TOKEN", "HTTP_TIMEOUT", "UVICORN_HOST",
                                  "BUNNY_API_KEY", "SSL_PASSPHRASE", "CURLY_TOKEN", "TARGET_ENV"])
def test_ordinary_names_beside_the_families_pass(project: Path, name: str) -> None:
    write(project, {"kortix.toml": MANIFEST.replace('optional = [', f'optional = ["{name}", ')})
    assert "KG123" not in kg("manifest", "check", cwd=project).out


def test_allow_env_lets_a_needed_name_through(store_project: Path) -> None:
    """CARGO_REGISTRY_TOKEN is a real secret for a crate publisher: `[guard] allow_env`."""
    manifest = MANIFEST.replace('optional = [', 'optional = ["CARGO_REGISTRY_TOKEN", ')
    write(store_project, {"kortix.toml": manifest + '\n[guard]\nallow_env = ["CARGO_REGISTRY_TOKEN"]\n'})
    assert kg("manifest", "check", cwd=store_project).code == 0
    assert kg_proc("secrets", "set", "CARGO_REGISTRY_TOKEN=-", cwd=store_project,
                   input="cio-token-value-1234").code == 0
    exported = kg_proc("inject", "--format", "json", "--only", "CARGO_REGISTRY_TOKEN",
                       cwd=store_project)
    assert exported.code == 0 and "cio-token-value-1234" in exported.out


def test_manifest_declaring_a_loader_name_is_an_error(project: Path) -> None:
    write(project, {"kortix.toml": MANIFEST.replace('optional = [', 'optional = ["BASH_ENV", ')})
    result = kg("manifest", "check", cwd=project)
    assert result.code == 1
    assert "KG123" in result.out
