"""The pre-receive hook's cost: a push of a long history (Django's source replayed from six
releases, over 5,000 commits) into an empty server repository, with the hook installed and
without it, beside `kortix-guard scan --history` on the same history.

    python bench/bench_push.py [--runs 3] [--work DIR]

Target: the hook adds at most the time `scan --history` takes.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import KG, git, replay_releases, sdist, timed
from bench_scan import DJANGO_RELEASES


def push_time(source: Path, work: Path, runs: int, hook: bool) -> float:
    times = []
    for i in range(runs):
        server = work / f"server-{'hook' if hook else 'plain'}-{i}.git"
        shutil.rmtree(server, ignore_errors=True)
        git("init", "-q", "--bare", str(server), cwd=work)
        if hook:
            timed([KG, "hook", "install", "--pre-receive", str(server)], work)
        seconds, _ = timed(["git", "push", "-q", f"file://{server}", "main:refs/heads/main"],
                           source)
        times.append(seconds)
    return sorted(times)[len(times) // 2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        repo = work / "history"
        if not repo.exists():
            releases = [sdist("django", v, work / "releases") for v in DJANGO_RELEASES]
            repo.mkdir()
            replay_releases(releases, repo)
        commits = git("rev-list", "--count", "HEAD", cwd=repo, capture_output=True,
                      text=True).stdout.strip()
        plain = push_time(repo, work, args.runs, hook=False)
        hooked = push_time(repo, work, args.runs, hook=True)
        history, _ = timed([KG, "scan", "--history", "--format", "json"], repo, args.runs)
        print(f"\n### a push of {commits} commits into an empty server repository "
              f"(median of {args.runs})\n\n| what | time |\n|---|---|")
        print(f"| `git push`, no hook | {plain:.2f} s |\n| `git push`, pre-receive hook | "
              f"{hooked:.2f} s |\n| the hook's added time | {hooked - plain:.2f} s |\n"
              f"| `kortix-guard scan --history` on the same history | {history:.2f} s |")
        print(f"\nadded / --history: {(hooked - plain) / history:.2f}x (target: <= 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
