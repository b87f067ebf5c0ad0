"""What a file holds inside another form: the members of an archive (zip and its family,
tar, gzip, bzip2, xz), and the text inside base64 and `%XX` runs. Archives are read within
a budget checked before anything is inflated (a zip bomb or an encrypted member is refused,
never a hang); encoded runs are decoded one level deep.

Recognised by content, not by name: a `.jar`, `.whl` or `.apk` is a zip."""
from __future__ import annotations

import base64
import binascii
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kortix_guard._dirs import cache_key
from kortix_guard._fs import store_private
from kortix_guard.scan.model import PUBLIC_PREFIXES, LazyPattern

MAX_INFLATED = 64 * 1024 * 1024  # per archive, nested members included
MAX_RATIO = 200  # inflated bytes per compressed byte, beyond the first FREE_BYTES
FREE_BYTES = 4 * 1024 * 1024
MAX_MEMBERS = 10_000
MAX_DEPTH = 3  # an archive in an archive in an archive
MAX_SECONDS = 60.0  # only a guard against a hang: the byte budget is what stops a bomb
_CHUNK = 1024 * 1024

# Runs of encoded text worth decoding: base64 (standard or URL-safe) of 20 characters or
# more, and runs holding `%XX` escapes.
_BASE64_RUN = LazyPattern(rb"[A-Za-z0-9+/_-]{20,}={0,2}")
_PERCENT_RUN = LazyPattern(rb"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+!*()-]){20,}")
_TEXT_BYTES = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F), *range(0x80, 0x100)])
MIN_DECODED = 12  # shorter decoded text holds no token worth a finding


class Refused(Exception):
    """An archive (or one member) that is not read: why, in words for a KG350."""


class Member(NamedTuple):
    name: str  # its path inside the archive: `inner/path`, or a nested `a.zip!b/c`
    data: bytes


class Budget:
    """What one top-level archive may cost, shared by its nested archives."""

    def __init__(self, compressed: int) -> None:
        self.left = MAX_INFLATED
        self.compressed = max(compressed, 1)
        self.inflated = 0
        self.members = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def allow(self, size: int, what: str) -> None:
        """Refuse before inflating size more bytes when that would pass a limit."""
        if size > self.left:
            raise Refused(f"{what} inflates past {MAX_INFLATED // 2 ** 20} MiB")
        if self.inflated + size > FREE_BYTES + MAX_RATIO * self.compressed:
            raise Refused(f"{what} inflates more than {MAX_RATIO} times its compressed "
                          f"size (a zip bomb?)")
        if time.monotonic() > self.deadline:
            raise Refused(f"{what} took more than {MAX_SECONDS:.0f} s to read")

    def take(self, size: int) -> None:
        self.left -= size
        self.inflated += size

    def count(self, what: str) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise Refused(f"{what} has more than {MAX_MEMBERS} members")


