"""Runs the detectors over one file's bytes, and over many files on both cores.

One pass of the rule matcher (hyperscan) over each file finds every trigger; each detector
then confirms its own lines with Python's `re`, and the context rules judge what it found.
"""
from __future__ import annotations

import bisect
import codecs
import functools
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kortix_guard.git import TEXT_CHANNELS, GitError
from kortix_guard.scan import unpack
from kortix_guard.scan.detectors import Detector, FileInfo, all_detectors, files
from kortix_guard.scan.detectors.declared import DeclaredNames
from kortix_guard.scan.detectors.known import KnownValues
from kortix_guard.scan.matcher import RuleMatcher
from kortix_guard.scan.model import UNSCANNED, Blob, Confidence, Finding, Hit, describe
from kortix_guard.secret import SecretValue

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from kortix_guard.git import BlobStream, Repo
    from kortix_guard.scan.baseline import Baseline

# The inline allow marker, then the end of the line, whitespace or a comment closer; and the
# markers of the tools a project may already use: gitleaks' `gitleaks:allow` and
# detect-secrets' pragma. The same rules for all three (never in server modes, never for the
# codes below).
ALLOW = re.compile(rb"(?:kortix-guard:[ \t]*|gitleaks:)allow(?=$|\s|-->|\*/)|"
                   rb"pragma:[ \t]*allowlist[ \t]+secret")
# This project's own values and keys are never waved through by a comment: only a baseline.
NOT_INLINE_ALLOWABLE = frozenset({"KG300", "KG301", "KG302", "KG324", "KG325"})
MAX_SCAN_BYTES = 100 * 1024 * 1024  # beyond this, the rest of a file is reported unscanned
_PRIORITY = {"KG340": -1, "KG300": 0, "KG301": 0, "KG302": 0, "KG310": 1, "KG331": 3, "KG332": 4}  # else 2
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
PARALLEL_MIN_ITEMS = 32
# The layers besides the detectors whose hits the context rules judge: `.env` values found
# elsewhere, and declared names' literals (graded by where they are, then judged).
_JUDGED_LAYERS = frozenset({"KG301", "KG310"})
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class Item(NamedTuple):
    """One file to scan: its project-relative path, how to show it, and where it came from."""

    path: str
    display: str
    commit: str | None = None
    disk: str | None = None  # read from this file on disk, or
    blob: str | None = None  # read this blob from the scanner's repository, or
    data: bytes | None = None  # these bytes
    missing: str = ""  # "tree" or "blob": this clone lacks the object (nothing to read)
    kind: str = "file"  # or one of git.CHANNELS: a symlink's target, file names, a commit or
    # tag message (provider and key detectors only)
    ignored: bool = False  # an untracked file git ignores (scan --include-ignored)


_WHY_MISSING = "(a partial or shallow clone, or a damaged pack)"


