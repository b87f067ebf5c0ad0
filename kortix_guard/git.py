"""All git access: pygit2 (its only importer) for the index, history and ignore rules, and
the git command line for the commit hook's few staged blobs, where starting `git` three
times costs less than importing pygit2."""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, NoReturn, Protocol

from kortix_guard.errors import Error

if TYPE_CHECKING:
    import subprocess  # imported where it is used: the commit hook starts git without it


class GitError(Error):
    """Not a git repository, or a revision it does not have."""


class MissingObject(GitError):
    """An object the history names cannot be read here: absent (a partial clone made with
    `--filter`, a shallow one) or damaged (a corrupt loose object or pack). Never fetched:
    it is reported as not scanned."""

    def __init__(self, object_id: str, *, damaged: bool = False, hint: str) -> None:
        self.why = "is damaged in this clone" if damaged else "is not in this clone"
        super().__init__(f"blob {object_id} {self.why}", hint=hint)
        self.object_id = object_id


class CommitWalk(NamedTuple):
    """What a range holds (Repo.commit_walk)."""

    commits: Iterable[Any]  # pygit2.Commit, oldest first, for the tree walk
    revs: list[str]  # for git: ids, ^ids to leave out
    known: list[Any]  # pygit2.Tree: what the excluded side already holds
    ordered: list[str] | None = None  # the commit ids oldest first, when git listed them


class BlobRef(NamedTuple):
    path: str  # repository-relative, with '/'
    id: str
    commit: str | None = None  # the commit that first introduced it (history mode)
    missing: str = ""  # "blob" or "tree" when this clone lacks the object
    kind: str = "file"  # or another channel: "link" (a symlink's target), "name" (a file
    # name), "message" (a commit message), "tag" (an annotated tag's message)
    data: bytes | None = None  # the text of a name or message (no blob to read)


# The channels besides file contents that history, range, pre-push and pre-receive scans read
# ("link": a symlink's target, a blob), and those of them whose text a BlobRef carries itself.
CHANNELS = ("link", "name", "message", "tag")
TEXT_CHANNELS = frozenset({"name", "message", "tag"})


# Repository extensions libgit2 does not claim and kortix-guard reads past: a partial clone
# made by an older git names its promisor remote in `extensions.partialclone`. Its missing
# objects are reported as not in this clone (KG350) and never fetched, as any partial clone's.
_READ_PAST = ["partialclone"]
_read_past_set = False


def _repository(path: str, flags: Any = None) -> Any:  # pygit2.Repository, RepositoryOpenFlag
    """libgit2's repository at path. One libgit2 cannot read (an extension it does not
    know, SHA-256 object names) is a GitError that names why: libgit2's own error read as an
    internal one."""
    import pygit2

    global _read_past_set
    if not _read_past_set:
        _read_past_set = True
        try:
            from pygit2.enums import Option

            pygit2.option(Option.SET_EXTENSIONS, _READ_PAST, len(_READ_PAST))
        except (AttributeError, TypeError, ValueError, pygit2.GitError):
            pass  # an older pygit2: such a repository gets the error below
    try:
        return pygit2.Repository(path) if flags is None else pygit2.Repository(path, flags)
    except pygit2.GitError as e:  # InvalidError is one
        text = str(e)
        last = text.rpartition(" ")[2].strip("'")
        owned = re.search(r"repository path '(.*)' is not owned by current user", text)
        if owned:
            raise _not_owned(owned.group(1)) from None
        if "unsupported extension" in text:
            what = f"git's {last}"
        elif "unknown object format" in text:
            what = f"{last} object names (`git init --object-format={last}`)"
        else:
            raise
        raise GitError(f"{path}: this repository uses {what}, which kortix-guard's git library "
                       f"(libgit2 {pygit2.LIBGIT2_VERSION}) cannot read",
                       hint="run `git config --get-regexp '^extensions[.]'` to see it; the commit "
                            "hook and `kortix-guard scan PATH` still read through git") from None


def _not_owned(where: str) -> GitError:
    """git's "dubious ownership": a repository another user owns (a CI container's checkout)
    is read only once it is declared safe, by git and by libgit2 alike."""
    return GitError(f"{where}: this repository is owned by another user, and git reads it only "
                    f"once it is declared safe (git calls it dubious ownership)",
                    hint=f"run `git config --global --add safe.directory {where}` if you trust it")


def _no_git() -> GitError:
    return GitError("git is not installed (or not on PATH)",
                    hint="install git, or put it on PATH, and run the command again")


def _refused_as_unsafe(returncode: int | None, stderr: bytes) -> bool:
    return returncode != 0 and b"dubious ownership" in stderr


