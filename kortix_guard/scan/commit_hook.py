"""`kortix-guard-scan FILES...`: the kortix-scan commit hook (pre-commit passes the staged
files), as a tiny module that imports no click: `kortix-guard scan --staged FILES...` with
nothing else to parse, started as fast as a hook run on every commit should be."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from kortix_guard import errors
from kortix_guard._out import end_now

USAGE = """\
usage: kortix-guard-scan [--min-confidence low|medium|high] [--system] [--version] [FILES...]

Block a commit whose staged blobs hold a secret value: `kortix-guard scan --staged FILES...`
(without FILES, every staged change). Exit 0 clean, 1 secrets found, 2 could not run."""
LEVELS = ("low", "medium", "high")


def _parse(argv: list[str]) -> tuple[str | None, list[Path], bool] | int:
    """(threshold, files), or an exit code after printing help or a usage error. Parsed by
    hand: argparse alone would cost a tenth of this hook's run."""
    threshold: str | None = None
    files: list[Path] = []
    system = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            print(USAGE)
            return errors.CLEAN
        if arg == "--version":  # which kortix-guard a hook runs (pre-commit pins one)
            from kortix_guard._meta import version

            print(f"kortix-guard-scan {version()}")
            return errors.CLEAN
        if arg == "--system":  # the `-system` hooks: the kortix-guard on PATH runs them
            system = True
            i += 1
            continue
        if arg == "--":
            files += map(Path, argv[i + 1:])
            break
        if arg == "--min-confidence" or arg.startswith("--min-confidence="):
            value = arg.partition("=")[2] or (argv[i + 1] if i + 1 < len(argv) else "")
            i += 0 if "=" in arg else 1
            if value not in LEVELS:
                print(f"{USAGE}\n\nkortix-guard-scan: error: --min-confidence takes one of "
                      f"{', '.join(LEVELS)}", file=sys.stderr)
                return errors.CANNOT_RUN
            threshold = value
        elif arg.startswith("-"):
            print(f"{USAGE}\n\nkortix-guard-scan: error: unknown option {arg}", file=sys.stderr)
            return errors.CANNOT_RUN
        else:
            files.append(Path(arg))
        i += 1
    return threshold, files, system


def main(argv: Sequence[str] | None = None) -> int:
    parsed = _parse(list(sys.argv[1:] if argv is None else argv))
    if isinstance(parsed, int):
        return parsed
    threshold_name, files, system = parsed
    verbose = os.environ.get("KORTIX_GUARD_DEBUG") == "1"
    try:
        from kortix_guard.git import GitCli

        # git finds the root, lists the files and reads their staged blobs while the
        # scanner's modules load (GitCli).
        git = GitCli(Path.cwd(), [str(f) for f in files]) if files else None
        from kortix_guard.project import Project
        from kortix_guard.scan.command import Mode, run
        from kortix_guard.scan.model import Confidence
        from kortix_guard.scan.report import Format

        threshold = Confidence.parse(threshold_name) if threshold_name else None
        # The provider catalog's rules are used once another command has cached them: a
        # hook run on every commit never pays their reading (seconds).
        code = run(Project.discover(Path(".")), files, mode=Mode.STAGED, fmt=Format.TEXT,
                   min_confidence=threshold, read_catalog=False, git=git)
        if system and code != errors.CLEAN:
            # pre-commit shows a hook's output when it fails: which install judged the commit.
            from kortix_guard._meta import version

            print(f"kortix-guard-scan {version()} (the kortix-guard on PATH, {sys.argv[0]})",
                  file=sys.stderr)
        return code
    except (errors.Error, KeyboardInterrupt, Exception) as e:
        return errors.report(e, verbose=verbose)


def entry() -> NoReturn:
    """The console script `kortix-guard-scan`: main(), then the process ends as soon as its
    output is out (`end_now`: the interpreter's teardown of the scanner's modules was 9 ms
    of a commit's 65)."""
    end_now(main())


if __name__ == "__main__":
    entry()
