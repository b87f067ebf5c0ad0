"""`secrets set|ls|rm`, `env push|pull` through the real CLI, with real AES-GCM."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kortix_guard.store import open_store
from tests.conftest import (
    assert_cannot_run,
    assert_exit,
    assert_no_value,
    kg,
    kg_proc,
    tomllib,
    write,
)
from tests.store.conftest import STORE, forget_user_keys

PLANTED = ["postgres://app:s3cr3t-pw-Zx9@db/app",  # kortix-guard: allow
           "sk-planted-0123456789abcdef", "multi\nline\nPEM"]


def values(root: Path) -> dict[str, str]:
    opened = open_store(root / STORE)
    return {name: v.reveal() for name, v in opened.values().items()}


def test_key_new_makes_your_identity_and_a_version_2_store(project: Path,
                                                           user_config: Path) -> None:
    """No identity yet: `key new` makes one (0600, its secret never printed) and wraps a
    version 2 store to it; nothing is written under the per-user keys."""
    result = kg("key", "new", cwd=project)
    assert result.code == 0, result.err
    data = tomllib.loads((project / STORE).read_text())
    assert data["version"] == 4 and len(data["recipients"]) == 1 and data["revision"] == 1
    identity = user_config / "kortix-guard" / "identity.txt"
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    secret = identity.read_text().strip().splitlines()[-1]
    assert secret.startswith("AGE-SECRET-KEY-1") and secret not in result.all
    assert "created your identity" in result.err
    assert not (user_config / "kortix-guard" / "keys").exists()
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=project, input="x-value-1").code == 0
    again = kg("key", "new", cwd=project)
    assert again.code == 2
    assert "a store exists already" in again.err


def test_set_ls_rm_round_trip(store_project: Path) -> None:
    result = kg("secrets", "set", f"DATABASE_URL={PLANTED[0]}", "OPENAI_API_KEY=-",
                cwd=store_project, input=PLANTED[1] + "\n")
    assert result.out == "✓ DATABASE_URL\n✓ OPENAI_API_KEY\n2/2 set\n"
    assert "shell history" in result.err
    assert values(store_project) == {"DATABASE_URL": PLANTED[0], "OPENAI_API_KEY": PLANTED[1]}
    ls = kg("secrets", "ls", cwd=store_project)
    assert ls.out.splitlines() == [
        "NAME            STATUS     SPEC        AGE",
        "DATABASE_URL    ● set      required    now",
        "OPENAI_API_KEY  ● set      optional    now",
        "2 set · 1 required · 1 optional",
    ]
    rm = kg("secrets", "rm", "OPENAI_API_KEY", cwd=store_project)
    assert (rm.code, rm.out) == (0, "✓ OPENAI_API_KEY\n1/1 removed\n")
    assert list(values(store_project)) == ["DATABASE_URL"]
    assert_no_value(PLANTED, result.all, ls.all, rm.all)


@pytest.mark.parametrize(("stdin", "stored"), [
    ("v\n", "v"), ("v\n\n", "v\n"), ("v", "v"), ("v\r\n", "v\r"), (" v \n", " v "), ("\n\n", "\n"),
])
def test_stdin_strips_exactly_one_newline(store_project: Path, stdin: str, stored: str) -> None:
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input=stdin).code == 0
    assert values(store_project)["DATABASE_URL"] == stored


def test_set_refuses_bad_names_and_nul(store_project: Path) -> None:
    result = kg("secrets", "set", "KORTIX_X=1", "lower=1", "PORT=1", "DATABASE_URL=a\0b",
                "NEW_ONE=fine", cwd=store_project)
    assert result.code == 1
    assert result.out.endswith("✓ NEW_ONE\n1/5 set\n")
    for code in ("KG120", "KG111", "KG121", "NUL byte"):
        assert code in result.err
    assert "NEW_ONE is not declared" in result.err
    assert list(values(store_project)) == ["NEW_ONE"]


def test_set_usage_errors(store_project: Path) -> None:
    assert_exit(kg("secrets", "set", "A=-", "B=-", cwd=store_project, input="x"), 2,
                "only one NAME=- per call")
    assert_exit(kg("secrets", "set", "DATABASE_URL", cwd=store_project), 2,  # no terminal
                "DATABASE_URL has no value", "NAME=-")


def test_ls_needs_no_key_and_strict(store_project: Path, user_config: Path) -> None:
    kg("secrets", "set", "UNDECLARED=x", cwd=store_project)
    forget_user_keys(user_config)
    ls = kg_proc("secrets", "ls", cwd=store_project)
    assert ls.code == 0
    assert "DATABASE_URL    ○ missing  required" in ls.out
    assert "UNDECLARED      ● set      undeclared" in ls.out
    assert "1 required secret(s) missing: DATABASE_URL" in ls.err
    assert_exit(kg("secrets", "ls", "--strict", cwd=store_project), 1,
                "1 required secret(s) missing: DATABASE_URL")
    rows = json.loads(kg("secrets", "ls", "--json", cwd=store_project).out)
    assert rows[0] == {"name": "DATABASE_URL", "status": "missing", "spec": "required"}


def test_rm_absent(store_project: Path) -> None:
    kg("secrets", "set", "DATABASE_URL=x", cwd=store_project)
    result = kg("secrets", "rm", "DATABASE_URL", "NOPE", cwd=store_project)
    assert result.code == 1
    assert "NOPE: not in the store" in result.err
    assert list(values(store_project)) == ["DATABASE_URL"]  # nothing removed
    assert kg("secrets", "rm", "--missing-ok", "DATABASE_URL", "NOPE", cwd=store_project).code == 0
    assert values(store_project) == {}


@pytest.mark.parametrize("how", ["NAME=", "stdin", "stdin-newline"])
def test_an_empty_value_never_replaces_a_real_one(store_project: Path, how: str) -> None:
    """The README's `printf %s "$DB_URL" | kortix-guard secrets set DATABASE_URL=-` with
    DB_URL unset said `✓ 1/1 set` and replaced the value with ""."""
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input=PLANTED[0]).code == 0
    before = (store_project / STORE).read_bytes()
    args = ["DATABASE_URL=", "API_KEY=new"] if how == "NAME=" else ["DATABASE_URL=-"]
    result = kg_proc("secrets", "set", *args, cwd=store_project,
                     input={"NAME=": None, "stdin": "", "stdin-newline": "\n"}[how])
    assert_cannot_run(result, "empty value for DATABASE_URL: refused, the store is unchanged")
    assert "--allow-empty" in result.err
    assert (store_project / STORE).read_bytes() == before
    assert values(store_project) == {"DATABASE_URL": PLANTED[0]}
    allowed = kg("secrets", "set", "--allow-empty", "DATABASE_URL=-", cwd=store_project, input="")
    assert allowed.code == 0 and values(store_project) == {"DATABASE_URL": ""}


def test_rewrite_keeps_unchanged_lines(store_project: Path) -> None:
    kg("secrets", "set", "A_ONE=1", "C_THREE=3", "DATABASE_URL=x", cwd=store_project)
    before = (store_project / STORE).read_text().splitlines()
    kg("secrets", "set", "B_TWO=2", cwd=store_project)
    after = (store_project / STORE).read_text().splitlines()
    added = [line for line in after if line not in before]
    removed = [line for line in before if line not in after]
    # The header's revision, MAC and signature, and the one new line: a diff that reads well.
    assert [line.split(" ")[0] for line in added] == ["revision", "mac", "signature", "B_TWO"]
    assert [line.split(" ")[0] for line in removed] == ["revision", "mac", "signature"]
    names = [line.split(" ")[0] for line in after[after.index("[secrets]") + 1:]]
    assert names == sorted(names)


ENV_FILE = """\
# comment
export DATABASE_URL="postgres://u:p@h/db"
OPENAI_API_KEY='$NOT_EXPANDED stays'
PEM="-----BEGIN-----
line2
-----END-----"
ESCAPED="a\\tb\\nc"
EMPTY=
"""


def test_env_push(store_project: Path) -> None:
    (store_project / ".env").write_text(ENV_FILE)
    dry = kg("env", "push", "--from", ".env", "--dry-run", cwd=store_project)
    assert dry.code == 0
    assert values(store_project) == {}
    result = kg("env", "push", "--from", ".env", cwd=store_project)
    assert result.code == 0
    assert result.out.endswith("4/5 pushed from .env\n")
    assert "skipped EMPTY: empty value" in result.err
    assert values(store_project) == {
        "DATABASE_URL": "postgres://u:p@h/db",
        "OPENAI_API_KEY": "$NOT_EXPANDED stays",
        "PEM": "-----BEGIN-----\nline2\n-----END-----",
        "ESCAPED": "a\tb\nc",
    }
    assert_no_value(["postgres://u:p@h/db", "line2"], result.all, dry.all)


def test_env_push_leaves_unchanged_values_byte_for_byte(store_project: Path) -> None:
    (store_project / ".env").write_text("A_ONE=1\nB_TWO=2\n")
    assert kg("env", "push", "--from", ".env", cwd=store_project).code == 0
    before = (store_project / STORE).read_bytes()
    again = kg("env", "push", "--from", ".env", cwd=store_project)
    assert again.out.startswith("✓ A_ONE (unchanged)\n✓ B_TWO (unchanged)\n")
    assert (store_project / STORE).read_bytes() == before  # no new MAC, no new age
    (store_project / ".env").write_text("A_ONE=1\nB_TWO=3\n")
    assert kg("env", "push", "--from", ".env", cwd=store_project).code == 0
    changed = [line.split(" ")[0] for line in (store_project / STORE).read_text().splitlines()
               if line.encode() + b"\n" not in before]
    assert changed == ["revision", "mac", "signature", "B_TWO"]


def test_env_push_writes_nothing_when_a_name_is_bad(store_project: Path) -> None:
    (store_project / ".env").write_text("GOOD=1\nPORT=8080\nnot a pair\nKORTIX_X=planted-v\n")
    result = kg("env", "push", "-f", ".env", cwd=store_project)
    assert result.code == 1
    assert ".env:2: PORT: KG121" in result.err
    assert ".env:3: cannot be parsed" in result.err
    assert ".env:4: KORTIX_X: KG120" in result.err
    assert "planted-v" not in result.all
    assert values(store_project) == {}


def test_env_pull(store_project: Path) -> None:
    kg("secrets", "set", "DATABASE_URL=planted-db", "EXTRA=planted-extra", cwd=store_project)
    result = kg("env", "pull", cwd=store_project)
    assert result.out == ("# required\nDATABASE_URL=\n\n# optional\nOPENAI_API_KEY=\n\n"
                          "# set in store\nEXTRA=\n")
    out = store_project / ".env.skeleton"
    out.write_text("keep me\n")
    refused = kg("env", "pull", "--out", ".env.skeleton", cwd=store_project)
    assert_cannot_run(refused, ".env.skeleton: exists; nothing was written")
    assert "--force" in refused.err
    assert out.read_text() == "keep me\n"
    injected = kg("inject", "--format", "dotenv", "--output", ".env.skeleton", cwd=store_project)
    assert_cannot_run(injected, ".env.skeleton: exists; nothing was written")
    assert out.read_text() == "keep me\n"
    assert kg("env", "pull", "--out", ".env.skeleton", "--force", cwd=store_project).code == 0
    assert "planted" not in out.read_text()


def test_env_push_only_and_declared_skip_the_other_lines(store_project: Path) -> None:
    """A real .env holds PORT= and NODE_ENV= beside the secrets: --declared pushes the
    declared names and lists the rest as skipped; --only pushes exactly the names given."""
    write(store_project, {"in.env": "DATABASE_URL=postgres://a:b@h/d\nPORT=3000\n"
                                    "NODE_ENV=production\nOPENAI_API_KEY=sk-x-123456\n"})
    assert kg("env", "push", "--from", "in.env", cwd=store_project).code == 1  # all refused
    result = kg("env", "push", "--from", "in.env", "--declared", cwd=store_project)
    assert_exit(result, 0, "skipped 2 line(s) not declared: PORT, NODE_ENV",
                "2/2 pushed from in.env")
    result = kg("env", "push", "--from", "in.env", "--only", "OPENAI_API_KEY", cwd=store_project)
    assert_exit(result, 0, "skipped 3 line(s) not named by --only", "1/1 pushed")
    assert_exit(kg("env", "push", "--from", "in.env", "--only", "STRIPE_KEY", cwd=store_project),
                2, "no line for STRIPE_KEY (--only); nothing was written")