class Repo:
    def __init__(self, start: Path) -> None:
        import pygit2

        found = pygit2.discover_repository(str(start))
        if found is None:
            raise GitError(f"{start}: not inside a git repository",
                           hint="run `git init`, or scan files on disk with `kortix-guard scan PATH`")
        self._git = _repository(found)
        if self._git.workdir is None:
            raise GitError(f"{found}: a bare repository has no work tree to scan",
                           hint="run it in a clone; on the server, `kortix-guard hook install "
                                "--pre-receive` scans pushes")
        self.root = Path(self._git.workdir).resolve()

    @classmethod
    def from_environment(cls, start: Path) -> Repo:
        """The repository a git hook runs in, bare or not, opened from git's environment so
        that a pre-receive hook sees the pushed objects in their quarantine directory
        (GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES). No
        discovery walks the file system above it."""
        import pygit2
        from pygit2.enums import RepositoryOpenFlag

        repo = cls.__new__(cls)
        try:
            repo._git = _repository(str(start), RepositoryOpenFlag.FROM_ENV)
        except pygit2.GitError as e:
            raise GitError(f"{start}: not a git repository ({e})",
                           hint="run the hook inside the repository it was installed in") from None
        repo.root = Path(repo._git.workdir or repo._git.path).resolve()
        return repo

    @classmethod
    def holding(cls, path: Path) -> tuple[Repo, str]:
        """The repository path is in, and path relative to its work tree (with `/`); the
        path need not exist. GitError when there is no repository or path lies outside it."""
        start = path.absolute().parent
        while not start.exists() and start != start.parent:
            start = start.parent  # a deleted folder: the repository is further up
        repo = cls(start)
        try:
            relative = path.resolve().relative_to(repo.root)
        except ValueError:
            raise GitError(f"{path}: outside the repository at {repo.root}",
                           hint="run kortix-guard inside the repository") from None
        return repo, relative.as_posix()

    def ref_targets(self, prefix: str = "refs/") -> list[str]:
        """The commit every ref under prefix points to (tags peeled)."""
        import pygit2

        targets = []
        for name in self._git.references:
            if name.startswith(prefix):
                try:
                    target = self._git.references[name].peel(pygit2.Commit)
                except (pygit2.GitError, ValueError, KeyError):
                    continue
                targets.append(str(target.id))
        return targets

    def prefix(self, folder: Path) -> str | None:
        """folder as a prefix of repository paths (`""` at the root, else `sub/dir/`), None
        when it lies outside this repository."""
        try:
            relative = folder.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None
        return "" if relative == "." else relative + "/"

    def remote_identity(self) -> str:
        """`remote:` and origin's URL as git uses it (after `insteadOf` rewriting),
        normalised; "" without an origin."""
        try:
            url = self._git.remotes["origin"].url
        except (KeyError, ValueError):
            url = None
        return "remote:" + normalise_remote(url) if url else ""

    def common_dir(self) -> Path:
        """The clone's git common directory (a worktree's is its main repository's): what
        names this clone on this machine, whatever is committed in it."""
        path = Path(self._git.path)
        pointer = path / "commondir"
        if pointer.is_file():
            return (path / pointer.read_text(errors="replace").strip()).resolve()
        return path.resolve()

    def identity(self) -> str:
        """What names this repository on every clone, whatever its path or remote: its root
        commits reachable from HEAD (sorted), else its normalised `origin` URL, else "" (a
        new repository: the caller names it by its folder). The roots are cached per
        repository and HEAD (a walk of the new commits only)."""
        roots = self._root_commits()
        if roots:
            return "roots:" + ",".join(roots)
        return self.remote_identity()

    def _root_commits(self) -> list[str]:
        import hashlib

        import pygit2

        from kortix_guard._dirs import private_folder

        if self._git.head_is_unborn:
            return []
        head = self._git.head.target
        cache = private_folder("cache", "roots") / hashlib.sha256(
            str(Path(self._git.path).resolve()).encode()).hexdigest()[:32]
        known_head, roots = None, set()
        try:
            lines = cache.read_text("ascii").split()
            if lines:
                known_head, roots = lines[0], set(lines[1:])
        except (OSError, UnicodeDecodeError):
            pass
        if known_head == str(head):
            return sorted(roots)
        walker = self._git.walk(head, pygit2.enums.SortMode.NONE)
        if known_head is not None and self.has_commit(known_head) and self._git.descendant_of(
                head, pygit2.Oid(hex=known_head)):
            walker.hide(pygit2.Oid(hex=known_head))  # the roots behind it are known
        else:
            roots = set()
        roots |= {str(c.id) for c in walker if not c.parent_ids}
        from kortix_guard._fs import atomic_write

        atomic_write(cache, (str(head) + "\n" + "\n".join(sorted(roots)) + "\n").encode(), mode=0o600)
        return sorted(roots)

    def _origin_head(self) -> str | None:
        """The branch origin's HEAD names (`git remote set-head`, or a clone), if any."""
        origin_head = self._git.references.get("refs/remotes/origin/HEAD")
        if origin_head is not None and isinstance(origin_head.target, str):
            return origin_head.target.removeprefix("refs/remotes/origin/")
        return None

    def default_branch_name(self) -> str:
        """The default branch's name, as a hint names it: origin's HEAD, else the first of
        `init.defaultBranch`, main, master, trunk and develop that exists here (locally or on
        origin), else the current branch (an unborn one too), else main. (The current branch
        came second before: on a feature branch the hint said to check out that branch.)"""
        name = self._origin_head()
        if name:
            return name
        for branch in filter(None, (self.config("init.defaultBranch"), *_USUAL_DEFAULTS)):
            if (f"refs/heads/{branch}" in self._git.references
                    or f"refs/remotes/origin/{branch}" in self._git.references):
                return branch
        if not self._git.head_is_detached:
            try:
                target = self._git.references["HEAD"].target
            except KeyError:
                target = None
            if isinstance(target, str) and target.startswith("refs/heads/"):
                return target.removeprefix("refs/heads/")
        return self.config("init.defaultBranch") or "main"

    def default_branch_refs(self) -> list[str] | None:
        """Where the default branch is: its local branch and its upstream (the refs that
        exist), or None when HEAD is that branch (then the current branch is what counts).
        The default branch is origin's HEAD, else the first of `init.defaultBranch`, main and
        master that exists here (a repository with no remote has one too: a write on a
        feature branch never counts as the default branch's)."""
        name = self._origin_head()
        candidates = [name] if name else [self.config("init.defaultBranch") or "", "main",
                                          "master"]
        for branch in filter(None, candidates):
            refs = [ref for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}")
                    if ref in self._git.references]
            if refs:
                if (not self._git.head_is_detached and not self._git.head_is_unborn
                        and self._git.head.name == f"refs/heads/{branch}"):
                    return None
                return refs
        return None

    def has_commit(self, commit_id: str) -> bool:
        import pygit2

        try:
            return isinstance(self._git[pygit2.Oid(hex=commit_id)], pygit2.Commit)
        except (KeyError, ValueError):
            return False

    def commit_walk(self, include: Iterable[str], exclude: Iterable[str],
                    early: EarlyWalk | None = None) -> CommitWalk:
        """The commits reachable from `include` and not from `exclude`, oldest first; the
        trees of their parents outside that set (content the excluded side already holds),
        and the revisions naming the set for `git log` (ids, `^id` to leave out). git lists
        them when it can (one `git rev-list --boundary`, whose order the listing then
        reuses); libgit2's walk otherwise, and only when something reads `commits`."""
        import pygit2

        include, exclude = list(include), list(exclude)
        if not include:
            return CommitWalk([], [], [])
        excluded = [c for c in exclude if self.has_commit(c)]
        revs = [*include, *(f"^{c}" for c in excluded)]
        listed = early.answer() if early is not None and len(excluded) == len(exclude) else None
        if listed is None:
            listed = self._rev_list(revs, "--boundary")

        def walk() -> Iterator[Any]:  # pygit2.Commit
            from pygit2.enums import SortMode

            walker = self._git.walk(None, SortMode.TOPOLOGICAL | SortMode.REVERSE)
            for commit_id in include:
                walker.push(pygit2.Oid(hex=commit_id))
            for commit_id in excluded:
                walker.hide(pygit2.Oid(hex=commit_id))
            yield from walker

        if listed is None:
            commits: Iterable[Any] = list(walk())
            new = {c.id for c in commits}
            boundary = {p for c in commits for p in c.parent_ids if p not in new}
            ordered = None
        else:
            commits = walk()  # a generator: walked only if git's listing fails part way
            ordered = [c for c in listed if not c.startswith("-")]
            boundary = {pygit2.Oid(hex=c[1:]) for c in listed if c.startswith("-")}
        # A parent a shallow clone lacks holds nothing known: everything is scanned as new.
        known = [self._git[p].tree for p in boundary if self.has_object(p)]
        return CommitWalk(commits, revs, known, ordered)

    def _rev_list(self, revs: list[str], *options: str) -> list[str] | None:
        """`git rev-list` of revs (ids, `^id`s): `_rev_ids`."""
        try:
            done = _git([*_plumbing(self._git.path)[1:], *_REV_LIST, "--stdin", *options],
                        Path(self._git.path), check=False,
                        stdin="".join(f"{rev}\n" for rev in revs))
        except GitError:  # no git
            return None
        return _rev_ids(done.returncode, done.stdout)

    def history_walk(self, since: str | None = None):
        """Every commit reachable from any ref, oldest first (with `since`, those not
        reachable from it), the ref tips as revisions for `git log`, and `since`'s tree (or
        None). A dangling symbolic ref (origin/HEAD naming a deleted branch) is left out and
        named in `skipped_refs`, as git and the other scanners carry on."""
        import pygit2
        from pygit2.enums import SortMode

        walker = self._git.walk(None, SortMode.TOPOLOGICAL | SortMode.REVERSE)
        revs = []
        self.skipped_refs: list[str] = []
        for ref in self._git.references:
            try:
                target = self._git.references[ref].peel()
            except (pygit2.GitError, ValueError, KeyError):
                self.skipped_refs.append(ref)
                continue
            if isinstance(target, pygit2.Commit):
                walker.push(target.id)
                revs.append(str(target.id))
        if not revs:
            return [], [], None
        base = None
        if since is not None:
            base = self._git[self._commit_id(since)]
            walker.hide(base.id)
            base = base.tree
        return walker, revs, base

    def objects(self):
        """The object database as a mapping (id -> object), for walking trees."""
        return self._git

    def commit_message(self, commit_id: str) -> bytes | None:
        """A commit's message: every byte after its headers (libgit2's `raw_message` ends
        at a NUL, and a secret after one went unscanned)."""
        return self._object_message(commit_id)

    def _object_message(self, object_id: str) -> bytes:
        """What follows the headers of a commit or tag object, read raw. KeyError when
        the repository lacks it."""
        import pygit2

        return _message_of(self._git.odb.read(pygit2.Oid(hex=object_id))[1])

    def raw_log(self, revs: list[str], ordered: list[str] | None = None) -> Iterator[bytes]:
        """`git log --raw -z` of the commits revs name, oldest first, as scan.history parses
        it, in chunks as git writes them: `git rev-list` (or the commits `ordered` already
        holds, oldest first), then `git diff-tree --stdin` on each LOG_COMMITS of them, which
        (unlike `git log --reverse`) writes each commit as soon as it has it, so the scan
        starts while git is still listing; and a git process holds the objects of its own
        commits only (one diff-tree of git/git's 81,966 commits peaked at 505 MiB).
        GitError, after the chunks git did write, when git cannot list them (not installed,
        a tree missing or damaged). Each option that a user's git config could change is
        named: no rename pairing, no signature lines, no colour, no replaced objects (libgit2
        reads none either), full ids; a merge lists what differs from every parent (its
        combined diff); a commit with no changes still has its line."""
        # --topo-order walks every commit before it writes the first: read it whole.
        commits = ordered if ordered is not None else self._rev_list(revs)
        if commits is None:
            raise GitError("git could not list the history (not installed, or a commit "
                           "missing)", hint="run `git fsck`")
        for start in range(0, len(commits), LOG_COMMITS):
            yield from _diff_trees(self._git.path, commits[start:start + LOG_COMMITS])

    def is_partial_clone(self) -> bool:
        """A clone made with --filter (a promisor remote)."""
        config = self._git.config
        return "extensions.partialclone" in config or any(
            entry.name.startswith("remote.") and entry.name.endswith(".promisor")
            for entry in config)

    def tag_messages(self, object_ids: Iterable[str]) -> tuple[list[BlobRef], list[str]]:
        """For ref targets (a push's new ids, every tag ref): the messages of annotated
        tags (through tags of tags), and the ids that are neither a commit nor a tag of one
        (a tag of a blob or a tree: refused by a server)."""
        import pygit2

        messages, refused = [], []
        for object_id in object_ids:
            try:
                target = self._git[pygit2.Oid(hex=object_id)]
            except (KeyError, ValueError):
                continue
            while isinstance(target, pygit2.Tag):
                messages.append(BlobRef(f"tag {target.name}", "", None, kind="tag",
                                        data=self._object_message(str(target.id))))
                target = self._git[target.target]
            if not isinstance(target, pygit2.Commit):
                refused.append(object_id)
        return messages, refused

    def tag_ref_targets(self) -> list[str]:
        """What refs/tags/* point to, unpeeled (annotated tags are tag objects)."""
        return [str(self._git.references[name].target) for name in self._git.references
                if name.startswith("refs/tags/")
                and not isinstance(self._git.references[name].target, str)]

    def has_object(self, oid) -> bool:
        return oid in self._git.odb

    def read(self, blob_id: str) -> bytes:
        import pygit2

        # An exact lookup straight from the object database: indexing the repository by a
        # hex string is a prefix search. libgit2 never fetches a promised object.
        try:
            return self._git.odb.read(pygit2.Oid(hex=blob_id))[1]
        except (KeyError, pygit2.GitError) as e:
            raise MissingObject(blob_id, damaged=not isinstance(e, KeyError),
                                hint="fetch the whole history (`git fetch --unshallow`, a "
                                     "clone without --filter), or repair it (`git fsck`)") from None

    def blob_stream(self) -> BlobStream | None:
        """A stream of this repository's blobs through `git cat-file --batch`, or None where
        git is not on PATH; `read` serves then. In a partial clone only the blobs this clone
        holds are asked for (git before 2.44 would fetch the others): libgit2 says which."""
        odb = self._git.odb
        try:
            return BlobStream(self._git.path,
                              holds=odb.__contains__ if self.is_partial_clone() else None)
        except OSError:
            return None

    def holds_every_tree(self) -> bool:
        """Whether git can list this clone's history: a full clone, or a partial one whose
        filter leaves out blobs alone (`blob:none`, `blob:limit=…`, the usual ones)."""
        if not self.is_partial_clone():
            return True
        filters = [entry.value for entry in self._git.config
                   if entry.name == "core.partialclonefilter" or (
                       entry.name.startswith("remote.")
                       and entry.name.endswith(".partialclonefilter"))]
        return bool(filters) and all(f.startswith("blob:") for f in filters)

    def _index(self) -> Any:  # pygit2.Index, or None
        """libgit2's index, read afresh; None when libgit2 cannot read it (a split index,
        `core.splitIndex`: its mandatory `link` extension), where git's command line answers."""
        import pygit2

        try:
            index = self._git.index
            index.read(False)
        except pygit2.GitError:
            return None
        return index

    def index_blobs(self, paths: Iterable[str] | None = None) -> list[BlobRef]:
        """Blobs in the index: all of them, or those at the given repository paths."""
        index = self._index()
        if index is None:
            return GitCli(self.root).index_blobs(paths)
        wanted = None if paths is None else set(paths)
        return [BlobRef(e.path, str(e.id)) for e in index
                if (wanted is None or e.path in wanted) and _is_file_mode(e.mode)]

    def staged_blobs(self) -> list[BlobRef]:
        """Index entries that differ from HEAD: what the next commit adds or changes."""
        head = self._head_tree()
        committed: dict[str, str] = {}
        if head is not None:
            committed = {path: blob_id for path, blob_id in walk_tree(head, "")}
        return [b for b in self.index_blobs() if committed.get(b.path) != b.id]

    def _head_tree(self):
        if self._git.head_is_unborn:
            return None
        return self._git.head.peel().tree

    def resolve(self, rev: str) -> str:
        """The commit id a revision names (GitError when there is none)."""
        return str(self._commit_id(rev))

    def _commit_id(self, rev: str):
        import pygit2

        try:
            return self._git.revparse_single(rev).peel(pygit2.Commit).id
        except (KeyError, ValueError, pygit2.GitError):
            shallow = (Path(self._git.path) / "shallow").exists()
            hint = ("this is a shallow clone: fetch the history (in GitHub Actions, "
                    "actions/checkout with `fetch-depth: 0`)" if shallow
                    else "check the revision with `git rev-parse`")
            raise GitError(f"{rev}: no such revision in this repository",
                           hint=hint) from None

    def head_file(self, path: str) -> bytes | None:
        """The content of path (repository-relative) in HEAD's tree, None when absent."""
        if self._git.head_is_unborn:
            return None
        entry = _blob_entry(self._git.head.peel().tree, path)
        return self._blob_data(entry.id) if entry is not None else None

    def file_at(self, rev: str, path: str) -> bytes | None:
        """The content of path at a revision, None when the revision does not hold it."""
        entry = _blob_entry(self._git[self._commit_id(rev)].tree, path)
        return self._blob_data(entry.id) if entry is not None else None

    def file_versions(self, path: str) -> Iterator[bytes]:
        """Every distinct content path had in a commit reachable from HEAD or any ref."""
        import pygit2

        walker = self._git.walk(None, pygit2.enums.SortMode.NONE)
        for target in {*self.ref_targets(), *([] if self._git.head_is_unborn
                                               else [str(self._git.head.target)])}:
            walker.push(pygit2.Oid(hex=target))
        seen = set()
        for commit in walker:
            entry = _blob_entry(commit.tree, path)
            if entry is not None and entry.id not in seen:
                seen.add(entry.id)
                yield self._blob_data(entry.id)

    def _blob_data(self, oid: Any) -> bytes:
        blob: Any = self._git[oid]  # pygit2.Blob
        return bytes(blob.data)

    def config(self, name: str) -> str | None:
        try:
            return self._git.config[name]
        except KeyError:
            return None

    def set_config(self, name: str, value: str) -> None:
        self._git.config[name] = value

    def small_index_blobs(self, limit: int) -> Iterator[tuple[str, bytes]]:
        """(path, content) of every index entry no bigger than limit bytes."""
        for ref in self.index_blobs():
            blob: Any = self._git[ref.id]  # pygit2.Blob
            if blob.size <= limit:
                yield ref.path, blob.data

    def conflict_sides(self, path: str) -> tuple[bytes | None, bytes | None, bytes | None] | None:
        """The merge base's, ours and theirs versions of a path git left in conflict (the
        index's stages 1, 2 and 3; None for a side that lacks the file), or None when the
        path is not in conflict."""
        index = self._index()
        if index is None:
            raise GitError(f"{self.root}: this repository's index is split (core.splitIndex), "
                           "which kortix-guard's git library cannot read",
                           hint="run `git update-index --no-split-index`, then again")
        conflicts = index.conflicts
        if conflicts is None:
            return None
        try:
            stages = conflicts[path]
        except KeyError:
            return None
        return tuple(self._blob_data(entry.id) if entry is not None else None  # type: ignore[return-value]
                     for entry in stages)

    def is_tracked(self, path: str) -> bool:
        index = self._index()
        return GitCli(self.root).is_tracked(path) if index is None else path in index

    def is_ignored(self, path: str) -> bool:
        return self._git.path_is_ignored(path)


