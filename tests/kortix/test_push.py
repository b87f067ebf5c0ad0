"""`kortix-guard kortix push`: the store's values into the Kortix project, through the API
(a token found) or the `kortix` CLI (none found), against stand-ins that answer as the
pinned sources do (tests/kortix/conftest.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import assert_exit, git_init, kg, kg_proc, manifest_for, write
from tests.kortix.conftest import PROJECT, TOKEN, Kortix, StandInCli, api_env
from tests.terminal import finish, read_until, spawn

PEM = ("-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
       "AAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDvK8mZ1pushtestkey0000000000000000000\n"
       "-----END " + "OPENSSH PRIVATE KEY-----\n")  # ends in a newline, as every PEM does
VALUES = {
    "DATABASE_URL": "postgres://app:p=ss\"w'rd@db:5432/app?sslmode=require&x=1",
    "TLS_KEY": PEM,
    "GREETING": "grüß dich — 你好 🔑",
    "MULTI": "line one\nline two\n\nline four",
    "PADDED": "  padded value  ",
}
OPTIONAL = ("OPENAI_API_KEY",)


@pytest.fixture
def pushable(tmp_path: Path) -> Path:
    """A kortix.yaml project whose store holds VALUES (OPENAI_API_KEY declared, not set)."""
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=tuple(VALUES), optional=OPTIONAL)
    write(root, {name: text})
    assert kg("key", "new", cwd=root).code == 0
    for key, value in VALUES.items():
        assert kg("secrets", "set", f"{key}=-", cwd=root, input=value + "\n").code == 0
    return root


def _everything(result) -> str:
    return result.out + result.err


def _no_value_in(*texts: str) -> None:
    for value in VALUES.values():
        probe = value.strip()
        for text in texts:
            assert probe not in text and probe[:16] not in text, "a value leaked"


def test_values_arrive_whole_and_only_changes_go_again(pushable: Path, kortix: Kortix) -> None:
    env = api_env(kortix)
    result = kg("kortix", "push", cwd=pushable, env=env)
    assert_exit(result, 0, f"pushed 5 secret(s) to project {PROJECT} at {kortix.url}",
                "a value takes effect in the next session")
    assert dict(kortix.received) == VALUES  # byte for byte: PEM newline, =, quotes, unicode
    assert [c for c in kortix.calls if c[0] == "POST"] == \
        [("POST", f"/v1/projects/{PROJECT}/secrets")] * 5  # one `/v1`, though the URL had one
    _no_value_in(_everything(result))
    again = kg("kortix", "push", cwd=pushable, env=env)
    assert_exit(again, 0, "pushed 0 secret(s)", "5 unchanged since the last push from here")
    assert kortix.posts == 5
    kg("secrets", "set", "GREETING=-", cwd=pushable, input="servus\n")
    kg("kortix", "push", cwd=pushable, env=env)
    assert kortix.received[-1] == ("GREETING", "servus") and kortix.posts == 6
    assert_exit(kg("kortix", "push", "--all", "--only", "PADDED", cwd=pushable, env=env), 0,
                "pushed 1 secret(s)")
    assert kortix.received[-1] == ("PADDED", VALUES["PADDED"])


def test_the_state_of_the_last_push_says_nothing_of_a_value(pushable: Path, kortix: Kortix,
                                                            user_cache: Path) -> None:
    import hashlib

    kg("kortix", "push", cwd=pushable, env=api_env(kortix))
    states = list((user_cache / "kortix-guard" / "kortix-push").glob("*.json"))
    text = "".join(p.read_text() for p in states)
    assert "GREETING" in text
    _no_value_in(text)
    for value in VALUES.values():  # keyed: not a plain hash of a value
        assert hashlib.sha256(value.encode()).hexdigest() not in text


def test_through_the_kortix_cli_values_go_on_stdin(pushable: Path, kortix: Kortix,
                                                   kortix_cli: StandInCli) -> None:
    result = kg_proc("kortix", "push", cwd=pushable, env=kortix_cli.env(kortix))
    assert_exit(result, 0, "no Kortix token found; sending through `kortix secrets set NAME=-`",
                "pushed 5 secret(s) to project " + PROJECT)
    assert dict(kortix.received) == VALUES  # the PEM keeps its last newline
    argvs = kortix_cli.argvs()
    assert [a[1:4] for a in argvs] == [["secrets", "set", f"{n}=-"] for n in VALUES]
    _no_value_in(json.dumps(argvs), _everything(result))


@pytest.mark.parametrize("mode", ["api", "cli"])
def test_no_value_reaches_a_command_line(pushable: Path, kortix: Kortix, kortix_cli: StandInCli,
                                         mode: str) -> None:
    """While a push runs (slowed down), every process's command line is read: no value."""
    kortix.delay = 0.2
    env = {**os.environ, **(api_env(kortix) if mode == "api" else kortix_cli.env(kortix))}
    if mode == "cli":
        env.pop("KORTIX_CLI_TOKEN", None)
    seen: list[bytes] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        seen.append((entry / "cmdline").read_bytes())
                    except OSError:
                        pass
            time.sleep(0.01)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = subprocess.run([sys.executable, "-m", "kortix_guard", "kortix", "push"],
                              cwd=pushable, env=env, capture_output=True, timeout=120)
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stderr
    assert any(b"kortix_guard" in c for c in seen)  # the watcher saw the push running
    if mode == "cli":
        assert any(b"secrets\0set\0" in c for c in seen)
    blob = b"\n".join(seen).decode("utf-8", "replace")
    _no_value_in(blob, done.stdout.decode(), done.stderr.decode())
    assert TOKEN not in blob


