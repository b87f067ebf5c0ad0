"""The parser of `git log --raw -z`, by a table of cases (as pre-commit tests its parsing of
git's output), and against real git on a history with a merge, a deletion, a symlink, an
executable, and file names git has to quote."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kortix_guard.git import Repo
from kortix_guard.scan.history import (
    Change,
    LogCommit,
    UnexpectedLog,
    listed_by_log,
    parse_raw_log,
    parse_raw_stream,
)
from tests.conftest import git, git_init

A, B, C, D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)
Z = "0" * 40

CASES = [
    ("empty", b"", []),
    ("a root commit", f"\x01{A}\0\n:000000 100644 {Z} {B} A\0src/app.py\0".encode(),
     [LogCommit(A, [Change("src/app.py", 0o100644, B)])]),
    ("two commits, a deletion", f"\x01{A}\0\n:000000 100644 {Z} {B} A\0a.txt\0\x01{C}\0\n"
                                f":100644 000000 {B} {Z} D\0a.txt\0".encode(),
     [LogCommit(A, [Change("a.txt", 0o100644, B)]), LogCommit(C, [Change("a.txt", 0, Z)])]),
    ("an executable and a symlink", f"\x01{A}\0\n:000000 100755 {Z} {B} A\0run.sh\0"
                                    f":000000 120000 {Z} {C} A\0current\0".encode(),
     [LogCommit(A, [Change("run.sh", 0o100755, B), Change("current", 0o120000, C)])]),
    ("a merge's combined diff: the last mode and id are the merge's",
     f"\x01{D}\0\n::100644 100644 100644 {A} {B} {C} MM\0lib/x.py\0".encode(),
     [LogCommit(D, [Change("lib/x.py", 0o100644, C)])]),
    ("a merge with nothing of its own", f"\x01{D}\0\0\x01{A}\0".encode(),
     [LogCommit(D, []), LogCommit(A, [])]),
    ("a name with a newline and a tab", f"\x01{A}\0\n:000000 100644 {Z} {B} A\0".encode()
     + b"odd\nname\tx.txt\0", [LogCommit(A, [Change("odd\nname\tx.txt", 0o100644, B)])]),
    ("SHA-256 ids", f"\x01{'e' * 64}\0\n:000000 100644 {'0' * 64} {'f' * 64} A\0k\0".encode(),
     [LogCommit("e" * 64, [Change("k", 0o100644, "f" * 64)])]),
]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse(data: bytes, expected: list[LogCommit]) -> None:
    assert parse_raw_log(data) == expected


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_in_chunks_cut_anywhere(data: bytes, expected: list[LogCommit]) -> None:
    """git's output is read as it comes: a cut inside a commit line, a change line or a path,
    or between a change and its path, changes nothing."""
    for cut in range(len(data) + 1):
        assert list(parse_raw_stream([data[:cut], b"", data[cut:]])) == expected, cut


@pytest.mark.parametrize("data", [
    b"commit abc\n",  # another format
    f"\x01{A}\0\nM\0src/app.py\0".encode(),  # --name-status, not --raw
    f":000000 100644 {Z} {B} A\0a.txt\0".encode(),  # a change before any commit
    f"\x01{A}\0\n:000000 100644 {Z}\0a.txt\0".encode(),  # too few fields
    f"\x01{A}\0\n:000000 10x644 {Z} {B} A\0a.txt\0".encode(),  # not a mode
    f"\x01{A[:12]}\0".encode(),  # an abbreviated id
    f"\x01{A}\0\n:000000 100644 {Z} {B} A".encode(),  # cut before the path
], ids=["format", "name-status", "orphan-change", "fields", "mode", "abbrev", "cut"])
def test_unexpected_output_is_refused(data: bytes) -> None:
    with pytest.raises(UnexpectedLog):
        parse_raw_log(data)


@pytest.mark.parametrize("per_git", [8192, 2], ids=["one-git", "a-git-per-2-commits"])
def test_the_parser_reads_real_git(tmp_path: Path, per_git: int, monkeypatch) -> None:
    """A history with a merge that brings its own content, a deletion, an executable, a
    symlink and a name git quotes: both listings give the same pairs and commits, however
    many commits each `git diff-tree` lists."""
    from kortix_guard import git as git_module
    from kortix_guard.scan.history import walked

    monkeypatch.setattr(git_module, "LOG_COMMITS", per_git)

    root = git_init(tmp_path / "repo")

    def commit(files: dict[str, str], message: str) -> None:
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        git("add", "-A", cwd=root)
        git("commit", "-qm", message, cwd=root)

    commit({"a.txt": "one\n", "odd\nname.txt": "x\n"}, "root")
    (root / "run.sh").write_text("echo hi\n")
    os.chmod(root / "run.sh", 0o755)
    os.symlink("a.txt", root / "link")
    commit({}, "exec and link")
    git("checkout", "-qb", "side", cwd=root)
    commit({"lib/x.py": "side\n"}, "side")
    git("checkout", "-q", "-", cwd=root)
    commit({"lib/x.py": "main\n"}, "main")
    subprocess.run(["git", "merge", "-q", "side"], cwd=root, capture_output=True)
    commit({"lib/x.py": "resolved\n"}, "merge")
    (root / "a.txt").unlink()
    commit({}, "delete")
    repo = Repo(root)
    tips = git("for-each-ref", "--format=%(objectname)", cwd=root).split()
    by_log = list(listed_by_log(repo, tips))
    commits, _, _ = repo.history_walk()
    by_walk = list(walked(repo, commits, []))

    def pairs(refs) -> set[tuple]:
        return {(r.path, r.id, r.commit, r.kind) for r in refs if r.kind in ("file", "link")}

    assert pairs(by_log) == pairs(by_walk)
    assert {r.path for r in by_log} >= {"a.txt", "odd\nname.txt", "run.sh", "link", "lib/x.py"}


def test_the_early_walk_answers_what_the_walk_would(tmp_path: Path) -> None:
    """git's walk of a range started before the repository is opened (EarlyWalk) gives the
    commit walk the same commits, order and boundary trees as its own walk; a name that
    would be read as an option is never handed to git."""
    from kortix_guard.git import EarlyWalk
    from tests.conftest import commit

    root = git_init(tmp_path / "repo")
    for i in range(4):
        commit(root, {f"f{i}.txt": f"{i}\n"}, f"c{i}")
    git("checkout", "-q", "-b", "side", "HEAD~2", cwd=root)
    commit(root, {"side.txt": "s\n"}, "side")
    git("checkout", "-q", "-", cwd=root)
    git("merge", "-q", "--no-edit", "side", cwd=root)
    repo = Repo(root)
    head, base = repo.resolve("HEAD"), repo.resolve("HEAD~1")
    early = EarlyWalk.of(root, "HEAD", "HEAD~1")
    assert early is not None
    walked = repo.commit_walk([head], [base])
    answered = repo.commit_walk([head], [base], early)
    assert answered.ordered == walked.ordered and len(walked.ordered or []) == 2
    assert sorted(str(t.id) for t in answered.known) == sorted(str(t.id) for t in walked.known)
    assert EarlyWalk.of(root, "HEAD", "--output=x") is None
    assert EarlyWalk.of(root, "-n1", "HEAD~1") is None
    assert EarlyWalk.of(root, "HEAD", "no-such-rev").answer() is None  # then the walk's own


def test_the_early_walk_of_a_push_answers_what_the_walk_would(tmp_path: Path) -> None:
    """A push's early walk excludes what every ref under refs/ holds, as `ref_targets`
    does, and not HEAD (here detached at the pushed commit itself); ids alone reach git."""
    from kortix_guard.git import EarlyWalk

    root, new, _ = _pushed_repo(tmp_path)
    repo = Repo(root)
    early = EarlyWalk.of_push(root, [new])
    assert early is not None
    walked = repo.commit_walk([new], repo.ref_targets())
    answered = repo.commit_walk([new], repo.ref_targets(), early)
    assert answered.ordered == walked.ordered and len(walked.ordered or []) == 2
    assert sorted(str(t.id) for t in answered.known) == sorted(str(t.id) for t in walked.known)
    assert EarlyWalk.of_push(root, ["--all"]) is None and EarlyWalk.of_push(root, []) is None


@pytest.mark.parametrize(("args", "named"), [
    (["scan", "--range", "a..b"], (".", "a..b")),
    (["-C", "sub", "scan", "--format", "json", "--range=a..HEAD"], ("sub", "a..HEAD")),
    (["-Csub", "-v", "--manifest", "m.yaml", "scan", "--range", "a.."], ("sub", "a..")),
    (["--manifest", "scan", "scan", "--range", "a..b"], (".", "a..b")),  # a value, then the command
    (["scan", "--", "--range", "a..b"], None),  # a path after `--`
    (["scan", "--range", "a...b"], None),  # not a range click accepts
    (["scan", "--range"], None),
    (["inject", "--range", "a..b"], None),
    ([], None),
])
def test_the_entry_reads_a_range_from_the_command_line(args: list[str], named) -> None:
    """`kortix-guard` starts git's walk of `scan --range` before click parses anything:
    only the command line's shape is read, the rest is click's."""
    from kortix_guard.cli.start import range_named

    assert range_named(args) == named


def test_a_walk_started_by_the_entry_is_taken_by_the_same_range_only(tmp_path: Path) -> None:
    from kortix_guard.git import EarlyWalk
    from tests.conftest import commit

    root = git_init(tmp_path / "repo")
    for i in range(3):
        commit(root, {f"f{i}.txt": f"{i}\n"}, f"c{i}")
    EarlyWalk.started_from(root, "HEAD~2..HEAD")
    other = EarlyWalk.of(root, "HEAD", "HEAD~1")  # another range: a walk of its own
    started = EarlyWalk.of(root / ".", "HEAD", "HEAD~2")  # the same folder, however named
    assert other is not None and started is not None and other is not started
    assert len([c for c in started.answer() or [] if not c.startswith("-")]) == 2
    assert EarlyWalk._started == {}  # taken once


@pytest.mark.parametrize(("args", "folder"), [
    (["scan", "--pre-receive"], "."),
    (["-C", "srv.git", "scan", "--config", "c.toml", "--pre-receive"], "srv.git"),
    (["scan", "--", "--pre-receive"], None),  # a path after `--`
    (["scan", "--pre-receive", "--help"], None),  # click's help: the input is never read
    (["scan", "-h", "--pre-receive"], None),
    (["scan", "--range", "a..b"], None),
    (["hook", "install", "--pre-receive", "x.git"], None),
    ([], None),
])
def test_the_entry_reads_a_pre_receive_hook_from_the_command_line(args: list[str],
                                                                   folder) -> None:
    from kortix_guard.cli.start import pre_receive_named

    assert pre_receive_named(args) == folder


def _pushed_repo(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A repository with main at one commit and two more commits on a deleted branch: a
    push's new id, and the commits git's walk of it gives (oldest first, then the boundary
    commit as `-ID`)."""
    from tests.conftest import commit

    root = git_init(tmp_path / "repo")
    commit(root, {"a.txt": "a\n"}, "one")
    git("checkout", "-q", "-b", "topic", cwd=root)
    commit(root, {"b.txt": "b\n"}, "two")
    new = commit(root, {"c.txt": "c\n"}, "three")
    git("checkout", "-q", "--detach", cwd=root)
    git("branch", "-q", "-D", "topic", cwd=root)
    walked = git("rev-list", "--topo-order", "--reverse", "--boundary", new, "--not",
                 "--exclude=HEAD", "--all", cwd=root).split()
    return root, new, walked