def normalise_remote(url: str) -> str:
    """`git@github.com:Org/App.git`, `https://user@github.com/Org/App` → `github.com/org/app`."""
    import re

    url = url.strip().rstrip("/")
    url = re.sub(r"^[a-z+]+://", "", url)
    url = re.sub(r"^[^@/]*@", "", url)
    url = re.sub(r"^([^/:]+):(?!\d)", r"\1/", url)  # scp form
    url = re.sub(r":\d+/", "/", url)
    return url.removesuffix(".git").lower()


class IndexReader(Protocol):
    """What both readers of a repository's index give (Repo through pygit2, GitCli through
    the git command line for the commit hook)."""

    @property
    def root(self) -> Path: ...

    def staged_blobs(self) -> list[BlobRef]: ...

    def index_blobs(self, paths: Iterable[str]) -> list[BlobRef]: ...

    def is_tracked(self, path: str) -> bool: ...


_PLAIN_REV = re.compile(r"[\w][\w./@{}~^-]*")  # a name git resolves, never an option
OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # SHA-1 or SHA-256


def range_ends(commit_range: str) -> tuple[str, str]:
    """BASE and HEAD of `BASE..HEAD` (the command line checked its shape); HEAD when the
    second is left out."""
    base, _, head = commit_range.partition("..")
    return base, head or "HEAD"


