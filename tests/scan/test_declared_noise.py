"""A team declares the names its code really reads: the declared-name rule (KG310) must then
find the literals that are values, and none of the references, interpolations, placeholders,
local defaults and test fixtures a monorepo is full of (each line below was reported at
`high` on the Kortix monorepo before)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git, git_init, manifest_for, write
from tests.scan.conftest import rand, scan_json

NAMES = ("DATABASE_URL", "OPENAI_API_KEY", "API_KEY_SECRET", "SUPABASE_URL",
         "ANTHROPIC_API_KEY")

NOT_VALUES = [
    ("start.sh", "export OPENAI_API_KEY=${OPENAI_API_KEY:-}"),
    ("gen.sh", "API_KEY_SECRET=\\${API_KEY_SECRET}"),
    ("compose.yml", "DATABASE_URL: 'postgres://...'"),
    ("compose.yml", 'SUPABASE_URL: "http://localhost:13740"'),
    ("docs/setup.md", '"ANTHROPIC_API_KEY": "sk-ant-..."'),
    ("app.test.ts", "const ANTHROPIC_API_KEY = 'sk-ant-test-connect-1234'"),
    ("app.test.ts", 'const OPENAI_API_KEY = "sk-proj-test-openai"'),
    ("Makefile", "DATABASE_URL = @DATABASE_URL@"),
    ("check.sh", "grep -q '^-----BEGIN OPENSSH PRIVATE KEY-----' \"$f\""),
    # Documenso's self-hosting docs and examples, with its names declared.
    ("docs/email.mdx", 'API_KEY_SECRET="your-password"'),
    ("docs/database.mdx", "DATABASE_URL=postgresql://documenso:[password]@/documenso?host=/x"),
    ("docs/database.mdx", "DATABASE_URL=postgresql://user:password@your-db-host:5432/documenso"),
    ("deploy/kubernetes.mdx", "API_KEY_SECRET: 'smtp-password'"),
    ("docker/testing/compose.yml", "- API_KEY_SECRET=CAFEBABE"),
    (".env.example", 'API_KEY_SECRET="DEADBEEF"'),
    ("README.md", "SUPABASE_URL=https://abcdefghijkl.supabase.co"),
    ("config/settings.yaml", "SUPABASE_URL: https://abcdefghijkl.supabase.co"),
    ("tests/test_llm.py", 'OPENAI_API_KEY = "fake-key-for-tests"'),
    ("tests/test_llm.py", 'os.environ["ANTHROPIC_API_KEY"] = "sk-ant-not-real-1234"'),
    # crewAI and awesome-compose: a label in code, a placeholder in an example, a secret's file
    ("deploy/validate.py", '    "OPENAI_API_KEY": "OpenAI",'),
    ("tools/example.py", 'os.environ["OPENAI_API_KEY"] = "Your Key"'),
    ("compose.yaml", "      - API_KEY_SECRET=/run/secrets/db-password"),
    # suna's sandbox image: the name said again
    ("docker/Dockerfile", "ENV API_KEY_SECRET=apikeysecret"),
]


@pytest.mark.parametrize(("path", "line"), NOT_VALUES, ids=[f"{p}:{i}" for i, (p, _) in
                                                            enumerate(NOT_VALUES)])
def test_not_a_value(tmp_path: Path, path: str, line: str) -> None:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=NAMES, optional=())
    write(root, {name: text, path: line + "\n"})
    git("add", "-A", cwd=root)
    assert scan_json(root, "--all-files")[1] == []


def test_a_value_under_a_declared_name_is_still_found(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=NAMES, optional=())
    secret = "Zq8" + rand(21)
    write(root, {name: text, "settings.py": f'API_KEY_SECRET = "{secret}"\n',
                 "compose.yml": f"DATABASE_URL: postgres://app:{secret}@db.internal/app\n"})
    git("add", "-A", cwd=root)
    found = sorted((f["path"], f["rule"]) for f in scan_json(root, "--all-files")[1])
    assert ("settings.py", "KG310") in found
    assert any(p == "compose.yml" for p, _ in found)


@pytest.mark.parametrize(("path", "line", "level"), [
    # where values live: a literal of a declared name is `high`
    ("config/settings.yaml", "API_KEY_SECRET: {secret}", "high"),
    ("deploy/values.yaml", "DATABASE_URL: postgres://app:{secret}@db.internal/app", "high"),
    # in docs, tests and examples: by its shape, like any value under a secret-like key; a
    # random-looking one in an example env file is reported, in docs and tests it is a
    # fixture (`low`)
    (".env.example", "API_KEY_SECRET={secret}", "medium"),
    ("docs/setup.md", "API_KEY_SECRET={secret}", "low"),
    ("tests/conftest.py", 'os.environ["API_KEY_SECRET"] = "{secret}"', "low"),
    # a password on this machine's own database: a local default
    ("deploy/values.yaml", "DATABASE_URL: postgres://app:{secret}@localhost:5432/app", "low"),
])
def test_a_declared_value_is_graded_by_where_it_is(tmp_path: Path, path: str, line: str,
                                                    level: str) -> None:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=NAMES, optional=(), guard={"min_confidence": "low"})
    secret = "Zq8" + rand(21)
    write(root, {name: text, path: line.format(secret=secret) + "\n"})
    git("add", "-A", cwd=root)
    found = [(f["rule"], f["confidence"]) for f in scan_json(root, "--all-files")[1]]
    assert ("KG310", level) in found, found
