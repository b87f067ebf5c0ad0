"""Findings a person can read: one per distinct secret per path on a history, and one for a
committed build cache or log, however many secrets it holds."""
from __future__ import annotations

from kortix_guard.scan.model import Finding

# Folders a build writes and no one means to commit: their logs and cached task outputs
# repeat whatever the environment held, thousands of times.
BUILD_FOLDERS = (".nx/cache", ".turbo", ".next/cache", "node_modules/.cache", ".yarn/cache",
                 ".parcel-cache", ".angular/cache", ".svelte-kit/output", ".pytest_cache")
NEVER_COMMIT = "KG340"


def one_per_secret(findings: list[Finding]) -> list[Finding]:
    """One finding per distinct secret per path: the first (rule, path, secret id) seen is
    kept, with every later occurrence (line, column, commit) in its `more`. A history that
    holds one value in 5,000 versions of a file says so once, with its count."""
    first: dict[tuple[str, str, str], int] = {}
    out: list[Finding] = []
    more: dict[int, list[tuple[int, int, str | None]]] = {}
    for finding in findings:
        if finding.secret_id is None or finding.unscanned:
            out.append(finding)
            continue
        key = (finding.code, finding.path, finding.secret_id)
        if key in first:
            more.setdefault(first[key], []).append((finding.line, finding.col, finding.commit))
        else:
            first[key] = len(out)
            out.append(finding)
    for index, extra in more.items():
        out[index] = out[index]._replace(more=tuple(extra))
    return out



def build_folder(path: str) -> str | None:
    """The committed build cache or log a path is in (a folder, or the `.log` file itself),
    or None."""
    path = path.split("!", 1)[0]  # an archive's member: the archive's own path
    parts = path.split("/")
    for folder in BUILD_FOLDERS:
        depth = folder.count("/") + 1
        for i in range(len(parts) - depth):
            if "/".join(parts[i:i + depth]) == folder:
                return "/".join(parts[:i + depth])
    return path if path.endswith(".log") else None


def by_build_folder(findings: list[Finding]) -> list[Finding]:
    """The findings inside a committed build cache (or one `.log` file) as one never-commit
    finding for it, with the count of secrets inside and the rules that found them; its
    confidence is the highest of theirs. A folder or log with one secret keeps its finding.
    Anything that could not be scanned stays as it is."""
    groups: dict[str, list[Finding]] = {}
    out: list[Finding | str] = []
    for finding in findings:
        folder = None if finding.unscanned else build_folder(finding.path)
        if folder is None:
            out.append(finding)
            continue
        if folder not in groups:
            groups[folder] = []
            out.append(folder)
        groups[folder].append(finding)
    shown: list[Finding] = []
    for item in out:
        if isinstance(item, Finding):
            shown.append(item)
        elif sum(f.occurrences for f in groups[item]) < 2:
            shown += groups[item]  # one secret: its own finding says more
        else:
            shown.append(_one(item, groups[item]))
    return shown


def _one(folder: str, inside: list[Finding]) -> Finding:
    first = inside[0]
    count = sum(f.occurrences for f in inside)
    codes = ", ".join(sorted({f.code for f in inside}))
    is_file = folder == first.path  # a .log file, not a folder
    what, untrack = (("a log file", f"git rm --cached {folder}") if is_file else
                     ("a build cache", f"git rm -r --cached {folder}"))
    message = (f"{what} holding {count:,} secret(s) ({codes}): keep it out of git "
               f"(`{untrack}`, then ignore it in .gitignore) and rotate what it held")
    line, col = (first.line, first.col) if is_file else (1, 1)
    import hashlib  # only here, at a build folder's finding: it loads OpenSSL

    identity = hashlib.sha256(f"{NEVER_COMMIT}\0{folder}".encode()).hexdigest()[:16]
    return Finding(folder, line, col, NEVER_COMMIT, message, first.commit, None,
                   max(f.confidence for f in inside), secret_id=identity)