def _answer_in_a_fork(root: Path, new: str, stop_first: bool = False) -> list[str] | None:
    """What a process forked after the hook's entry started the walk (as the pre-receive
    hook's budget forks its scan) gets as the walk's answer."""
    import json
    import select

    from kortix_guard.git import EarlyWalk, Handover

    walks = Handover()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child reports through the pipe)
        os.close(read_end)
        walks.in_child()
        walk = EarlyWalk.of_push(root, [new])
        answer = walk.answer() if walk is not None and not EarlyWalk._started else "not taken"
        os.write(write_end, json.dumps(answer).encode())
        os._exit(0)
    os.close(write_end)
    watched = walks.in_parent()
    assert EarlyWalk._started == {}
    if stop_first:
        walks.close()  # the walk stopped before it ended: no status ever comes
        watched = []
    while watched:
        for pidfd in select.select(watched, [], [], 30)[0]:
            walks.ended(pidfd)
            watched.remove(pidfd)
    with os.fdopen(read_end, "rb") as pipe:
        said = json.loads(pipe.read())
    os.waitpid(pid, 0)
    walks.close()
    return said


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="a pidfd: Linux")
def test_a_push_walk_started_by_the_entry_is_answered_in_the_forked_scan(
        tmp_path: Path) -> None:
    """The pre-receive hook's walk starts before the command line is parsed and is read in
    the process its time budget forks: git's exit status comes from the process that
    started git (its only waiter). A walk git could not finish, or whose status never
    came, reads as none (the scan then walks itself, as before)."""
    from kortix_guard.git import EarlyWalk

    root, new, walked = _pushed_repo(tmp_path)
    updates = f"{'0' * 40} {new} refs/heads/topic\n".encode()
    EarlyWalk.started_from_push(root, updates)
    assert list(EarlyWalk._started) == [(os.path.realpath(root), new)]
    assert _answer_in_a_fork(root, new) == walked and len(walked) == 3
    missing = "f" * 40  # not in the repository: git fails
    EarlyWalk.started_from_push(root, f"{'0' * 40} {missing} refs/heads/x\n".encode())
    assert _answer_in_a_fork(root, missing) is None
    EarlyWalk.started_from_push(root, updates)
    assert _answer_in_a_fork(root, new, stop_first=True) is None
    EarlyWalk.started_from_push(root, f"{new} {'0' * 40} refs/heads/topic\n".encode())
    assert EarlyWalk._started == {}  # a deletion pushes nothing to walk


