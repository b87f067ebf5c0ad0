"""Every command that reads the manifest's names, on each of Kortix's manifest versions:
kortix.toml (1) and kortix.yaml (2 and 3). One test per command, parametrised by version."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    VERSIONS,
    assert_exit,
    git,
    git_init,
    kg,
    kg_proc,
    manifest_for,
    write,
)
from tests.scan.conftest import TOKENS, rules_found
from tests.scan.test_modes import commit_all

DB = "postgres://u:Zq8-versions-db@h/d"  # kortix-guard: allow


@pytest.fixture(params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def version(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def versioned(tmp_path: Path, version: int) -> Path:
    """A repository whose manifest declares DATABASE_URL (required), OPENAI_API_KEY and
    STRIPE_KEY (optional), in this version, with an empty store."""
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(version, optional=("OPENAI_API_KEY", "STRIPE_KEY"),
                              agents={"kortix": "all", "billing": ["stripe_key"],
                                      "reader": "none"})
    write(root, {name: text})
    assert kg("key", "new", cwd=root).code == 0
    return root


def manifest_name(version: int) -> str:
    return manifest_for(version)[0]


def env_section(version: int) -> str:
    return "kortix.toml [env]" if version == 1 else "kortix.yaml `env`"


def test_manifest_check_places_each_problem(tmp_path: Path, version: int) -> None:
    name, text = manifest_for(version, required=("DATABASE_URL", "api_key"))
    write(tmp_path, {name: text})
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "api_key" in row)
    col = text.splitlines()[line - 1].index('"api_key"') + 1
    assert_exit(kg("manifest", "check", cwd=tmp_path), 1,
                f"{name}:{line}:{col}: KG111 'api_key' is not upper case")


def test_init_uses_the_manifest_there_and_writes_no_other(tmp_path: Path, version: int) -> None:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(version)
    write(root, {name: text})
    result = kg("init", cwd=root)
    assert result.code == 0, result.all
    assert (root / name).read_text() == text
    assert sorted(p.name for p in root.glob("kortix.*")) == [name]


def test_secrets_ls_and_set(versioned: Path, version: int) -> None:
    assert kg("secrets", "set", "DATABASE_URL=-", cwd=versioned, input=DB).code == 0
    rows = {r["name"]: r for r in json.loads(kg("secrets", "ls", "--format", "json",
                                                cwd=versioned).out)}
    assert rows["DATABASE_URL"]["spec"] == "required"
    assert rows["STRIPE_KEY"]["spec"] == "optional"
    said = kg("secrets", "set", "OPENAI_APIKEY=-", cwd=versioned, input="x").all
    assert (f"OPENAI_APIKEY is not declared in {env_section(version)}; did you mean "
            f"OPENAI_API_KEY?") in said


def test_inject_and_run(versioned: Path) -> None:
    assert_exit(kg("inject", "--check", cwd=versioned), 1, "missing: DATABASE_URL")
    kg("secrets", "set", "DATABASE_URL=-", cwd=versioned, input=DB)
    kg("secrets", "set", "STRIPE_KEY=-", cwd=versioned, input="sk-stripe-versions")
    out = kg("inject", "--format", "json", cwd=versioned).out
    assert json.loads(out) == {"DATABASE_URL": DB, "STRIPE_KEY": "sk-stripe-versions"}
    ran = kg_proc("run", "--", sys.executable, "-c",
                  "import os; print(os.environ['DATABASE_URL'])", cwd=versioned)
    assert ran.code == 0 and ran.out.strip() == DB


def test_env_push_and_pull(versioned: Path) -> None:
    write(versioned, {"in.env": f"DATABASE_URL={DB}\nOPENAI_API_KEY=sk-versions\n"})
    assert kg("env", "push", "--from", "in.env", cwd=versioned).code == 0
    pulled = kg("env", "pull", cwd=versioned).out.splitlines()
    assert [line for line in pulled if line and not line.startswith("#")] == [
        "DATABASE_URL=", "OPENAI_API_KEY=", "STRIPE_KEY="]


def test_check_sees_a_missing_required_secret(versioned: Path, version: int) -> None:
    rows = {r["name"]: r for r in json.loads(kg("check", "--format", "json",
                                                cwd=versioned).out)}
    assert rows["manifest"]["status"] == "pass"
    assert rows["manifest"]["summary"] == f"{manifest_name(version)} is valid"
    assert rows["required secrets"]["status"] == "fail"


def test_the_scanner_knows_the_declared_names(versioned: Path) -> None:
    write(versioned, {"settings.py": 'STRIPE_KEY = "Zq8versionsLiteral93"\n'})  # kortix-guard: allow
    git("add", "settings.py", cwd=versioned)
    assert "KG310" in rules_found(versioned)


@pytest.mark.parametrize("head_version", VERSIONS, ids=[f"to-v{v}" for v in VERSIONS])
def test_the_gate_reads_the_bases_own_manifest(tmp_path: Path, version: int,
                                                head_version: int) -> None:
    """The base excludes fixtures/ in its manifest (any version); the change moves to another
    manifest version and drops the exclude: the gate still reads the base's settings; and a
    change that adds an exclude for itself is not obeyed."""
    repo = git_init(tmp_path / "repo")
    name, text = manifest_for(version, required=(), optional=(),
                              guard={"exclude": ["fixtures/*"]})
    write(repo, {name: text})
    base = commit_all(repo, "base")
    (repo / name).unlink()
    head_name, head_text = manifest_for(head_version, required=(), optional=(),
                                        guard={"exclude": ["src/*"]})
    write(repo, {head_name: head_text, "fixtures/t.txt": TOKENS["github-classic"] + "\n",
                 "src/app.py": f'token = "{TOKENS["github-classic"]}"\n'})
    commit_all(repo, "head")
    assert rules_found(repo, "--range", f"{base}..HEAD") == ["KG320"]  # src/, not fixtures/


def test_agent_gets_what_it_is_granted(versioned: Path, version: int) -> None:
    kg("secrets", "set", "DATABASE_URL=-", cwd=versioned, input=DB)
    kg("secrets", "set", "STRIPE_KEY=-", cwd=versioned, input="sk-stripe-versions")
    billing = kg("inject", "--agent", "billing", "--format", "json", cwd=versioned)
    if version == 1:
        assert_exit(billing, 2, "kortix.toml is version 1, which has no per-agent secret grants")
        return
    # Granted without case (`stripe_key`), as Kortix compares; DATABASE_URL is required, but
    # not granted to billing, so its absence from the export is not a failure.
    assert json.loads(billing.out) == {"STRIPE_KEY": "sk-stripe-versions"}
    assert "injected 1 secret(s) for agent billing: STRIPE_KEY" in billing.err
    assert json.loads(kg("inject", "--agent", "reader", "--format", "json",
                         cwd=versioned).out) == {}
    assert set(json.loads(kg("inject", "--agent", "kortix", "--format", "json",
                             cwd=versioned).out)) == {"DATABASE_URL", "STRIPE_KEY"}
    assert_exit(kg("inject", "--agent", "billing", "--only", "DATABASE_URL", "--check",
                   cwd=versioned), 2, "agent billing is not granted DATABASE_URL")
    assert_exit(kg("inject", "--agent", "nobody", "--check", cwd=versioned), 2,
                "declares no agent nobody (its agents: billing, kortix, reader)")
    ran = kg_proc("run", "--agent", "billing", "--", sys.executable, "-c",
                  "import os; print(sorted(k for k in os.environ if k in "
                  "('DATABASE_URL', 'STRIPE_KEY', 'OPENAI_API_KEY')))", cwd=versioned)
    assert ran.code == 0 and ran.out.strip() == "['STRIPE_KEY']"


def test_required_fails_fast_only_for_what_the_agent_is_granted(tmp_path: Path) -> None:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=("DATABASE_URL", "STRIPE_KEY"), optional=(),
                              agents={"kortix": "all", "billing": ["STRIPE_KEY"],
                                      "off": "all"})
    write(root, {name: text.replace("  off:\n", "  off:\n    enabled: false\n")})
    kg("key", "new", cwd=root)
    kg("secrets", "set", "DATABASE_URL=-", cwd=root, input=DB)
    assert_exit(kg("inject", "--agent", "billing", "--check", cwd=root), 1,
                "missing: STRIPE_KEY", "1 required secret(s) granted to agent billing missing")
    assert_exit(kg("inject", "--agent", "off", "--check", cwd=root), 2, "the agent is disabled")
    assert_exit(kg("inject", "--agent", "billing", "--include-undeclared", "--check", cwd=root),
                2, "--agent exports declared names only")
    assert os.environ.get("STRIPE_KEY") is None
