"""A stand-in for Kortix's API on 127.0.0.1 and for its `kortix` CLI on PATH.

Neither the real service nor the real CLI can be reached from the machines that run these
tests, so both answer as the pinned sources do (kortix-ai/suna, commits in docs/choices.md):
the API as apps/api/src/projects/index.ts does for `GET|POST /v1/projects/:id/secrets` and
`DELETE /v1/projects/:id/secrets/:name` (status codes, bodies, the upper-casing of names, the
KORTIX_* refusal), the CLI as apps/cli/src/commands/secrets.ts does for `secrets set NAME=-`
(stdin read once, one trailing newline stripped, `✓ NAME`, `k/n set`, exit 1 on any API
error) and `secrets unset NAME`.
"""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TOKEN = "kortix_sa_" + "Qm7xT2pLw9Rv4Kd8Zn3Hs6Fb1Yc5Gj0A"  # kortix-guard: allow (a test token)
PROJECT = "3f1c2a9e-0b7d-4c55-9a1e-6d2f8b4c7e10"
NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")


@dataclass
class Kortix:
    """The service's state, and what a test makes it do."""

    url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    manifest_status: str = "loaded"
    admin: bool = True
    delay: float = 0.0
    # The Nth POST (counted from 1) answers with (status, body, headers) instead.
    fail_post: dict[int, tuple[int, dict, dict]] = field(default_factory=dict)
    posts: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    received: list[tuple[str, str]] = field(default_factory=list)  # (name, value) as stored


class _Handler(BaseHTTPRequestHandler):
    kortix: Kortix

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: object, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        k = self.kortix
        k.calls.append((method, self.path))
        if k.delay:
            time.sleep(k.delay)
        m = re.fullmatch(r"/v1/projects/([^/]+)/secrets(?:/([^/]+))?", self.path)
        if m is None:
            return self._answer(404, {"error": "Not found"})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"error": "Unauthorized"})
        if m.group(1) != PROJECT:
            return self._answer(404, {"error": "Not found"})
        if not k.admin:
            return self._answer(403, {"error": "Owner or admin role required"})
        if method == "GET" and m.group(2) is None:
            stamp = "2026-12-07T10:00:00.000Z"
            return self._answer(200, {
                "items": [{"secret_id": f"s{i}", "project_id": PROJECT, "name": n,
                           "created_by": "u", "created_at": stamp, "updated_at": stamp}
                          for i, n in enumerate(k.secrets)],
                "required": k.required, "optional": k.optional,
                "manifest_status": k.manifest_status, "manifest_path": "kortix.yaml"})
        if method == "POST" and m.group(2) is None:
            k.posts += 1
            if k.posts in k.fail_post:
                return self._answer(*k.fail_post[k.posts])
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            name = body.get("name").strip().upper() if isinstance(body.get("name"), str) else ""
            if not name:
                return self._answer(400, {"error": "name is required"})
            if not NAME_RE.match(name):
                return self._answer(400, {"error": "name must be a valid env var name (A-Z, "
                                                   "0-9, _; max 64 chars)"})
            if name.startswith("KORTIX_"):
                return self._answer(400, {"error": "KORTIX_* names are reserved for platform "
                                                   "runtime variables"})
            if not isinstance(body.get("value"), str):
                return self._answer(400, {"error": "value is required"})
            k.secrets[name] = body["value"]
            k.received.append((name, body["value"]))
            return self._answer(200, {"secret_id": "s", "project_id": PROJECT, "name": name})
        if method == "DELETE" and m.group(2) is not None:
            name = m.group(2).strip().upper()
            if not NAME_RE.match(name):
                return self._answer(400, {"error": "Invalid secret name"})
            k.secrets.pop(name, None)
            return self._answer(200, {"ok": True})
        return self._answer(404, {"error": "Not found"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")


@pytest.fixture
def kortix() -> Kortix:
    """The stand-in API, serving on 127.0.0.1 for this test."""
    state = Kortix()
    handler = type("Handler", (_Handler,), {"kortix": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def api_env(kortix: Kortix, **extra: str) -> dict[str, str]:
    """What CI sets for `kortix push`: the token and the API, and the project."""
    return {"KORTIX_CLI_TOKEN": TOKEN, "KORTIX_API_URL": kortix.url + "/v1",
            "KORTIX_PROJECT_ID": PROJECT, **extra}


STAND_IN = '''#!{python}
"""A stand-in for the pinned `kortix` CLI's `secrets set` and `secrets unset`."""
import json, os, sys, urllib.error, urllib.request

with open({log!r}, "a") as log:
    log.write(json.dumps(sys.argv) + "\\n")
args = sys.argv[1:]
project = os.environ.get("KORTIX_PROJECT_ID")
if "--project" in args:
    i = args.index("--project")
    project = args[i + 1]
    del args[i:i + 2]
login = json.load(open(os.environ["STAND_IN_LOGIN"]))  # where this CLI keeps its login
if args[:2] == ["secrets", "set"]:
    pairs, used = [], False
    for raw in args[2:]:
        name, value = raw.split("=", 1)
        if value == "-":
            value = sys.stdin.buffer.read().decode("utf-8")
            value = value[:-1] if value.endswith("\\n") else value  # .replace(/\\n$/, '')
        pairs.append((name, value))
    ok = 0
    for name, value in pairs:
        req = urllib.request.Request(login["url"] + "/v1/projects/" + project + "/secrets",
                                     data=json.dumps({{"name": name, "value": value}}).encode(),
                                     headers={{"Authorization": "Bearer " + login["token"],
                                               "Content-Type": "application/json"}},
                                     method="POST")
        try:
            urllib.request.urlopen(req).read()
            ok += 1
            print("\\u2713 " + name)
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"null") or {{}}
            sys.stderr.write("\\u2717 HTTP %d: %s\\n  \\u2514\\u2500 for %s\\n"
                             % (e.code, body.get("error", ""), name))
    print("\\n  %d/%d set\\n" % (ok, len(pairs)))
    sys.exit(0 if ok == len(pairs) else 1)
if args[:2] == ["secrets", "unset"]:
    for name in args[2:]:
        req = urllib.request.Request(login["url"] + "/v1/projects/" + project + "/secrets/"
                                     + name, headers={{"Authorization": "Bearer " + login["token"]}},
                                     method="DELETE")
        urllib.request.urlopen(req).read()
        print("\\u2713 removed " + name)
    sys.exit(0)
sys.exit(2)
'''


@dataclass
class StandInCli:
    bin: Path
    log: Path

    def env(self, kortix: Kortix, **extra: str) -> dict[str, str]:
        """No token where kortix-guard looks; the CLI logged in where only it looks."""
        login = self.bin.parent / "login.json"
        login.write_text(json.dumps({"url": kortix.url, "token": TOKEN}))
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                "STAND_IN_LOGIN": str(login), "KORTIX_PROJECT_ID": PROJECT, **extra}

    def argvs(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] \
            if self.log.exists() else []


@pytest.fixture
def kortix_cli(tmp_path: Path) -> StandInCli:
    folder = tmp_path / "kortix-cli"
    (folder / "bin").mkdir(parents=True)
    log = folder / "argv.log"
    script = folder / "bin" / "kortix"
    script.write_text(STAND_IN.format(python=sys.executable, log=str(log)))
    script.chmod(0o755)
    return StandInCli(folder / "bin", log)
