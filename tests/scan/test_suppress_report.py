"""Suppressions (inline allows, excludes, the baseline) and the reports (text, JSON, SARIF)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import MANIFEST, assert_no_value, kg, kg_proc, write
from tests.scan.conftest import TOKENS, rand, scan_json

SECRETS = [TOKENS["github-classic"], TOKENS["stripe"], TOKENS["openai"]]


@pytest.mark.parametrize("comment", ["# kortix-guard: allow", "# pragma: allowlist secret",
                                     "# gitleaks:allow"])
def test_inline_allow(tmp_path: Path, comment: str) -> None:
    write(tmp_path, {"a.py": f'token = "{SECRETS[0]}"  {comment}\nother = "{SECRETS[1]}"\n'})
    code, findings = scan_json(tmp_path, "a.py")
    assert [(f["rule"], f["line"]) for f in findings] == [("KG320", 2)]


def test_exclude_globs(project: Path) -> None:
    write(project, {"kortix.toml": MANIFEST + '\n[guard]\nexclude = ["fixtures/*", "*.snap"]\n',
                    "fixtures/deep/a.py": f'x = "{SECRETS[0]}"\n', "t.snap": f"{SECRETS[1]}\n",
                    "src/a.py": f'x = "{SECRETS[2]}"\n'})
    assert [f["path"] for f in scan_json(project)[1]] == ["src/a.py"]


def test_baseline_accepts_and_does_not_churn(project: Path) -> None:
    write(project, {"a.py": f'x = "{SECRETS[0]}"\n', "b.py": f'y = "{SECRETS[1]}"\n'})
    result = kg("scan", "--update-baseline", cwd=project)
    assert result.code == 0
    baseline = project / ".kortix" / "guard-baseline.json"
    text = baseline.read_text()
    data = json.loads(text)
    assert sorted(data) == ["findings", "salt", "version"]
    assert [sorted(f) for f in data["findings"]] == [["hash", "path", "rule"]] * 2
    assert data["findings"] == sorted(data["findings"], key=lambda f: (f["path"], f["rule"], f["hash"]))
    assert_no_value(SECRETS, text)
    assert scan_json(project) == (0, [])
    # Moving the accepted secret to another line, or re-running, changes nothing.
    write(project, {"a.py": f'\n\n# moved\nx = "{SECRETS[0]}"\n'})
    assert scan_json(project) == (0, [])
    kg("scan", "--update-baseline", cwd=project)
    assert baseline.read_text() == text
    # A new secret on an accepted path is still found.
    write(project, {"a.py": f'x = "{SECRETS[0]}"\nz = "{SECRETS[2]}"\n'})
    assert [(f["path"], f["line"]) for f in scan_json(project)[1]] == [("a.py", 2)]


def test_baseline_hash_is_slow_and_salted(project: Path) -> None:
    import hashlib

    short = "sk" + "_live_" + rand(24)
    write(project, {"a.py": f'x = "{short}"\n'})
    kg("scan", "--update-baseline", cwd=project)
    data = json.loads((project / ".kortix" / "guard-baseline.json").read_text())
    digest = data["findings"][0]["hash"]
    assert digest not in {hashlib.sha256(short.encode()).hexdigest(),
                          hashlib.sha256(bytes.fromhex(data["salt"]) + short.encode()).hexdigest()}
    expected = hashlib.scrypt(short.encode(), salt=bytes.fromhex(data["salt"]), n=2 ** 14, r=8,
                              p=1, dklen=32).hex()
    assert digest == expected


def test_corrupt_baseline(project: Path) -> None:
    write(project, {".kortix/guard-baseline.json": "{not json", "a.py": "x = 1\n"})
    result = kg_proc("scan", cwd=project)
    assert result.code == 2
    assert "not a kortix-guard baseline" in result.err


def test_text_report_and_advice(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": f'\n  token = "{SECRETS[0]}"\n'})
    result = kg("scan", "a.py", cwd=tmp_path)
    assert result.code == 1
    assert result.out == "a.py:2:12: KG320 [high] GitHub token `ghp_…` (40 chars)\n"
    assert "kortix-guard: allow" in result.err and "secrets set" in result.err


def test_sarif_validates_against_the_schema(tmp_path: Path) -> None:
    validation_errors = pytest.importorskip("sarif_kit.validate").validation_errors

    write(tmp_path, {"a.py": f'token = "{SECRETS[0]}"\n', "b.yaml": f"k: {SECRETS[1]}\n"})
    result = kg("scan", "--format", "sarif", cwd=tmp_path)
    log = json.loads(result.out)
    assert validation_errors(log) == []
    run = log["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"KG320"}
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert run["tool"]["driver"]["rules"][0]["id"] == "KG320"


def test_sarif_uris_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    """With the reusable workflow's `working-directory`, code scanning received `id_test`
    and `../../root_key`: paths relative to the folder the scan ran in."""
    validation_errors = pytest.importorskip("sarif_kit.validate").validation_errors

    from tests.conftest import git, git_init

    repo = git_init(tmp_path / "repo")
    write(repo, {"services/api/kortix.toml": '[project]\nname = "api"\n[env]\nrequired = []\n',
                 "services/api/app.py": f'token = "{SECRETS[0]}"\n',
                 "root.py": f'token = "{SECRETS[1]}"\n'})
    git("add", "-A", cwd=repo)
    for args in (["scan", "--format", "sarif", "app.py", "../../root.py"],
                 ["scan", "--format", "sarif", "--all-files"]):
        log = json.loads(kg(*args, cwd=repo / "services" / "api").out)
        assert validation_errors(log) == []
        run = log["runs"][0]
        locations = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                           for r in run["results"])
        assert locations == ["root.py", "services/api/app.py"], (args, locations)
        assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"]
                   == "SRCROOT" for r in run["results"])
        assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.resolve().as_uri() + "/"


def test_on_github_findings_are_annotations_and_a_summary(tmp_path: Path) -> None:
    from tests.conftest import git, git_init

    repo = git_init(tmp_path / "repo")
    write(repo, {"services/api/app.py": f'token = "{SECRETS[0]}"\n', "kortix.toml": MANIFEST})
    git("add", "-A", cwd=repo)
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = kg_proc("scan", "--all-files", cwd=repo / "services" / "api", env=env)
    assert result.code == 1
    assert ("::error file=services/api/app.py,line=1,col=10,title=KG320 [high]::GitHub token"
            in result.out)
    table = summary.read_text()
    assert "| `services/api/app.py` | 1 | KG320 | high |" in table
    checked = kg_proc("check", cwd=repo, env=env)
    assert "| secrets | fail |" in summary.read_text()
    assert_no_value([SECRETS[0]], result.all, checked.all, summary.read_text())
    plain = kg_proc("scan", "--all-files", cwd=repo, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert "::error" not in plain.out  # only on GitHub


def test_no_secret_in_any_output(project: Path) -> None:
    write(project, {"a.py": "\n".join(f'v{i} = "{s}"' for i, s in enumerate(SECRETS)) + "\n",
                    "b.env": f"DATABASE_URL={SECRETS[0]}\n"})
    outputs = [kg_proc("scan", "--format", fmt, cwd=project) for fmt in ("text", "json", "sarif")]
    outputs.append(kg_proc("-v", "scan", "--staged", cwd=project))
    kg("scan", "--update-baseline", cwd=project)
    baseline = (project / ".kortix" / "guard-baseline.json").read_text()
    prefixes = ("ghp_", "sk_live_", "sk-proj-")
    shown = [s.removeprefix(p) for s in SECRETS for p in prefixes if s.startswith(p)]
    assert_no_value(shown, *(o.all for o in outputs), baseline)
    assert all(o.code == 1 for o in outputs[:3])


def test_both_engines_find_the_same_on_real_code(tmp_path: Path, monkeypatch) -> None:
    """Over a slice of the standard library plus every planted token, at the lowest
    threshold, the hyperscan engine and the re fallback report the same findings."""
    import sysconfig

    import pytest

    pytest.importorskip("hyperscan")
    from kortix_guard.scan.engine import Item, Scanner
    from kortix_guard.scan.model import Confidence

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [stdlib / n for n in ("base64.py", "smtplib.py", "imaplib.py", "ftplib.py",
                                  "urllib/request.py", "hmac.py", "secrets.py", "uuid.py",
                                  "test/test_hashlib.py", "test/test_urllib2.py")]
    planted = tmp_path / "planted.py"
    planted.write_text("\n".join(f'T{i} = "{v}"' for i, v in enumerate(TOKENS.values())) + "\n")
    items = [Item(p.name, p.name, data=p.read_bytes()) for p in [*files, planted] if p.exists()]

    def run() -> list:
        scanner = Scanner(min_confidence=Confidence.LOW)
        return [f for item in items for f in scanner.scan(item).findings]

    monkeypatch.delenv("KORTIX_GUARD_NO_HYPERSCAN", raising=False)
    fast = run()
    monkeypatch.setenv("KORTIX_GUARD_NO_HYPERSCAN", "1")
    assert run() == fast
    assert len(fast) > len(TOKENS)


@pytest.mark.parametrize(("comment", "allowed"), [
    ("# kortix-guard: allow", True),
    ("# kortix-guard:allow -- a test fixture", True),
    ("<!-- kortix-guard: allow -->", True),
    ("/* kortix-guard: allow */", True),
    ("# pragma: allowlist secret", True),
    ("# gitleaks:allow", True),
    ("// gitleaks:allow", True),
    ("# gitleaks:allowed", False),
    ("# kortix-guard: allowed? see ticket", False),
    ("# kortix-guard: allowlist", False),
])
def test_allow_marker_is_exact(tmp_path: Path, comment: str, allowed: bool) -> None:
    write(tmp_path, {"a.txt": f'token = "{SECRETS[0]}"  {comment}\n'})
    assert (scan_json(tmp_path, "a.txt")[1] == []) is allowed


@pytest.mark.parametrize("marker", ["# kortix-guard: allow", "# gitleaks:allow"])
def test_allow_cannot_hide_known_values_keys_or_a_whole_key_block(store_project: Path,
                                                                   marker: str) -> None:
    """The attacks: an allow hid this project's own store value (KG300), a kortix-guard key
    (KG324), and, on a PEM BEGIN line, the whole private key."""
    from kortix_guard.store.crypto import Key
    from tests.scan.conftest import pem

    value = "ordinary words that are real 9"
    kg("secrets", "set", f"DATABASE_URL={value}", cwd=store_project)
    block = pem().replace("-----\n", f"-----  {marker}\n", 1)
    write(store_project, {
        "notes.txt": f"{value}  {marker}\n",
        "keys.txt": f"{Key.generate().text()}  {marker}\n",
        "deploy/key.txt": block + "\n",
    })
    rules = {f["path"]: f["rule"] for f in scan_json(store_project, "notes.txt", "keys.txt",
                                                     "deploy")[1]}
    assert rules == {"notes.txt": "KG300", "keys.txt": "KG324", "deploy/key.txt": "KG321"}


def test_lock_files_keep_the_high_layers(store_project: Path) -> None:
    value = "ordinary words that are real 9"
    kg("secrets", "set", f"DATABASE_URL={value}", cwd=store_project)
    write(store_project, {"package-lock.json": f'{{"resolved": "{value}", '
                                               f'"t": "{SECRETS[0]}"}}\n'})
    assert sorted(f["rule"] for f in scan_json(store_project, "package-lock.json")[1]) == [
        "KG300", "KG320"]
