"""`kortix-guard init`: set up an existing git repository. Idempotent; never overwrites a file
the user has: it creates what is missing, appends missing lines to .gitignore/.gitattributes,
and prints a snippet instead of editing an existing pre-commit config."""
from __future__ import annotations

import json
import re
from pathlib import Path

from kortix_guard import errors
from kortix_guard import manifest as manifest_module
from kortix_guard._fs import atomic_write
from kortix_guard._meta import pinned, repository_url
from kortix_guard._out import echo
from kortix_guard.git import GitError, Repo
from kortix_guard.project import Project
from kortix_guard.repo_setup import (
    GITIGNORE_LINES,
    HOOK_IDS,
    MERGE_DRIVER_NAME,
    WORKFLOW,
    gitattributes_lines,
    merge_driver,
)
from kortix_guard.rules import Severity
from kortix_guard.store import create_store, open_store, read_names, read_public


def manifest_text(name: str) -> str:
    """The manifest `init` writes where there is none: Kortix's current version, its `env`
    (names only) and a default agent granted every declared secret."""
    return (f"# yaml-language-server: $schema=https://kortix.com/schema/kortix.v3.schema.json\n"
            f"kortix_version: 3\n"
            f"default_agent: kortix\n\n"
            f"project:\n  name: {json.dumps(name)}\n\n"
            f"# The secrets this project's sessions need: names only, values never go here.\n"
            f"env:\n  required: []\n  optional: []\n\n"
            f"runtimes:\n  opencode:\n    harness: opencode\n\n"
            f"# Secrets are granted per agent, deny by default: `all`, `none`, or a list.\n"
            f"agents:\n  kortix:\n    runtime: opencode\n    secrets: all\n")


def precommit_snippet() -> str:

    hooks = "".join(f"      - id: {h}\n" for h in HOOK_IDS)
    commit, released = pinned()
    # pre-commit's own `autoupdate --freeze` form: a commit, never a tag that may not exist.
    return (f"  - repo: {repository_url()}\n    rev: {commit}  # frozen: v{released}\n"
            f"    hooks:\n{hooks}")


def workflow_text(branch: str = "main") -> str:
    """The workflow `init` writes: this repository's reusable workflow, pinned by commit SHA
    (never a movable tag), called with only the permissions it needs, on pull requests and on
    pushes to the project's default branch."""

    owner_repo = repository_url().removeprefix("https://github.com/").rstrip("/")
    commit, released = pinned()
    return f"""\
name: kortix-guard
on:
  pull_request:
  push:
    branches: [{branch}]
permissions: {{}}
jobs:
  kortix-guard:
    permissions:
      contents: read  # to check out the repository
      security-events: write  # to upload the findings to code scanning
    uses: {owner_repo}/.github/workflows/kortix-guard.yml@{commit}  # v{released}
    with:
      min-confidence: medium
    secrets:
      key: ${{{{ secrets.KORTIX_GUARD_KEY }}}}
"""


class _Steps:
    def __init__(self) -> None:
        self.changed = 0

    def did(self, message: str) -> None:
        self.changed += 1
        echo(f"✓ {message}")

    def kept(self, message: str) -> None:
        echo(f"· {message}")


def run(project: Project) -> int:

    try:
        repo = Repo(project.cwd)
    except GitError as e:
        raise GitError(e.message, hint="run `git init` first, then `kortix-guard init`") from None
    root = repo.root
    steps = _Steps()
    manifest_path = project.manifest_path if project.manifest_path.exists() else root / "kortix.yaml"
    if not manifest_path.exists():
        atomic_write(manifest_path, manifest_text(_project_name(root)).encode("utf-8"))
        steps.did(f"created {project.display(manifest_path)} (Kortix's manifest, version 3: "
                  f"`env` and a default agent granted `secrets: all`)")
    else:
        steps.kept(f"{project.display(manifest_path)} exists; left as it is")
    project = project._replace(manifest_path=manifest_path)
    _store(steps, project)
    _append_lines(steps, root / ".gitignore", GITIGNORE_LINES, project)
    _append_lines(steps, root / ".gitattributes", gitattributes_lines(project, root), project)
    configured, driver = repo.config("merge.kortix-guard.driver"), merge_driver()
    if configured is None or (configured != driver and "merge-store" in configured):
        # None, or one of ours that an older kortix-guard or another venv wrote.
        repo.set_config("merge.kortix-guard.name", MERGE_DRIVER_NAME)
        repo.set_config("merge.kortix-guard.driver", driver)
        steps.did("git config: merge.kortix-guard.driver" + (" (updated)" if configured else ""))
    elif configured == driver:
        steps.kept("git config: merge.kortix-guard.driver already set")
    else:
        steps.kept("git config: merge.kortix-guard.driver is set to something else; kept")
    _precommit(steps, root / ".pre-commit-config.yaml", project)
    _create(steps, root / WORKFLOW, workflow_text(repo.default_branch_name()), project)
    echo(f"\n{'set up' if steps.changed else 'nothing to change'}; next:", err=True)
    for number, step in enumerate(_next_steps(project, root), 1):
        echo(f"  {number}. {step}", err=True)
    return errors.CLEAN


