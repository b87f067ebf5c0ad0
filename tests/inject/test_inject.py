"""inject and run through the real CLI: fail fast, formats that round-trip, GitHub mode."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from kortix_guard.inject.github import mask_commands
from kortix_guard.secret import SecretValue
from tests.conftest import assert_exit, assert_no_value, kg, kg_proc, write

ADVERSARIAL = {
    "PEM": "-----BEGIN PRIVATE KEY-----\nMIIEplanted\nAbCd==\n-----END PRIVATE KEY-----\n",
    "EOF_VALUE": "first\nEOF\nghadelimiter_deadbeef\nlast",
    "CRLF": "a\r\nb\r\n",
    "EQUALS": "a=b==c",
    "SPACES": "  padded value  ",
    "UNICODE": "pässwörd-日本-🔑",
    "QUOTES": "it's \"quoted\" \\ back$lash ${HOME} `tick`",
    "BIG": "x" * 65536,
}
MANIFEST = "[project]\nname = \"t\"\n[env]\nrequired = [{}]\noptional = [\"UNSET_ONE\"]\n"


@pytest.fixture
def filled(store_project: Path) -> Path:
    names = ", ".join(f'"{n}"' for n in ADVERSARIAL)
    write(store_project, {"kortix.toml": MANIFEST.format(names)})
    for name, value in ADVERSARIAL.items():
        assert kg("secrets", "set", f"{name}=-", cwd=store_project, input=value + "\n").code == 0
    return store_project


def _read_line(text: str, index: int, windows: bool) -> tuple[str | None, int, str | None]:
    """The runner's ReadLine (FileCommandManager.cs): split on "\n", and on Windows on a
    "\r\n" that comes first. Returns (line, next index, the line end)."""
    if index >= len(text):
        return None, index, None
    lf = text.find("\n", index)
    if lf < 0:
        return text[index:], len(text), None
    if windows:
        crlf = text.find("\r\n", index)
        if 0 <= crlf < lf:
            return text[index:crlf], crlf + 2, "\r\n"
    return text[index:lf], lf + 1, "\n"


def parse_github_env(text: str, windows: bool = False) -> dict[str, str]:
    """A port of the runner's SetEnvFileCommand: NAME=value lines, or NAME<<DELIM heredocs
    whose value is the text between them less the last line end before the delimiter."""
    env: dict[str, str] = {}
    line, index, _ = _read_line(text, 0, windows)
    while line is not None:
        if line:
            eq, heredoc = line.find("="), line.find("<<")
            if eq >= 0 and (heredoc < 0 or eq < heredoc):
                name, value = line.split("=", 1)
                env[name] = value
            else:
                name, delimiter = line.split("<<", 1)
                start = end = index
                temp, index, newline = _read_line(text, index, windows)
                while temp != delimiter:
                    assert temp is not None, f"delimiter {delimiter} not found"
                    end = index - len(newline or "")
                    temp, index, newline = _read_line(text, index, windows)
                env[name] = text[start:end] if end > start else ""
        line, index, _ = _read_line(text, index, windows)
    return env


@pytest.mark.parametrize("windows", [False, True], ids=["linux-macos", "windows"])
def test_file_command_entries_keep_every_value_exact_on_each_runner(windows: bool) -> None:
    """Values through the runner's own parsing rules, in its Linux and Windows modes."""
    from kortix_guard.inject.github import env_file_entry

    values = {**ADVERSARIAL, "CR_END": "value\r", "CRLF_END": "a\r\n", "LF_END": "a\n",
              "LONE_CR": "\r", "EMPTY": "", "CR_INSIDE": "a\rb\r\nc"}
    eol = "\r\n" if windows else "\n"
    text = "".join(env_file_entry(n, v, eol) for n, v in values.items())
    assert parse_github_env(text, windows=windows) == values
    if windows:  # what plain "\n" line ends lose on a Windows runner: the reason for EOL
        plain = "".join(env_file_entry(n, v, "\n") for n, v in values.items())
        assert parse_github_env(plain, windows=True)["CR_END"] == "value"