class _Unreadable(Exception):
    """The item's content cannot be had: why, and the git object when there is one."""

    def __init__(self, why: str, object_id: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.object_id = object_id


class Outcome(NamedTuple):
    findings: list[Finding]
    note: str | None = None  # why a file was skipped, when the user should know


def as_utf8(data: bytes) -> bytes | None:
    """The bytes to scan: UTF-8 as it is, UTF-16/32 (with a BOM, or NUL-interleaved ASCII)
    transcoded to UTF-8, or None for binary data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace").encode("utf-8")
    head = data[:8192]
    if b"\0" not in head:
        return data
    sample = head[:len(head) - len(head) % 4]
    if len(sample) >= 8:
        for encoding, text_at in (("utf-32-le", 0), ("utf-32-be", 3)):
            lanes = [sample[i::4] for i in range(4)]
            if all(lane.count(0) == len(lane) for k, lane in enumerate(lanes) if k != text_at) \
                    and lanes[text_at].count(0) == 0:
                return data.decode(encoding, errors="replace").encode("utf-8")
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.95 * len(odd) and even.count(0) <= 0.05 * len(even):
            return data.decode("utf-16-le", errors="replace").encode("utf-8")
        if even.count(0) >= 0.95 * len(even) and odd.count(0) <= 0.05 * len(odd):
            return data.decode("utf-16-be", errors="replace").encode("utf-8")
    return None


class Scanner:
    """The configured detectors. It holds known values, so it is never pickled: worker
    processes inherit it by fork."""

    def __init__(self, *, known: KnownValues | None = None, declared: DeclaredNames | None = None,
                 baseline: Baseline | None = None, fingerprints: bool = False,
                 repo_root: str | None = None, min_confidence: Confidence = Confidence.MEDIUM,
                 inline_allows: bool = True, cache_dir: Path | None = None,
                 repo_from_env: bool = False, gate: bool = False,
                 public_by_design: bool = True, channels: bool = False,
                 identity: str = "",
                 extra: Sequence[Detector] = ()) -> None:
        self.repo_root = repo_root  # blobs are read here, by whichever process scans them
        self.repo_from_env = repo_from_env  # a hook's repository: bare, objects in quarantine
        self._repo: Repo | None = None
        self._stream: BlobStream | None = None  # this process's `git cat-file`, once asked
        self._streams = True  # until the repository refuses one or a stream breaks
        self.untriggered = 0  # channel items with_triggers left out (a progress line's count)
        self.known = known
        self.declared = declared
        self.baseline = baseline
        self.fingerprints = fingerprints  # compute every finding's baseline hash
        self.min_confidence = min_confidence
        self.inline_allows = inline_allows
        self.gate = gate  # --pre-receive, --pre-push, --range: path-based rules only lower
        self.public_by_design = public_by_design  # [guard] public_by_design
        self.channels = channels  # also the printable runs of binary files (history, gates)
        self.identity = identity  # what names the repository (Repo.identity): the ids' key
        # Detectors that can never reach the threshold are not even matched.
        self._detectors = [d for d in (*all_detectors(), *extra) if d.confidence >= min_confidence]
        self._owner = [i for i, d in enumerate(self._detectors) for _ in d.triggers]
        # The last trigger is no detector's: where a token's or key's start sits inside
        # base64 or %XX text, the run around it is decoded (_blob_hits).
        self._encoded = len(self._owner)
        self._matcher = RuleMatcher([(t, d.caseless) for d in self._detectors for t in d.triggers]
                                    + [(unpack.encoded_trigger(cache_dir), False)],
                                    cache_dir=cache_dir)

    def scan(self, item: Item) -> Outcome:
        try:
            data = self._read(item)
        except _Unreadable as e:
            return Outcome([self._unscanned(item, e.why, e.object_id)])
        size = len(data)
        data = data[:MAX_SCAN_BYTES]
        if item.kind != "file":  # a name, a message, a link's target: tokens and keys only
            channel = Blob(item.path, data)
            return Outcome(self._findings(item, channel, self._blob_hits(channel, structured=True)))
        if unpack.kind(data) is not None:
            findings = self._findings(item, None, files.check(item.path, data,
                                                              public=self.public_by_design))
            return Outcome(findings + self._archive(item, data))
        findings = self._scan_data(item, data)
        if size > MAX_SCAN_BYTES:
            findings.append(self._unscanned(
                item, f"only the first {MAX_SCAN_BYTES // 2 ** 20} MiB of this "
                      f"{size // 2 ** 20} MiB file were scanned", None, f"{item.path}\0{size}"))
        return Outcome(findings)

    def _archive(self, item: Item, data: bytes) -> list[Finding]:
        """An archive's members, each scanned as a file of its own named
        `archive!inner/path`; what the budget refuses is one KG350 for the archive."""
        findings: list[Finding] = []
        try:
            for member in unpack.members(data, item.path, unpack.Budget(len(data))):
                inner = item._replace(path=f"{item.path}!{member.name}",
                                      display=f"{item.display}!{member.name}",
                                      disk=None, blob=None, data=member.data)
                findings += self._scan_data(inner, member.data)
        except unpack.Refused as e:
            findings.append(self._unscanned(item, f"not scanned: {e}", item.blob,
                                            f"{item.path}\0archive"))
        return findings

    def _scan_data(self, item: Item, data: bytes) -> list[Finding]:
        """A file's findings: never-commit rules, then its text (or a binary's printable
        runs, in the modes that read them)."""
        hits = files.check(item.path, data, public=self.public_by_design)
        text = as_utf8(data)
        blob: Blob | None = None
        if text is not None:
            blob = Blob(item.path, text)
            hits += self._blob_hits(blob)
        elif self.channels:  # binary: its printable runs, for tokens and keys
            blob = Blob(item.path, printable_runs(data))
            hits += self._blob_hits(blob, structured=True)
        return self._findings(item, blob, hits)

    def _read(self, item: Item) -> bytes:
        from kortix_guard.git import MissingObject

        if item.missing:
            raise _Unreadable(f"not scanned: {item.missing} {item.blob} is not in this clone "
                              f"{_WHY_MISSING}", item.blob)
        if item.disk is not None:
            try:
                with open(item.disk, "rb") as f:
                    return f.read(MAX_SCAN_BYTES + 1)
            except OSError as e:
                raise _Unreadable(f"not scanned: cannot read it ({e.strerror})") from None
        if item.blob is not None:
            try:
                return self._read_blob(item.blob)
            except MissingObject as e:
                raise _Unreadable(f"not scanned: blob {e.object_id} {e.why} {_WHY_MISSING}",
                                  e.object_id) from None
        assert item.data is not None
        return item.data

    def _unscanned(self, item: Item, why: str, object_id: str | None,
                   identity: str | None = None) -> Finding:
        """The one record of content that could not be scanned (docs/scan.md: its exit
        codes); it carries no secret, so its fingerprint is where it is, not what it holds."""
        hit = Hit(0, UNSCANNED, why, SecretValue(identity or f"{item.path}\0{object_id or ''}"))
        finding = self._finding(item, 1, 1, hit, why)
        return finding._replace(object_id=object_id)

    def _open_repo(self) -> Repo:
        if self._repo is None:
            from kortix_guard.git import Repo

            assert self.repo_root is not None
            root = Path(self.repo_root)
            self._repo = Repo.from_environment(root) if self.repo_from_env else Repo(root)
        return self._repo

    def _read_blob(self, blob_id: str) -> bytes:
        """From the batch's stream when it was asked for there, else through libgit2."""
        from kortix_guard.git import StreamBroken

        stream = self._stream
        if stream is not None and blob_id in stream.pending:
            try:
                return stream.take(blob_id)
            except StreamBroken:
                self._drop_stream()  # libgit2 says what is wrong, and reads the rest
        return self._open_repo().read(blob_id)

    def scan_batch(self, items: Sequence[Item], *, guarded: bool = False
                   ) -> list[tuple[Item, Outcome]]:
        """Each item's outcome, in order; their blobs asked of one `git cat-file` at once (a
        round trip per batch, not per blob). guarded: an exception while scanning one item
        makes it an unscanned finding instead of ending the scan (in a worker, where an
        exception that cannot be pickled would end the whole scan as an internal error)."""
        from kortix_guard.git import StreamBroken

        wanted = [i.blob for i in items if i.blob is not None and not i.missing
                  and i.disk is None and i.data is None]
        if wanted and self._streams and self.repo_root is not None:
            try:
                if self._stream is None:
                    self._stream = self._open_repo().blob_stream()
                    self._streams = self._stream is not None
                if self._stream is not None:
                    self._stream.ask(wanted)
            except StreamBroken:
                self._drop_stream()
        done = [(item, self._guarded(item) if guarded else self.scan(item)) for item in items]
        if self._stream is not None:
            try:
                self._stream.drain()
            except StreamBroken:
                self._drop_stream()
        return done

    def ready(self) -> None:
        """What a worker forked before its first batch does meanwhile: loads the matcher and
        starts its own `git cat-file`."""
        self._matcher.ready()
        if self._streams and self.repo_root is not None and self._stream is None:
            from kortix_guard.git import StreamBroken

            try:
                self._stream = self._open_repo().blob_stream()
            except (StreamBroken, GitError):
                self._stream = None
            self._streams = self._stream is not None

    def _drop_stream(self) -> None:
        """A broken stream: closed, and no other opened (libgit2 reads from here on)."""
        self.close()
        self._streams = False

    def _guarded(self, item: Item) -> Outcome:
        try:
            return self.scan(item)
        except Exception as e:
            why = f"not scanned: {type(e).__name__} while reading or scanning it"
            return Outcome([self._unscanned(item, why, item.blob)])

    def close(self) -> None:
        """End this process's `git cat-file`, if it has one."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def with_triggers(self, items: Iterable[Item]) -> Iterator[Item]:
        """items less the channel items carrying their own text (file names, commit and tag
        messages) in which no provider or key detector triggers: one matcher pass over a few
        hundred of them at once, here, instead of a worker's round trip for each of a
        history's thousands of messages. What it drops could not have produced a finding:
        confirming starts from a trigger. Lazy: a history is read as git lists it, and the
        first batches are small, so the workers start on a range's first files at once (at
        512, git/git's range handed them their first batch 37 ms after its first 32 files)."""
        for held in _batches(items, 512, first=32):
            yield from self._triggered(held)

    def _triggered(self, items: list[Item]) -> list[Item]:
        channel = [i for i, item in enumerate(items) if item.kind in TEXT_CHANNELS]
        if not channel:
            return items
        starts, chunks, offset = [], [], 0
        for i in channel:
            data = (items[i].data or b"")[:MAX_SCAN_BYTES]
            starts.append(offset)
            chunks.append(data)
            offset += len(data) + 1
        wanted = set()
        for trigger, end in self._matcher.scan(b"\0".join(chunks)):
            if trigger != self._encoded and \
                    self._detectors[self._owner[trigger]].code in STRUCTURED_CODES:
                wanted.add(channel[bisect.bisect_right(starts, max(end - 1, 0)) - 1])
        dropped = set(channel) - wanted
        self.untriggered += len(dropped)
        return [item for i, item in enumerate(items) if i not in dropped]

    def _blob_hits(self, blob: Blob, *, structured: bool = False) -> list[Hit]:
        """The direct hits of blob, and in a file's text the tokens and keys inside its
        base64 and `%XX` runs (one level deep), each reported at its encoded run."""
        encoded: list[int] = []
        hits = self._direct_hits(blob, structured=structured, encoded=encoded)
        if structured or not encoded:
            return hits
        runs = unpack.runs_at(blob.data, encoded)
        if not runs:
            return hits
        starts, offset = [], 0
        for run in runs:
            starts.append(offset)
            offset += len(run.text) + 1
        inner = self._direct_hits(Blob(blob.path, b"\n".join(r.text for r in runs)),
                                  structured=True)
        found: list[tuple[unpack.Decoded, Hit]] = []
        for hit in inner:
            run = runs[bisect.bisect_right(starts, hit.offset) - 1]
            hint = "; ".join(filter(None, (f"{run.form}-encoded here", hit.hint)))
            found.append((run, hit._replace(offset=run.start, hint=hint)))
        if not found:
            return hits

        def covered(hit: Hit) -> bool:
            """A looser layer's report of the encoded text itself, or a known value's
            encoded form (which speaks for it already)."""
            return any(run.start <= hit.offset < run.end for run, _ in found)

        known = [h for h in hits if h.code in NOT_INLINE_ALLOWABLE and covered(h)]
        kept = [h for h in hits if not covered(h) or h.code in NOT_INLINE_ALLOWABLE
                or h.code in STRUCTURED_CODES]
        return kept + [hit for run, hit in found
                       if not any(run.start <= k.offset < run.end for k in known)]

    def _direct_hits(self, blob: Blob, *, structured: bool = False,
                     encoded: list[int] | None = None) -> list[Hit]:
        """Every hit and its judged confidence, at any level: the threshold applies after
        the layers are merged, so a value a detector recognised as made-up (a token whose
        checksum fails, shown at `low`) is not reported again by a looser layer. structured:
        provider tokens and keys only (no keyword, entropy or known-value layer), for text
        that is not a file's (a name, a message) or not text (a binary's printable runs)."""
        hits: list[Hit] = []
        if self.known and not structured:
            hits += self.known.find(blob)
        if self.declared is not None and not structured:
            hits += self.declared.find(blob)
        lines: dict[int, set[tuple[int, int]]] = {}
        for trigger, end in self._matcher.scan(blob.data):
            if trigger == self._encoded:
                if encoded is not None:
                    encoded.append(end)
                continue
            owner = self._owner[trigger]
            detector = self._detectors[owner]
            if structured and detector.code not in STRUCTURED_CODES:
                continue
            span = blob.span_at(max(end - 1, 0))
            if detector.window:
                span = (max(span[0], end - detector.window), end)
            lines.setdefault(owner, set()).add(span)
        if not lines and not any(h.code in _JUDGED_LAYERS for h in hits):
            return hits
        from kortix_guard.scan import context  # compiled only when something triggered

        info = FileInfo.of(blob.path, blob.data[:4096])
        if info.is_store and (self.gate or structured) and not _is_store(blob.data):
            info = info._replace(is_store=False)  # only the header: a pusher's trick
        users = _lazy_user_values(blob)
        judged = [h for h in hits if h.code not in _JUDGED_LAYERS]
        candidates = [h for h in hits if h.code in _JUDGED_LAYERS]
        seen: set[tuple[str, int]] = set()
        for index in sorted(lines):
            detector = self._detectors[index]
            for span in sorted(lines[index]):
                for hit in detector.confirm(blob, span, info):
                    if (hit.code, hit.offset) not in seen:
                        seen.add((hit.code, hit.offset))
                        candidates.append(hit)
        for hit in candidates:
            confidence, note = context.judge(hit, blob.text_at(hit.offset), info, gate=self.gate,
                                             public=self.public_by_design, users=users)
            if confidence is not None:
                hint = "; ".join(filter(None, (note, hit.hint))) or None
                judged.append(hit._replace(confidence=confidence, hint=hint))
        return judged

    def _allowed(self, blob: Blob | None, line: int, hit: Hit) -> bool:
        """An inline allow covers its own line: not a value that runs past it (a PEM block),
        and never this project's own values or keys."""
        return (self.inline_allows and blob is not None and hit.code not in NOT_INLINE_ALLOWABLE
                and "\n" not in hit.secret.reveal()
                and ALLOW.search(blob.line(line)) is not None)

    def _findings(self, item: Item, blob: Blob | None, hits: list[Hit]) -> list[Finding]:
        kept: list[tuple[int, int, Hit]] = []
        file_finding = any(h.code == "KG340" for h in hits)
        for hit in sorted(hits, key=lambda h: (_PRIORITY.get(h.code, 2), -h.confidence)):
            if file_finding and hit.code == "KG321":
                continue  # the file is the key: its one finding says so
            line, col = blob.position(hit.offset) if blob is not None else (1, 1)
            if self._allowed(blob, line, hit):
                continue
            secret = hit.secret.reveal()
            if hit.code != "KG340" and any(
                    line == l2 and _covers(h2, hit)
                    and (secret in h2.secret.reveal() or h2.secret.reveal() in secret)
                    for l2, _, h2 in kept):
                continue  # a more specific layer already reported this value here
            kept.append((line, col, hit))
        findings = []
        for line, col, hit in sorted(kept, key=lambda k: (k[0], k[1])):
            if hit.confidence < self.min_confidence:
                continue
            message = (f"{hit.what}; untrack it: `git rm --cached {item.display}`"
                       if hit.code == "KG340" and not item.ignored else
                       f"{hit.what}; git ignores it and it is untracked: not going to git"
                       if hit.code == "KG340" else describe(hit.what, hit.secret.reveal()))
            if hit.hint:
                message += f"; {hit.hint}"
            findings.append(self._finding(item, line, col, hit, message))
        return findings

    def _finding(self, item: Item, line: int, col: int, hit: Hit, message: str) -> Finding:
        fingerprint = None
        if self.baseline is not None and (
                self.fingerprints or self.baseline.may_accept(item.path, hit.code)):
            fingerprint = self.baseline.fingerprint(hit.secret)
        return Finding(item.display, line, col, hit.code, message, item.commit, fingerprint,
                       hit.confidence, secret_id=self.secret_id(hit.code, item.path, hit.secret))

    def secret_id(self, code: str, path: str, secret: SecretValue) -> str:
        """A stable id per (rule, path, secret): HMAC-SHA256 under a key derived from the
        repository's root commits (so one repository's ids are stable across runs and
        machines), cut to 16 hex characters. It costs microseconds, unlike the baseline's
        salted scrypt: it is an id, not a proof; the value is in the repository anyway."""
        import hmac

        message = f"{code}\0{path}\0".encode() + secret.reveal().encode("utf-8")
        return hmac.new(self._id_key, message, "sha256").hexdigest()[:16]

    @functools.cached_property
    def _id_key(self) -> bytes:
        # Derived at the first finding: hashlib loads OpenSSL, 2 ms of a clean commit hook.
        import hashlib

        return hashlib.sha256(f"kortix-guard finding id\0{self.identity}".encode()).digest()

    def accepted(self, item_path: str, finding: Finding) -> bool:
        return (self.baseline is not None and finding.fingerprint is not None
                and self.baseline.accepts(item_path, finding.code, finding.fingerprint))


