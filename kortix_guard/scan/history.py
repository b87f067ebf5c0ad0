"""What a history, a range or a push holds that is new, as items to scan: each (path, blob)
pair once, with the oldest commit that holds it there, plus the commits' messages and the
names they add. Two listings give the same answer: `git log --raw` (in C, parsed here by a
pure function) where git can list the commits, else a walk of their trees through pygit2
(git.py's repository access). One tracker of new pairs serves both."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from kortix_guard.git import OBJECT_ID, SCANNED_MODES, BlobRef, GitError, TreeIndex

if TYPE_CHECKING:
    from kortix_guard.git import EarlyWalk, Repo


class Change(NamedTuple):
    """One line of `git log --raw`: the path and what it holds after the commit."""

    path: str
    mode: int  # 0 when deleted
    blob_id: str


class LogCommit(NamedTuple):
    commit_id: str
    changes: list[Change]


class UnexpectedLog(ValueError):
    """git's output is not what it was asked for (another format, a newer git's change)."""


def parse_raw_log(data: bytes) -> list[LogCommit]:
    """The commits and changes of `git log --raw -z --no-abbrev --format=%x01%H`, in order
    (parse_raw_stream, all at once)."""
    return list(parse_raw_stream([data]))


def parse_raw_stream(chunks: Iterable[bytes]) -> Iterator[LogCommit]:
    """Each commit of `git log --raw -z --no-abbrev --format=%x01%H` once its changes are
    read, from the output in chunks cut anywhere.

    Each commit starts with \\x01 and its id; each change is `:MODE… ID… STATUS` then NUL and
    the path. A merge's combined diff has one colon, mode and id per parent before its own
    (`::100644 100644 100644 a b c MM`): the last mode and id are the merge's. A merge
    whose files all match some parent has no change line. Paths are bytes as git stores
    them (decoded with the file system's encoding, undecodable bytes kept)."""
    commit: LogCommit | None = None
    change = b""  # a change line whose path is the next token
    rest = b""
    for chunk in chunks:
        tokens = (rest + chunk).split(b"\0")
        rest = tokens.pop()  # cut, or the empty end after the last NUL
        for token in tokens:
            if change:
                commit.changes.append(_change(change, token))  # type: ignore[union-attr]
                change = b""
                continue
            token = token.lstrip(b"\n")
            if token.startswith(b"\x01"):
                if commit is not None:
                    yield commit
                commit_id = token[1:].decode("ascii", "replace")
                if OBJECT_ID.fullmatch(commit_id) is None:
                    raise UnexpectedLog(f"not a commit id: {commit_id[:80]!r}")
                commit = LogCommit(commit_id, [])
            elif token:
                if not token.startswith(b":") or commit is None:
                    raise UnexpectedLog(f"not a change line: {token[:80]!r}")
                change = token
    if change or rest.strip(b"\n"):
        raise UnexpectedLog(f"cut short: {(change or rest)[:80]!r}")
    if commit is not None:
        yield commit


def _change(token: bytes, path: bytes) -> Change:
    parents = len(token) - len(token.lstrip(b":"))
    fields = token[parents:].decode("ascii", "replace").split(" ")
    if len(fields) < 2 * (parents + 1) + 1:
        raise UnexpectedLog(f"a change line with too few fields: {token[:80]!r}")
    mode_text, blob_id = fields[parents], fields[2 * parents + 1]
    try:
        mode = int(mode_text, 8)
    except ValueError:
        raise UnexpectedLog(f"not a mode: {mode_text!r}") from None
    return Change(_path(path), mode, blob_id)




def _path(raw: bytes) -> str:
    return os.fsdecode(raw) if os.name != "nt" else raw.decode("utf-8", "surrogateescape")


class NewPairs:
    """What has been seen: (path, blob) pairs, and names (files and the folders above
    them). A pair is new once; a name is new once. Both listings fill it in the same order
    (oldest commit first), so both name the same commit for each pair."""

    __slots__ = ("names", "pairs")

    def __init__(self) -> None:
        self.pairs: set = set()  # (path, blob id): str ids from the log, Oids from the walk
        self.names: set[str] = set()

    def new_names(self, path: str) -> list[str]:
        """The folders above path, then path, that were not seen before."""
        found = []
        for end in folder_ends(path):
            folder = path[:end]
            if folder not in self.names:
                self.names.add(folder)
                found.append(folder)
        return found


class Listed:
    """What a listing has yielded: the (path, blob id) pairs and the commits whose message
    and names it gave. A listing that fails part way is finished by the walk, which then
    yields only what this lacks."""

    __slots__ = ("commits", "pairs")

    def __init__(self) -> None:
        self.commits: set[str] = set()
        # The listing's own seen pairs (NewPairs.pairs): what it yielded, what the known
        # trees hold, and submodules, none of which the walk would yield again.
        self.pairs: set[tuple[str, str]] = set()

    def lacks(self, ref: BlobRef) -> bool:
        if ref.kind in ("message", "name"):
            return ref.commit not in self.commits
        return (ref.path, ref.id) not in self.pairs


def listed_by_log(repo: Repo, revs: list[str], listed: Listed | None = None,
                  ordered: list[str] | None = None) -> Iterator[BlobRef]:
    """What `walked` yields, read from `git log --raw` as git writes it (in C: under half the
    walk's time on a long linear history, no slower on one full of merges; and the scan
    starts at once). A commit's changes against its parent hold every pair the parent
    lacks; a merge's combined diff holds the pairs that no parent has (what a parent has was
    listed with that parent, which comes first): their union is every pair in every
    commit, each with an oldest commit that holds it. What a range's boundary holds is
    listed too: the caller judges it by its findings (`KnownContent`). GitError or
    UnexpectedLog, after what was listed, when git cannot list them or says something
    unexpected; `listed` then holds what was yielded. `ordered`: the commits, oldest
    first, when the caller has them already."""
    listed = listed if listed is not None else Listed()
    seen = NewPairs()
    listed.pairs = seen.pairs
    for commit in parse_raw_stream(repo.raw_log(revs, ordered)):
        refs = message_ref(commit.commit_id, repo.commit_message(commit.commit_id))
        new_names: list[str] = []
        for change in commit.changes:
            if change.mode == 0:  # deleted
                continue
            new_names += seen.new_names(change.path)
            key = (change.path, change.blob_id)
            if key in seen.pairs:
                continue
            seen.pairs.add(key)
            if change.path not in seen.names:
                seen.names.add(change.path)
                new_names.append(change.path)
            if change.mode in SCANNED_MODES:
                refs.append(BlobRef(change.path, change.blob_id, commit.commit_id,
                                    kind="link" if change.mode == 0o120000 else "file"))
        refs += names_ref(commit.commit_id, new_names)
        listed.commits.add(commit.commit_id)
        yield from refs


def walked(repo: Repo, commits: Iterable, known_trees: Iterable) -> Iterator[BlobRef]:
    """The blobs of commits (oldest first) not in known_trees, each once per path, with the
    first commit holding it there. Each distinct tree is walked once at each path it
    appears at (a directory copied elsewhere is the same tree: its files are judged where
    they land): no per-commit diff."""
    objects = repo.objects()
    trees: set = set()  # (path prefix, tree id)
    seen = NewPairs()
    for tree in known_trees:
        if ("", tree.id) not in trees:
            trees.add(("", tree.id))
            names: list[str] = []
            _new_blobs(objects, tree, "", trees, seen.pairs, [], names)
            seen.names.update(names)
    for commit in commits:
        yield from message_ref(str(commit.id), repo.commit_message(str(commit.id)))
        if ("", commit.tree_id) in trees:
            continue
        trees.add(("", commit.tree_id))
        if not repo.has_object(commit.tree_id):
            yield BlobRef("", str(commit.tree_id), str(commit.id), missing="tree")
            continue
        found: list[tuple[str, str, str]] = []
        listed: list[str] = []
        _new_blobs(objects, commit.tree, "", trees, seen.pairs, found, listed)
        for path, blob_id, kind in found:
            if kind == "link":
                yield BlobRef(path, blob_id, str(commit.id), kind="link")
            else:
                yield BlobRef(path, blob_id, str(commit.id), missing=kind)
        new_names = [n for n in listed if n not in seen.names]
        seen.names.update(new_names)
        yield from names_ref(str(commit.id), new_names)


def _listed(repo: Repo, revs: list[str], commits: Iterable, known_trees: list,
            ordered: list[str] | None = None) -> Iterator[BlobRef]:
    """From `git log --raw` when git can list them, else from the tree walk (which leaves
    out what known_trees hold; the log's listing leaves them to `KnownContent`). A partial
    clone that may lack trees (a `tree:` filter) is walked: git lists trees it would have
    to fetch, libgit2 names each missing one. One filtered of blobs alone holds them all
    (reading no blob, the listing fetches nothing)."""
    if not repo.holds_every_tree():
        yield from walked(repo, commits, known_trees)
        return
    listed = Listed()
    try:
        yield from listed_by_log(repo, revs, listed, ordered)
    except (GitError, UnexpectedLog):
        # The walk reports what it can (a missing tree by name), less what was listed.
        yield from (ref for ref in walked(repo, commits, known_trees) if listed.lacks(ref))


def history_blobs(repo: Repo, since: str | None = None) -> Iterator[BlobRef]:
    """Each distinct blob reachable from any ref, once, with the oldest commit and path
    that introduced it. With `since`, only commits not reachable from it, and only content
    that its tree does not already hold (whoever's parent held it: a branch forked before
    REV brings older content, which changes against parents would miss)."""
    commits, revs, base = repo.history_walk(since)
    if not revs:
        return
    if base is not None:
        yield from walked(repo, commits, [base])
        return
    yield from _listed(repo, revs, commits, [])


def commit_blobs(repo: Repo, include: Iterable[str], exclude: Iterable[str],
                 known: KnownContent, early: EarlyWalk | None = None) -> Iterator[BlobRef]:
    """Each blob that the commits reachable from `include` and not from `exclude` add,
    once, with the oldest such commit. Content the excluded side already holds (the trees
    of the pushed commits' parents outside the push) is not new: the listing may yield
    some of it, and the caller drops its findings (`known`). early: git's walk of the same
    commits, started before (`EarlyWalk`)."""
    walk = repo.commit_walk(include, exclude, early)
    if not walk.revs:
        return
    known.trees = walk.known
    yield from _listed(repo, walk.revs, walk.commits, walk.known, walk.ordered)


class KnownContent:
    """The trees whose content a range or a push does not add (the trees of its commits'
    parents outside it), asked about what the scan found rather than about everything
    listed. git/git's 1,020-commit range has 30 of them: indexing them as the listing went
    took a fifth of the listing's time and held the workers' first batch back 35 ms, to
    keep 6 of its 3,079 files (58 KB) out of the scan. Those are scanned now, and a finding
    in content these trees hold is dropped, as if it had not been listed."""

    def __init__(self) -> None:
        self.trees: list = []
        self._index: TreeIndex | None = None

    def _held(self, path: str) -> list[tuple[str, bool]]:
        if not self.trees:
            return []
        if self._index is None:
            self._index = TreeIndex(self.trees)
        return self._index.held(path)

    def holds(self, path: str, blob_id: str) -> bool:
        """Whether a tree holds blob_id at path."""
        return (blob_id, False) in self._held(path)

    def holds_name(self, path: str) -> bool:
        """Whether a tree holds something at path."""
        return bool(self._held(path))


def _new_blobs(objects, tree, prefix: str, trees: set, blobs: set, found: list,
               names: list) -> None:
    """Under tree, entering only subtrees whose (path, id) is not in `trees` (both sets are
    updated), append to `found` (path, blob id, "") for each regular file whose (path, blob
    id) is not in `blobs`, (path, blob id, "link") for symlinks likewise, and for a subtree
    this clone lacks, (its path, its id, "tree"): nothing below it can be listed, let alone
    scanned. The path of each such new entry goes to `names` (an entry already seen at its
    path has a name already seen). Lists, not a generator: a history walks millions of
    entries, and each `yield from` level costs each of them."""
    for entry in tree:
        entry_id = entry.id
        path = prefix + entry.name
        kind = entry.type_str
        if kind == "tree":
            if (path, entry_id) not in trees:
                trees.add((path, entry_id))
                names.append(path)
                try:
                    subtree = objects[entry_id]
                except KeyError:
                    found.append((path + "/", str(entry_id), "tree"))
                    continue
                _new_blobs(objects, subtree, path + "/", trees, blobs, found, names)
        elif kind == "blob":
            # Each (path, blob) once: a blob copied to a new path is listed there too (the
            # scanner reads it once, and judges excludes and the baseline per path). The mode
            # (an enum pygit2 builds on each read) is read only for a new pair.
            key = (path, entry_id)
            if key not in blobs:
                blobs.add(key)
                names.append(path)
                mode = entry.filemode
                if mode in SCANNED_MODES:
                    found.append((path, str(entry_id), "link" if mode == 0o120000 else ""))
        else:  # a submodule: only its name
            names.append(path)


def message_ref(commit_id: str, message: bytes | None) -> list[BlobRef]:
    """A commit's message as an item, when it has one."""
    if not (message or b"").strip():
        return []
    return [BlobRef(f"commit {commit_id[:12]}", "", commit_id, kind="message", data=message)]


def names_ref(commit_id: str, names: list[str]) -> list[BlobRef]:
    """The names a commit adds as one item (a name alone is too small to scan alone)."""
    if not names:
        return []
    return [BlobRef(f"commit {commit_id[:12]}", "", commit_id, kind="name",
                    data="\n".join(names).encode("utf-8", "surrogateescape"))]


def folder_ends(path: str) -> Iterator[int]:
    """Where each folder above path ends, outermost first ("a/b/c" gives 1 and 3)."""
    end = path.find("/")
    while end != -1:
        yield end
        end = path.find("/", end + 1)
