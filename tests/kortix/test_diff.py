"""`kortix diff` and `check --kortix`: the manifest's names against the names set in Kortix
(names only: the service never gives a value back)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_exit, git_init, kg, kg_proc, manifest_for, write
from tests.kortix.conftest import Kortix, api_env


@pytest.fixture
def declared(tmp_path: Path) -> Path:
    root = git_init(tmp_path / "repo")
    name, text = manifest_for(3, required=("DATABASE_URL", "STRIPE_KEY"),
                              optional=("OPENAI_API_KEY",))
    write(root, {name: text})
    return root


def test_diff_names_what_is_missing_and_what_is_extra(declared: Path, kortix: Kortix) -> None:
    kortix.secrets = {"DATABASE_URL": "v", "OLD_TOKEN": "v", "KORTIX_RUNTIME": "v"}
    kortix.required, kortix.optional = ["DATABASE_URL", "STRIPE_KEY"], ["OPENAI_API_KEY"]
    result = kg("kortix", "diff", cwd=declared, env=api_env(kortix))
    assert_exit(result, 1, "missing in Kortix (required): STRIPE_KEY",
                "missing in Kortix (optional): OPENAI_API_KEY",
                "set in Kortix, not declared here: OLD_TOKEN", "names only")
    assert "KORTIX_RUNTIME" not in result.out  # the platform's own
    data = json.loads(kg("kortix", "diff", "--format", "json", cwd=declared,
                         env=api_env(kortix)).out)
    assert data["required_missing"] == ["STRIPE_KEY"] and data["undeclared_there"] == ["OLD_TOKEN"]
    kortix.secrets = {"DATABASE_URL": "v", "STRIPE_KEY": "v", "OPENAI_API_KEY": "v"}
    assert_exit(kg("kortix", "diff", cwd=declared, env=api_env(kortix)), 0,
                "3 declared name(s) set in project")


def test_diff_says_when_kortix_reads_another_manifest(declared: Path, kortix: Kortix) -> None:
    kortix.secrets = {"DATABASE_URL": "v", "STRIPE_KEY": "v", "OPENAI_API_KEY": "v"}
    kortix.required = ["DATABASE_URL"]  # the default branch's manifest, not this one
    result = kg("kortix", "diff", cwd=declared, env=api_env(kortix))
    assert "the manifest Kortix reads (its default branch) declares other names" in result.out


def test_check_kortix_fails_on_a_missing_required_secret(declared: Path, kortix: Kortix) -> None:
    kg("key", "new", cwd=declared)
    kortix.secrets = {"DATABASE_URL": "v"}
    rows = {r["name"]: r for r in json.loads(kg("check", "--kortix", "--format", "json",
                                                cwd=declared, env=api_env(kortix)).out)}
    assert rows["kortix"]["status"] == "fail"
    assert rows["kortix"]["details"][0].startswith("missing in Kortix (required): STRIPE_KEY")
    plain = {r["name"] for r in json.loads(kg("check", "--format", "json", cwd=declared).out)}
    assert "kortix" not in plain  # only when asked
    hooked = kg_proc("check", "--kortix", cwd=declared, env={**api_env(kortix), "PRE_COMMIT": "1"})
    assert "⚠ kortix: not compared from a commit hook" in hooked.out
    kortix.delay = 12
    slow = json.loads(kg_proc("check", "--kortix", "--format", "json", cwd=declared,
                              env=api_env(kortix), timeout=60).out)
    assert "no answer within 10 s" in {r["name"]: r for r in slow}["kortix"]["summary"]


def test_diff_without_a_token_says_how_to_get_one(declared: Path, tmp_path: Path) -> None:
    assert_exit(kg("kortix", "diff", cwd=declared,
                   env={"KORTIX_CONFIG_FILE": str(tmp_path / "none.json")}), 2,
                "no Kortix token here", "kortix login")