# What names, messages, link targets and binary files are scanned for: a provider's token
# and key material have a shape of their own; a keyword or entropy rule there would be noise.
STRUCTURED_CODES = frozenset({"KG320", "KG321", "KG324", "KG325"})
_PRINTABLE_RUN = re.compile(rb"[\t\x20-\x7e]{16,}")


def _is_store(data: bytes) -> bool:
    """Whether data is a whole kortix-guard store (its shape; no key needed)."""
    from kortix_guard.errors import Error
    from kortix_guard.store import parse

    try:
        parse(data.decode("utf-8"), "store", canonical=False)
    except (Error, UnicodeDecodeError):
        return False
    return True


def printable_runs(data: bytes) -> bytes:
    """A binary file's printable ASCII runs (16 characters or more), one per line, at their
    own offsets dropped: what `strings` shows."""
    return b"\n".join(_PRINTABLE_RUN.findall(data))


def _covers(kept: Hit, hit: Hit) -> bool:
    """Whether a hit already kept for the same value speaks for this one: it is at least as
    sure, or it is a provider's token judged made-up (a checksum that fails), which no looser
    layer may report more loudly."""
    return kept.confidence >= hit.confidence or (kept.code == "KG320"
                                                 and kept.confidence is Confidence.LOW)


def _lazy_user_values(blob: Blob) -> Callable[[], frozenset[str]]:
    """The file's user and database names, found once and only if a rule asks (a password
    equal to a user name elsewhere in the file)."""
    from kortix_guard.scan.context import user_values

    cache: list[frozenset[str]] = []

    def users() -> frozenset[str]:
        if not cache:
            cache.append(user_values(blob.data.decode("utf-8", errors="replace")))
        return cache[0]
    return users


