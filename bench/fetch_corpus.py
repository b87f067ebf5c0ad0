"""Fetch the trees bench/corpus.txt lists into a folder, for bench_quality.py --trees.

    python bench/fetch_corpus.py DIR [NAME ...]

GitHub trees are fetched at their commit (one commit, no history) and exported without .git;
npm packages are unpacked from `npm pack`; PyPI source distributions from `pip download`.
A tree already in DIR is left as it is.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CORPUS = Path(__file__).with_name("corpus.txt")


def entries() -> list[tuple[str, str]]:
    rows = []
    for line in CORPUS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, source = line.split()[:2]
            rows.append((name, source))
    return rows


def _run(*argv: str, cwd: Path | None = None) -> None:
    subprocess.run(argv, cwd=cwd, check=True)


def _github(spec: str, dest: Path) -> None:
    repo, _, commit = spec.partition("@")
    with tempfile.TemporaryDirectory() as tmp:
        _run("git", "init", "-q", tmp)
        _run("git", "fetch", "-q", "--depth", "1", f"https://github.com/{repo}", commit, cwd=Path(tmp))
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "FETCH_HEAD"], cwd=tmp, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _npm(spec: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.split()[-1]
        dest.mkdir(parents=True)
        with tarfile.open(Path(tmp) / out) as tar:
            tar.extractall(dest, filter="data")


def _pypi(spec: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", tmp, spec)
        archive = next(Path(tmp).iterdir())
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            tar.extractall(tmp, filter="data")
        (Path(tmp) / top).rename(dest)


FETCHERS = {"github": _github, "npm": _npm, "pypi": _pypi}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    folder, wanted = Path(argv[0]), set(argv[1:])
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in entries():
        dest = folder / name
        if (wanted and name not in wanted) or dest.exists():
            continue
        kind, _, spec = source.partition(":")
        print(f"fetching {name} ({source})")
        FETCHERS[kind](spec, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