def test_a_push_walk_that_cannot_be_handed_over_is_walked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No pidfd (a kernel before 5.3, or one that refuses it): the forked scan walks the
    push itself, with the same answer, and the entry stops and reaps the walk it started."""
    from kortix_guard.git import EarlyWalk

    root, new, walked = _pushed_repo(tmp_path)
    EarlyWalk.started_from_push(root, f"{'0' * 40} {new} refs/heads/topic\n".encode())
    started = EarlyWalk._started[(os.path.realpath(root), new)]._git
    assert started is not None

    def refused(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", refused)
    assert _answer_in_a_fork(root, new) == walked
    with pytest.raises(ChildProcessError):
        os.waitpid(started._pid, os.WNOHANG)  # reaped by the entry


def test_the_tree_index_reads_what_each_tree_holds_at_a_path(tmp_path: Path) -> None:
    """The boundary trees' entries looked up by name in each distinct folder tree: names
    with spaces, non-ASCII and newlines, folders, symlinks and a submodule, the same as
    libgit2's path lookup says."""
    from kortix_guard.git import TreeIndex
    from tests.conftest import commit

    root = git_init(tmp_path / "repo")
    commit(root, {"a b.txt": "1\n", "dir/ünï.txt": "2\n", "dir/deep/x.py": "3\n"}, "one")
    (root / "link").symlink_to("a b.txt")
    (root / "odd\nname").write_text("4\n")
    sub = git_init(tmp_path / "sub")
    commit(sub, {"s.txt": "s\n"}, "s")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "mod", cwd=root)
    first = commit(root, {"dir/deep/x.py": "changed\n"}, "two")
    second = commit(root, {"a b.txt": "other\n"}, "three")
    repo = Repo(root)
    trees = [repo._git[first].tree, repo._git[second].tree]
    index = TreeIndex(trees)
    for path in ("a b.txt", "dir", "dir/ünï.txt", "dir/deep", "dir/deep/x.py", "link",
                 "odd\nname", "mod", "missing.txt", "dir/missing"):
        expected = set()
        for tree in trees:
            try:
                entry = tree[path]
            except KeyError:
                continue
            expected.add((str(entry.id), entry.type_str == "tree"))
        assert set(index.held(path)) == expected, path
    assert len(index.held("a b.txt")) == 2 and index.held("dir/deep") != []


