"""Push protection: `scan --pre-receive` on the server, `scan --pre-push` before the network.

The server side takes its configuration only from the server (a file named by `--config` or
KORTIX_GUARD_SERVER_CONFIG): nothing in the push can suppress a finding in that push, so
kortix.toml excludes, baselines and inline allows in the pushed commits count for nothing.
It fails closed: a timeout or an internal error rejects the push, unless the server's
configuration says `fail_open = true` (a documented weakness: a pusher can cause a timeout).
"""
from __future__ import annotations

import datetime
import itertools
import json
import os
import select
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from kortix_guard import errors
from kortix_guard._dirs import private_cache
from kortix_guard._fs import read_text
from kortix_guard._out import echo
from kortix_guard.git import ZERO_ID, EarlyWalk, Handover, Repo, parse_updates
from kortix_guard.scan import baseline as _baseline
from kortix_guard.scan import catalog, history
from kortix_guard.scan.engine import (
    PARALLEL_MIN_ITEMS,
    Scanner,
    Workers,
    first_items,
    scan_all,
    worth_parallel,
)
from kortix_guard.scan.model import Confidence, Finding
from kortix_guard.scan.sources import at_each_path, git_items, judge_early

CONFIG_ENV = "KORTIX_GUARD_SERVER_CONFIG"
SKIP_OPTION = "kortix-guard.skip="
PUSH_ADVICE = """\
kortix-guard: push rejected: {n} secret(s) in the pushed commits.
  - the secret has left your machine: rotate it now (the provider's console, or
    `kortix-guard secrets set NAME=-` for this project's own values);
  - rewrite the commits that add it (`git rebase -i <base>`, or `git commit --amend` for the
    last one), then push again;
  - not a secret: ask the server's administrator to add it to the server's baseline; nothing
    in the push itself (kortix.toml excludes, baselines, inline allows) can wave it through."""


