"""Content that cannot be scanned is one kind of item, KG350 `unscanned`, wherever it comes
from (a partial clone, a deleted or damaged object, an unreadable file, a file over the size
cap), with one exit-code table (docs/scan.md, "Unscanned")."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kortix_guard.scan.engine import Item, Scanner
from tests.conftest import commit, git, git_init, kg_proc, write
from tests.scan.conftest import TOKENS

TOKEN = TOKENS["github-classic"]


def _history(src: Path) -> tuple[str, str]:
    """A history whose second commit adds gone.py (removed again); a.py keeps a token in HEAD.
    Returns (the commit that added gone.py, gone.py's blob)."""
    commit(src, {"a.py": f'token = "{TOKEN}"\n'}, "a")
    added = commit(src, {"gone.py": "value = 'only in history'\n"}, "gone")
    blob = git("rev-parse", "HEAD:gone.py", cwd=src).strip()
    git("rm", "-q", "gone.py", cwd=src)
    git("commit", "-qm", "rm", cwd=src)
    return added, blob


def _scan(repo: Path, *args: str, env: dict[str, str] | None = None):
    result = kg_proc("scan", "--format", "json", *args, cwd=repo, env=env)
    assert "internal error" not in result.err and "Traceback" not in result.all, result.all
    return result.code, json.loads(result.out or "[]"), result.err


def test_a_partial_clone_is_scanned_and_names_what_it_lacks(tmp_path: Path) -> None:
    """`git clone --filter=blob:none` of a local repository: the blob of a file deleted
    before HEAD is missing. It is listed by object, path and commit; the rest is scanned
    (the token in HEAD is found); nothing is fetched."""
    src = git_init(tmp_path / "src")
    added, blob = _history(src)
    git("config", "uploadpack.allowFilter", "true", cwd=src)
    clone = tmp_path / "clone"
    git("clone", "-q", "--filter=blob:none", f"file://{src}", str(clone), cwd=tmp_path)
    code, found, _ = _scan(clone, "--history")
    unscanned = [f for f in found if f.get("unscanned")]
    assert [(f["path"], f["object"], f["commit"]) for f in unscanned] == [("gone.py", blob, added)]
    assert any(f["rule"] == "KG320" and f["path"] == "a.py" for f in found)
    assert code == 1  # the token; the missing blob alone only warns in --history
    # Still absent afterwards: nothing was fetched over the network (asked of the object
    # store directly: `git cat-file` itself would fetch a promised object).
    import pygit2

    assert not pygit2.Repository(str(clone)).odb.exists(blob)


def test_a_tree_filtered_clone_fetches_no_tree(tmp_path: Path) -> None:
    """`git clone --filter=tree:0` lacks the trees of older commits. `git log --raw`, which
    lists the history fastest, would fetch each of them from the remote (git before 2.44 has
    no GIT_NO_LAZY_FETCH): in a partial clone the history is walked with libgit2, which never
    fetches, and the missing trees are named."""
    import pygit2

    src = git_init(tmp_path / "src")
    commit(src, {"d/a.txt": "a\n", "a.py": f'token = "{TOKEN}"\n'}, "one")
    commit(src, {"d/b.txt": "b\n"}, "two")
    git("rm", "-q", "d/a.txt", cwd=src)
    git("commit", "-qm", "three", cwd=src)
    old_tree = git("rev-parse", "HEAD~2:d", cwd=src).strip()
    git("config", "uploadpack.allowFilter", "true", cwd=src)
    clone = tmp_path / "clone"
    git("clone", "-q", "--filter=tree:0", f"file://{src}", str(clone), cwd=tmp_path)
    assert not pygit2.Repository(str(clone)).odb.exists(old_tree)
    _, found, _ = _scan(clone, "--history")
    assert any(f["rule"] == "KG320" and f["path"] == "a.py" for f in found)
    assert any(f.get("unscanned") for f in found)
    assert not pygit2.Repository(str(clone)).odb.exists(old_tree)


def test_a_lost_tree_is_named_and_the_rest_scanned(tmp_path: Path) -> None:
    """A tree deleted from a full clone: `git log` cannot list the history, the walk does,
    naming the tree by its folder and commit."""
    repo = git_init(tmp_path / "repo")
    commit(repo, {"a.py": f'token = "{TOKEN}"\n', "sub/x.txt": "x\n"}, "one")
    tree = git("rev-parse", "HEAD:sub", cwd=repo).strip()
    commit(repo, {"sub/x.txt": "y\n"}, "two")
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    code, found, _ = _scan(repo, "--history")
    assert [(f["path"], f["object"]) for f in found if f.get("unscanned")] == [("sub/", tree)]
    assert any(f["rule"] == "KG320" for f in found) and code == 1


def test_a_listing_that_fails_part_way_is_finished_by_the_walk(tmp_path: Path) -> None:
    """git lists the first commit, then stops at a tree lost from the second: the walk
    lists the rest, and nothing listed already is listed (or reported) twice."""
    repo = git_init(tmp_path / "repo")
    first = commit(repo, {"a.py": f'token = "{TOKEN}"\n'}, "one")
    commit(repo, {"sub/x.txt": "x\n"}, "two")
    tree = git("rev-parse", "HEAD:sub", cwd=repo).strip()
    commit(repo, {"sub/x.txt": f'token = "{TOKEN}"\n'}, "three")
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    code, found, _ = _scan(repo, "--history")
    assert [(f["path"], f["object"]) for f in found if f.get("unscanned")] == [("sub/", tree)]
    secrets = sorted((f["path"], f.get("occurrences", 1), f["commit"]) for f in found
                     if f["rule"] == "KG320")
    three = git("rev-parse", "HEAD", cwd=repo).strip()
    assert secrets == [("a.py", 1, first), ("sub/x.txt", 1, three)] and code == 1


def _repo_with_a_lost_object(tmp_path: Path, *, damage: bool,
                             token: bool = False) -> tuple[Path, str]:
    """40 files (so the scan runs in worker processes), one with a token when asked; the last
    commit adds f07.txt, whose blob is then deleted (or overwritten with garbage) from the
    object store."""
    repo = git_init(tmp_path / "repo")
    write(repo, {f"f{i:02d}.txt": f"v{i}\n" for i in range(40) if i != 7})
    if token:
        write(repo, {"f30.txt": f'token = "{TOKEN}"\n'})
    commit(repo, {}, "files")
    commit(repo, {"f07.txt": "v7\n"}, "f07")
    blob = git("rev-parse", "HEAD:f07.txt", cwd=repo).strip()
    loose = repo / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    if damage:
        loose.write_bytes(b"not a zlib stream")
    else:
        loose.unlink()
    return repo, blob


@pytest.mark.parametrize("damage", [False, True], ids=["deleted", "damaged"])
def test_a_lost_object_never_ends_the_scan(tmp_path: Path, damage: bool) -> None:
    repo, blob = _repo_with_a_lost_object(tmp_path, damage=damage, token=True)
    code, found, err = _scan(repo, "--history")
    unscanned = [f for f in found if f.get("unscanned")]
    assert [(f["path"], f["object"]) for f in unscanned] == [("f07.txt", blob)]
    assert ("damaged" if damage else "not in this clone") in unscanned[0]["message"]
    assert unscanned[0]["commit"] == git("rev-parse", "HEAD", cwd=repo).strip()
    assert any(f["rule"] == "KG320" for f in found) and code == 1
    assert "could not be scanned" in err


@pytest.mark.parametrize(("args", "env", "expected"), [
    (("--history",), {}, 0),
    (("--all-files",), {}, 1),
    (("--range", "HEAD~1..HEAD"), {}, 0),
    (("--range", "HEAD~1..HEAD"), {"CI": "true"}, 1),
    (("--range", "HEAD~1..HEAD"), {"GITHUB_ACTIONS": "true"}, 1),
], ids=["history-warns", "all-files-fails", "range-warns", "range-in-ci-fails",
        "range-on-actions-fails"])
def test_the_exit_code_table(tmp_path: Path, args: tuple[str, ...], env: dict[str, str],
                             expected: int) -> None:
    repo, blob = _repo_with_a_lost_object(tmp_path, damage=False)
    code, found, _ = _scan(repo, *args, env=env)
    assert [f["object"] for f in found if f.get("unscanned")] == [blob]
    assert code == expected


def test_an_unreadable_file_is_unscanned(tmp_path: Path) -> None:
    """A file that is listed and then cannot be read is an item, not a skipped note."""
    item = Item("gone.txt", "gone.txt", disk=str(tmp_path / "gone.txt"))
    [finding] = Scanner().scan(item).findings
    assert finding.unscanned and "cannot read it" in finding.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_a_mode_000_file_fails_a_plain_scan(tmp_path: Path) -> None:
    write(tmp_path, {"secret.py": f'token = "{TOKEN}"\n'})
    (tmp_path / "secret.py").chmod(0)
    code, found, _ = _scan(tmp_path)
    assert code == 1 and [f["path"] for f in found if f.get("unscanned")] == ["secret.py"]


def test_unscanned_items_are_in_sarif(tmp_path: Path) -> None:
    repo, blob = _repo_with_a_lost_object(tmp_path, damage=False)
    result = kg_proc("scan", "--all-files", "--format", "sarif", cwd=repo)
    [sarif_result] = json.loads(result.out)["runs"][0]["results"]
    assert sarif_result["ruleId"] == "KG350" and sarif_result["kind"] == "review"
    assert sarif_result["properties"]["object"] == blob


def test_a_clone_declaring_its_promisor_as_an_extension_is_scanned(tmp_path: Path) -> None:
    """A partial clone made by an older git names its promisor remote in
    `extensions.partialclone` (repository format 1), which libgit2 refuses to open: it was
    reported as an internal error. It is scanned like any partial clone."""
    repo = git_init(tmp_path / "repo")
    commit(repo, {"a.py": f'token = "{TOKEN}"\n'}, "one")
    git("config", "core.repositoryformatversion", "1", cwd=repo)
    git("config", "extensions.partialclone", "origin", cwd=repo)
    code, found, _ = _scan(repo, "--history")
    assert [f["rule"] for f in found] == ["KG320"] and code == 1


def test_an_extension_libgit2_cannot_read_is_named(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    commit(repo, {"a.py": "x = 1\n"}, "one")
    git("config", "core.repositoryformatversion", "1", cwd=repo)
    git("config", "extensions.refstorage", "reftable", cwd=repo)
    result = kg_proc("scan", "--history", cwd=repo)
    assert result.code == 2 and "Traceback" not in result.all
    assert "extensions.refstorage" in result.err and "cannot read" in result.err
    assert "git config --get-regexp" in result.err


def test_a_sha256_repository_is_a_clear_error_where_libgit2_is_needed(tmp_path: Path) -> None:
    """libgit2's build cannot read SHA-256 object names: it was an internal error. The
    history says so clearly; the files and the commit hook, which read through git, scan."""
    import subprocess

    repo = tmp_path / "repo"
    if subprocess.run(["git", "init", "-q", "--object-format=sha256", str(repo)],
                      capture_output=True).returncode != 0:
        pytest.skip("this git cannot make a SHA-256 repository")
    write(repo, {"a.py": f'token = "{TOKEN}"\n'})
    git("add", "a.py", cwd=repo)
    history = kg_proc("scan", "--history", cwd=repo)
    assert history.code == 2 and "Traceback" not in history.all
    assert "sha256 object names" in history.err and "internal error" not in history.err
    assert TOKEN not in history.all
    files = kg_proc("scan", "a.py", cwd=repo)
    assert files.code == 1 and "KG320" in files.out
    hook = kg_proc("scan", "--staged", "a.py", cwd=repo)
    assert hook.code == 1 and "KG320" in hook.out


def test_a_split_index_is_read_through_git(tmp_path: Path) -> None:
    """`core.splitIndex` writes a mandatory index extension libgit2 cannot read: scanning
    every tracked file was an internal error. git's command line lists the index then."""
    repo = git_init(tmp_path / "repo")
    git("config", "core.splitIndex", "true", cwd=repo)
    commit(repo, {"a.py": f'token = "{TOKEN}"\n', "b.py": "x = 1\n"}, "one")
    write(repo, {"c.py": "y = 2\n"})
    git("add", "c.py", cwd=repo)
    assert list((repo / ".git").glob("sharedindex.*"))
    code, found, _ = _scan(repo, "--all-files")
    assert [(f["path"], f["rule"]) for f in found] == [("a.py", "KG320")] and code == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="handing a repository to another user needs root")
def test_a_repository_another_user_owns_says_so_and_how_to_trust_it(tmp_path: Path) -> None:
    """A CI container's checkout is often owned by another user: git refuses it ("dubious
    ownership") until it is declared safe, and so does libgit2. That was an internal error
    (libgit2), and "not inside a git repository" from the commit hook."""
    import subprocess
    import sys

    repo = git_init(tmp_path / "repo")
    commit(repo, {"a.py": f'token = "{TOKEN}"\n'}, "one")
    for folder, dirs, files in os.walk(repo):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, 65534, 65534, follow_symlinks=False)
    for args in (("scan", "--all-files"), ("scan", "--history")):
        result = kg_proc(*args, cwd=repo)
        assert result.code == 2 and "Traceback" not in result.all, result.all
        assert "owned by another user" in result.err and "internal error" not in result.err
        assert f"git config --global --add safe.directory {repo}" in result.err
    hook = subprocess.run([sys.executable, "-m", "kortix_guard.scan.commit_hook", "a.py"],
                          cwd=repo, capture_output=True, text=True)
    assert hook.returncode == 2 and "owned by another user" in hook.stderr
    (Path(os.environ["HOME"]) / ".gitconfig").write_text(f"[safe]\n\tdirectory = {repo}\n")
    trusted = kg_proc("scan", "--all-files", cwd=repo)
    assert trusted.code == 1 and "KG320" in trusted.out
