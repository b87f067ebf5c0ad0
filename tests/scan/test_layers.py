"""Each layer with a table of positive and negative cases, through `kortix-guard scan PATH`."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from kortix_guard.store.crypto import Key
from tests.conftest import MANIFEST, git, kg, write
from tests.scan.conftest import TOKENS, pem, rand, rules_found, scan_json

SHA256 = hashlib.sha256(b"x").hexdigest()
SHA512_B64 = "sha512-" + rand(86, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") + "=="

PATTERN_POSITIVES = [
    *[(name, "config.py", f'TOKEN = "{value}"\n', "KG320") for name, value in TOKENS.items()
      if name != "jwt"],
    ("jwt", "app.js", f"const t = '{TOKENS['jwt']}';\n", "KG323"),
    ("pem", "deploy/key.txt", pem() + "\n", "KG321"),
    ("pem-in-json", "sa.txt", '{"k": "' + pem().replace("\n", "\\n") + '"}\n', "KG321"),
    ("url-password", "settings.yaml", f"db: postgres://app:{rand(14)}@db.internal:5432/app\n",
     "KG322"),
    ("connection-string", "app.config",
     f'<add value="Server=db;User Id=app;Password={rand(12)};" />\n', "KG322"),
    ("kortix-guard-key", "notes.md", f"the key is {Key.generate().text()}\n", "KG324"),
    ("keyword-config", "settings.yaml", f"password: {rand(10)}\n", "KG331"),
    ("keyword-code-strong", "settings.py", f'password = "{rand(12)}-{rand(4)}"\n', "KG331"),
]


@pytest.mark.parametrize(("name", "content", "rule"), [(c[1], c[2], c[3]) for c in PATTERN_POSITIVES],
                         ids=[c[0] for c in PATTERN_POSITIVES])
def test_patterns_find(tmp_path: Path, name: str, content: str, rule: str) -> None:
    write(tmp_path, {name: content})
    code, findings = scan_json(tmp_path, name)
    assert code == 1
    assert rule in [f["rule"] for f in findings]
    assert findings[0]["line"] == 1


PATTERN_NEGATIVES = [
    ("checksum", "SHA256SUMS.py", f'CHECKSUM = "sha256:{SHA256}"\n'),
    ("sri", "index.html", f'<script src="a.js" integrity="{SHA512_B64}"></script>\n'),
    ("image-digest", "compose.yaml", f"image: python@sha256:{SHA256}\n"),
    ("package-lock", "package-lock.json", f'{{"integrity": "{SHA512_B64}", "x": "{rand(40)}"}}\n'),
    ("go.sum", "go.sum", f"golang.org/x/net v0.1.0 h1:{rand(43)}=\n"),
    ("poetry.lock", "poetry.lock", f'content-hash = "{SHA256}"\nfiles = ["{rand(40)}"]\n'),
    ("pylock", "pylock.toml", f'hashes = {{sha256 = "{SHA256}"}}\nx = "{rand(40)}"\n'),
    ("data-uri", "page.html", f'<img src="data:image/png;base64,{rand(60)}">\n'),
    ("ansible-vault", "vault.yml", f"$ANSIBLE_VAULT;1.1;AES256\n{rand(64, '0123456789abcdef')}\n"),
    ("sealed-store-value", "old.toml", f'A = "kg1:{rand(60, "abcdefABCDEF0123456789_-")}"\n'),
    ("env-reference", "deploy.yaml", "password: ${DB_PASSWORD}\n"),
    ("placeholder-url", "README.md", "postgres://user:<password>@localhost/db\n"),
    ("pem-header-only", "docs.md", "-----BEGIN " + "RSA PRIVATE KEY" + "----- starts a key\n"),
    ("bad-checksum-key", "notes.md", "kgk1_" + rand(48, "ABCDEFGHIJKLMNOP") + "\n"),
    ("plain-code", "app.py", "def get_key(d):\n    return d['key']\n"),
    ("name-reference", "kortix.toml", 'secret_env = "WEBHOOK_SLACK_SECRET"\n'),
]


@pytest.mark.parametrize(("name", "content"), [(c[1], c[2]) for c in PATTERN_NEGATIVES],
                         ids=[c[0] for c in PATTERN_NEGATIVES])
def test_patterns_leave_alone(tmp_path: Path, name: str, content: str) -> None:
    write(tmp_path, {name: content})
    assert scan_json(tmp_path, name) == (0, [])


DECLARED = MANIFEST  # declares DATABASE_URL (required) and OPENAI_API_KEY (optional)
DECLARED_POSITIVES = [
    ("dotenv", "deploy.env", "DATABASE_URL=postgres-url-plain\n"),  # kortix-guard: allow
    ("export", "run.sh", "export DATABASE_URL='mysql-thing'\n"),
    ("yaml", "values.yaml", "env:\n  DATABASE_URL: some-literal\n"),
    ("json", "config.json", '{"OPENAI_API_KEY": "literal-value"}\n'),  # kortix-guard: allow
    ("toml", "settings.toml", 'OPENAI_API_KEY = "a-literal"\n'),  # kortix-guard: allow
    ("code", "app.py", 'os.environ["DATABASE_URL"] = "in-code-literal"\n'),
]
DECLARED_NEGATIVES = [
    ("braces", "a.env", "DATABASE_URL=${DATABASE_URL}\n"),
    ("dollar", "a.sh", "export DATABASE_URL=$DATABASE_URL\n"),
    ("gha", "ci.yaml", "DATABASE_URL: ${{ secrets.DATABASE_URL }}\n"),
    ("jinja", "t.yaml", "DATABASE_URL: {{ db_url }}\n"),
    ("environ-read", "app.py", 'url = os.environ["DATABASE_URL"]\n'),
    ("code-expression", "app.py", "DATABASE_URL = settings.database_url\n"),
    ("empty", "a.env", "DATABASE_URL=\n"),
    ("changeme", "a.env", "DATABASE_URL=changeme\n"),
    ("angle", "a.env", "DATABASE_URL=<your database url>\n"),
    ("xxx", "a.env", "OPENAI_API_KEY=xxxx\n"),
    ("your-here", "a.env", "OPENAI_API_KEY=your-openai-key-here\n"),
    ("example", "a.env", "DATABASE_URL=postgres://example.com/db\n"),
    ("comparison", "app.py", 'if DATABASE_URL == "x":\n'),
    ("manifest", "kortix.toml", DECLARED),
    ("undeclared", "a.env", "OTHER_THING=literal-value\n"),
]


@pytest.mark.parametrize(("name", "content"), [(c[1], c[2]) for c in DECLARED_POSITIVES],
                         ids=[c[0] for c in DECLARED_POSITIVES])
def test_declared_names_find(project: Path, name: str, content: str) -> None:
    write(project, {name: content})
    findings = [f for f in scan_json(project, name)[1] if f["rule"] == "KG310"]
    assert len(findings) == 1
    assert "keep it in the store: `kortix-guard secrets set " in findings[0]["message"]


@pytest.mark.parametrize(("name", "content"), [(c[1], c[2]) for c in DECLARED_NEGATIVES],
                         ids=[c[0] for c in DECLARED_NEGATIVES])
def test_declared_names_leave_alone(project: Path, name: str, content: str) -> None:
    write(project, {name: content})
    assert "KG310" not in rules_found(project, name)


def test_known_store_values_whatever_their_shape(store_project: Path) -> None:
    value = "plain words but real"  # no pattern would ever flag this
    kg("secrets", "set", f"DATABASE_URL={value}", "OPENAI_API_KEY=short", cwd=store_project)
    write(store_project, {"notes.txt": f"remember: {value}\nand short\n"})
    code, findings = scan_json(store_project, "notes.txt")
    assert [(f["rule"], f["line"], f["col"]) for f in findings] == [("KG300", 1, 11)]
    assert "value of DATABASE_URL" in findings[0]["message"]


def _k8s_secret(value: str) -> str:
    import base64

    encoded = base64.b64encode(f"DATABASE_URL={value}\nPORT=8080\n".encode()).decode()
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n"
            f"  app.env: {encoded}\n")


def _docker_config(value: str) -> str:
    import base64

    auth = base64.b64encode(f"deploy:{value}".encode()).decode()
    return '{"auths": {"registry.corp.io": {"auth": "' + auth + '"}}}\n'


def _basic_header(value: str) -> str:
    import base64

    return "Authorization: Basic " + base64.urlsafe_b64encode(f"ci:{value}".encode()).decode() + "\n"


@pytest.mark.parametrize(("path", "content", "form"), [
    ("k8s/secret.yaml", _k8s_secret, "base64"),
    ("deploy/registry-auth.json", _docker_config, "base64"),
    ("http/request.txt", _basic_header, "base64"),
    ("db.ini", lambda v: "url = postgres://app:" + __import__("urllib.parse").parse.quote(v, safe="")
     + "@db/app\n", "URL-encoded"),
])
def test_the_commit_hook_finds_a_store_value_encoded(store_project: Path, path: str,
                                                     content, form: str) -> None:
    """The third review: the store's own values passed the commit hook base64-encoded (a
    Kubernetes Secret's `data:`, a Docker `auth`, a Basic header) or URL-encoded."""
    value = "pl@in words/but+real?=&"  # kortix-guard: allow (planted)
    kg("secrets", "set", "DATABASE_URL=-", cwd=store_project, input=value)
    write(store_project, {path: content(value)})
    git("add", path, cwd=store_project)
    hook = subprocess.run([sys.executable, "-c", "import sys; from kortix_guard.scan.commit_hook "
                           "import main; sys.exit(main(sys.argv[1:]))", path],
                          cwd=store_project, capture_output=True, text=True)
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert f"KG300 [high] the store's value of DATABASE_URL, {form}" in hook.stdout
    assert value not in hook.stdout + hook.stderr