_WORKER: Scanner | None = None  # set in each worker process by fork inheritance


def _init_worker(scanner: Scanner, ready: bool = False) -> None:
    from multiprocessing.util import Finalize

    global _WORKER
    # Each worker opens the repository and its `git cat-file` itself, after the fork, and
    # ends that git when it ends (a worker leaves by os._exit, after its finalizers).
    scanner._repo = None
    scanner._stream = None
    Finalize(scanner, scanner.close, exitpriority=10)
    _WORKER = scanner
    if ready:
        scanner.ready()


def _nothing() -> None:
    """A first task: a pool forks its workers when it is given one."""


def _pool(scanner: Scanner, ready: bool = False) -> ProcessPoolExecutor:
    """A worker a core, forked from this process (`_init_worker`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(os.cpu_count() or 1, mp_context=multiprocessing.get_context("fork"),
                               initializer=_init_worker, initargs=(scanner, ready))


class Workers:
    """The worker processes of a scan forked before anything is listed: while git walks a
    range's commits (0.15 s on git/git), each makes its matcher's scratch and starts its
    `git cat-file`, instead of after the walk. On one core, or without fork, there are
    none."""

    def __init__(self, scanner: Scanner) -> None:
        # The matcher's database loaded once, here, and shared by the fork (each worker makes
        # its own scratch), where each worker loaded its own beside git's walk.
        scanner._matcher.ready()
        self.pool = _pool(scanner, ready=True)
        self.pool.submit(_nothing)  # forks them all now

    @classmethod
    def start(cls, scanner: Scanner) -> Workers | None:
        """The workers, forked now; none on one core or without fork."""
        import multiprocessing

        if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None
        return cls(scanner)

    def close(self) -> None:
        """Let them go, unused, and wait until they have ended: a worker outliving its scan
        would hold what the scan's process holds open (a pre-receive hook's output pipe)."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def _scan_in_worker(batch: list[Item]) -> list[Outcome]:
    """Never lets an exception cross the pipe: whatever stops one item names it as not
    scanned. The items stay with the caller: only the outcomes come back."""
    assert _WORKER is not None
    return [outcome for _, outcome in _WORKER.scan_batch(batch, guarded=True)]


