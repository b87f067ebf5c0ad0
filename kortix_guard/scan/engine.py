"""Runs the layers over one file's bytes, and over many files on both cores."""
from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kortix_guard.scan import baseline as _baseline
from kortix_guard.scan.detectors import files, patterns
from kortix_guard.scan.detectors.declared import DeclaredNames
from kortix_guard.scan.detectors.ds import DetectSecrets
from kortix_guard.scan.detectors.known import KnownValues
from kortix_guard.scan.model import Finding, Hit, Text, describe

ALLOW = re.compile(r"kortix-guard:\s*allow|pragma: allowlist secret")
MAX_FILE_BYTES = 2 * 1024 * 1024
_PRIORITY = {"KG300": 0, "KG301": 0, "KG310": 1, "KG330": 3}  # everything else: 2
PARALLEL_MIN_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Item:
    """One file to scan: its project-relative path, how to show it, and where it came from."""

    path: str
    display: str
    commit: str | None = None
    disk: str | None = None  # read from this file on disk, or
    blob: str | None = None  # read this blob from the scanner's repository, or
    data: bytes | None = None  # these bytes


@dataclass(frozen=True)
class Outcome:
    findings: list[Finding]
    note: str | None = None  # why a file was skipped, when the user should know


class Scanner:
    """The configured layers. It holds known values, so it is never pickled: worker
    processes inherit it by fork."""

    def __init__(self, *, known: KnownValues | None = None, declared: DeclaredNames | None = None,
                 baseline: _baseline.Baseline | None = None, fingerprints: bool = False,
                 repo_root: str | None = None) -> None:
        self.repo_root = repo_root  # blobs are read here, by whichever process scans them
        self._repo = None
        self.known = known
        self.declared = declared
        self.baseline = baseline
        self.fingerprints = fingerprints  # compute every finding's baseline hash
        self._ds = DetectSecrets()

    def close(self) -> None:
        self._ds.__exit__(None, None, None)

    def scan(self, item: Item) -> Outcome:
        data = item.data
        if item.disk is not None:
            try:
                with open(item.disk, "rb") as f:
                    data = f.read(MAX_FILE_BYTES + 1)
            except OSError as e:
                return Outcome([], f"{item.display}: skipped, cannot read ({e.strerror})")
        elif item.blob is not None:
            data = self._read_blob(item.blob)
        assert data is not None
        hits = files.check(item.path, data[:MAX_FILE_BYTES])
        if len(data) > MAX_FILE_BYTES:
            return Outcome(self._findings(item, None, hits),
                           f"{item.display}: skipped, over {MAX_FILE_BYTES // 1024 // 1024} MiB")
        if b"\0" in data[:8192]:
            return Outcome(self._findings(item, None, hits))  # binary: judged by name only
        text = Text(item.path, data.decode("utf-8", errors="replace"))
        hits += self._text_hits(text)
        return Outcome(self._findings(item, text, hits))

    def _read_blob(self, blob_id: str) -> bytes:
        if self._repo is None:
            from kortix_guard.git import Repo

            assert self.repo_root is not None
            self._repo = Repo(Path(self.repo_root))
        return self._repo.read(blob_id)

    def _text_hits(self, text: Text) -> list[Hit]:
        hits: list[Hit] = []
        if self.known:
            hits += self.known.find(text)
        if self.declared is not None:
            hits += self.declared.find(text)
        if PurePosixPath(text.path).name in patterns.LOCK_FILES:
            return hits
        lines = patterns.candidate_lines(text)
        hits += patterns.find(text, lines)
        for hit in self._ds.find(text, lines):
            if hit.what == "Secret Keyword" and patterns.ENV_NAME.fullmatch(hit.secret.reveal()):
                continue  # `secret_env = "WEBHOOK_SECRET"` names a secret, it is not one
            if hit.what == "Private Key" and "BEGIN" in hit.secret.reveal():
                continue  # a bare header; KG321 reports blocks that carry key material
            if not patterns.NOT_SECRET_LINE.search(text.line(text.position(hit.offset)[0])):
                hits.append(hit)
        return hits

    def _findings(self, item: Item, text: Text | None, hits: list[Hit]) -> list[Finding]:
        kept: list[tuple[int, int, Hit]] = []
        for hit in sorted(hits, key=lambda h: _PRIORITY.get(h.code, 2)):
            line, col = text.position(hit.offset) if text is not None else (1, 1)
            if text is not None and ALLOW.search(text.line(line)):
                continue
            secret = hit.secret.reveal()
            if any(line == l2 and (secret in h2.secret.reveal() or h2.secret.reveal() in secret)
                   for l2, _, h2 in kept):
                continue  # a more specific layer already reported this value here
            kept.append((line, col, hit))
        findings = []
        for line, col, hit in sorted(kept, key=lambda k: (k[0], k[1])):
            message = hit.what if hit.code == "KG340" else describe(hit.what, hit.secret.reveal())
            if hit.hint:
                message += f"; {hit.hint}"
            fingerprint = None
            if self.baseline is not None and (
                    self.fingerprints or self.baseline.may_accept(item.path, hit.code)):
                fingerprint = self.baseline.fingerprint(hit.secret)
            findings.append(Finding(item.display, line, col, hit.code, message, item.commit,
                                    fingerprint))
        return findings

    def accepted(self, item_path: str, finding: Finding) -> bool:
        return (self.baseline is not None and finding.fingerprint is not None
                and self.baseline.accepts(item_path, finding.code, finding.fingerprint))


_WORKER: Scanner | None = None  # set in each worker process by fork inheritance


def _init_worker(scanner: Scanner) -> None:
    global _WORKER
    scanner._repo = None  # each worker opens the repository itself, after the fork
    _WORKER = scanner


def _scan_in_worker(item: Item) -> tuple[Item, Outcome]:
    assert _WORKER is not None
    return item, _WORKER.scan(item)


def scan_all(scanner: Scanner, items: Iterable[Item], *, parallel: bool,
             progress: Callable[[int], None] | None = None) -> Iterator[tuple[Item, Outcome]]:
    """Scan items in order, on every core when `parallel` and the machine has more than one.

    Items may be a lazy iterable: the workers scan while the caller is still reading blobs.
    """
    jobs = os.cpu_count() or 1
    if not parallel or jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for item in items:
            yield item, scanner.scan(item)
            if progress:
                progress(1)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                             initargs=(scanner,)) as pool:
        for result in pool.map(_scan_in_worker, items, chunksize=8):
            yield result
            if progress:
                progress(1)


def worth_parallel(count: int, total_bytes: int | None = None) -> bool:
    """Whether forking workers pays: enough files, and (when known) enough bytes."""
    if count < 32:
        return False
    return total_bytes is None or total_bytes >= PARALLEL_MIN_BYTES