def test_known_values_need_a_key(store_project: Path, user_config: Path) -> None:
    value = "plain words but real"
    kg("secrets", "set", f"DATABASE_URL={value}", cwd=store_project)
    write(store_project, {"notes.txt": f"remember: {value}\n"})
    from tests.store.conftest import forget_user_keys

    forget_user_keys(user_config)
    assert scan_json(store_project, "notes.txt") == (0, [])


@pytest.mark.parametrize(("env_name", "ignored", "found"), [
    (".env", True, True),          # ignored
    (".env.local", False, True),   # untracked
    (".env.example", False, False),  # examples are not sources of real values
])
def test_known_env_file_values(project: Path, env_name: str, ignored: bool, found: bool) -> None:
    value = "very ordinary text 42"
    write(project, {env_name: f"SOME_SETTING={value}\nTINY=abc\n", "app.txt": f"x {value} abc\n"})
    if ignored:
        write(project, {".gitignore": f"{env_name}\n"})
    assert ("KG301" in rules_found(project, "app.txt")) is found


def test_public_env_values_are_not_known_values(project: Path) -> None:
    """A `.env` entry whose name ships to browsers is public: not scanned for (unless
    `[guard] public_by_design = false`)."""
    value = "https://abcdefgh.supabase.co/project-42"
    write(project, {".env": f"NEXT_PUBLIC_SUPABASE_URL={value}\n", ".gitignore": ".env\n",
                    "app.txt": f"url {value}\n"})
    assert "KG301" not in rules_found(project, "app.txt")
    manifest = (project / "kortix.toml").read_text()
    write(project, {"kortix.toml": manifest + "\n[guard]\npublic_by_design = false\n"})
    assert "KG301" in rules_found(project, "app.txt")