class EarlyWalk:
    """`git rev-list` of the commits a scan is about to walk, started as soon as they are
    known: git walks them (0.15 s on git/git's 1,020 commits, which is mostly proving what
    the base already holds) while the scanner loads, instead of after. A process, not a
    thread, so the scan may fork its workers meanwhile. `Repo.commit_walk` takes the answer
    for the same commits; without one (a name git cannot resolve, no git) it walks as
    before."""

    def __init__(self, start: Path, revs: list[str], stdin: str = "") -> None:
        self._answer: list[str] | None = None
        try:
            self._git: _Started | None = _Started(
                ["--no-replace-objects", *_REV_LIST, "--boundary", *revs], start,
                ask=stdin.encode())
        except GitError:
            self._git = None

    # Walks started from the command line before it was parsed, by (folder, HEAD, BASE) for
    # a range (`started_from`), (folder, *new ids) for a push (`started_from_push`): `of` and
    # `of_push` take the one for the same commits.
    _started: ClassVar[dict[tuple[str, ...], EarlyWalk]] = {}

    @classmethod
    def of(cls, start: Path, include: str, exclude: str) -> EarlyWalk | None:
        """A range, HEAD and `^BASE` as they were named (never a name git would read as an
        option)."""
        if not (_PLAIN_REV.fullmatch(include) and _PLAIN_REV.fullmatch(exclude)):
            return None
        started = cls._started.pop((os.path.realpath(start), include, exclude), None)
        return started or cls(start, ["--stdin"], f"{include}\n^{exclude}\n")

    @classmethod
    def started_from(cls, start: Path, commit_range: str) -> None:
        """Start the walk of `scan --range BASE..HEAD` as the process starts, before the
        command line's own modules load (`kortix_guard.cli.start`); a scan of the same range
        from the same folder takes it, and a command line that turns out to mean something
        else leaves it unread."""
        base, head = range_ends(commit_range)
        walk = cls.of(start, head, base)
        if walk is not None:
            cls._started[(os.path.realpath(start), head, base)] = walk

    @classmethod
    def of_push(cls, start: Path, new: list[str]) -> EarlyWalk | None:
        """A push: the new ids, less what any ref under refs/ holds (`Repo.ref_targets`; not
        HEAD, which `--all` would add)."""
        if not new or not all(OBJECT_ID.fullmatch(i) for i in new):
            return None
        started = cls._started.pop(_push_key(start, new), None)
        return started or cls(start, [*new, "--not", "--exclude=HEAD", "--all"])

    @classmethod
    def started_from_push(cls, start: Path, updates: bytes) -> None:
        """Start the walk of the push a pre-receive hook is given (git's `<old> <new> <ref>`
        lines, read by `kortix_guard.cli.start` before the command line's modules load). The
        hook scans in a process it forks (its time budget), which cannot wait for git, this
        process's child: only where this process can hand git's exit over to it (`Handover`:
        a pidfd, Linux) is the walk started here."""
        if not (hasattr(os, "pidfd_open") and hasattr(os, "fork") and hasattr(os, "posix_spawnp")):
            return
        lines = updates.decode("utf-8", "surrogateescape").splitlines()
        new = [n for _, n, _ in parse_updates(lines) if n != ZERO_ID]
        walk = cls.of_push(start, new)
        if walk is not None:
            cls._started[_push_key(start, new)] = walk

    def answer(self) -> list[str] | None:
        """The commits oldest first (`-ID` a boundary commit), or None: git could not."""
        if self._git is not None:
            out, _ = self._git.communicate()
            self._answer = _rev_ids(self._git.returncode, out)
            self._git = None
        return self._answer


