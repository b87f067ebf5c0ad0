"""`kortix-guard scan`: block secret values before they enter git."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from kortix_guard.cli._state import State, pass_state
from kortix_guard.scan.command import Mode, run
from kortix_guard.scan.model import Confidence
from kortix_guard.scan.push import pre_receive as run_pre_receive
from kortix_guard.scan.report import Format

CONFIDENCE_OPTION = click.option(
    "--min-confidence", type=click.Choice(["low", "medium", "high"]),
    help="Report findings at this confidence or above (default: the manifest's `min_confidence`, "
         "else medium); `low` shows everything.")


def confidence(value: str | None):

    return Confidence.parse(value) if value else None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--staged", is_flag=True,
              help="The staged blobs of the git index (of PATHS, else every staged change).")
@click.option("--all-files", is_flag=True, help="Every file in the git index.")
@click.option("--history", is_flag=True, help="Every blob reachable from any ref, once each.")
@click.option("--since", metavar="REV", help="With --history: only what is not reachable from REV.")
@click.option("--range", "commit_range", metavar="BASE..HEAD",
              help="Exactly the commits of HEAD's ancestry that BASE lacks (a pull request's).")
@click.option("--pre-push", "pre_push", is_flag=True,
              help="A pre-push hook: the commits being pushed (git's input on stdin, or "
                   "pre-commit's PRE_COMMIT_FROM_REF/TO_REF); PATHS are git's remote and URL.")
@click.option("--pre-receive", "pre_receive", is_flag=True,
              help="A server's pre-receive hook: what the push adds, with the server's "
                   "configuration only (--config, or KORTIX_GUARD_SERVER_CONFIG).")
@click.option("--config", "server_config", type=click.Path(path_type=Path),
              help="With --pre-receive: the server's config file.")
@click.option("--timeout", type=float, metavar="SECONDS",
              help="With --pre-receive: the time budget (default: the config's, else 60).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True)
@click.option("--update-baseline", is_flag=True,
              help="Accept every current finding into the baseline (the manifest's `baseline` setting).")
@click.option("--include-ignored", is_flag=True,
              help="A scan of the work tree also reads untracked files git ignores (a local "
                   ".env: not going to git, so left out by default).")
@CONFIDENCE_OPTION
@pass_state
def scan(state: State, paths: tuple[Path, ...], staged: bool, all_files: bool, history: bool,
         since: str | None, commit_range: str | None, pre_push: bool, pre_receive: bool,
         server_config: Path | None,
         timeout: float | None, fmt: str, update_baseline: bool, include_ignored: bool,
         min_confidence: str | None) -> int:
    """Find secret values in files, the index, history or a push. Exit 1 when any is found."""
    if pre_receive:
        if any((staged, all_files, history, pre_push, commit_range, paths, since,
                update_baseline)):
            raise click.UsageError("--pre-receive takes no other mode, PATHS or --since")

        return run_pre_receive(sys.stdin, config_path=server_config, timeout=timeout)
    if server_config or timeout is not None:
        raise click.UsageError("--config and --timeout go with --pre-receive")
    chosen = [m for m, on in ((Mode.STAGED, staged), (Mode.ALL_FILES, all_files),
                              (Mode.HISTORY, history), (Mode.PUSH, pre_push),
                              (Mode.RANGE, bool(commit_range))) if on]
    if len(chosen) > 1:
        raise click.UsageError("choose one of --staged, --all-files, --history, --range and "
                               "--pre-push")
    if commit_range is not None and (".." not in commit_range or commit_range.count("..") > 1
                                     or "..." in commit_range):
        raise click.UsageError("--range takes BASE..HEAD")
    mode = chosen[0] if chosen else Mode.DISK
    if since and mode is not Mode.HISTORY:
        raise click.UsageError("--since goes with --history")
    if (paths and mode in (Mode.ALL_FILES, Mode.HISTORY, Mode.RANGE)
            or len(paths) > 2 and mode is Mode.PUSH):
        raise click.UsageError(f"--{mode.value} takes no PATHS")
    return run(state.project(), paths, mode=mode, since=since, commit_range=commit_range,
               fmt=Format(fmt), update_baseline=update_baseline,
               min_confidence=confidence(min_confidence), progress=_progress_bar,
               include_ignored=include_ignored)


def _progress_bar(total: int, label: str = "scanning"):
    """A progress line on stderr, only on a terminal (see Progress)."""
    if not sys.stderr.isatty():
        return None
    bar = Progress(total, label)
    return bar.update, bar.finish


class Progress:
    """`scanning history: 1,234/5,678 (21%), about 1:14 left` on one line, redrawn at most
    five times a second. The time left is the whole run's average pace times what is left,
    shown once a tenth is done (click's bar averages the last seven steps, and its estimate
    swung from 14:40 to 1:14 on a monorepo whose large files came first). A history is
    scanned while git is still listing it: until the listing ends the line says how many are
    listed so far (`1,234/5,678 listed so far`), with no share and no estimate. The cursor is
    never hidden, so nothing is left to restore when a signal ends the run; SIGTERM clears
    the line and exits 143."""

    def __init__(self, total: int, label: str) -> None:
        import signal
        import time

        self.total, self.label, self.done = total, label, 0
        self.listed = True  # the total is final
        self.clock = time.monotonic
        self.start = self.drawn = self.clock()
        self.width = 0
        self._previous = signal.signal(signal.SIGTERM, self._terminated)

    def update(self, n: int, total: int | None = None, listed: bool = True) -> None:
        """n more done, of total (when it grows as a listing goes; listed: it has ended)."""
        self.done += n
        if total is not None:
            self.total, self.listed = total, listed
        now = self.clock()
        if now - self.drawn >= 0.2 or (self.listed and self.done >= self.total):
            self.drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.done / self.total if self.total else 1.0
        text = f"{self.label}: {self.done:,}/{self.total:,} " + (
            f"({share:.0%})" if self.listed else "listed so far")
        if self.listed and 0.1 <= share < 1.0:
            left = (now - self.start) * (1 - share) / share
            text += f", about {int(left // 60)}:{int(left % 60):02d} left"
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def finish(self) -> None:
        import signal

        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()
        signal.signal(signal.SIGTERM, self._previous)

    def _terminated(self, signum: int, frame: object) -> None:
        self.finish()
        sys.stderr.write("kortix-guard: terminated\n")
        sys.stderr.flush()
        raise SystemExit(128 + signum)


COMMANDS = [scan]