def test_the_commit_hook_remembers_each_manifest_verdict(project: Path) -> None:
    """The hook reads the manifest's names from a cache keyed by its content: a changed
    manifest is read afresh, and a broken one warns every time."""
    hook = [sys.executable, "-m", "kortix_guard.scan.commit_hook"]
    password = "Zq8pLm2x" + "R4vT9wKe"  # apart: this repository's own scan stays clean
    write(project, {"settings.yaml": f"DATABASE_URL: postgres://u:{password}@db.corp.io/app\n"})
    git("add", "settings.yaml", cwd=project)
    for _ in range(2):
        proc = subprocess.run(hook, cwd=project, capture_output=True, text=True)
        assert proc.returncode == 1 and "KG310" in proc.stdout, proc.stderr
    manifest = (project / "kortix.toml").read_text()
    write(project, {"kortix.toml": manifest.replace('"DATABASE_URL"', '"OTHER_URL"')})
    proc = subprocess.run(hook, cwd=project, capture_output=True, text=True)
    assert "KG310" not in proc.stdout
    write(project, {"kortix.toml": manifest.replace('"DATABASE_URL"', '"KORTIX_URL"')})
    for _ in range(2):
        proc = subprocess.run(hook, cwd=project, capture_output=True, text=True)
        assert "scanning without its names" in proc.stderr, proc.stderr