def _push_key(start: Path, new: list[str]) -> tuple[str, ...]:
    return (os.path.realpath(start), *new)


class Handover:
    """The walks this process started (`EarlyWalk.started_from_push`), handed to the process
    it forks next: the pre-receive hook's scan runs in a child under a time budget, and only
    this process can wait for git, its own child. Made before the fork; then `in_child` has
    each walk read git's exit status from a pipe, and `in_parent` gives the pidfds to watch:
    as git ends, `ended` sends its status down the pipe. A walk whose status never comes
    (this process killed) reads as one git could not finish, and the child walks again."""

    def __init__(self) -> None:
        # (the walk's git, the status pipe's two ends, a pidfd of git)
        self._walks: list[tuple[_Started, int, int, int]] = []
        self._unhanded: list[_Started] = []  # no pidfd: stopped here, walked again there
        for key, walk in list(EarlyWalk._started.items()):
            started = walk._git
            try:
                pidfd = os.pidfd_open(started._pid) if started and started._popen is None else -1
            except OSError:
                pidfd = -1
            if pidfd < 0:
                del EarlyWalk._started[key]
                self._unhanded += [started] if started is not None else []
                continue
            assert started is not None
            read_end, write_end = os.pipe()
            self._walks.append((started, read_end, write_end, pidfd))

    def in_child(self) -> None:
        for started, read_end, write_end, pidfd in self._walks:
            os.close(write_end)
            os.close(pidfd)
            started.status_from = read_end
        self._walks, self._unhanded = [], []

    def in_parent(self) -> list[int]:
        """The pidfds that turn readable as each walk's git ends (for `ended`)."""
        EarlyWalk._started.clear()
        for started, read_end, _, _ in self._walks:
            started.close_output()
            os.close(read_end)
        return [pidfd for *_, pidfd in self._walks]

    def ended(self, pidfd: int) -> None:
        for i, (started, _, write_end, fd) in enumerate(self._walks):
            if fd == pidfd:
                os.write(write_end, str(started.reap()).encode())
                os.close(write_end)
                os.close(fd)
                del self._walks[i]
                return

    def close(self) -> None:
        """Stop and reap the walks still running (the child ended first, or was not
        handed them)."""
        for started, _, write_end, pidfd in self._walks:
            started.stop()
            os.close(write_end)
            os.close(pidfd)
        for started in self._unhanded:
            started.close_output()
            started.stop()
        self._walks, self._unhanded = [], []


ZERO_ID = "0" * 40  # an update's old or new id: the ref is created, or deleted


def parse_updates(lines: Iterable[str]) -> list[tuple[str, str, str]]:
    """git's `<old> <new> <ref>` lines (pre-receive)."""
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    return updates


