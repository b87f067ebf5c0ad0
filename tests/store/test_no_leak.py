"""Plant values, run every store command (errors and -v included), and grep every stream."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import assert_no_value, kg_proc
from tests.store.conftest import STORE

PLANTED = ["planted-DB-0f9e8d7c", "planted-API-1a2b3c4d", "planted-first-line", "planted-second"]


def test_no_value_in_any_output(store_project: Path, tmp_path: Path) -> None:
    root = store_project
    (root / ".env").write_text(f'OPENAI_API_KEY={PLANTED[1]}\nPEM="{PLANTED[2]}\n{PLANTED[3]}"\n'
                               f"bad line {PLANTED[1]}\n")
    outputs = [
        kg_proc("secrets", "set", "DATABASE_URL=-", cwd=root, input=PLANTED[0]),
        kg_proc("-v", "secrets", "set", f"lower={PLANTED[0]}", cwd=root),
        kg_proc("env", "push", "--from", ".env", cwd=root),
    ]
    (root / ".env").write_text(f'OPENAI_API_KEY={PLANTED[1]}\nPEM="{PLANTED[2]}\n{PLANTED[3]}"\n')
    outputs += [
        kg_proc("env", "push", "--from", ".env", "--dry-run", cwd=root),
        kg_proc("env", "push", "--from", ".env", cwd=root),
        kg_proc("secrets", "ls", cwd=root),
        kg_proc("secrets", "ls", "--json", cwd=root),
        kg_proc("env", "pull", cwd=root),
        kg_proc("secrets", "reseal", cwd=root),
        kg_proc("key", "rotate", cwd=root),
        kg_proc("secrets", "rm", "PEM", "NOPE", cwd=root),
    ]
    store = root / STORE
    store.write_text(store.read_text().replace("[secrets]", "[secrets]\nX_SWAPPED = \"kg1:AAAA\""))
    outputs += [kg_proc("-v", "secrets", "set", "A=1", cwd=root),
                kg_proc("-v", "key", "export", cwd=root)]
    assert outputs[-1].code == 2 and "the entry for X_SWAPPED is malformed" in outputs[-1].err
    texts = [r.out + r.err for r in outputs]
    texts += [p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()
              and ".git" not in p.parts and p.name != ".env"]
    assert_no_value(PLANTED, *texts)