@dataclass(frozen=True)
class ServerConfig:
    """The server's own settings (docs/push-protection.md)."""
    min_confidence: Confidence = Confidence.MEDIUM
    exclude: tuple[str, ...] = ()
    baseline: Path | None = None
    timeout: float = 60.0
    allow_skip: bool = False
    skip_log: Path | None = None
    fail_open: bool = False
    source: str = "defaults"

    @classmethod
    def load(cls, path: Path | None) -> ServerConfig:
        if path is None:
            return cls()

        text = read_text(path, what="server config")
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover (Python 3.10)
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise errors.InputError(f"{path}: not valid TOML ({e})",
                                    hint="fix the server config (docs/push-protection.md)") from None
        known = {"min_confidence", "exclude", "baseline", "timeout", "allow_skip", "skip_log",
                 "fail_open"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise errors.InputError(f"{path}: unknown setting(s) {', '.join(unknown)}",
                                    hint=f"the settings are {', '.join(sorted(known))}")
        try:
            return cls(
                min_confidence=Confidence.parse(data.get("min_confidence", "medium")),
                exclude=tuple(str(g) for g in data.get("exclude", ())),
                baseline=_path(path, data.get("baseline")),
                timeout=float(data.get("timeout", 60)),
                allow_skip=bool(data.get("allow_skip", False)),
                skip_log=_path(path, data.get("skip_log")),
                fail_open=bool(data.get("fail_open", False)),
                source=str(path),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise errors.InputError(f"{path}: a setting has the wrong type ({e})",
                                    hint="see the settings in docs/push-protection.md") from None


def _path(config: Path, value: object) -> Path | None:
    return None if value is None else (config.parent / str(value)).absolute()


def push_options() -> list[str]:
    count = int(os.environ.get("GIT_PUSH_OPTION_COUNT", "0") or 0)
    return [os.environ.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(count)]


def pre_receive(stdin: TextIO, *, config_path: Path | None, timeout: float | None) -> int:
    """The server's hook: scan what the push adds; exit 1 rejects it."""
    config = ServerConfig.load(config_path or _env_path())
    if timeout is not None:
        config = ServerConfig(**{**config.__dict__, "timeout": timeout})
    updates = parse_updates(stdin.read().splitlines())
    skip = next((o[len(SKIP_OPTION):] for o in push_options() if o.startswith(SKIP_OPTION)), None)
    if skip is not None:
        if config.allow_skip and skip.strip():
            _log_skip(config, updates, skip.strip())
            echo(f"kortix-guard: scan skipped by push option ({skip.strip()!r}); the skip and "
                 f"its reason are logged on the server")
            return errors.CLEAN
        echo("kortix-guard: the kortix-guard.skip push option is not allowed on this server "
             "(or has no reason); scanning")
    return _within_budget(lambda: _scan_push(config, updates), config)


def _env_path() -> Path | None:
    value = os.environ.get(CONFIG_ENV)
    return Path(value) if value else None


def _scan_push(config: ServerConfig, updates: list[tuple[str, str, str]]) -> int:

    new = [n for _, n, _ in updates if n != ZERO_ID]
    if not new:
        return errors.CLEAN  # only deletions
    early = EarlyWalk.of_push(Path("."), new)
    repo = Repo.from_environment(Path("."))
    messages, refused = repo.tag_messages(new)
    if refused:
        names = [ref for _, n, ref in updates if n in refused]
        echo(f"kortix-guard: refused: {', '.join(names)} point(s) at something that is not a "
             f"commit (a tag of a blob or a tree), which this server does not accept; push "
             f"commits, or tags of commits")
        return errors.PROBLEMS
    known = history.KnownContent()
    refs = itertools.chain(history.commit_blobs(repo, new, repo.ref_targets(), known, early),
                           messages)
    findings, count = _scan_refs(repo, refs, config.exclude, baseline=config.baseline,
                                 threshold=config.min_confidence, inline_allows=False,
                                 from_env=True, known=known)
    if findings:
        _report(findings)
        echo(PUSH_ADVICE.format(n=len(findings)))
        return errors.PROBLEMS
    echo(f"kortix-guard: no secret in the {count} new file version(s) of this push")
    return errors.CLEAN


def _scan_refs(repo, refs, exclude: Sequence[str], *, baseline: Path | None,
               threshold: Confidence, inline_allows: bool, from_env: bool,
               known: history.KnownContent | None = None) -> tuple[list[Finding], int]:

    accepted = _baseline.load(baseline, str(baseline)) if baseline and baseline.exists() else None
    cache = private_cache()
    scanner = Scanner(baseline=accepted,
                      repo_root=str(repo.root), min_confidence=threshold,
                      inline_allows=inline_allows, cache_dir=cache, repo_from_env=from_env,
                      gate=True, channels=True,
                      extra=catalog.extra_detectors(cache, build=True))
    found = git_items(refs, tuple(exclude), str, known)
    # git is walking the push (EarlyWalk): the workers, forked now, get ready meanwhile.
    workers = Workers.start(scanner)
    ahead, items = first_items(scanner.with_triggers(found.items), PARALLEL_MIN_ITEMS, workers)
    scanned = []
    for item, outcome in scan_all(scanner, items, parallel=worth_parallel(len(ahead)),
                                  workers=workers):
        for finding in outcome.findings:
            judge_early(item, finding, found)
            scanned.append((item, finding))
    # Every path a blob is at is known once the listing has ended.
    findings = [f for item, finding in scanned
                for path, f in at_each_path(item, finding, found)
                if not scanner.accepted(path, f)]
    return findings, found.files


def _report(findings: list[Finding]) -> None:
    """Plain text for the `remote:` prefix git adds: the commit, the path, the line."""
    for f in findings:
        commit = f" in commit {f.commit[:12]}" if f.commit else ""
        echo(f"{f.path}:{f.line}:{f.col}: {f.code} [{f.confidence.label}] {f.message}{commit}")


def _log_skip(config: ServerConfig, updates: list[tuple[str, str, str]], reason: str) -> None:
    record = {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "pusher": next((os.environ[v] for v in ("GL_USERNAME", "GITEA_PUSHER_NAME",
                                                "REMOTE_USER", "USER") if os.environ.get(v)),
                       "unknown"),
        "repository": str(Path(".").absolute()),
        "refs": [{"ref": r, "old": o, "new": n} for o, n, r in updates],
        "reason": reason,
    }
    if config.skip_log is None:
        raise errors.Error("allow_skip is set but skip_log is not: a skip must leave a trace",
                           hint=f"add skip_log = \"/path/to/skips.log\" to {config.source}")
    config.skip_log.parent.mkdir(parents=True, exist_ok=True)
    with open(config.skip_log, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _within_budget(scan, config: ServerConfig) -> int:
    """Run scan in a child process group and kill it past the time budget (POSIX). A
    timeout or an internal error rejects the push unless the server says fail_open."""
    if not hasattr(os, "fork"):  # pragma: no cover (servers are POSIX)
        return _fail_safe(scan, config)
    read_end, write_end = os.pipe()
    walks = Handover()  # git's walk of the push, started with the process
    pid = os.fork()
    if pid == 0:  # the child: scan, send the output and the exit code to the parent
        os.setpgid(0, 0)
        os.close(read_end)
        walks.in_child()
        out = os.fdopen(write_end, "w", encoding="utf-8")
        sys.stdout = out
        code = _fail_safe(scan, config)
        out.flush()
        os._exit(code)
    try:  # here too (the child's own may come later): a kill at once reaches its group
        os.setpgid(pid, pid)
    except OSError:
        pass  # the child has set it
    os.close(write_end)
    watched = walks.in_parent()
    deadline = time.monotonic() + max(config.timeout, 0)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            left = deadline - time.monotonic()
            ready = (select.select([pipe.fileno(), *watched], [], [], max(left, 0))[0]
                     if left > 0 else [])
            if not ready:
                _kill(pid)
                walks.close()
                return _give_up(config, f"the scan did not finish within {config.timeout:g} s")
            for pidfd in set(ready) & set(watched):
                walks.ended(pidfd)
                watched.remove(pidfd)
            if pipe.fileno() not in ready:
                continue
            data = os.read(pipe.fileno(), 65536)
            if not data:
                break
            chunks.append(data)
    walks.close()
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(b"".join(chunks).decode("utf-8", "replace"))
    sys.stdout.flush()
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else errors.CANNOT_RUN


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _fail_safe(scan, config: ServerConfig) -> int:
    try:
        return scan()
    except Exception as e:
        name = e.diagnostics().splitlines()[0] if isinstance(e, errors.Error) else type(e).__name__
        return _give_up(config, f"the scan could not run ({name})")


def _give_up(config: ServerConfig, why: str) -> int:
    if config.fail_open:
        echo(f"kortix-guard: warning: {why}; the push is accepted (fail_open = true)")
        return errors.CLEAN
    echo(f"kortix-guard: push rejected: {why}. Push fewer commits at a time, or ask the "
         f"server's administrator (the time budget is `timeout` in the server's config)")
    return errors.CANNOT_RUN


@dataclass
class PushedRange:
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)  # what each pushed ref points to (tags too)


def pre_push_range(repo, stdin: TextIO, remote: str | None) -> PushedRange:
    """What a push sends: from git's pre-push input (`<local ref> <local sha> <remote ref>
    <remote sha>`), or from the pre-commit framework's PRE_COMMIT_FROM_REF/TO_REF (it reads
    git's input itself and passes only the first ref)."""
    pushed = PushedRange()
    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if to_ref:
        pushed.include.append(repo.resolve(to_ref))
        from_ref = os.environ.get("PRE_COMMIT_FROM_REF")
        if from_ref and from_ref != ZERO_ID and repo.has_commit(repo.resolve(from_ref)):
            pushed.exclude.append(repo.resolve(from_ref))
    else:
        for line in stdin.read().splitlines():
            parts = line.split()
            if len(parts) != 4 or parts[1] == ZERO_ID:
                continue  # a deletion pushes nothing
            pushed.include.append(parts[1])
            pushed.objects.append(parts[1])
            if parts[3] != ZERO_ID:
                pushed.exclude.append(parts[3])
    if remote:
        # What the remote is known to hold already was scanned when it was pushed.
        pushed.exclude += repo.ref_targets(f"refs/remotes/{remote}/")
    return pushed