@pytest.mark.parametrize("mode", ["api", "cli"])
@pytest.mark.parametrize(("status", "hint"), [(429, "wait 7 s and run it again"),
                                              (500, "run it again later")])
def test_a_refusal_half_way_says_which_names_went(pushable: Path, kortix: Kortix,
                                                  kortix_cli: StandInCli, mode: str, status: int,
                                                  hint: str) -> None:
    kortix.fail_post = {3: (status, {"error": "slow down" if status == 429 else "db down"},
                            {"Retry-After": "7"})}
    env = api_env(kortix) if mode == "api" else kortix_cli.env(kortix)
    result = kg_proc("kortix", "push", cwd=pushable, env=env)
    names = list(VALUES)
    assert_exit(result, 2, f"pushed before it: {names[0]}, {names[1]}; not pushed: {names[2]}, "
                           f"and {names[3]}, {names[4]} (not attempted)")
    if mode == "api":
        assert f"(HTTP {status}" in result.err and hint in result.err
    else:
        assert f"HTTP {status}: " in result.err and "exit 1" in result.err
    assert "Traceback" not in result.all
    _no_value_in(result.all)
    # Run again: only what did not go is sent.
    before = kortix.posts
    assert_exit(kg_proc("kortix", "push", cwd=pushable, env=env), 0, "pushed 3 secret(s)",
                "2 unchanged since the last push from here")
    assert kortix.posts == before + 3
    assert dict(kortix.received) == VALUES


@pytest.mark.parametrize(("setup", "message", "hint"), [
    (lambda k, e: e.update(KORTIX_CLI_TOKEN="kortix_pat_wrong"), "rejected the token from "
     "KORTIX_CLI_TOKEN (HTTP 401)", "set KORTIX_CLI_TOKEN to a Kortix service account's token"),
    (lambda k, e: setattr(k, "admin", False), "may not manage this project's secrets (HTTP 403: "
     "Owner or admin role required)", "project.secret.write"),
    (lambda k, e: e.update(KORTIX_PROJECT_ID="0000-not-mine"), "Kortix knows no such project "
     "for this token (HTTP 404)", "kortix projects link"),
    (lambda k, e: setattr(k, "delay", 3), "no answer within 1 s", "--timeout SECONDS"),
    (lambda k, e: e.update(KORTIX_API_URL="http://127.0.0.1:9/v1"), "could not reach it",
     "check the network"),
    (lambda k, e: e.update(KORTIX_API_URL="http://kortix.example.com"), "plain http: secret "
     "values would cross the network unencrypted", "https://"),
    (lambda k, e: e.pop("KORTIX_PROJECT_ID"), "no Kortix project", "--project ID"),
    (lambda k, e: (e.pop("KORTIX_CLI_TOKEN"), e.update(PATH="/usr/bin:/bin")),
     "no Kortix token here, and no `kortix` command on PATH", "kortix login"),
], ids=["401", "403", "404", "timeout", "unreachable", "plain-http", "no-project", "no-token"])
def test_each_refusal_is_one_message_and_exit_2(pushable: Path, kortix: Kortix, setup,
                                                message: str, hint: str) -> None:
    env = api_env(kortix)
    setup(kortix, env)
    if "KORTIX_CLI_TOKEN" not in env:
        env["KORTIX_CONFIG_FILE"] = str(pushable / "no-such-config.json")
    result = kg_proc("kortix", "push", "--timeout", "1", cwd=pushable, env=env)
    assert_exit(result, 2, message, "\n  hint: ")
    assert hint in result.err
    assert result.err.count("kortix-guard: error:") == 1
    _no_value_in(result.all)
    assert TOKEN not in result.all