# Items a worker is handed at once, and whose blobs it asks git for at once: at 64 rather
# than 32, half the round trips (git/git's range 0.958x, its history 0.957x, crewAI's
# 0.967x, the stdlib tree 0.973x; farm-bench, 15, 3, 5 and 11 pairs).
BATCH = 64


def _batches(items: Iterable[Item], size: int = BATCH, first: int | None = None
             ) -> Iterator[list[Item]]:
    """items in lists of size; with first, the first list that long and each next one twice
    the one before, up to size."""
    batch: list[Item] = []
    length = first or size
    for item in items:
        batch.append(item)
        if len(batch) == length:
            yield batch
            batch = []
            length = min(length * 2, size)
    if batch:
        yield batch


def scan_all(scanner: Scanner, items: Iterable[Item], *, parallel: bool,
             progress: Callable[[int], None] | None = None,
             workers: Workers | None = None) -> Iterator[tuple[Item, Outcome]]:
    """Scan items in order, on every core when `parallel` and the machine has more than one
    (in workers already forked, when given; not parallel, they are let go)."""
    jobs = os.cpu_count() or 1
    if parallel and jobs > 1:
        import multiprocessing

        parallel = "fork" in multiprocessing.get_all_start_methods()
    if workers is not None and (not parallel or jobs < 2):
        workers.close()
    if not parallel or jobs < 2:
        try:
            for batch in _batches(items):
                for result in scanner.scan_batch(batch):
                    yield result
                    if progress:
                        progress(1)
        finally:
            scanner.close()
        return
    from collections import deque

    pool = workers.pool if workers is not None else _pool(scanner)
    import sys

    switch = sys.getswitchinterval()
    if workers is not None:
        # A range's listing keeps the main thread busy as the workers start: the threads
        # that hand them batches get the interpreter every 0.5 ms, not every 5 ms. Not for
        # a history's thousands of batches (crewAI's: 1.03x with it, 3 pairs).
        sys.setswitchinterval(0.0005)
    # Batches are handed out as items come (a history as git lists it), up to 16 a worker
    # ahead (at 4, the workers of a tree scan waited at its end): results come back in
    # order, and what waits is bounded.
    waiting: deque[tuple[list[Item], Future]] = deque()

    def results() -> Iterator[tuple[Item, Outcome]]:
        batch, future = waiting.popleft()
        for result in zip(batch, future.result(), strict=True):
            yield result
            if progress:
                progress(1)
    try:
        for batch in _batches(items):
            waiting.append((batch, pool.submit(_scan_in_worker, batch)))
            while waiting and (len(waiting) > 16 * jobs or waiting[0][1].done()):
                yield from results()
        while waiting:
            yield from results()
    except BaseException:
        # Stopped (a signal, an error, the caller gone): what is queued is not scanned, and
        # what is running is stopped, not waited for (a batch takes seconds on a loaded
        # machine, and the process would not end until it had finished).
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in multiprocessing.active_children():
            worker.kill()
        raise
    finally:
        sys.setswitchinterval(switch)
    pool.shutdown()


def worth_parallel(count: int, total_bytes: int | None = None) -> bool:
    """Whether forking workers pays: enough files, and (when known) enough bytes."""
    if count < PARALLEL_MIN_ITEMS:
        return False
    return total_bytes is None or total_bytes >= PARALLEL_MIN_BYTES


def first_items(items: Iterable[Item], count: int, workers: Workers | None = None
                ) -> tuple[list[Item], Iterator[Item]]:
    """Up to count items read ahead (to tell a small scan from a large one before the
    listing ends), and all of them, those first. Workers forked for them are let go when
    the listing fails."""
    iterator = iter(items)
    try:
        ahead = list(itertools.islice(iterator, count))
    except BaseException:
        if workers is not None:
            workers.close()
        raise
    return ahead, itertools.chain(ahead, iterator)
