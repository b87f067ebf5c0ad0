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


def test_a_stream_is_never_opened_on_a_partial_clone(tmp_path: Path) -> None:
    """git before 2.44 would fetch a missing blob from the promisor remote: libgit2, which
    never fetches, reads a partial clone's blobs."""
    src, _ = _repo(tmp_path)
    git("config", "uploadpack.allowFilter", "true", cwd=src)
    clone = tmp_path / "clone"
    git("clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{src}", str(clone),
        cwd=tmp_path)
    assert Repo(clone).blob_stream() is None
