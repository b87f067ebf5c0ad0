"""The confidence model through the real CLI: shown in text, JSON and SARIF; the threshold from
`--min-confidence` and `[guard] min_confidence`; the re fallback; the store file's own lines;
a baseline written by kortix-guard 0.1."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import MANIFEST, kg, kg_proc, write
from tests.scan.conftest import TOKENS, rand, scan_json

WEAK = "hunter" + "22"  # a weak password: medium in a config file, low in code
TOKEN = TOKENS["github-classic"]
FILES = {
    "config.json": f'{{"pass": "{WEAK}"}}\n',  # KG331 medium
    "app.py": f'token = "{TOKEN}"\npassword = "{WEAK}"\n',  # KG320 high, KG331 low
}


@pytest.mark.parametrize(("threshold", "expected"), [
    (None, {("config.json", "KG331", "medium"), ("app.py", "KG320", "high")}),
    ("high", {("app.py", "KG320", "high")}),
    ("low", {("config.json", "KG331", "medium"), ("app.py", "KG320", "high"),
             ("app.py", "KG331", "low")}),
])
def test_min_confidence_option(tmp_path: Path, threshold: str | None, expected: set) -> None:
    write(tmp_path, FILES)
    args = ["--min-confidence", threshold] if threshold else []
    code, findings = scan_json(tmp_path, *args)
    assert {(f["path"], f["rule"], f["confidence"]) for f in findings} == expected
    assert code == 1


def test_below_the_threshold_never_affects_the_exit_code(tmp_path: Path) -> None:
    write(tmp_path, {"app.py": FILES["app.py"].splitlines()[1] + "\n"})
    assert scan_json(tmp_path) == (0, [])
    assert scan_json(tmp_path, "--min-confidence", "low")[0] == 1


@pytest.mark.parametrize(("setting", "expected"), [
    ('min_confidence = "high"', {"KG320"}),
    ('min_confidence = "low"', {"KG320", "KG331"}),
])
def test_guard_min_confidence(project: Path, setting: str, expected: set) -> None:
    write(project, {"kortix.toml": MANIFEST + f"\n[guard]\n{setting}\n", **FILES})
    assert {f["rule"] for f in scan_json(project)[1]} == expected
    # The option wins over the manifest.
    assert {f["rule"] for f in scan_json(project, "--min-confidence", "medium")[1]} == {
        "KG320", "KG331"}


def test_guard_min_confidence_is_validated(project: Path) -> None:
    write(project, {"kortix.toml": MANIFEST + '\n[guard]\nmin_confidence = "sure"\n'})
    result = kg("manifest", "check", cwd=project)
    assert result.code == 1
    assert "KG152" in result.out and "min_confidence" in result.out


def test_text_shows_the_confidence(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    result = kg("scan", cwd=tmp_path)
    assert "app.py:1:10: KG320 [high] GitHub token `ghp_…` (40 chars)" in result.out
    assert "config.json:1:11: KG331 [medium] value of `pass` (8 chars)" in result.out
    assert WEAK not in result.out + result.err


def test_sarif_levels_and_confidence(tmp_path: Path) -> None:
    validation_errors = pytest.importorskip("sarif_kit.validate").validation_errors

    write(tmp_path, FILES)
    log = json.loads(kg("scan", "--format", "sarif", "--min-confidence", "low",
                        cwd=tmp_path).out)
    assert validation_errors(log) == []
    results = log["runs"][0]["results"]
    levels = {(r["ruleId"], r["level"], r["properties"]["confidence"]) for r in results}
    assert levels == {("KG320", "error", "high"), ("KG331", "warning", "medium"),
                      ("KG331", "note", "low")}
    # GitHub code scanning's ranking: each rule's highest confidence here, as a score.
    severity = {r["id"]: r["properties"]["security-severity"]
                for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert severity == {"KG320": "9.0", "KG331": "6.0"}


def test_re_fallback_finds_the_same(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    fast = scan_json(tmp_path, "--min-confidence", "low")
    slow = scan_json(tmp_path, "--min-confidence", "low", env={"KORTIX_GUARD_NO_HYPERSCAN": "1"})
    assert fast == slow


def test_without_hyperscan_installed_a_note_and_the_same_findings(tmp_path: Path) -> None:
    """A platform with no hyperscan wheel: the import fails, the scan goes on with re."""
    blocker = tmp_path / "no-hyperscan" / "hyperscan"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('no wheel for this platform')\n")
    write(tmp_path / "tree", FILES)
    result = kg_proc("scan", "--format", "json", cwd=tmp_path / "tree",
                     env={"PYTHONPATH": str(blocker.parent)})
    assert result.code == 1
    assert "hyperscan is not installed" in result.err
    assert {f["rule"] for f in json.loads(result.out)} == {"KG320", "KG331"}


def test_store_lines_are_scanned_but_sealed_values_are_not(store_project: Path) -> None:
    kg("secrets", "set", f"DATABASE_URL={rand(20)}", cwd=store_project)
    store = store_project / ".kortix" / "secrets.enc.toml"
    assert scan_json(store_project, str(store.relative_to(store_project))) == (0, [])
    store.write_text(store.read_text() + f"# note: {TOKEN}\n")
    code, findings = scan_json(store_project, ".kortix/secrets.enc.toml")
    assert [f["rule"] for f in findings] == ["KG320"]


def test_baseline_from_version_0_1_still_accepts(tmp_path: Path) -> None:
    """tests/scan/data/baseline-v0.1.0.json was written by kortix-guard 0.1.0 (detect-secrets'
    KG330 findings) for exactly this file; its findings stay accepted under the new codes."""
    password = "-".join(["Tr0ub4dor", "x7Q", "k9Lm"])
    blob = "".join(["q8ZrT2vLm", "N4pXs9KdW", "e1YhB6cJu", "R3fGa7Vt0", "Po5"])
    hexed = "".join(["9f86d081", "884c7d65", "9a2feaa0", "c55ad015"])
    write(tmp_path, {
        "settings.py": f'db_password = "{password}"\nblob = "{blob}"\n'
                       f'url = "https://admin:{password}@db.internal.io/x"\nhexthing = "{hexed}"\n',
        "kortix.toml": '[project]\nname = "fx"\n\n[env]\nrequired = ["DATABASE_URL"]\n',
    })
    assert len(scan_json(tmp_path, "settings.py", "--min-confidence", "low")[1]) == 4
    (tmp_path / ".kortix").mkdir()
    shutil.copy(Path(__file__).parent / "data" / "baseline-v0.1.0.json",
                tmp_path / ".kortix" / "guard-baseline.json")
    assert scan_json(tmp_path, "settings.py", "--min-confidence", "low") == (0, [])
    # A new value on the same path is still found; --update-baseline writes version 2.
    write(tmp_path, {"settings.py": (tmp_path / "settings.py").read_text()
                     + f'api_password = "{rand(16)}!"\n'})
    assert len(scan_json(tmp_path, "settings.py")[1]) == 1
    kg("scan", "--update-baseline", "--min-confidence", "low", cwd=tmp_path)
    data = json.loads((tmp_path / ".kortix" / "guard-baseline.json").read_text())
    assert data["version"] == 2
    assert scan_json(tmp_path, "settings.py", "--min-confidence", "low") == (0, [])


def test_baseline_from_version_0_2_keeps_its_findings_accepted(tmp_path: Path) -> None:
    """tests/scan/data/baseline-v0.2.0.json was written by kortix-guard 0.2.0 for exactly
    this file, which it reported as two KG331 values; 0.3 knows both as provider keys
    (KG320, Serper under its name and a Tavily key), and the baseline still accepts them."""
    hexed = "".join(["5f2c9e81", "a0b7d4c3", "6e98f1a2", "b5c7d0e4", "f3a6b9c2"])
    tavily = "tvly-" + "".join(["Qm7Xk2Lp9R", "t4Vw8Yz3Bn", "6Cd1Fg5Hj0", "Ks"])
    write(tmp_path, {"tools.yaml": f'serper_api_key: {hexed}\ntavily_api_key: "{tavily}"\n',
                     "kortix.toml": '[project]\nname = "fx"\n\n[env]\nrequired = ["DATABASE_URL"]\n'})
    assert {f["rule"] for f in scan_json(tmp_path, "tools.yaml")[1]} == {"KG320"}
    (tmp_path / ".kortix").mkdir()
    shutil.copy(Path(__file__).parent / "data" / "baseline-v0.2.0.json",
                tmp_path / ".kortix" / "guard-baseline.json")
    assert scan_json(tmp_path, "tools.yaml") == (0, [])
