"""`secrets edit` with a real editor process ($EDITOR is a script that edits the file the way
a person would), real AES-GCM, and a real store."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kortix_guard.store import open_store
from tests.conftest import MANIFEST_YAML, assert_no_value, git_init, kg, kg_proc, write

TRICKY = {"DATABASE_URL": "postgres://u:p@h/db?x=1#frag",  # kortix-guard: allow
          "OPENAI_API_KEY": 'quote " back\\slash $HOME\ttab',
          "PEM": "-----BEGIN-----\nline2\n-----END-----\n"}
EDITOR = '''
import json, os, stat, subprocess, sys
path = sys.argv[1]
plan = json.loads(os.environ["EDIT_PLAN"])
info = {"file": oct(stat.S_IMODE(os.stat(path).st_mode)),
        "folder": oct(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)), "path": path}
open(os.environ["EDIT_LOG"], "w").write(json.dumps(info))
text = open(path).read()
for old, new in plan.get("replace", []):
    text = text.replace(old, new)
text += plan.get("append", "")
if plan.get("meanwhile"):
    subprocess.run(plan["meanwhile"], check=True, capture_output=True)
open(path, "w").write(text)
sys.exit(plan.get("exit", 0))
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = git_init(tmp_path / "repo")
    assert kg("identity", "new", cwd=root).code == 0 and kg("init", cwd=root).code == 0
    write(root, {"kortix.yaml": MANIFEST_YAML.replace('"OPENAI_API_KEY"', '"OPENAI_API_KEY", "PEM"')})
    for name, value in TRICKY.items():
        assert kg("secrets", "set", f"{name}=-", cwd=root, input=value + "\n").code == 0
    return root


def _edit(repo: Path, tmp_path: Path, plan: dict, *args: str):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {"EDITOR": f"{sys.executable} {script}", "VISUAL": "", "EDIT_PLAN": json.dumps(plan),
           "EDIT_LOG": str(tmp_path / "log.json"), "XDG_RUNTIME_DIR": str(runtime)}
    result = kg_proc("secrets", "edit", *args, cwd=repo, env=env)
    log = json.loads((tmp_path / "log.json").read_text()) if (tmp_path / "log.json").exists() else {}
    assert list(runtime.iterdir()) == []  # the file and its folder are gone, whatever happened
    return result, log


def _values(repo: Path) -> dict[str, str]:
    return {n: v.reveal() for n, v in open_store(repo / ".kortix" / "secrets.enc.toml").values().items()}


def test_an_unchanged_file_writes_nothing_and_values_round_trip(repo: Path, tmp_path: Path) -> None:
    store = repo / ".kortix" / "secrets.enc.toml"
    before = store.read_bytes()
    result, log = _edit(repo, tmp_path, {})
    assert result.code == 0 and "no change" in result.out, result.all
    assert store.read_bytes() == before
    assert log["file"] == "0o600" and log["folder"] == "0o700"
    assert log["path"].startswith(str(tmp_path / "runtime"))
    # A harmless edit elsewhere reads every tricky value back exactly.
    result, _ = _edit(repo, tmp_path, {"append": "NEW_ONE=x1\n"})
    assert result.code == 0, result.all
    assert _values(repo) == {**TRICKY, "NEW_ONE": "x1"}
    assert_no_value(list(TRICKY.values()), result.all)


def test_change_and_delete_are_applied_all_or_nothing(repo: Path, tmp_path: Path) -> None:
    result, _ = _edit(repo, tmp_path, {"replace": [["DATABASE_URL=", "DATABASE_URL=new-"],
                                                   ["PEM=", "#PEM="]]})
    assert result.code == 0, result.all
    assert "✓ DATABASE_URL" in result.out and "removed PEM" in result.out
    values = _values(repo)
    assert values["DATABASE_URL"].startswith("new-") and "PEM" not in values
    assert values["OPENAI_API_KEY"] == TRICKY["OPENAI_API_KEY"]


@pytest.mark.parametrize("plan, message", [
    ({"append": "API_TOKEN=\n"}, "empty value"),
    ({"append": "not a pair at all\n", "replace": [["DATABASE_URL=", "DATABASE_URL=z"]]},
     "cannot be parsed"),
    ({"append": "KORTIX_X=1\n"}, "KG120"),
    ({"exit": 3, "replace": [["DATABASE_URL=", "DATABASE_URL=z"]]}, "exited with 3"),
])
def test_bad_edits_write_nothing(repo: Path, tmp_path: Path, plan: dict, message: str) -> None:
    store = repo / ".kortix" / "secrets.enc.toml"
    before = store.read_bytes()
    result, _ = _edit(repo, tmp_path, plan)
    assert result.code in (1, 2), result.all
    assert message in result.err and "nothing was written" in result.err
    assert store.read_bytes() == before
    assert_no_value(list(TRICKY.values()), result.all)


def test_a_name_changed_meanwhile_is_a_conflict(repo: Path, tmp_path: Path) -> None:
    meanwhile = [sys.executable, "-m", "kortix_guard", "-C", str(repo), "secrets", "set",
                 "DATABASE_URL=set-meanwhile"]
    result, _ = _edit(repo, tmp_path, {"replace": [["DATABASE_URL=", "DATABASE_URL=mine-"]],
                                       "meanwhile": meanwhile})
    assert result.code == 2, result.all
    assert "DATABASE_URL changed in .kortix/secrets.enc.toml while you edited" in result.err
    assert _values(repo)["DATABASE_URL"] == "set-meanwhile"


def test_allow_empty(repo: Path, tmp_path: Path) -> None:
    result, _ = _edit(repo, tmp_path, {"append": "API_TOKEN=\n"}, "--allow-empty")
    assert result.code == 0, result.all
    assert _values(repo)["API_TOKEN"] == ""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signal_name", ["SIGHUP", "SIGTERM"])
def test_a_closed_terminal_leaves_no_value_in_clear(repo: Path, tmp_path: Path,
                                                    signal_name: str) -> None:
    """The third review: a closed terminal (SIGHUP) or a dropped SSH session killed `secrets
    edit` and left every value in clear in $TMPDIR. The folder is removed on those signals,
    and the process still ends by the signal."""
    import signal

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    script = tmp_path / "killer.py"
    # The editor is killed with its parent's session, as a terminal closing does.
    script.write_text(f"import os, signal, time\nos.kill(os.getppid(), signal.{signal_name})\n"
                      "time.sleep(5)\n")
    env = {"EDITOR": f"{sys.executable} {script}", "VISUAL": "", "XDG_RUNTIME_DIR": str(runtime)}
    result = kg_proc("secrets", "edit", cwd=repo, env=env)
    assert result.code == -getattr(signal, signal_name)
    assert list(runtime.iterdir()) == []
    assert_no_value(list(TRICKY.values()), result.out, result.err)


def test_leftovers_of_a_killed_edit_are_removed_and_said(repo: Path, tmp_path: Path) -> None:
    """A SIGKILL cannot be caught: the next `secrets edit` removes what it left, and says so."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    left = runtime / "kortix-guard-edit-abc123"
    left.mkdir(mode=0o700)
    (left / "secrets.env").write_text("DATABASE_URL=left-in-clear\n")
    result, _ = _edit(repo, tmp_path, {})
    assert result.code == 0
    assert "removed 1 folder(s) an earlier `secrets edit` left" in result.err
    assert not left.exists()