def test_tracked_env_file_is_not_a_value_source(project: Path) -> None:
    value = "very ordinary text 42"
    write(project, {"config/.env.ci": f"SOME_SETTING={value}\n", "app.txt": f"x {value}\n"})
    git("add", "config/.env.ci", cwd=project)
    assert "KG301" not in rules_found(project, "app.txt")


def test_min_known_length(store_project: Path) -> None:
    kg("secrets", "set", "DATABASE_URL=abcdefghij", cwd=store_project)
    write(store_project, {"a.txt": "abcdefghij\n"})
    assert rules_found(store_project, "a.txt") == ["KG300"]
    manifest = (store_project / "kortix.toml").read_text()
    write(store_project, {"kortix.toml": manifest + "\n[guard]\nmin_known_length = 11\n"})
    assert rules_found(store_project, "a.txt") == []


NEVER_COMMIT = [
    (".env", f"API={rand(20)}\n", True),
    ("config/.env.production", f"SESSION_SECRET={rand(24)}\n", True),
    (".env.production", "NEXT_PUBLIC_SITE=https://app.corp.io\nNEXT_PUBLIC_KEY=pk_live_x\n", False),
    (".env", "TZ=Etc/UTC\nPORT=3000\nDB_PASSWORD=changeme\n", False),
    (".env.example", "API_KEY=\nDATABASE_URL=<url>\nDEBUG=true\n", False),
    (".env.sample", f"API_KEY={rand(30)}\n", False),  # a line finding (KG331), not the file
    ("id_rsa", "anything\n", True),
    ("keys/server.pem", pem() + "\n", True),
    ("certs/public.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", False),
    ("client.p12", b"\x30\x82\x00binary", True),
    ("putty.ppk", "PuTTY-User-Key-File-2\n", True),
    (".netrc", "machine h login u password p\n", True),
    (".pgpass", "h:5432:db:u:p\n", True),
    (".git-credentials", "https://u:p@github.com\n", True),
    (".npmrc", "//registry.npmjs.org/:_authToken=abc\n", True),
    (".npmrc", "registry=https://registry.npmjs.org/\n", False),
    (".pypirc", "[pypi]\nusername = __token__\npassword = abc\n", True),
    (".docker/config.json", '{"auths": {"r.io": {"auth": "dTpw"}}}\n', True),
    (".aws/credentials", "[default]\naws_secret_access_key = abc\n", True),
    ("config/master.key", "abc123\n", True),
    (".htpasswd", "u:$apr1$x$y\n", True),
    ("etc/shadow", "root:*:19000:0:99999:7:::\n", True),
    ("ci.key", Key.generate().text() + "\n", True),
    ("sa.json", '{"type": "service_account", "private_key": "-----BEGIN ' + 'PRIVATE KEY-----\\nMIIE"}',
     True),
]


@pytest.mark.parametrize(("name", "content", "blocked"), NEVER_COMMIT,
                         ids=[f"{c[0]}-{'blocked' if c[2] else 'ok'}" for c in NEVER_COMMIT])
def test_never_commit_files(tmp_path: Path, name: str, content: str | bytes, blocked: bool) -> None:
    write(tmp_path, {name: content})
    assert ("KG340" in rules_found(tmp_path, name)) is blocked


def test_every_key_text_is_found(tmp_path: Path) -> None:
    """Key texts end in any base64url character, '-' and '_' included."""
    keys = [Key.generate().text() for _ in range(200)]
    assert any(k[-1] in "-_" for k in keys)
    write(tmp_path, {"keys.txt": "".join(f"key: {k}\n" for k in keys)})
    assert rules_found(tmp_path, "keys.txt") == ["KG324"] * len(keys)
