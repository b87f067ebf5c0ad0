"""Findings as text, JSON or SARIF 2.1.0, all from the one Finding record."""
from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from kortix_guard._meta import repository_url, version
from kortix_guard._out import echo, github_data, github_property, github_summary, quote_path
from kortix_guard.manifest.model import setting
from kortix_guard.rules import RULES
from kortix_guard.scan.engine import NOT_INLINE_ALLOWABLE
from kortix_guard.scan.model import Confidence, Finding


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


ADVICE = """\
what to do:
  - a real secret: {remove},
    keep it in the store with `kortix-guard secrets set NAME=-`, and rotate it if it was pushed;
  - not a secret: {allow}exclude the path in {manifest} ({exclude}){baseline}."""
REMOVE_FILE = "remove it from the file (and from the index: git rm --cached / git add)"
# Found in commits (a push, a range, the history): the index is no longer where it lives.
REMOVE_COMMIT = ("remove it from the commits that hold it (the last one: fix the file, then "
                 "`git commit --amend`; older ones: `git rebase -i`)")
ALLOW_HINT = "add `kortix-guard: allow` to the line (in a comment), "
BASELINE_HINT = (", or accept it with\n    `kortix-guard scan --update-baseline` (never for a "
                 "[high] finding: a provider's token or a key is rotated, not accepted)")
# Formats with no comments: an inline allow cannot be written there.
NO_COMMENTS = (".json", ".ipynb", ".lock")
SHORT = ("kortix-guard: {n} secret(s) found; remove them (`kortix-guard secrets set NAME=-` "
         "keeps a value in the store){baseline}")
SHORT_BASELINE = (" or accept those that are not [high] with `kortix-guard scan "
                  "--update-baseline`")


def emit(findings: Sequence[Finding], fmt: Format, *, scanned: int,
         in_commits: bool = False, root: Path | None = None, cwd: Path | None = None,
         manifest_name: str | None = None) -> None:
    if fmt is not Format.TEXT:
        import json  # not for text, the commit hook's on every commit
    if fmt is Format.JSON:
        echo(json.dumps([f.as_dict() for f in findings], indent=2))
    elif fmt is Format.SARIF:
        echo(json.dumps(sarif(findings, root, cwd), indent=2))
    else:
        for finding in findings:
            echo(finding.as_text())
        if os.environ.get("GITHUB_ACTIONS") == "true":
            _github(findings, root, cwd or Path.cwd())
    secrets = [f for f in findings if not f.unscanned]
    unscanned = len(findings) - len(secrets)
    if unscanned:
        echo(f"kortix-guard: {unscanned} item(s) could not be scanned (KG350 [unscanned])",
             err=True)
    if secrets:
        echo(f"kortix-guard: {len(secrets)} secret(s) found in {scanned} file(s) scanned",
             err=True)
        if fmt.value == "text" and in_commits and len(secrets) >= SUMMARY_FROM:
            echo(summary(secrets), err=True)
        if fmt.value == "text":
            echo(advice(secrets, in_commits=in_commits, manifest_name=manifest_name), err=True)


SUMMARY_FROM = 5  # a history's findings, summed up by rule and folder from this many


def summary(findings: Sequence[Finding], top: int = 8) -> str:
    """Where a history's findings are: how many per rule, and per folder (two levels
    deep), the largest first."""
    from collections import Counter

    by_rule = Counter(f.code for f in findings)
    by_folder = Counter(_folder(f.path) for f in findings)

    def line(counts: Counter) -> str:
        shown = ", ".join(f"{key} {n:,}" for key, n in counts.most_common(top))
        rest = len(counts) - top
        return shown + (f", and {rest} more" if rest > 0 else "")
    return f"  by rule: {line(by_rule)}\n  by folder: {line(by_folder)}"


def _folder(path: str) -> str:
    parts = path.split("!", 1)[0].split("/")[:-1]
    return "/".join(parts[:2]) + "/" if parts else "./"


_LEVEL = {Confidence.HIGH: "error", Confidence.MEDIUM: "warning", Confidence.LOW: "notice"}