def test_masks_in_every_mode_on_actions(filled: Path, tmp_path: Path) -> None:
    """Under GITHUB_ACTIONS=true, --format and --output register masks too, on stderr, so
    a value a later step echoes is masked and stdout holds only the data."""
    env = {"GITHUB_ACTIONS": "true"}
    result = kg_proc("inject", "--format", "json", cwd=filled, env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["EQUALS"] == "a=b==c"
    assert "::add-mask::a=b==c" in result.err
    assert "::add-mask::" not in result.out
    written = kg_proc("inject", "--output", str(tmp_path / "s.env"), cwd=filled, env=env)
    assert "::add-mask::a=b==c" in written.err


def test_github_mode_round_trips_adversarial_values(filled: Path, tmp_path: Path) -> None:
    files = {v: tmp_path / v.lower() for v in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for f in files.values():
        f.write_text("")
    env = {"GITHUB_ACTIONS": "true", **{k: str(v) for k, v in files.items()}}
    result = kg_proc("inject", cwd=filled, env=env)
    assert result.code == 0, result.err
    assert parse_github_env(files["GITHUB_ENV"].read_bytes().decode()) == ADVERSARIAL
    outputs = files["GITHUB_OUTPUT"].read_text()
    assert f"injected={','.join(ADVERSARIAL)}\n" in outputs
    assert "missing=\n" in outputs
    # Every line on stdout is a mask command; no value appears unescaped anywhere else.
    assert all(line.startswith("::add-mask::") for line in result.out.splitlines())
    masks = "\n".join(mask_commands({n: SecretValue(v) for n, v in ADVERSARIAL.items()}))
    assert result.out.strip() == masks
    assert_no_value([v for v in ADVERSARIAL.values() if len(v) > 8], result.err,
                    files["GITHUB_STEP_SUMMARY"].read_text(), outputs)


def test_outputs_only_puts_nothing_in_the_environment(filled: Path, tmp_path: Path) -> None:
    """1Password's `export-env: false`: the job's environment gets nothing; the step's
    `values` output holds the secrets as JSON, each value masked in both spellings."""
    import json

    files = {v: tmp_path / v.lower() for v in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for f in files.values():
        f.write_text("")
    env = {"GITHUB_ACTIONS": "true", **{k: str(v) for k, v in files.items()}}
    result = kg_proc("inject", "--outputs-only", cwd=filled, env=env)
    assert result.code == 0, result.err
    assert files["GITHUB_ENV"].read_text() == ""
    outputs = parse_github_env(files["GITHUB_OUTPUT"].read_bytes().decode())
    assert json.loads(outputs["values"]) == ADVERSARIAL
    masked = {line.removeprefix("::add-mask::") for line in result.out.splitlines()}
    assert json.dumps(ADVERSARIAL["QUOTES"])[1:-1] in masked  # the JSON spelling too
    assert "values" in files["GITHUB_STEP_SUMMARY"].read_text()
    assert_no_value([v for v in ADVERSARIAL.values() if len(v) > 8], result.err,
                    files["GITHUB_STEP_SUMMARY"].read_text())
    refused = kg_proc("inject", "--outputs-only", "--format", "json", cwd=filled)
    assert refused.code == 2 and "--outputs-only is a GitHub mode" in refused.err


def test_masks_cover_every_line_escaped() -> None:
    masks = mask_commands({"A": SecretValue("l1%\r\nl2\n\n")})
    assert masks == ["::add-mask::l1%25%0D%0Al2%0A%0A", "::add-mask::l1%25", "::add-mask::l2"]


def test_missing_required_fails_fast_and_writes_nothing(filled: Path, tmp_path: Path) -> None:
    kg("secrets", "rm", "PEM", "EQUALS", cwd=filled)
    github_env = tmp_path / "env"
    github_env.write_text("")
    output = tmp_path / "out"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env), "GITHUB_OUTPUT": str(output)}
    result = kg_proc("inject", cwd=filled, env=env)
    assert result.code == 1
    assert "missing: PEM" in result.err and "missing: EQUALS" in result.err
    assert github_env.read_text() == ""
    assert "::add-mask::" not in result.out
    assert "missing=PEM,EQUALS" in output.read_text()
    for fmt in ("dotenv", "json"):
        assert kg_proc("inject", "--format", fmt, cwd=filled).out == ""
    assert_exit(kg("run", "--", "true", cwd=filled), 1, "2 required secret(s) missing")


def test_a_missing_secret_is_an_error_annotation_on_its_manifest_line(filled: Path,
                                                                       tmp_path: Path) -> None:
    """Where people look on GitHub: an `::error` on the line that declares each missing name,
    and a step summary that says the job failed and why (it was empty)."""
    kg("secrets", "rm", "PEM", cwd=filled)
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_ENV": str(tmp_path / "env"),
           "GITHUB_WORKSPACE": str(filled)}
    manifest = next(filled.glob("kortix.*"))
    line = next(i for i, text in enumerate(manifest.read_text().splitlines(), 1) if "PEM" in text)
    for args in (["inject"], ["run", "--", "true"]):
        result = kg_proc(*args, cwd=filled, env=env)
        assert result.code == 1, result.err
        assert (f"::error file={manifest.name},line={line},title=kortix-guard: missing secret::"
                f"PEM has no value in the store; set them with") in result.out, result.out
        assert "missing, nothing was exported" in summary.read_text()
        assert "| `PEM` | missing |" in summary.read_text()