def test_kortix_names_are_refused_before_anything_is_sent(pushable: Path, kortix: Kortix) -> None:
    result = kg("kortix", "push", "--only", "KORTIX_TOKEN", cwd=pushable, env=api_env(kortix))
    assert_exit(result, 2, "KORTIX_* names are the platform's runtime variables")
    assert kortix.calls == []


def test_dry_run_says_new_or_replacing_and_sends_nothing(pushable: Path, kortix: Kortix) -> None:
    kortix.secrets = {"DATABASE_URL": "old"}
    result = kg("kortix", "push", "--dry-run", cwd=pushable, env=api_env(kortix))
    assert_exit(result, 0, "nothing sent")
    assert "would set DATABASE_URL (replaces the value there)" in result.out
    assert "would set TLS_KEY (new)" in result.out
    assert kortix.posts == 0 and kortix.secrets == {"DATABASE_URL": "old"}


def test_a_required_name_without_a_value_is_said(pushable: Path, kortix: Kortix) -> None:
    write(pushable, {"kortix.yaml": manifest_for(3, required=(*VALUES, "STRIPE_KEY"))[1]})
    result = kg("kortix", "push", cwd=pushable, env=api_env(kortix))
    assert_exit(result, 0, "STRIPE_KEY is required but has no value in the store: not pushed")


def test_prune_asks_then_removes_what_is_no_longer_declared(pushable: Path, kortix: Kortix) -> None:
    kortix.secrets = {"OLD_TOKEN": "x", "KORTIX_RUNTIME": "platform's"}
    env = api_env(kortix)
    refused = kg("kortix", "push", "--prune", cwd=pushable, env=env)  # no terminal, no --yes
    assert_exit(refused, 2, "--prune would remove OLD_TOKEN", "pass --yes")
    assert kortix.posts == 0
    pid, fd = spawn(pushable, "kortix", "push", "--prune", env=env)  # on a terminal
    asked = read_until(fd, b"[y/N]")
    assert b"remove 1 secret(s) from project" in asked and b"OLD_TOKEN" in asked
    os.write(fd, b"y\n")
    code, out = finish(pid, fd, b"takes effect in the next session")
    assert code == 0, out
    assert b"removed 1 secret(s) no longer declared: OLD_TOKEN" in out
    assert "OLD_TOKEN" not in kortix.secrets and "KORTIX_RUNTIME" in kortix.secrets


def test_push_finds_the_cli_login_and_the_link(pushable: Path, kortix: Kortix,
                                               tmp_path: Path) -> None:
    """No KORTIX_CLI_TOKEN: the CLI's config file (the host .kortix/link.json names, else the
    active one) and the link's project, as the CLI finds them."""
    config = tmp_path / "kortix.json"
    config.write_text(json.dumps({"active": "cloud", "hosts": {
        "cloud": {"url": "https://api.kortix.com", "token": ""},
        "mine": {"url": kortix.url + "/", "token": TOKEN}}}))
    write(pushable, {".kortix/link.json": json.dumps({"project_id": PROJECT, "host": "mine"})})
    result = kg("kortix", "push", "--only", "GREETING", cwd=pushable,
                env={"KORTIX_CONFIG_FILE": str(config)})
    assert_exit(result, 0, f"pushed 1 secret(s) to project {PROJECT} at {kortix.url}:")
    # The older single-host file, where the CLI kept its login before.
    home = tmp_path / "home"
    (home / ".config" / "kortix").mkdir(parents=True)
    (home / ".config" / "kortix" / "auth.json").write_text(json.dumps(
        {"api_base": kortix.url, "token": TOKEN}))
    result = kg("kortix", "push", "--all", "--only", "GREETING", "--project", PROJECT,
                cwd=pushable, env={"HOME": str(home)})
    assert_exit(result, 0, "pushed 1 secret(s)")
    assert kortix.received == [("GREETING", VALUES["GREETING"])] * 2