class GitCli:
    """The staged blobs through the git command line: what the commit hook needs, fast.

    Given the hook's files (relative to start), three git processes start at once: the
    search for the root, the listing of the files (their modes and blob ids), and the reading
    of their staged blobs by path (`:./PATH`, the index's). They run while the caller imports
    the scanner (a tenth of a commit hook's time), and `listed` and `read_all` take their
    answers. Without files the root is found before the constructor returns, as every other
    user of the command line needs it."""

    def __init__(self, start: Path, paths: Sequence[str] | None = None) -> None:
        self._start = start
        self._top = _Started(["rev-parse", "--show-toplevel"], start)
        self._listing: _Started | None = None
        self._reader: _Started | None = None
        if paths:
            # --full-name: paths from the repository's root, as if listed there.
            self._listing = _Started(["ls-files", "-s", "-z", "--full-name", "--", *paths], start)
            ask = "".join(f":./{p}\n" for p in paths).encode("utf-8", "surrogateescape")
            # The reading is asked for now only when the request fits a pipe and each path is
            # one line relative to start; otherwise read_all asks by blob id, as before.
            if len(ask) <= _ASK_BYTES and not any("\n" in p or os.path.isabs(p) for p in paths):
                self._reader = _Started(["cat-file", "--batch"], start, ask=ask)
        self._root: Path | None = None
        if not paths:
            self._root = self.root

    @property
    def root(self) -> Path:
        if self._root is None:
            out, err = self._top.communicate()
            if _refused_as_unsafe(self._top.returncode, err):
                self.close()
                raise _not_owned(str(self._start))
            if self._top.returncode != 0:
                self.close()
                raise GitError(f"{self._start}: not inside a git repository",
                               hint="run `git init`, or scan files on disk with "
                                    "`kortix-guard scan PATH`")
            self._root = Path(out.decode().strip()).resolve()
        return self._root

    def close(self) -> None:
        """Ends the processes started for files never asked for (an error came first)."""
        for proc in (self._listing, self._reader):
            if proc is not None and proc.returncode is None:
                proc.communicate()
        self._listing = self._reader = None

    def listed(self) -> list[BlobRef]:
        """The index's blobs at the files given to the constructor."""
        if self._listing is None:
            return []
        _ = self.root  # not a repository: said before what git's listing says of it
        listing, self._listing = self._listing, None
        out, err = listing.communicate()
        if listing.returncode != 0:
            self.close()
            raise GitError(f"git ls-files failed: {err.decode(errors='replace').strip()}",
                           hint="run `git status` to see what git reports here")
        return _index_entries(out)

    def staged_blobs(self) -> list[BlobRef]:
        """Index entries that differ from HEAD (all of them before the first commit)."""
        head = _git(["rev-parse", "-q", "--verify", "HEAD^{tree}"], self.root, check=False)
        base = head.stdout.decode().strip() or _EMPTY_TREE
        out = _git(["diff-index", "--cached", "-z", "--no-renames", "--diff-filter=d", base],
                   self.root).stdout
        fields = out.split(b"\0")
        refs = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            _, mode, _, blob_id, _ = meta.decode().split(" ")
            if _is_file_mode(int(mode, 8)):
                refs.append(BlobRef(path.decode("utf-8", "surrogateescape"), blob_id))
        return refs

    def index_blobs(self, paths: Iterable[str] | None = None) -> list[BlobRef]:
        """The index's blobs at these repository paths (all of them with None)."""
        chosen = None if paths is None else list(paths)
        if chosen == []:
            return []
        return _index_entries(_git(["ls-files", "-s", "-z", "--", *(chosen or ())],
                                   self.root).stdout)

    def read_all(self, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """Every blob's content: what was read by path already, the rest (a path that named
        several files, a conflict's stages) in one `git cat-file --batch` by id."""
        ids = list(dict.fromkeys(blob_ids))
        read: dict[str, bytes] = {}
        if self._reader is not None:
            reader, self._reader = self._reader, None
            read = _batch_blobs(reader.communicate()[0])
        contents = {i: read[i] for i in ids if i in read}
        rest = [i for i in ids if i not in contents]
        if rest:
            request = "".join(f"{i}\n" for i in rest)
            contents.update(_batch_blobs(_git(["cat-file", "--batch"], self.root,
                                              stdin=request).stdout))
        for blob_id in ids:
            if blob_id not in contents:
                raise GitError(f"blob {blob_id} is staged but not in this repository's objects",
                               hint="run `git fsck` to see what git reports here")
        return contents

    def is_tracked(self, path: str) -> bool:
        return bool(_git(["ls-files", "-z", "--", path], self.root).stdout)

    def head_has(self, path: str) -> bool:
        """Whether HEAD's tree holds path (repository-relative)."""
        return _git(["cat-file", "-e", f"HEAD:{path}"], self.root, check=False).returncode == 0


_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


LOG_COMMITS = 8192  # commits one `git diff-tree` lists (Repo.raw_log)


def _diff_trees(git_dir: str, commits: list[str]) -> Iterator[bytes]:
    """`git diff-tree --stdin`'s output for commits, as it comes. Its input is a file: no
    thread writes it (the scan forks its workers meanwhile), and nothing blocks."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile() as ids:
        ids.write("".join(f"{c}\n" for c in commits).encode("ascii"))
        ids.seek(0)
        differ = subprocess.Popen(
            [*_plumbing(git_dir), "diff-tree", "--stdin", "-r", "--root", "-c", "--always",
             "--raw", "-z", "--no-renames", "--no-abbrev", "--no-color", "--no-show-signature",
             "--format=%x01%H"],
            stdin=ids, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_no_fetch())
    assert differ.stdout is not None
    finished = False
    try:
        while chunk := os.read(differ.stdout.fileno(), 1 << 20):
            yield chunk
        finished = True
    finally:  # a reader that stops early leaves nothing running
        differ.stdout.close()
        if not finished and differ.poll() is None:
            differ.kill()
        differ.wait()
    if differ.returncode:
        raise GitError("git could not list the history (a missing or damaged tree, or an "
                       "old git)", hint="run `git fsck`")


def _message_of(raw: bytes) -> bytes:
    """A raw commit or tag object's message: every byte after the blank line that ends its
    headers (a header's continuation lines start with a space, so none is blank)."""
    end = raw.find(b"\n\n")
    return raw[end + 2:] if end >= 0 else b""


class StreamBroken(Exception):
    """`git cat-file` stopped answering (a damaged object ends it): read the rest otherwise."""


class BlobStream:
    """Blobs through one long-lived `git cat-file --batch`, in the order they were asked for.
    On a long history, read oldest first, git's cache of delta bases makes this 3-4 times
    cheaper than libgit2's lookups. `ask` sends a batch of ids (a few dozen: they fit in the
    pipe, so asking never blocks), `take` returns the next one's bytes. Replaced objects are
    not followed (libgit2 follows none either); the hook's quarantine comes from the
    environment, which git passes on."""

    def __init__(self, git_dir: str, holds: Callable[[str], bool] | None = None) -> None:
        """holds: whether the clone has an object (a partial clone's), asked before git is."""
        import subprocess

        self._holds = holds
        self._proc = subprocess.Popen(
            [*_plumbing(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_no_fetch())
        assert self._proc.stdout is not None
        _widen(self._proc.stdout.fileno())
        self.pending: list[str] = []  # asked for, not yet taken, in order

    def ask(self, blob_ids: list[str]) -> None:
        """Ask for blob_ids (those the clone holds; the others are never in `pending`)."""
        if self._holds is not None:
            blob_ids = [i for i in blob_ids if self._holds(i)]
        if not blob_ids:
            return
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write("".join(f"{i}\n" for i in blob_ids).encode("ascii"))
            stdin.flush()
        except OSError:
            raise StreamBroken from None
        self.pending += blob_ids

    def take(self, blob_id: str) -> bytes:
        """blob_id's bytes, skipping answers asked for before it and never taken.
        MissingObject when git has no such blob."""
        while self.pending and self.pending[0] != blob_id:
            self._skip()
        if not self.pending:
            raise StreamBroken
        return self._answer(blob_id, None)

    def drain(self) -> None:
        """Read past every answer not taken: the next batch starts in step."""
        while self.pending:
            self._skip()

    def _skip(self) -> None:
        try:
            self._answer(self.pending[0], 0)
        except MissingObject:
            pass

    def _answer(self, blob_id: str, limit: int | None) -> bytes:
        """The next answer, which must be blob_id's: its first `limit` bytes (all with None),
        the rest read past."""
        out = self._proc.stdout
        assert out is not None
        del self.pending[0]
        header = out.readline().split()
        if len(header) == 2 and header[1] == b"missing" and header[0] == blob_id.encode():
            raise MissingObject(blob_id, hint="fetch the whole history (`git fetch "
                                              "--unshallow`, a clone without --filter)")
        if len(header) != 3 or header[0] != blob_id.encode() or header[1] != b"blob" \
                or not header[2].isdigit():
            self._broken()  # ended (a damaged object), or not a blob
        size = int(header[2])
        data = out.read(size if limit is None else min(size, limit))
        if limit is None and len(data) < size:
            self._broken()
        left = size - len(data) + 1  # and the newline after the content
        while left > 0:
            skipped = len(out.read(min(left, 1 << 20)))
            if not skipped:
                self._broken()
            left -= skipped
        return data

    def _broken(self) -> NoReturn:
        self.pending.clear()
        raise StreamBroken

    def close(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()
        self._proc.wait()


PIPE_BYTES = 1 << 20


def _widen(pipe: int) -> None:
    """Let git write up to a MiB ahead of the reader (Linux; a pipe holds 64 KiB otherwise):
    git inflates the next blobs while the worker scans this one, instead of taking turns
    (on git/git's 1,020-commit range a worker waited on git for two thirds of its time)."""
    try:
        import fcntl

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass  # another system, or a lower limit: the default pipe


def set_repository_config(git_dir: Path, name: str, value: str) -> None:
    """Set a config value in the repository at git_dir (bare or not)."""

    _repository(str(git_dir)).config[name] = value


def hooks_dir(start: Path) -> Path:
    """The hooks folder git uses for the repository at start (core.hooksPath respected)."""
    proc = _git(["rev-parse", "--git-path", "hooks"], start, check=False)
    if _refused_as_unsafe(proc.returncode, proc.stderr):
        raise _not_owned(str(start))
    if proc.returncode != 0:
        raise GitError(f"{start}: not inside a git repository", hint="run `git init`")
    return (start / proc.stdout.decode().strip()).absolute()


_REV_LIST = ["rev-list", "--topo-order", "--reverse"]  # oldest first, parents before children


def _rev_ids(returncode: int | None, out: bytes) -> list[str] | None:
    """`git rev-list`'s ids (`-id` for a boundary commit), or None when git could not list
    them (a commit missing)."""
    return out.decode("ascii", "replace").split() if returncode == 0 else None


def _plumbing(git_dir: str) -> list[str]:
    """git on a repository's objects as they are: no replaced objects (libgit2 reads none
    either)."""
    return ["git", f"--git-dir={git_dir}", "--no-replace-objects"]


def _no_fetch() -> dict[str, str]:
    """The environment for git: in a partial clone, never fetch a missing object over the
    network (GIT_NO_LAZY_FETCH, git 2.44 on; before it, no transport is allowed, so a lazy
    fetch fails at once: none of the commands run here needs one)."""
    return {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": ""}


class _Done(NamedTuple):
    """What a git command ended with (`_git`): subprocess.CompletedProcess's fields."""

    returncode: int
    stdout: bytes
    stderr: bytes


def _git(args: list[str], cwd: Path, *, check: bool = True, stdin: str | None = None) -> _Done:
    """git run to its end. Started as `_Started` (no subprocess module: what a commit hook
    runs, such as `ls-files` for each untracked .env) unless its input is over a pipe's."""
    ask = stdin.encode() if stdin is not None else b""
    if len(ask) <= _ASK_BYTES:
        started = _Started(args, cwd, ask=ask)
        out, err = started.communicate()
        assert started.returncode is not None
        proc = _Done(started.returncode, out, err)
    else:
        import subprocess

        try:
            run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False,
                                 input=ask, env=_no_fetch())
        except FileNotFoundError:
            raise _no_git() from None
        proc = _Done(run.returncode, run.stdout, run.stderr)
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}",
                       hint="run `git status` to see what git reports here")
    return proc


class _Started:
    """git started and not waited for (GitCli): its answer is read when it is needed. Where
    there is `os.posix_spawnp` (not Windows) it starts without the subprocess module: the
    commit hook's three git processes then cost it neither that import nor three Popens (a
    twelfth of its time together). With ask, git is given its whole input at once (at most
    a pipe's `_ASK_BYTES`, so writing it never waits on git). git may write a MiB of its
    answer before it is read; `communicate` reads both outputs as git writes them, so
    neither pipe fills and blocks."""

    def __init__(self, args: list[str], cwd: Path, *, ask: bytes = b"") -> None:
        argv = ["git", "-C", str(cwd), *args]  # -C: posix_spawn has no working folder
        self.returncode: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._ask = ask
        # Where git's exit status comes from when another process waits for it (Handover).
        self.status_from: int | None = None
        try:
            if not hasattr(os, "posix_spawnp"):
                import subprocess

                self._popen = subprocess.Popen(
                    argv, env=_no_fetch(), stdin=subprocess.PIPE if ask else subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                return
            self._out, out_w = os.pipe()
            self._err, err_w = os.pipe()
            in_r, in_w = os.pipe() if ask else (-1, -1)
            _widen(self._out)
            actions: list[tuple] = [(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2),
                                    (os.POSIX_SPAWN_DUP2, in_r, 0) if ask else
                                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
            try:
                self._pid = os.posix_spawnp("git", argv, _no_fetch(), file_actions=actions)
            except BaseException:
                os.close(self._out)
                os.close(self._err)
                if ask:
                    os.close(in_w)
                raise
            finally:
                for fd in (out_w, err_w, in_r):
                    if fd >= 0:
                        os.close(fd)
            if ask:
                try:
                    os.write(in_w, ask)
                except BrokenPipeError:
                    pass  # git ended at once: what it said is read by communicate
                finally:
                    os.close(in_w)
        except FileNotFoundError:
            raise _no_git() from None

    def close_output(self) -> None:
        """Close this process's ends of git's output (another process reads them)."""
        if self._popen is None:
            os.close(self._out)
            os.close(self._err)

    def reap(self) -> int:
        """Wait for git to end; its exit code."""
        if self._popen is not None:
            return self._popen.wait()
        _, status = os.waitpid(self._pid, 0)
        return os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        """End git, unread, and reap it."""
        import signal

        try:
            if self._popen is not None:
                self._popen.kill()
            else:
                os.kill(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.reap()

    def communicate(self) -> tuple[bytes, bytes]:
        """git's output and errors, once it has ended."""
        if self._popen is not None:
            out, err = self._popen.communicate(self._ask or None)
            self.returncode = self._popen.returncode
            return out, err
        import select

        poller = select.poll()
        read: dict[int, list[bytes]] = {self._out: [], self._err: []}
        for fd in read:
            poller.register(fd, select.POLLIN)
        live = len(read)
        while live:
            for fd, _ in poller.poll():
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    read[fd].append(chunk)
                else:  # the end: git closed it
                    poller.unregister(fd)
                    os.close(fd)
                    live -= 1
        if self.status_from is None:
            self.returncode = self.reap()
        else:
            fd = self.status_from
            status_text = b"".join(iter(lambda: os.read(fd, 16), b""))
            os.close(fd)
            self.returncode = int(status_text) if status_text.lstrip(b"-").isdigit() else None
        return b"".join(read[self._out]), b"".join(read[self._err])


_ASK_BYTES = 16384  # the least a pipe holds (macOS; Linux: 64 KiB)


def _batch_blobs(out: bytes) -> dict[str, bytes]:
    """`git cat-file --batch`'s blobs by id; what it could not find (`NAME missing`, a path
    not in the index) is left out."""
    found, at = {}, 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end]
        at = end + 1
        if header.endswith((b" missing", b" ambiguous")):
            continue
        object_id, kind, size = header.split(b" ")
        if kind == b"blob":
            found[object_id.decode()] = out[at:at + int(size)]
        at += int(size) + 1
    return found


def _index_entries(out: bytes) -> list[BlobRef]:
    """`git ls-files -s -z`'s files and executables (not symlinks nor submodules)."""
    refs = []
    for record in filter(None, out.split(b"\0")):
        meta, path = record.split(b"\t", 1)
        mode, blob_id, _ = meta.decode().split(" ")
        if _is_file_mode(int(mode, 8)):
            refs.append(BlobRef(path.decode("utf-8", "surrogateescape"), blob_id))
    return refs


# The names a default branch usually has, in the order a hint tries them.
_USUAL_DEFAULTS = ("main", "master", "trunk", "develop")
SCANNED_MODES = frozenset({0o100644, 0o100755, 0o120000})  # files, executables, symlinks


def _is_file_mode(mode: int) -> bool:
    # Regular and executable files; not symlinks (0o120000) nor submodules (0o160000).
    return mode in (0o100644, 0o100755)


def _blob_entry(tree, path: str):
    """The tree entry of the file at path (repository-relative), or None."""
    entry = _entry(tree, path)
    return entry if entry is not None and entry.type_str == "blob" else None


class TreeIndex:
    """What a set of trees holds at a path (a range's boundary, asked about its findings):
    path's name looked up in each distinct tree of its folder, each folder's distinct trees
    found once and kept however many of the trees share them. libgit2's own `tree[path]`
    reads every folder on the way again, and one over 4 KiB again each time (git/git's `t`:
    19 ms for 9 findings in 30 boundary trees; reading every entry of the folders' 28 `t`
    trees, 18 ms)."""

    def __init__(self, trees: Iterable[Any]) -> None:
        self._resolved: dict[str, list[Any]] = {"": list({t.id: t for t in trees}.values())}

    def _folders(self, folder: str) -> list[Any]:
        """The distinct trees (by id) the trees hold at folder."""
        found = self._resolved.get(folder)
        if found is None:
            parent, _, name = folder.rpartition("/")
            trees: dict[Any, Any] = {}
            for tree in self._folders(parent):
                entry = _entry(tree, name)
                if entry is not None and entry.type_str == "tree":
                    trees[entry.id] = entry
            found = self._resolved[folder] = list(trees.values())
        return found

    def held(self, path: str) -> list[tuple[str, bool]]:
        """(id, whether it is a folder) of each distinct thing the trees hold at path
        (repository-relative, `/`)."""
        folder, _, name = path.rpartition("/")
        held = set()
        for tree in self._folders(folder):
            entry = _entry(tree, name)
            if entry is not None:
                held.add((str(entry.id), entry.type_str == "tree"))
        return list(held)


def _entry(tree, name: str):
    """The entry at name in tree (one level, or a path of several), or None."""
    try:
        return tree[name]
    except KeyError:
        return None


def walk_tree(tree, prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.type_str == "tree":
            yield from walk_tree(entry, path + "/")
        else:
            yield path, str(entry.id)