def _read_shell(text: str, names: list[str], tmp_path: Path) -> dict[str, str]:
    script = tmp_path / "env.sh"
    script.write_text(text)
    out = {}
    for name in names:
        proc = subprocess.run(["sh", "-c", f'. "{script}"; printf %s "${name}"'],
                              capture_output=True)
        out[name] = proc.stdout.decode()
    return out


def test_formats_round_trip(filled: Path, tmp_path: Path) -> None:
    as_json = kg_proc("inject", "--format", "json", cwd=filled)
    assert json.loads(as_json.out) == ADVERSARIAL
    assert kg_proc("inject", "--output", "out.env", cwd=filled).code == 0
    dotenv_file = filled / "out.env"
    assert oct(dotenv_file.stat().st_mode & 0o777) == "0o600"
    assert dotenv_values(dotenv_file, interpolate=False) == ADVERSARIAL
    shell = kg_proc("inject", "--format", "shell", cwd=filled).out
    assert _read_shell(shell, list(ADVERSARIAL), tmp_path) == ADVERSARIAL


def test_docker_refuses_multiline(filled: Path) -> None:
    result = kg_proc("inject", "--format", "docker", "--output", "d.env", cwd=filled)
    assert result.code == 2
    assert "PEM: a multi-line value cannot go into a docker --env-file" in result.err
    assert not (filled / "d.env").exists()
    ok = kg_proc("inject", "--format", "docker", "--only", "EQUALS,SPACES", cwd=filled)
    assert ok.out == "EQUALS=a=b==c\nSPACES=  padded value  \n"


def test_no_destination_outside_github_is_a_usage_error(filled: Path) -> None:
    result = kg_proc("inject", cwd=filled, env={"GITHUB_ACTIONS": ""})
    assert result.code == 2
    assert result.out == ""


def test_only_and_undeclared(filled: Path) -> None:
    kg("secrets", "set", "EXTRA=planted-extra", cwd=filled)
    only = json.loads(kg_proc("inject", "--format", "json", "--only", "EQUALS", cwd=filled).out)
    assert only == {"EQUALS": "a=b==c"}
    assert "EXTRA" not in json.loads(kg_proc("inject", "--format", "json", cwd=filled).out)
    both = kg_proc("inject", "--format", "json", "--include-undeclared", cwd=filled)
    assert json.loads(both.out)["EXTRA"] == "planted-extra"
    assert_exit(kg_proc("inject", "--format", "json", "--only", "EXTRA", cwd=filled), 2,
                "--only: EXTRA is not declared")
    unset = kg_proc("inject", "--format", "json", "--only", "UNSET_ONE", cwd=filled)
    assert (unset.code, unset.out) == (1, "")


