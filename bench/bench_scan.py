"""Scanner speed, side by side with detect-secrets on the same input in the same run.

    python bench/bench_scan.py [--runs 3] [--commits 3000] [--skip-tree]

1. whole tree: the .py files of this interpreter's standard library (no site-packages),
   `kortix-guard scan DIR` vs `detect-secrets scan --all-files DIR` (target: 20x faster);
2. a pre-commit run over 20 staged files: `kortix-guard scan --staged F...` vs
   `detect-secrets-hook F...`, start-up included (target: 5x faster);
3. history: a repository built here with a few thousand commits of real files;
   `kortix-guard scan --history` vs pygit2 only reading every distinct blob (target: <= 3x).

Findings counts print next to each time, so a faster run that finds less is visible.
detect-secrets reports each distinct secret once per file; kortix-guard reports each place.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(argv: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1, 3):
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-500:]}")
        out = proc.stdout
    return statistics.median(times), out


def kg_count(out: str) -> int:
    return len(json.loads(out)) if out.strip() else 0


def ds_count(out: str) -> int:
    return sum(len(v) for v in json.loads(out)["results"].values())


def ds_hook_count(out: str) -> int:
    return out.count("Secret Type:")


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def copy_tree(files: list[Path], dest: Path) -> int:
    root = Path(sysconfig.get_paths()["stdlib"])
    size = 0
    for path in files:
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        size += target.stat().st_size
    return size


def row(label: str, ours: float, n_ours: int, theirs: float, n_theirs: int, theirs_label: str,
        target: str) -> None:
    print(f"{label}\n  kortix-guard   {ours:8.2f} s  {n_ours:5d} findings\n"
          f"  {theirs_label:<14} {theirs:8.2f} s  {n_theirs:5d} findings\n"
          f"  ratio          {theirs / ours:8.1f}x   ({target})")


def bench_tree(tmp: Path, runs: int) -> None:
    tree = tmp / "stdlib"
    files = stdlib_files()
    size = copy_tree(files, tree)
    kg_t, kg_out = timed([str(BIN / "kortix-guard"), "scan", "--format", "json", "."], tree, runs)
    ds_t, ds_out = timed([str(BIN / "detect-secrets"), "scan", "--all-files", "."], tree, 1)
    row(f"whole tree: {len(files)} stdlib .py files, {size / 1e6:.0f} MB (detect-secrets 1 run)",
        kg_t, kg_count(kg_out), ds_t, ds_count(ds_out), "detect-secrets", "target 20x")


def git(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, env=env, **kw)


def bench_staged(tmp: Path, runs: int) -> None:
    repo = tmp / "staged"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    rng = random.Random(7)
    picked = rng.sample([p for p in stdlib_files() if 2_000 < p.stat().st_size < 60_000], 20)
    names = []
    for i, path in enumerate(picked):
        name = f"f{i:02d}_{path.name}"
        shutil.copyfile(path, repo / name)
        names.append(name)
    git("add", *names, cwd=repo)
    kg_t, kg_out = timed([str(BIN / "kortix-guard"), "scan", "--staged", "--format", "json",
                          *names], repo, runs)
    ds_t, ds_out = timed([str(BIN / "detect-secrets-hook"), *names], repo, runs)
    row("pre-commit run: 20 staged files (median, start-up included)",
        kg_t, kg_count(kg_out), ds_t, ds_hook_count(ds_out), "ds-hook", "target 5x")


def build_history(repo: Path, commits: int) -> None:
    """A fast-import stream: each commit rewrites 1-3 real files with a changed line."""
    rng = random.Random(11)
    pool = [p for p in stdlib_files() if p.stat().st_size < 80_000][:400]
    contents = [p.read_bytes() for p in pool]
    git("init", "-q", "-b", "main", cwd=repo)
    lines = []
    for n in range(commits):
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer b <b@x> {1_700_000_000 + n} +0000\n".encode())
        message = f"commit {n}".encode()
        lines.append(b"data %d\n%s\n" % (len(message), message))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(pool))
            data = contents[i] + f"\n# revision {n}\n".encode()
            lines.append(f"M 100644 inline src/{i:03d}_{pool[i].name}\n".encode())
            lines.append(b"data %d\n" % len(data) + data + b"\n")
    git("fast-import", "--quiet", cwd=repo, input=b"".join(lines))
    git("checkout", "-q", "main", cwd=repo)


PYGIT2_READ = """
import pygit2, sys, time
repo = pygit2.Repository(sys.argv[1])
start = time.perf_counter()
walker = repo.walk(repo.head.target, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
seen, size = set(), 0
for commit in walker:
    diff = (repo.diff(commit.parents[0].tree, commit.tree) if commit.parents
            else commit.tree.diff_to_tree(swap=True))
    for delta in diff.deltas:
        oid = delta.new_file.id
        if oid not in seen:
            seen.add(oid)
            size += len(repo[oid].data)
print(len(seen), size)
"""


def bench_history(tmp: Path, runs: int, commits: int) -> None:
    repo = tmp / "history"
    repo.mkdir()
    build_history(repo, commits)
    read_t, read_out = timed([sys.executable, "-c", PYGIT2_READ, str(repo)], repo, runs)
    blobs, size = map(int, read_out.split())
    kg_t, kg_out = timed([str(BIN / "kortix-guard"), "scan", "--history", "--format", "json"],
                         repo, runs)
    print(f"history: {commits} commits, {blobs} distinct blobs, {size / 1e6:.0f} MB\n"
          f"  pygit2 reads every blob  {read_t:6.2f} s\n"
          f"  kortix-guard --history   {kg_t:6.2f} s  {kg_count(kg_out)} findings\n"
          f"  cost ratio               {kg_t / read_t:6.1f}x  (target <= 3x; both include "
          f"process start-up)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--skip-tree", action="store_true", help="skip the slow whole-tree run")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_tree:
            bench_tree(Path(tmp), args.runs)
        bench_staged(Path(tmp), args.runs)
        bench_history(Path(tmp), args.runs, args.commits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
