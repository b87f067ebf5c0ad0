"""The CLI contract: version, exit codes, global options, light start-up."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard._meta import repository_url, version
from tests.conftest import MANIFEST, assert_exit, git_init, kg, kg_proc, write


def test_version() -> None:
    result = kg_proc("--version", cwd=Path.cwd())
    assert result.code == 0
    first, catalog = result.out.splitlines()
    assert first == f"kortix-guard {version()}"
    assert catalog.startswith("provider catalog: ")  # which one is active, or how to add it
    assert repository_url().startswith("https://")


@pytest.mark.parametrize("args", [["bogus"], ["manifest", "check", "--nope"],
                                  ["manifest", "check", "--format", "xml"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = kg_proc(*args, cwd=tmp_path)
    assert result.code == 2
    assert "Traceback" not in result.all


HEAVY = ("cryptography", "pygit2")  # the commit hook, below, loads no click either


@pytest.mark.parametrize("args", [["--version"], ["manifest", "check"], ["secrets", "ls"],
                                  ["env", "pull"]])
def test_light_start_up(project: Path, args: list[str]) -> None:
    code = (
        "import sys\n"
        "from kortix_guard.cli.main import main\n"
        f"rc = main({args!r})\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("with_store", [False, True])
@pytest.mark.parametrize("manifest", ["kortix.toml", "kortix.yaml"])
def test_the_commit_hook_imports_no_click(project: Path, with_store: bool, manifest: str) -> None:
    """kortix-guard-scan with a .env in the work tree (its values are read) and, with a
    store, the store opened for its known values: never click, never pygit2, and once the
    manifest's verdict is remembered, neither tomlkit, PyYAML nor dataclasses (their imports
    cost more than the scan of a typical commit)."""
    from tests.conftest import MANIFEST_YAML, git

    if manifest == "kortix.yaml":
        (project / "kortix.toml").unlink()
        write(project, {"kortix.yaml": MANIFEST_YAML})
    write(project, {".env": "API_TOKEN=real-value-42-abc\n", "app.py": "x = 1\n"})
    if with_store:
        assert kg("key", "new", cwd=project).code == 0
    git("add", "app.py", cwd=project)
    code = (
        "import sys\n"
        "from kortix_guard.scan.commit_hook import main\n"
        "rc = main(['app.py'])\n"
        "loaded = [m for m in ('click', 'pygit2', 'tomlkit', 'yaml', 'platformdirs',\n"
        "                      'dataclasses', 'importlib.metadata')\n"
        "          if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "sys.exit(rc)\n"
    )
    # The first run checks the manifest with every rule (tomlkit or PyYAML) and remembers the
    # verdict.
    for _ in range(2):
        first = code.replace("'tomlkit', 'yaml', ", "").replace("'dataclasses', ", "")
        proc = subprocess.run([sys.executable, "-c", first if _ == 0 else code], cwd=project,
                              capture_output=True, text=True, env={**os.environ})
        assert proc.returncode == 0, proc.stderr


def test_dash_c_runs_as_if_started_there(project: Path, tmp_path: Path) -> None:
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    # From a sub-folder, the root is the nearest parent with kortix.toml or .git.
    assert kg("manifest", "check", cwd=sub).code == 0
    write(project, {"kortix.toml": MANIFEST.replace("DATABASE_URL", "database_url")})
    result = kg("manifest", "check", cwd=sub)
    assert result.code == 1
    assert result.out.startswith("../../kortix.toml:5:")


def test_manifest_option(tmp_path: Path) -> None:
    root = git_init(tmp_path / "r")
    write(root, {"config/kortix.toml": MANIFEST})
    assert_exit(kg("manifest", "check", cwd=root), 2,
                "no such manifest (no kortix.yaml, kortix.yml or kortix.toml in .)")
    assert kg("--manifest", "config/kortix.toml", "manifest", "check", cwd=root).code == 0


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kortix_guard", "--help"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0
    assert "manifest" in proc.stdout


def test_one_spelling_per_flag_and_the_old_ones_still_work(store_project) -> None:
    """`--format json` and `--output` everywhere; `--json` and `--out` stay as hidden aliases."""
    from tests.conftest import kg

    kg("secrets", "set", "DATABASE_URL=x-1", cwd=store_project)
    for command in (["secrets", "ls"], ["recipients", "ls"]):
        if command[0] == "recipients":
            assert kg("store", "upgrade", cwd=store_project).code in (0, 2)
        new = kg(*command, "--format", "json", cwd=store_project)
        old = kg(*command, "--json", cwd=store_project)
        assert new.code == old.code and new.out == old.out, (command, new.all, old.all)
        helped = kg(*command, "--help", cwd=store_project).out
        assert "--format" in helped and "--json" not in helped
    assert kg("env", "pull", "--output", "a.env", cwd=store_project).code == 0
    assert kg("env", "pull", "--out", "b.env", cwd=store_project).code == 0
    assert (store_project / "a.env").read_text() == (store_project / "b.env").read_text()
    assert "--out " not in kg("env", "pull", "--help", cwd=store_project).out


def test_every_command_is_in_the_lazy_table_and_loads_only_its_module() -> None:
    """main.LAZY_COMMANDS names each command module's COMMANDS, and running one command
    imports no other command's module."""
    import importlib
    import pkgutil

    import kortix_guard.cli
    from kortix_guard.cli.main import LAZY_COMMANDS

    found = {}
    for info in pkgutil.iter_modules(kortix_guard.cli.__path__):
        module = importlib.import_module(f"kortix_guard.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            found[command.name] = info.name
    assert found == LAZY_COMMANDS
    probe = ("import sys; from kortix_guard.cli.main import main; main(['inject', '--help']); "
             "print(sorted(m for m in sys.modules if m.startswith('kortix_guard.cli.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert "kortix_guard.cli.inject_cmd" in loaded and "store_cmd" not in loaded \
        and "scan_cmd" not in loaded


@pytest.mark.parametrize("args", [["secrets", "ls"], ["env", "pull"],
                                  ["--help"]])
def test_a_closed_pipe_is_a_quiet_exit(store_project: Path, args: list[str]) -> None:
    """`kortix-guard secrets ls | head -1`: no "internal error (BrokenPipeError)"; the exit
    is 141 (128 + SIGPIPE), as git's."""
    names = ", ".join(f'"N_{i:04d}"' for i in range(3000))
    write(store_project, {"kortix.toml": f'[project]\nname = "p"\n[env]\noptional = [{names}]\n'})
    proc = subprocess.run(f"{sys.executable} -m kortix_guard {' '.join(args)} | head -c 10",
                          shell=True, cwd=store_project, capture_output=True, text=True,
                          executable="/bin/bash")
    assert "BrokenPipe" not in proc.stderr and "internal error" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ctrl_c_says_it_was_interrupted(store_project: Path) -> None:
    """SIGINT while a command waits (here `secrets set NAME=-` on an open stdin): exit 130
    and one line, as at a prompt; the store is untouched."""
    import signal
    import time

    store = store_project / ".kortix" / "secrets.enc.toml"
    before = store.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "kortix_guard", "secrets", "set",
                             "DATABASE_URL=-"], cwd=store_project, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "kortix-guard: interrupted" in err and "Traceback" not in err
    assert store.read_bytes() == before


@pytest.mark.parametrize("group", [[], ["secrets"], ["key"], ["recipients"], ["kortix"],
                                   ["manifest"], ["store"], ["hook"]])
def test_help_lists_whole_summaries(tmp_path: Path, group: list[str]) -> None:
    """click cut each command's summary at the width beside the names, mid-sentence."""
    result = kg_proc(*group, "--help", cwd=tmp_path)
    assert result.code == 0, result.err
    commands = result.out.split("Commands:", 1)[1]
    assert not [line for line in commands.splitlines() if line.rstrip().endswith("...")], commands


def test_a_crlf_value_is_kept_and_said_so(store_project: Path) -> None:
    result = kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input=b"p4ss-w0rd\r\n")
    assert result.code == 0, result.err
    assert "DATABASE_URL ends with a carriage return" in result.err
    assert "p4ss-w0rd" not in result.err + result.out
    got = kg_proc("secrets", "get", "DATABASE_URL", cwd=store_project)
    assert got.out == "p4ss-w0rd\r"


def test_one_wording_in_every_pre_commit_batch(tmp_path: Path) -> None:
    """pre-commit prints each batch's summary: the same instruction whatever the batch held
    (one of only [high] findings said nothing of a baseline, the next did)."""
    from kortix_guard.scan.model import Confidence, Finding
    from kortix_guard.scan.report import advice

    high = [Finding("a.py", 1, 1, "KG320", "token", confidence=Confidence.HIGH)]
    medium = [Finding("b.py", 1, 1, "KG331", "value", confidence=Confidence.MEDIUM)]
    import os

    os.environ["PRE_COMMIT"] = "1"
    try:
        first, second = advice(high), advice(medium)
    finally:
        del os.environ["PRE_COMMIT"]
    assert first == second
    assert "accept those that are not [high]" in first and "below" not in first