def _next_steps(project: Project, root: Path) -> list[str]:
    """What to do now, for this repository as it is (a fresh clone without the key is not a
    new project), each step a command that will work."""

    steps = []
    path = project.manifest_path
    problems = [p for p in manifest_module.check_file(path, project.display(path))
                if p.severity is Severity.ERROR]
    if problems:
        steps.append(f"{project.display(path)} has {len(problems)} error(s): "
                     f"`kortix-guard manifest check` (`--fix` repairs some)")
    env_files = [name for name in (".env", ".env.local") if (root / name).is_file()]
    if env_files:
        steps.append(f"push the values of {env_files[0]} into the store: "
                     f"`kortix-guard env push --from {env_files[0]}`")
    recipients = _has_recipients(project)
    if _opens(project):
        steps += _left_to_do(project, problems, recipients)
    elif recipients:
        steps.append("this store is not wrapped to any identity of yours: send your recipient "
                     "(`kortix-guard identity show`; none yet: `kortix-guard identity new`) to a "
                     "teammate, who runs `kortix-guard recipients add NAME RECIPIENT`")
    else:
        steps.append("this store was made with a key you do not have: ask a teammate to run "
                     "`kortix-guard key export` and run `kortix-guard key import` with it")
    hook = root / ".git" / "hooks" / "pre-commit"
    steps.append("`kortix-guard check` and commit" if hook.exists() else
                 "`pre-commit install`, then `kortix-guard check` and commit")
    return steps


def _left_to_do(project: Project, problems: list, recipients: bool) -> list[str]:
    """A teammate's init after being added: only what is not done yet (names declared, their
    values set, CI given its own identity)."""
    path = project.manifest_path
    steps = []
    manifest = None if problems else project.load_manifest()
    stored = set(_stored_names(project))
    if manifest is None or not manifest.declared:
        steps.append(f"declare names in {path.name} {'[env]' if path.suffix == '.toml' else 'env'}"
                     f" and set values: `kortix-guard secrets set NAME=-`")
    else:
        unset = [n for n in manifest.required if n not in stored]
        if unset:
            steps.append(f"set {len(unset)} required value(s) ({', '.join(unset[:5])}"
                         f"{', …' if len(unset) > 5 else ''}): `kortix-guard secrets set NAME=-`")
    if not recipients:
        steps.append("put the key into CI: `kortix-guard key export | gh secret set "
                     "KORTIX_GUARD_KEY`")
    elif not any(name == "ci" or name.startswith("ci-") for name in _recipient_names(project)):
        steps.append("give CI its own identity: `kortix-guard recipients add ci --generate`, "
                     "then put it into the secret KORTIX_GUARD_KEY")
    return steps


def _stored_names(project: Project) -> list[str]:
    try:
        return read_names(project.store_path(), project.display(project.store_path()))
    except errors.Error:
        return []


def _recipient_names(project: Project) -> list[str]:
    try:
        return list(read_public(project.store_path(),
                                project.display(project.store_path())).recipients)
    except errors.Error:
        return []


def _has_recipients(project: Project) -> bool:

    try:
        return read_public(project.store_path(),
                           project.display(project.store_path())).has_recipients
    except errors.Error:
        return False


def _opens(project: Project) -> bool:

    try:
        open_store(project.store_path(), project.display(project.store_path()),
                   key_file=project.key_file)
    except errors.Error:
        return False
    return True


def _project_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-")
    return name or "project"


def _create(steps: _Steps, path: Path, text: str, project: Project) -> None:

    display = project.display(path)
    if path.exists():
        steps.kept(f"{display} exists; left as it is")
        return
    atomic_write(path, text.encode("utf-8"))
    steps.did(f"created {display}")


def _store(steps: _Steps, project: Project) -> None:

    store = project.store_path()
    display = project.display(store)
    if store.exists():
        opens = "you can open it" if _opens(project) else "it does not open here (see below)"
        steps.kept(f"{display} exists; left as it is; {opens}")
        return
    made, *said = create_store(project)
    steps.did(made)
    for line in said:
        if line.startswith("note:"):
            echo(line, err=True)


def _append_lines(steps: _Steps, path: Path, lines: tuple[str, ...], project: Project) -> None:

    display = project.display(path)
    text = path.read_text() if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        steps.kept(f"{display} already has {', '.join(lines)}")
        return
    prefix = "" if not text or text.endswith("\n") else "\n"
    header = "# kortix-guard\n" if path.name == ".gitignore" else ""
    atomic_write(path, (text + prefix + header + "".join(f"{line}\n" for line in missing)).encode())
    steps.did(f"{display}: added {', '.join(missing)}")


def _precommit(steps: _Steps, path: Path, project: Project) -> None:

    display = project.display(path)
    if not path.exists():
        atomic_write(path, ("repos:\n" + precommit_snippet()).encode())
        steps.did(f"created {display} with {', '.join(HOOK_IDS)}")
        return
    text = path.read_text(errors="replace")
    if all(f"id: {h}" in text for h in HOOK_IDS):
        steps.kept(f"{display} already runs {', '.join(HOOK_IDS)}")
        return
    steps.kept(f"{display} exists; add this under `repos:` yourself:\n{precommit_snippet()}")