def test_a_range_that_adds_nothing_or_names_nothing_ends_at_once(tmp_path: Path) -> None:
    """A range's workers are forked while git walks it: a range with nothing in it, or one
    git cannot resolve, lets them go and ends (as a process of its own, as CI runs it)."""
    from tests.conftest import commit, kg_proc

    root = git_init(tmp_path / "repo")
    commit(root, {"a.txt": "a\n"}, "one")
    empty = kg_proc("scan", "--range", "HEAD..HEAD", cwd=root, timeout=60)
    assert empty.code == 0, empty.err
    bad = kg_proc("scan", "--range", "no-such-base..HEAD", cwd=root, timeout=60)
    assert bad.code == 2 and "no-such-base" in bad.err and "Traceback" not in bad.err


def test_a_commit_message_is_every_byte_after_its_headers(tmp_path: Path) -> None:
    """A commit's message as scanned: every byte after the headers' blank line, for an
    empty message, one with blank lines, and one with a NUL and bytes that are not UTF-8,
    after a multi-line signature header (libgit2's `raw_message` ends at the NUL: a secret
    after it went unscanned; tests/push/test_channels.py pushes one)."""
    from tests.conftest import commit

    root = git_init(tmp_path / "repo")
    first = commit(root, {"a.txt": "a\n"}, "plain")
    tree = git("rev-parse", f"{first}^{{tree}}", cwd=root).strip()
    who = "A U Thor <a@example.com> 1700000000 +0000"
    bodies = [b"", b"subject\n\nbody\n\n\nend\n", b"nul\0inside \xff\xfe\n"]
    crafted = []
    for body in bodies:
        raw = (f"tree {tree}\nparent {first}\nauthor {who}\ncommitter {who}\n"
               f"gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n"
               ).encode() + b"\n" + body
        made = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--literally",
                               "--stdin"], cwd=root, input=raw, capture_output=True, check=True)
        crafted.append(made.stdout.decode().strip())
    repo = Repo(root)
    assert repo.commit_message(first) == b"plain\n"
    assert [repo.commit_message(c) for c in crafted] == bodies
    assert repo._git[crafted[2]].raw_message == b"nul"
