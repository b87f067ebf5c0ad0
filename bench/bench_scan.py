"""Scanner speed, side by side with kingfisher (the fastest peer, Rust and Vectorscan) on the
same input in the same run; ratios print beside the findings so that a faster run that finds
less is visible.

    python bench/bench_scan.py [--peers /tmp/peers/bin] [--runs 3] [--work DIR]

1. whole tree: this interpreter's standard library (no site-packages), `kortix-guard scan DIR`
   vs `kingfisher scan DIR --git-history none` (target: no slower);
2. history: Django's source replayed from six releases, one changed file per commit (over
   5,000 commits), `kortix-guard scan --history` vs `kingfisher scan REPO` (target: no
   slower), and against the floor, one process walking every commit's tree and reading each
   distinct blob once with pygit2 (target: at most 2x the floor);
3. the commit hook: `kortix-guard-scan FILES` (what the kortix-scan hook runs, the same as
   `kortix-guard scan --staged FILES`) over 20 staged stdlib files, start-up included
   (target: at most 0.12 s median), and `kingfisher scan --staged` beside it.

Run it from a regular install (`pip install .`), as users have it: an editable install adds
an import hook to every start-up.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FLOOR, KG, git, peer, replay_releases, sdist, stdlib_tree, timed  # noqa: E402

DJANGO_RELEASES = ("4.0", "4.1", "4.2", "5.0", "5.1", "5.2")


def kg_count(out: str) -> int:
    return len(json.loads(out)) if out.strip() else 0


def kingfisher_run(exe: str, target: Path, runs: int, *extra: str) -> tuple[float, int]:
    report = target.parent / f"{target.name}.kf.json"
    seconds, _ = timed([exe, "scan", str(target), "--no-validate", "--no-update-check", "-f",
                        "json", "-o", str(report), *extra], target.parent, runs, ok=(0, 200, 205))
    return seconds, len(json.loads(report.read_text())["findings"])


def table(title: str, rows: list[tuple[str, float, int | str]], note: str) -> None:
    print(f"\n### {title}\n\n| tool | time | findings |\n|---|---|---|")
    for tool, seconds, found in rows:
        print(f"| {tool} | {seconds:.2f} s | {found} |")
    print(f"\n{note}")


def bench_tree(work: Path, kf: str | None, runs: int) -> None:
    tree = stdlib_tree(work)
    size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    kg_t, kg_out = timed([KG, "scan", "--format", "json", "."], tree, runs)
    rows = [("kortix-guard", kg_t, kg_count(kg_out))]
    note = ""
    if kf:
        kf_t, kf_n = kingfisher_run(kf, tree, runs, "--git-history", "none")
        rows.append(("kingfisher", kf_t, kf_n))
        note = f"kingfisher / kortix-guard: {kf_t / kg_t:.2f}x (target: >= 1)"
    table(f"whole tree: CPython stdlib, {size / 1e6:.0f} MB (median of {runs})", rows, note)


def bench_history(work: Path, kf: str | None, runs: int) -> None:
    repo = work / "history"
    if not repo.exists():
        releases = [sdist("django", v, work / "releases") for v in DJANGO_RELEASES]
        repo.mkdir()
        replay_releases(releases, repo)
    commits = int(git("rev-list", "--count", "HEAD", cwd=repo, capture_output=True,
                      text=True).stdout)
    floor_t, floor_out = timed([sys.executable, "-c", FLOOR, str(repo)], repo, runs)
    blobs, size = map(int, floor_out.split())
    kg_t, kg_out = timed([KG, "scan", "--history", "--format", "json"], repo, runs)
    rows = [("pygit2 floor (walk every tree, read each blob once)", floor_t, "-"),
            ("kortix-guard --history", kg_t, kg_count(kg_out))]
    note = f"kortix-guard / floor: {kg_t / floor_t:.2f}x (target: <= 2)"
    if kf:
        kf_t, kf_n = kingfisher_run(kf, repo, runs)
        rows.append(("kingfisher (history)", kf_t, kf_n))
        note += f"; kingfisher / kortix-guard: {kf_t / kg_t:.2f}x (target: >= 1)"
    table(f"history: Django {' → '.join(DJANGO_RELEASES)} replayed, {commits} commits, "
          f"{blobs} distinct blobs, {size / 1e6:.0f} MB (median of {runs})", rows, note)


def bench_staged(work: Path, kf: str | None, runs: int) -> None:
    repo = work / "staged"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "start", cwd=repo)
    stdlib = stdlib_tree(work)
    rng = random.Random(7)
    picked = rng.sample(sorted(p for p in stdlib.rglob("*.py")
                               if 2_000 < p.stat().st_size < 60_000), 20)
    names = []
    for i, path in enumerate(picked):
        name = f"f{i:02d}_{path.name}"
        shutil.copyfile(path, repo / name)
        names.append(name)
    git("add", *names, cwd=repo)
    hook = str(Path(KG).with_name("kortix-guard-scan"))
    timed([hook, *names], repo, 1)  # the rule cache is warm, as in use
    kg_t, kg_out = timed([hook, *names], repo, max(runs, 11))
    cli_t, _ = timed([KG, "scan", "--staged", *names], repo, max(runs, 11))
    start_t, _ = timed([sys.executable, "-c", "pass"], repo, max(runs, 11))
    team_t = _with_team_store(repo, work, hook, names, max(runs, 11))
    rows = [("kortix-guard-scan FILES (the kortix-scan hook's entry)", kg_t,
             kg_out.count(": KG")),
            ("the same in a project whose version 2 store it opens (known values on)", team_t,
             "-"),
            ("kortix-guard scan --staged FILES (through the full CLI)", cli_t, "-"),
            ("python -c pass (interpreter start-up alone)", start_t, "-")]
    if kf:
        kf_t, kf_n = kingfisher_run(kf, repo, max(runs, 11), "--staged")
        rows.append(("kingfisher --staged", kf_t, kf_n))
    table("the commit hook: 20 staged stdlib files (median of 11, start-up included)", rows,
          f"kortix-guard: {kg_t * 1000:.0f} ms (target: <= 120 ms)")


def _with_team_store(repo: Path, work: Path, hook: str, names: list[str], runs: int) -> float:
    """The hook where a commit hook really runs: a Kortix project with a recipients store
    of 20 values, opened with your identity, so every known value is scanned for. The
    project is removed again afterwards."""
    env = {"XDG_CONFIG_HOME": str(work / "staged-config")}
    shutil.rmtree(work / "staged-config", ignore_errors=True)
    (repo / "kortix.toml").write_text('[project]\nname = "bench"\n[env]\nrequired = []\n')
    timed([KG, "identity", "new"], repo, 1, env=env)
    timed([KG, "key", "new"], repo, 1, env=env)
    values = "".join(f"VALUE_{i:02d}=planted-{i:02d}-{'x' * 24}\n" for i in range(20))
    (repo / "values.env").write_text(values)
    timed([KG, "env", "push", "--from", "values.env"], repo, 1, env=env)
    timed([hook, *names], repo, 1, env=env)
    seconds, _ = timed([hook, *names], repo, runs, env=env)
    for leftover in ("kortix.toml", "values.env", ".kortix"):
        target = repo / leftover
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", type=Path, help="folder holding the kingfisher executable")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, help="keep the trees here (default: a temp dir)")
    parser.add_argument("--only", choices=["tree", "history", "staged"])
    args = parser.parse_args()
    kf = peer("kingfisher", args.peers)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; kingfisher: {kf or 'absent'}")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, bench in (("tree", bench_tree), ("history", bench_history),
                            ("staged", bench_staged)):
            if args.only in (None, name):
                bench(work, kf, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
