"""The provider catalog (`kortix-guard[catalog]`, the maintained kingfisher rules): a
provider no built-in detector knows is found as KG320 with the catalog's rule id beside it;
a provider a built-in detector knows keeps the built-in judgment; the commit hook never
reads the catalog from the package (seconds) and uses it once another command has cached
it; KORTIX_GUARD_CATALOG=0 switches it off; `--version` says which catalog is active."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, git_init, kg
from tests.scan.conftest import rand

pytest.importorskip("kingfisher_sdk")
pytest.importorskip("hyperscan")

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def one_password_key() -> str:
    """A 1Password account secret key's shape (no built-in detector knows it)."""
    return "-".join(["A3", rand(6, UPPER), rand(11, UPPER), rand(5, UPPER), rand(5, UPPER),
                     rand(5, UPPER)])


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own: the catalog not yet read."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "kortix-guard"


def _repo_with(tmp_path: Path, text: str) -> Path:
    root = git_init(tmp_path / "repo")
    (root / "vault.txt").write_text(text)
    git("add", "vault.txt", cwd=root)
    return root


def test_a_provider_only_the_catalog_knows_is_found(tmp_path: Path, fresh_cache: Path) -> None:
    key = one_password_key()
    root = _repo_with(tmp_path, f"account key: {key}\n")
    result = kg("scan", "--all-files", "--format", "json", cwd=root)
    assert result.code == 1, result.err
    [finding] = json.loads(result.out)
    assert finding["rule"] == "KG320" and "[betterleaks.1password-secret-key]" in finding["message"]
    assert key not in result.out + result.err
    assert "reading the provider catalog" in result.err  # once, said so
    # The cache holds the rules (no secret), the user's own, 0600.
    [cached] = fresh_cache.glob("catalog-*.marshal")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert key.encode() not in cached.read_bytes()
    again = kg("scan", "--all-files", cwd=root)
    assert again.code == 1 and "reading the provider catalog" not in again.err


def test_a_rule_written_in_rusts_syntax_is_read(tmp_path: Path, fresh_cache: Path) -> None:
    """Doppler's rule sets a flag part way (`dp\\.pt\\.(?i)[a-z0-9]{43}`), which Python's re
    refuses: read as a scoped group, its token is found (the rule was left out before)."""
    token = "dp.pt." + rand(43, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    root = _repo_with(tmp_path, f"doppler: {token}\n")
    result = kg("scan", "--all-files", "--format", "json", cwd=root)
    assert result.code == 1, result.err
    assert any("[betterleaks.doppler-api-token]" in f["message"] for f in json.loads(result.out))
    assert token not in result.out + result.err


def test_a_rule_with_a_boundary_before_its_token_is_found_where_the_boundary_is(
        tmp_path: Path, fresh_cache: Path) -> None:
    """Z.ai's rule starts with a boundary (`(?:\\A|[…])`) that its trigger leaves out (it
    cost hyperscan more than all the other rules together): the token is still found at the
    start of a file and after a quote, and still not where it is glued to a word."""
    hexes = "0123456789abcdef"
    tokens = [rand(32, hexes) + "." + rand(16, UPPER + "abcdefghijklmnopqrstuvwxyz")
              for _ in range(3)]
    root = _repo_with(tmp_path, f"{tokens[0]}\nzai = \"{tokens[1]}\"\nid: x{tokens[2]}\n")
    result = kg("scan", "--all-files", "--format", "json", cwd=root)
    assert result.code == 1, result.err
    found = sorted(f["line"] for f in json.loads(result.out)
                   if "[betterleaks.zai-api-key]" in f["message"])
    assert found == [1, 2]
    assert not any(token in result.out + result.err for token in tokens)


@pytest.mark.parametrize(("pattern", "trigger"), [
    (rb"(?:(?:\A|(?:[\x00-,\./]))((?:[0-9a-f]){32})(?:[\s;]|\Z))",
     rb"(?:((?:[0-9a-f]){32})(?:[\s;]|\Z))"),
    (rb"(?:(?:\A|(?:[\]x]))(ab))", rb"(?:(ab))"),  # a `]` escaped in the class
    (rb"(?i)(?:twitter)[\w]{10}", rb"(?i)(?:twitter)[\w]{10}"),  # no boundary: as it is
    (rb"(?:\A|x)(ab)", rb"(?:\A|x)(ab)"),  # not the catalog's boundary: as it is
])
def test_a_catalog_trigger_leaves_out_only_a_leading_boundary(pattern: bytes,
                                                              trigger: bytes) -> None:
    from kortix_guard.scan.catalog import trigger as catalog_trigger

    assert catalog_trigger(pattern) == trigger


@pytest.mark.parametrize(("rust", "python"), [
    (r"dp\.pt\.(?i)[a-z0-9]{43}", r"dp\.pt\.(?i:[a-z0-9]{43})"),
    (r"\b(p8e-(?i)[a-z0-9]{32})(?:[\s;]|$)", r"\b(p8e-(?i:[a-z0-9]{32}))(?:[\s;]|$)"),
    (r"EZAK(?i)[a-z0-9]{54}\z", r"EZAK(?i:[a-z0-9]{54}\Z)"),
    (r"a\\z", r"a\\z"),  # an escaped backslash, then z
    (r"(?i)abc", r"(?i)abc"),  # at the start, as re reads it
    (r"[(?i)]x", r"[(?i)]x"),  # in a class: characters
    (r"x(?i)a|b", r"x(?i)a|b"),  # the flag would cover the other branch: left out
])
def test_for_python(rust: str, python: str) -> None:
    from kortix_guard.scan.catalog import for_python

    assert for_python(rust) == python


def test_the_commit_hook_never_reads_the_catalog_from_the_package(tmp_path: Path,
                                                                  fresh_cache: Path) -> None:
    root = _repo_with(tmp_path, f"account key: {one_password_key()}\n")
    hook = [sys.executable, "-m", "kortix_guard.scan.commit_hook"]
    cold = subprocess.run(hook, cwd=root, capture_output=True, text=True, env=os.environ)
    assert cold.returncode == 0, cold.stdout + cold.stderr  # not read: not found yet
    assert "reading the provider catalog" not in cold.stderr
    assert kg("scan", "--all-files", cwd=root).code == 1  # a tree scan reads and caches it
    warm = subprocess.run(hook, cwd=root, capture_output=True, text=True, env=os.environ)
    assert warm.returncode == 1 and "1password" in warm.stdout


def test_a_built_in_provider_keeps_its_own_judgment(tmp_path: Path, fresh_cache: Path) -> None:
    """PostHog's project key is public by design (the built-in's judgment); the catalog's
    rule for it would call it a secret."""
    root = _repo_with(tmp_path, "posthog.init('phc_" + rand(43) + "')\n")
    assert kg("scan", "--all-files", cwd=root).code == 0


def test_the_switch_and_the_version(tmp_path: Path, fresh_cache: Path) -> None:
    root = _repo_with(tmp_path, f"account key: {one_password_key()}\n")
    off = kg("scan", "--all-files", cwd=root, env={"KORTIX_GUARD_CATALOG": "0"})
    assert off.code == 0 and "reading the provider catalog" not in off.err
    assert "(its rules are read on the next" in kg("--version", cwd=root).out
    assert kg("scan", "--all-files", cwd=root).code == 1
    shown = kg("--version", cwd=root).out
    assert "provider catalog: kingfisher-secret-scanner 1." in shown and " rules (" in shown
