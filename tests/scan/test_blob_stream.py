"""Blobs read through one `git cat-file --batch` per process, a batch asked at once: in
step whatever is skipped, missing or damaged, and libgit2 reading what the stream cannot."""
from __future__ import annotations

from pathlib import Path

import pytest

from kortix_guard.git import MissingObject, Repo
from kortix_guard.scan.engine import Item, Scanner
from tests.conftest import commit, git, git_init
from tests.scan.conftest import TOKENS

TOKEN = TOKENS["github-classic"]


def _repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo = git_init(tmp_path / "repo")
    files = {"a.txt": "alpha\n", "b.txt": "bravo\n", "c.py": f'token = "{TOKEN}"\n',
             "d.txt": "delta\n" * 1000}
    commit(repo, files, "files")
    return repo, {name: git("rev-parse", f"HEAD:{name}", cwd=repo).strip() for name in files}


def test_taken_in_order_skipped_and_missing(tmp_path: Path) -> None:
    repo, ids = _repo(tmp_path)
    stream = Repo(repo).blob_stream()
    assert stream is not None
    absent = "1" * 40
    try:
        stream.ask([ids["a.txt"], ids["b.txt"], absent, ids["c.py"], ids["d.txt"]])
        assert stream.take(ids["a.txt"]) == b"alpha\n"
        with pytest.raises(MissingObject):  # b.txt is read past; the absent one is said so
            stream.take(absent)
        assert stream.take(ids["c.py"]).startswith(b"token = ")
        stream.drain()  # d.txt, never taken
        assert stream.pending == []
        stream.ask([ids["b.txt"]])  # still in step
        assert stream.take(ids["b.txt"]) == b"bravo\n"
    finally:
        stream.close()


@pytest.mark.parametrize("damage", [False, True], ids=["deleted", "damaged"])
def test_a_lost_blob_in_a_batch_leaves_the_rest_scanned(tmp_path: Path, damage: bool) -> None:
    """A damaged object ends `git cat-file`; the batch's later blobs are read by libgit2."""
    repo, ids = _repo(tmp_path)
    loose = repo / ".git" / "objects" / ids["b.txt"][:2] / ids["b.txt"][2:]
    loose.chmod(0o644)
    if damage:
        loose.write_bytes(b"not a zlib stream")
    else:
        loose.unlink()
    scanner = Scanner(repo_root=str(repo))
    items = [Item(name, name, blob=blob) for name, blob in ids.items()]
    try:
        outcomes = {item.path: outcome for item, outcome in scanner.scan_batch(items)}
    finally:
        scanner.close()
    assert [f.code for f in outcomes["b.txt"].findings] == ["KG350"]
    assert ("damaged" if damage else "not in this clone") in outcomes["b.txt"].findings[0].message
    assert [f.code for f in outcomes["c.py"].findings] == ["KG320"]
    assert outcomes["a.txt"].findings == outcomes["d.txt"].findings == []


def test_a_partial_clone_streams_what_it_holds_and_fetches_nothing(tmp_path: Path) -> None:
    """git before 2.44 would fetch a missing blob from the promisor remote (here a local
    one, which would answer): only the blobs the clone holds are asked of `git cat-file`,
    the others are named as not in this clone, and none is fetched."""
    import pygit2

    src, ids = _repo(tmp_path)
    git("config", "uploadpack.allowFilter", "true", cwd=src)
    clone = tmp_path / "clone"
    git("clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{src}", str(clone),
        cwd=tmp_path)
    git("cat-file", "blob", ids["c.py"], cwd=clone)  # git fetches this one on its own
    odb = pygit2.Repository(str(clone)).odb
    assert odb.exists(ids["c.py"]) and not odb.exists(ids["a.txt"])
    scanner = Scanner(repo_root=str(clone))
    items = [Item(name, name, blob=blob) for name, blob in ids.items()]
    try:
        outcomes = {item.path: outcome for item, outcome in scanner.scan_batch(items)}
        assert scanner._stream is not None  # the stream served the one it holds
    finally:
        scanner.close()
    assert [f.code for f in outcomes["c.py"].findings] == ["KG320"]
    for name in ("a.txt", "b.txt", "d.txt"):
        [lacking] = outcomes[name].findings
        assert lacking.code == "KG350" and "not in this clone" in lacking.message
    odb = pygit2.Repository(str(clone)).odb
    assert not any(odb.exists(ids[name]) for name in ("a.txt", "b.txt", "d.txt"))