def kind(data: bytes) -> str | None:
    """The archive or compression format data starts with, or None."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:3] == b"BZh" and data[3:4].isdigit() and data[4:10] == b"1AY&SY":
        return "bzip2"
    if data[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if data[257:262] == b"ustar":
        return "tar"
    return None


def members(data: bytes, name: str, budget: Budget, depth: int = 1) -> Iterator[Member]:
    """The files an archive holds (a compressed stream's one file; a compressed tar's
    members), nested archives opened to MAX_DEPTH. Raises Refused past the budget, at an
    encrypted member, or at damage, after yielding the members read before it."""
    form = kind(data)
    if form == "zip":
        yield from _zip_members(data, name, budget, depth)
    elif form == "tar":
        yield from _tar_members(data, name, budget, depth)
    elif form is not None:
        inner, damage = _decompress(data, form, name, budget)
        if kind(inner) == "tar":  # x.tar.gz: its members, named inside the archive
            yield from _tar_members(inner, name, budget, depth)
        else:
            yield from _nested(Member(_stem(name), inner), name, budget, depth)
        if damage:  # what inflated before the damage was scanned; the rest cannot be
            raise Refused(f"{name} is a damaged {form} stream ({damage}); read up to the damage")


def _nested(member: Member, name: str, budget: Budget, depth: int) -> Iterator[Member]:
    if kind(member.data) is None or depth >= MAX_DEPTH:
        yield member
        return
    for inner in members(member.data, f"{name}!{member.name}", budget, depth + 1):
        yield Member(f"{member.name}!{inner.name}", inner.data)


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    for suffix in (".tgz", ".gz", ".bz2", ".xz", ".txz", ".tbz2"):
        if base.endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix in (".tgz", ".txz", ".tbz2") else stem
    return base + ".inflated"


def _decompress(data: bytes, form: str, name: str, budget: Budget) -> tuple[bytes, str]:
    """What the stream inflates to, and what damage stopped it ("" when it ended well)."""
    import bz2
    import lzma
    import zlib

    out: list[bytes] = []
    try:
        if form == "gzip":  # zlib keeps what it has not read yet in unconsumed_tail
            inflater = zlib.decompressobj(wbits=31)
            pending = data
            while pending or not out:
                budget.allow(_CHUNK, name)
                chunk = inflater.decompress(pending, _CHUNK)
                budget.take(len(chunk))
                out.append(chunk)
                pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
        else:  # bz2 and lzma keep it inside, and take b"" to go on
            engine = bz2.BZ2Decompressor() if form == "bzip2" else lzma.LZMADecompressor()
            pending = data
            while not engine.eof:
                budget.allow(_CHUNK, name)
                chunk = engine.decompress(pending, _CHUNK)
                budget.take(len(chunk))
                out.append(chunk)
                pending = b""
                if engine.needs_input:
                    break
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as e:
        return b"".join(out), type(e).__name__
    ended = inflater.eof if form == "gzip" else engine.eof
    return b"".join(out), "" if ended else "it ends early"


def _zip_members(data: bytes, name: str, budget: Budget, depth: int) -> Iterator[Member]:
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise Refused(f"{name} is a damaged zip ({type(e).__name__})") from None
    for info in infos:
        if info.is_dir():
            continue
        budget.count(name)
        if info.flag_bits & 0x1:
            raise Refused(f"{name}!{info.filename} is encrypted")
        # The sizes the archive declares are checked first; the reading below holds to them
        # (a member that inflates past its declared size is cut there and refused).
        budget.allow(info.file_size, f"{name}!{info.filename}")
        try:
            with archive.open(info) as f:
                content = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                RuntimeError) as e:
            raise Refused(f"{name}!{info.filename} cannot be read ({type(e).__name__})") from None
        if len(content) > info.file_size:
            raise Refused(f"{name}!{info.filename} inflates past its declared size")
        budget.take(len(content))
        yield from _nested(Member(info.filename, content), name, budget, depth)


def _tar_members(data: bytes, name: str, budget: Budget, depth: int) -> Iterator[Member]:
    import tarfile

    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
        infos = archive.getmembers()
    except (tarfile.TarError, OSError, ValueError, EOFError) as e:
        raise Refused(f"{name} is a damaged tar ({type(e).__name__})") from None
    for info in infos:
        if not info.isfile():
            continue
        budget.count(name)
        # tar stores members whole: their bytes are already in data, nothing inflates.
        f = archive.extractfile(info)
        content = f.read() if f is not None else b""
        yield from _nested(Member(info.name, content), name, budget, depth)


class Decoded(NamedTuple):
    start: int  # the encoded run's span in the file
    end: int
    text: bytes  # what it decodes to
    form: str  # "base64" or "URL"


# What a provider's token or a key starts with, found again inside encoded text by the
# fragments of its encodings: the one trigger that makes a run worth decoding. A run is
# decoded only where one of these is (most base64 in a tree is hashes and data, and decoding
# every run would cost more than the whole scan).
_MARKERS = tuple(p for p in PUBLIC_PREFIXES if p != "eyJ") + (
    "PRIVATE KEY", "AGE-SECRET-KEY-1", "PuTTY-User-Key-File-", "hooks.slack.com/services/",
    "discord.com/api/webhooks/")
_LEADING = {0: 0, 1: 2, 2: 3}  # base64 characters that depend on the bytes before a value
MIN_FRAGMENT = 4  # shorter fragments occur by chance in any base64 text


def base64_fragments(data: bytes) -> list[bytes]:
    """The characters every base64 text holding data holds, whatever surrounds it: one
    fragment per alignment (0, 1 or 2 bytes before it in its group of three) and alphabet
    (standard, URL-safe), without the characters its neighbours share."""
    fragments: list[bytes] = []
    for before in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * before + data)
        total = before + len(data)
        end = 4 * (total // 3) + total % 3  # the last characters mix in what follows
        fragment = encoded[_LEADING[before]:end]
        for form in (fragment, fragment.translate(bytes.maketrans(b"+/", b"-_"))):
            if form not in fragments:
                fragments.append(form)
    return fragments


def encoded_trigger(cache_dir: Path | None = None) -> bytes:
    """encoded_pattern(), kept in cache_dir: building it costs a commit hook 4 ms, reading
    it back a tenth of that. Keyed by the markers, so a release that changes them builds a
    new one."""
    if cache_dir is None:
        return encoded_pattern()
    key = cache_key(repr((_MARKERS, MIN_FRAGMENT, 1)), 12)
    path = cache_dir / f"encoded-{key}.re"
    try:
        return path.read_bytes()
    except OSError:
        pattern = encoded_pattern()
        store_private(path, pattern)
        return pattern


def encoded_pattern() -> bytes:
    """One regex matching where a marker sits inside base64 or `%XX` text: the fragments of
    its base64 forms, its escaped forms, and any form after an escaped quote, `=`, `:` or
    space (`token%3Dghp_…` in a query, `%22token%22%3A%22sk-…` in JSON in a query)."""
    from urllib.parse import quote, quote_plus

    fragments: set[bytes] = set()
    quoted: set[bytes] = set()
    for marker in _MARKERS:
        fragments.update(f for f in base64_fragments(marker.encode()) if len(f) >= MIN_FRAGMENT)
        quoted.update(q.encode() for q in (marker, quote(marker, safe=""),
                                           quote_plus(marker, safe="")))
    changed = sorted(q for q in quoted if q.decode() not in _MARKERS)
    return (_trie(sorted(fragments)) + b"|" + _trie(changed) +
            rb"|(?:%(?:2[27]|3[DdAa]|20)|\+)" + _trie(sorted(quoted)))


def _trie(literals: list[bytes]) -> bytes:
    """An alternation of literals written as a trie (`ab(?:c|d)`), which Python's `re` (the
    fallback where hyperscan has no wheel) matches 30 times faster than a flat one: a branch
    fails at its first byte instead of every literal being tried at every position."""
    root: dict = {}
    for literal in literals:
        node = root
        for byte in literal:
            node = node.setdefault(byte, {})
        node[None] = {}

    def emit(node: dict) -> bytes:
        branches = [re.escape(bytes([byte])) + emit(child)
                    for byte, child in sorted((k, v) for k, v in node.items() if k is not None)]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        return b"(?:" + body + b")?" if None in node else body
    return emit(root)


_BASE64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_PERCENT_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           b"%._~+!*()-")
MAX_RUN = 1024 * 1024  # an encoded run longer than this is read to here


def runs_at(data: bytes, ends: list[int]) -> list[Decoded]:
    """The encoded runs holding a trigger (ends: where triggers ended), each decoded once:
    base64 that decodes to text, and `%XX` text."""
    found: dict[tuple[int, int], Decoded] = {}
    for end in sorted(ends):
        for chars, form in ((_BASE64_CHARS, "base64"), (_PERCENT_CHARS, "URL")):
            start = end - 1
            limit = max(0, end - MAX_RUN)
            while start > limit and data[start - 1] in chars:
                start -= 1
            stop = end
            limit = min(len(data), end + MAX_RUN)
            while stop < limit and data[stop] in chars:
                stop += 1
            if form == "base64":
                while stop < len(data) and stop - start < MAX_RUN and data[stop] == 0x3D:
                    stop += 1  # "=" padding
            if (start, stop) in found:
                continue
            run = data[start:stop]
            text = _from_base64(run) if form == "base64" else _from_percent(run)
            if text is not None:
                found[(start, stop)] = Decoded(start, stop, text, form)
    return list(found.values())


def _from_percent(run: bytes) -> bytes | None:
    from urllib.parse import unquote_to_bytes

    if run.count(b"%") < 2:
        return None
    text = unquote_to_bytes(run.replace(b"+", b" "))
    return text if len(text) >= MIN_DECODED and _is_text(text) else None


def decoded_runs(data: bytes) -> list[Decoded]:
    """Every base64 run of 20 characters or more, and every `%XX` run, that decodes to text:
    what runs_at finds from its triggers, here found by reading all of data (tests, and the
    benchmark of what the triggers leave out)."""
    found: list[Decoded] = []
    for match in _BASE64_RUN.finditer(data):
        text = _from_base64(match.group())
        if text is not None:
            found.append(Decoded(match.start(), match.end(), text, "base64"))
    if b"%" in data:
        for match in _PERCENT_RUN.finditer(data):
            text = _from_percent(match.group())
            if text is not None:
                found.append(Decoded(match.start(), match.end(), text, "URL"))
    return found


def _from_base64(run: bytes) -> bytes | None:
    body = run.rstrip(b"=")
    standard, urlsafe = (b"+" in body or b"/" in body), (b"-" in body or b"_" in body)
    if standard and urlsafe or len(body) % 4 == 1 or len(body) < 16:
        return None
    if urlsafe:
        body = body.translate(bytes.maketrans(b"-_", b"+/"))
    try:
        text = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return text if len(text) >= MIN_DECODED and _is_text(text) else None


def _is_text(data: bytes) -> bool:
    """Nearly all printable (ASCII or UTF-8): a decoded token, a `user:password`, a JSON
    document; not the random bytes a hash or an identifier decodes to."""
    sample = data[:4096]
    if len(sample.translate(None, _TEXT_BYTES)) > 0.05 * len(sample):  # control bytes
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