def test_check_exports_nothing(filled: Path) -> None:
    result = kg_proc("inject", "--check", cwd=filled)
    assert result.code == 0
    assert result.out == ""
    assert_no_value(list(ADVERSARIAL.values()), result.err)


def test_github_refused_names(store_project: Path, tmp_path: Path) -> None:
    write(store_project, {"kortix.toml": MANIFEST.format('"GITHUB_THING"')})
    kg("secrets", "set", "GITHUB_THING=planted-gh", cwd=store_project)
    github_env = tmp_path / "env"
    github_env.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env),
           "GITHUB_OUTPUT": str(tmp_path / "o")}
    result = kg_proc("inject", cwd=store_project, env=env)
    assert result.code == 2
    assert "does not export GITHUB_THING to a GitHub job" in result.err
    assert github_env.read_text() == ""
    assert "planted-gh" not in result.all


def test_run_passes_env_exit_code_and_reads_once(filled: Path) -> None:
    code = ('import os, sys; print(sorted(n for n in os.environ if n in {names!r})); '
            'sys.exit(os.environ["EQUALS"] == "a=b==c" and 7 or 1)')
    import sys

    result = kg_proc("run", "--", sys.executable, "-c", code.format(names=set(ADVERSARIAL)),
                     cwd=filled)
    assert result.code == 7
    assert result.out.strip() == str(sorted(ADVERSARIAL))
    only = kg_proc("run", "--only", "EQUALS", "--", "sh", "-c", 'test -z "$PEM" && exit 5',
                   cwd=filled)
    assert only.code == 5
    assert_exit(kg_proc("run", "--", "no-such-command-kg", cwd=filled), 127, "command not found")


def test_run_signal_reaches_command(filled: Path, tmp_path: Path) -> None:
    import signal
    import sys
    import time

    marker = tmp_path / "got-term"
    script = (f"import signal, sys, time, pathlib\n"
              f"signal.signal(signal.SIGTERM, lambda *a: (pathlib.Path({str(marker)!r}).write_text('x'),"
              f" sys.exit(42)))\nprint('ready', flush=True)\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-m", "kortix_guard", "run", "--", sys.executable,
                             "-c", script], cwd=filled, stdout=subprocess.PIPE, env=os.environ)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
    time.sleep(0.05)
    assert marker.read_text() == "x"


@pytest.mark.parametrize("variable", ["KORTIX_GUARD_KEY", "KORTIX_GUARD_KEY_FILE"])
def test_run_never_hands_the_key_to_the_command(filled: Path, tmp_path: Path,
                                                variable: str) -> None:
    """The attack: `run --only A -- sh -c 'kortix-guard inject --only B'` read B with the key
    run had inherited. The child's environment holds no identity variable."""
    import sys

    made = kg("recipients", "add", "ci", "--generate", cwd=filled)
    key = made.out.strip().splitlines()[-1]  # CI's identity
    key_file = tmp_path / "ci.key"
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    value = key if variable == "KORTIX_GUARD_KEY" else str(key_file)
    child = ("import os, subprocess, sys; print(sorted(n for n in os.environ "
             "if n.startswith('KORTIX_GUARD_KEY'))); "
             "r = subprocess.run([sys.executable, '-m', 'kortix_guard', 'inject', '--format', "
             "'json', '--only', 'PEM'], capture_output=True, text=True); "
             "print(r.returncode); print(r.stdout)")
    env = {variable: value, "HOME": str(tmp_path / "elsewhere"),
           "XDG_CONFIG_HOME": str(tmp_path / "elsewhere")}
    result = kg_proc("run", "--only", "EQUALS", "--", sys.executable, "-c", child, cwd=filled,
                     env=env)
    lines = result.out.splitlines()
    assert lines[0] == "[]"
    assert lines[1] == "2"  # the nested inject has no key
    assert "MIIEplanted" not in result.out