def _github(findings: Sequence[Finding], root: Path | None, cwd: Path) -> None:
    """Where people look on GitHub: an annotation on the pull request's diff for each finding
    (`::error file=…,line=…,col=…::`), and a table in the step summary."""
    rows = []
    for f in findings:
        where = _artifact(f.path, root, cwd)
        path = unquote(where["uri"]) if "uriBaseId" in where else None
        level = "warning" if f.unscanned else _LEVEL.get(f.confidence, "warning")
        place = (f"file={github_property(path)},line={f.line},col={f.col},"
                 if path is not None else "")
        echo(f"::{level} {place}title={github_property(f'{f.code} [{f.confidence.label}]')}::"
             + github_data(f.message))
        rows.append(f"| `{quote_path(path or f.path)}` | {f.line} | {f.code} | {f.confidence.label} | "
                    f"{f.message.replace('|', '&#124;')} |\n")
    github_summary(f"### kortix-guard scan: {len(findings)} finding(s)\n\n"
                   + ("| file | line | code | confidence | what |\n|---|---|---|---|---|\n"
                      + "".join(rows) if rows else "") + "\n")


def advice(findings: Sequence[Finding], *, in_commits: bool = False,
           manifest_name: str | None = None) -> str:
    """What to do next. Under pre-commit (which runs a hook once per batch of files and
    prints each batch's output) one line; an inline allow only where a comment can go; the
    baseline only for findings below `high`."""

    below_high = any(f.confidence < Confidence.HIGH for f in findings)
    if os.environ.get("PRE_COMMIT") == "1":
        # One wording in every batch: pre-commit prints each batch's line, and a line that
        # changed with the batch's findings read as two different instructions.
        return SHORT.format(n=len(findings), baseline=SHORT_BASELINE)
    commentable = any(not f.path.endswith(NO_COMMENTS) and f.code not in NOT_INLINE_ALLOWABLE
                      for f in findings)
    return ADVICE.format(remove=REMOVE_COMMIT if in_commits else REMOVE_FILE,
                         allow=ALLOW_HINT if commentable else "",
                         manifest=manifest_name or "the manifest",
                         exclude=setting("exclude", manifest_name),
                         baseline=BASELINE_HINT if below_high else "")


SECURITY_SEVERITY = {Confidence.HIGH: "9.0", Confidence.MEDIUM: "6.0", Confidence.LOW: "3.0"}


def sarif(findings: Sequence[Finding], root: Path | None = None,
          cwd: Path | None = None) -> dict:
    """SARIF 2.1.0. Locations are relative to the repository's root (`uriBaseId` SRCROOT,
    given in `originalUriBaseIds`), whatever folder the scan ran in: code scanning resolves
    them against the repository, so a path relative to a `working-directory` would point
    elsewhere (`../../root_key`)."""

    used = sorted({f.code for f in findings})
    # GitHub code scanning ranks alerts by `security-severity` (0 to 10: 9 and above
    # critical, 7 high, 4 medium): the highest confidence each rule reports here.
    highest = {code: max(f.confidence for f in findings if f.code == code) for code in used}
    rules = [{"id": code, "name": RULES[code].name,
              "shortDescription": {"text": RULES[code].summary},
              "helpUri": f"{repository_url()}/blob/main/docs/scan.md#rules",
              "defaultConfiguration": {"level": "warning"},
              "properties": {"security-severity": SECURITY_SEVERITY[highest[code]],
                             "tags": ["security", "secrets"]}} for code in used]
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": used.index(f.code),
            "level": f.confidence.sarif_level,
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(f.path, root, cwd or Path.cwd()),
                "region": {"startLine": f.line, "startColumn": f.col},
            }}],
        }
        result["properties"] = {"confidence": f.confidence.label}
        if f.secret_id:
            result["partialFingerprints"] = {"kortixGuardSecret/v1": f.secret_id}
        if f.commit:
            result["properties"]["commit"] = f.commit
        if f.more:
            result["properties"]["occurrences"] = f.occurrences
            result["properties"]["locations"] = [
                {"line": line, "col": col, "commit": commit} for line, col, commit in
                ((f.line, f.col, f.commit), *f.more)]
        if f.unscanned:
            result["kind"] = "review"  # SARIF's word for "not decided": it could not be scanned
            result["properties"]["unscanned"] = True
            if f.object_id:
                result["properties"]["object"] = f.object_id
        results.append(result)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "kortix-guard", "version": version(),
                            "informationUri": repository_url(), "rules": rules}},
        "results": results,
    }
    if root is not None:
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": root.resolve().as_uri() + "/"}}
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [run]}


def _artifact(shown: str, root: Path | None, cwd: Path) -> dict:
    """A finding's path (as shown: relative to cwd, where the scan ran) as a URI relative to
    root. A channel (`<commit> (message)`) has no file: its text stays as given."""

    if root is None or shown.endswith(")") and " (" in shown:
        return {"uri": quote(shown.replace("\\", "/"))}
    relative = os.path.relpath(os.path.normpath(cwd.resolve() / shown), root.resolve())
    return {"uri": quote(Path(relative).as_posix()), "uriBaseId": "SRCROOT"}
