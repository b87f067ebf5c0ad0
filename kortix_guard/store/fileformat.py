"""The store's on-disk format (docs/store.md), read without a key; locked atomic writes.

The file is committed, so it must diff well: one line per secret, sorted by name, and a value
that did not change keeps its sealed text, so its line stays byte-identical.
"""
from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from kortix_guard import names
from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import InputError, StoreError, restore_hint
from kortix_guard.store import shapes

VERSION = 1  # symmetric: one `kgk1_` key opens it
RECIPIENTS_VERSION = 2  # the data key wrapped to recipients; generations; value ages
SIGNED_VERSION = 3  # version 2, signed: each generation's Ed25519 key signs the file and the next link
REVISION_VERSION = 4  # version 3 with a revision every write raises, and recipients grouped by person
CURRENT = REVISION_VERSION  # what a new store, an upgrade and a store's every later write are
RECIPIENTS_SINCE = "0.2.0"  # the first kortix-guard that reads version 2
SIGNED_SINCE = "0.3.0"  # the first kortix-guard that reads version 3
REVISION_SINCE = "0.4.0"  # the first kortix-guard that reads version 4
HEADER = f"""\
{shapes.STORE_MARK} names are public, values are sealed with AES-256-GCM.
# Change it only with `kortix-guard secrets set|rm` or `env push`; see docs/store.md.
"""
_HEX = shapes.HEX_FIELDS
_TOKEN_RE = re.compile(shapes.SEALED)
_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_WRAPPED_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# A value a removed recipient could read, and a value carried over from an older generation
# by a merge: both shown until the value is set again.
MARKS = ("rotate", "carried")
MAX_STORE_BYTES = 256 * 1024 * 1024
# The longest value a store holds: one environment variable can be no longer on Linux
# (MAX_ARG_STRLEN, 128 KiB for NAME=value), so a longer one could never reach a process.
MAX_VALUE_BYTES = 128 * 1024 - 1
# The longest line of each kind a store can hold, checked before any pattern reads a line:
# a recipient line (an 8192-bit RSA key and the data key wrapped to it fit; `recipients add`
# refuses a larger key), and a sealed value's line (a name, the longest value sealed, its
# time and marks).
MAX_HEADER_LINE = 256
MAX_RECIPIENT_LINE = 4096
MAX_SECRET_LINE = 64 + 4 * ((12 + 16 + MAX_VALUE_BYTES + 2) // 3) + 160


class RecipientLine(NamedTuple):
    """One recipient of a store with recipients: its public key and the data key wrapped to
    it. Version 4 also records the person it belongs to: the keys of one keys file
    (`recipients add bob -` gives bob, bob-2, …) are one person, removed together."""

    recipient: str  # `age1…` or `ssh-ed25519 AAAA…` / `ssh-rsa AAAA…` (no comment)
    added: str  # RFC 3339, UTC
    key: str  # the data key as an age file, base64 on one line
    person: str = ""  # version 4: whose key this is (a recipient name); "" before

    @property
    def kind(self) -> str:
        return shapes.recipient_kind(self.recipient)

    @property
    def fingerprint(self) -> str:
        return shapes.fingerprint(self.recipient)


class EntryMeta(NamedTuple):
    set_at: str  # RFC 3339, UTC: when the value was last set (a re-key keeps it)
    marks: tuple[str, ...] = ()  # some of MARKS, in that order (version 2 holds one at most)

    def with_marks(self, add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> EntryMeta:
        kept = (set(self.marks) | set(add)) - set(drop)
        return self._replace(marks=tuple(m for m in MARKS if m in kept))


class _StoreFields(NamedTuple):
    store_id: str
    key_id: str
    mac: str
    entries: Mapping[str, str] = MappingProxyType({})
    version: int = VERSION
    generation: int = 0
    previous_key_id: str = ""
    chain: str = ""
    recipients: Mapping[str, RecipientLine] = MappingProxyType({})
    meta: Mapping[str, EntryMeta] = MappingProxyType({})
    signer: str = ""  # version 3: this generation's Ed25519 public key (hex)
    signature: str = ""  # version 3: signer's signature over signed_input()
    revision: int = 0  # version 4: raised by every write, so an older copy is recognisable


class StoreFile(_StoreFields):
    """What the file says. Entries map a name to its sealed value (never plaintext).

    Version 1 has the first four fields only. Version 2 adds the key's generation, the re-key
    chain link (`previous_key_id`, `chain`), the recipients and each value's metadata.
    Version 3 adds the generation's public signing key and its signature over the file, and
    its links are signatures (a 64-digit HMAC link is one made by version 2). Version 4 adds
    the revision, which every write raises (so a copy of an older write is stale even within
    a generation), and each recipient's person. The three mappings are kept sorted and
    read-only, however they were given."""

    __slots__ = ()

    def __new__(cls, store_id: str, key_id: str, mac: str, entries: Mapping[str, str] = {},
                version: int = VERSION, generation: int = 0, previous_key_id: str = "",
                chain: str = "", recipients: Mapping[str, RecipientLine] = {},
                meta: Mapping[str, EntryMeta] = {}, signer: str = "",
                signature: str = "", revision: int = 0) -> StoreFile:
        def frozen(mapping: Mapping) -> Mapping:
            return MappingProxyType(dict(sorted(mapping.items())))
        return super().__new__(cls, store_id, key_id, mac, frozen(entries), version, generation,
                               previous_key_id, chain, frozen(recipients), frozen(meta),
                               signer, signature, revision)

    def replace(self, **changes) -> StoreFile:
        """A copy with some fields changed (the mappings sorted and frozen again)."""
        return StoreFile(**{**self._asdict(), **changes})

    _replace = replace

    @property
    def has_recipients(self) -> bool:
        return self.version >= RECIPIENTS_VERSION

    @property
    def is_signed(self) -> bool:
        return self.version >= SIGNED_VERSION

    @property
    def has_revision(self) -> bool:
        return self.version >= REVISION_VERSION

    def person_of(self, name: str) -> str:
        """The person a recipient belongs to (version 4 records it; before, its own name)."""
        line = self.recipients[name]
        return line.person or name

    @property
    def signed_link(self) -> bool:
        """Whether the link to the previous generation is a signature (version 3), not the
        HMAC link version 2 made (a store upgraded to 3 keeps its last version 2 link)."""
        return len(self.chain) == 128

    def mac_input(self) -> list[str]:
        """Everything the MAC covers, in order. Version 1 keeps its original input: the
        header, then name and sealed value of each entry. Version 2 adds every field of the
        file, with counts, so no part can move from one section to another."""
        if not self.has_recipients:
            parts = [f"kortix-guard store v{VERSION}", self.store_id, self.key_id]
            for name, token in self.entries.items():
                parts += [name, token]
            return parts
        parts = [f"kortix-guard store v{self.version}", self.store_id, self.key_id,
                 str(self.generation)]
        if self.has_revision:
            parts.append(str(self.revision))
        parts += [self.previous_key_id, self.chain]
        if self.is_signed:
            parts.append(self.signer)
        parts.append(str(len(self.recipients)))
        for name, line in self.recipients.items():
            parts += [name, line.recipient, line.added]
            if self.has_revision:
                parts.append(line.person)
            parts.append(line.key)
        parts.append(str(len(self.entries)))
        for name, token in self.entries.items():
            meta = self.meta[name]
            parts += [name, token, meta.set_at, ",".join(meta.marks)]
        return parts

    def signed_input(self) -> list[str]:
        """What the version 3 signature covers: everything the MAC covers, and the MAC."""
        return [*self.mac_input(), self.mac]

    def render(self) -> bytes:
        if not self.has_recipients:
            lines = [HEADER, f"version = {VERSION}\n", f'store_id = "{self.store_id}"\n',
                     f'key_id = "{self.key_id}"\n', f'mac = "{self.mac}"\n', "\n[secrets]\n"]
            lines += [f'{name} = "{token}"\n' for name, token in self.entries.items()]
            return "".join(lines).encode("ascii")
        lines = [HEADER, f"version = {self.version}\n", f'store_id = "{self.store_id}"\n',
                 f'key_id = "{self.key_id}"\n', f"generation = {self.generation}\n"]
        if self.has_revision:
            lines.append(f"revision = {self.revision}\n")
        lines += [f'previous_key_id = "{self.previous_key_id}"\n', f'chain = "{self.chain}"\n']
        if self.is_signed:
            lines.append(f'signer = "{self.signer}"\n')
        lines.append(f'mac = "{self.mac}"\n')
        if self.is_signed:
            lines.append(f'signature = "{self.signature}"\n')
        lines.append("\n[recipients]\n")
        person = ', person = "{}"' if self.has_revision else ""
        lines += [f'"{name}" = {{ recipient = "{r.recipient}", added = "{r.added}"'
                  f'{person.format(r.person)}, key = "{r.key}" }}\n'
                  for name, r in self.recipients.items()]
        lines.append("\n[secrets]\n")
        for name, token in self.entries.items():
            meta = self.meta[name]
            if not meta.marks:
                mark = ""
            elif self.is_signed:
                mark = ", marks = [" + ", ".join(f'"{m}"' for m in meta.marks) + "]"
            else:
                mark = f', mark = "{meta.marks[0]}"'
            lines.append(f'{name} = {{ value = "{token}", set_at = "{meta.set_at}"{mark} }}\n')
        return "".join(lines).encode("utf-8")


def infer_persons(recipients: Mapping[str, RecipientLine]) -> dict[str, str]:
    """Each recipient's person: the one a version 4 line records, else (a version 2 or 3
    line, upgraded) the name `recipients add NAME FILE` gave the first key of a keys file
    (`bob` for `bob-2`, `bob-3`, … when `bob` is a recipient too), else its own name."""
    persons = {}
    for name, line in recipients.items():
        base, dash, number = name.rpartition("-")
        if line.person:
            persons[name] = line.person
        elif dash and number.isdigit() and number != "1" and base in recipients:
            persons[name] = recipients[base].person or base
        else:
            persons[name] = name
    return persons


def new_store_id() -> str:
    import secrets

    return secrets.token_hex(16)


def now() -> str:
    """The current time as the store records it: RFC 3339, UTC, whole seconds."""
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str):
    """A time as the store records it (`now()`), as an aware datetime."""
    import datetime

    if len(text) == 20 and text[-1] == "Z":  # fromisoformat: 30 times strptime's speed
        try:
            return datetime.datetime.fromisoformat(text[:-1]).replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def read(path: Path, display: str | None = None, *, canonical: bool = True) -> StoreFile:
    """Parse and validate the file's shape (no key needed). StoreError on anything odd.

    The store is accepted only byte for byte as kortix-guard writes it: the MAC covers the
    parsed entries, so anything else in the file (a comment holding a token, reordered or
    re-quoted lines, CRLF line ends) would otherwise pass unseen. `secrets reseal` alone
    reads a non-canonical store (a hand-merged file) and writes it back canonical."""
    display = display or str(path)
    try:
        text = read_text(path, what="store", display=display, limit=MAX_STORE_BYTES)
    except InputError as e:  # binary data, not UTF-8, too large: a damaged file
        raise StoreError(e.message, hint=e.hint or restore_hint(display)) \
            from None
    return parse(text, display, canonical=canonical)


MERGE_FAILED = "kortix-guard: merge failed"  # what the merge driver appends when it fails
MERGE_RECOVERY = ("a secret changed on both sides: `kortix-guard secrets resolve --ours NAME` "
                  "(or `--theirs NAME`) for each, then `git add {store}`; in a clone without "
                  "the merge driver (git config is not cloned): `git merge --abort`, "
                  "`kortix-guard init`, then merge again, and values merge by name")


def parse(text: str, display: str, *, canonical: bool = True) -> StoreFile:
    """The store file's text (from disk, or from a commit) as a StoreFile."""
    if conflicted(text):
        what = ("git conflict markers" if "\n<<<<<<< " in "\n" + text
                else "the merge driver's failure line (it could not run)")
        raise StoreError(f"{display}: holds {what}", hint=MERGE_RECOVERY.format(store=display))
    check_line_lengths(text, display)
    data = _canonical_loads(text) if canonical else None
    if data is None:
        data = _toml_loads(text, display)
    version = data.get("version")
    if type(version) is int and version > CURRENT:
        raise StoreError(f"{display}: store version {version}; this kortix-guard reads "
                         f"versions {VERSION} to {CURRENT}",
                         hint="upgrade kortix-guard")
    if type(version) is not int or version not in (VERSION, RECIPIENTS_VERSION, SIGNED_VERSION,
                                                   REVISION_VERSION):
        raise StoreError(f"{display}: not a kortix-guard store (its `version` is "
                         f"{'missing' if version is None else f'not {VERSION} to {CURRENT}'})",
                         hint=restore_hint(display))
    _check_hex(data, _HEX, display)
    sf = _parse_v1(data, display) if version == VERSION else _parse_team(data, display, version)
    if canonical and sf.render() != text.encode("utf-8"):
        raise StoreError(f"{display}: not byte for byte as kortix-guard writes it (a changed "
                         f"comment, added text, line ends, order or quoting)",
                         hint=restore_hint(display) + "; if you merged it by "
                              "hand on purpose, run `kortix-guard secrets reseal`")
    return sf


def driver_sides(text: str) -> tuple[str, str] | None:
    """Ours and theirs, whole, from the conflict markers the merge driver writes around two
    stores (not git's line-by-line markers, which hold no whole store)."""
    if not text.startswith("<<<<<<< ours\n") or not text.endswith(">>>>>>> theirs\n"):
        return None
    body = text[len("<<<<<<< ours\n"):-len(">>>>>>> theirs\n")]
    ours, sep, theirs = body.partition("=======\n")
    return (ours, theirs) if sep else None


def conflicted(text: str) -> bool:
    """Whether the text holds git's conflict markers or the merge driver's failure line."""
    return "\n<<<<<<< " in "\n" + text or f"\n{MERGE_FAILED}\n" in text


def check_line_lengths(text: str, display: str) -> None:
    """Refuse a line longer than its kind allows, before any pattern or parser reads it: the
    store is written by whoever can push, and every command reads it (a long line is never
    one kortix-guard wrote)."""
    limit, kind = MAX_HEADER_LINE, "a header line"
    start, number = 0, 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if end - start > limit:
            raise StoreError(f"{display}:{number}: a line of {end - start} characters; {kind} "
                             f"is at most {limit}: the file was changed outside kortix-guard",
                             hint=restore_hint(display))
        line = text[start:min(end, start + 16)]
        if line.startswith("[recipients]"):
            limit, kind = MAX_RECIPIENT_LINE, "a recipient line"
        elif line.startswith("[secrets]"):
            limit, kind = MAX_SECRET_LINE, "a sealed value's line"
        start, number = end + 1, number + 1


# Each alternative and each repeated part starts with a character no neighbour can hold, so no
# line makes these backtrack (tests/test_redos.py checks every pattern that reads a store).
_HEADER_LINE = re.compile(r'(version|generation|revision) = ([0-9]{1,9})|'
                          r'(store_id|key_id|previous_key_id|chain|signer|mac|signature) = '
                          r'"([0-9a-f]{0,128})"')
_SECRET_LINE = re.compile(r'([A-Z_][A-Z0-9_]{0,127}) = (?:"(kg1:[A-Za-z0-9_-]+)"|\{ value = '
                          r'"(kg1:[A-Za-z0-9_-]+)", set_at = "([0-9TZ:-]{1,32})"'
                          r'(?:, mark = "([a-z]{1,16})"|, marks = \[("[a-z]{1,16}"'
                          r'(?:, "[a-z]{1,16}"){0,3})\])? \})')
_RECIPIENT_TEXT = r'age1[02-9ac-hj-np-z]{58}|(?:ssh-ed25519|ssh-rsa) AAAA[A-Za-z0-9+/]+={0,3}'
_RECIPIENT_LINE = re.compile(r'"([A-Za-z0-9._@+-]{1,64})" = \{ recipient = "(' + _RECIPIENT_TEXT
                             + r')", added = "([0-9TZ:-]{1,32})"(?:, person = '
                             r'"([A-Za-z0-9._@+-]{1,64})")?, key = "([A-Za-z0-9+/]+={0,2})" \}')


def _toml_loads(text: str, display: str) -> dict:
    """Any other shape, through the TOML parser (imported only then: the canonical reader
    handles every file kortix-guard writes)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StoreError(f"{display}: not a valid store ({e})",
                         hint=restore_hint(display)) from None


def _canonical_loads(text: str) -> dict | None:
    """What tomllib would return for a file in the canonical shape, read line by line with
    fixed patterns (ten times faster on a large store); None for anything else, which then
    goes to tomllib and its error messages. The shape is validated as usual afterwards."""
    data: dict = {}
    table = None
    for line in text.split("\n")[2:]:  # the two header comments
        if not line:
            continue
        if line in ("[recipients]", "[secrets]"):
            table = data.setdefault(line[1:-1], {})
            continue
        if table is None:
            m = _HEADER_LINE.fullmatch(line)
            if m is None:
                return None
            if m.group(1):
                data[m.group(1)] = int(m.group(2))
            else:
                data[m.group(3)] = m.group(4)
            continue
        if "recipients" in data and table is data["recipients"]:
            m = _RECIPIENT_LINE.fullmatch(line)
            if m is None:
                return None
            line_data = {"recipient": m.group(2), "added": m.group(3), "key": m.group(5)}
            if m.group(4) is not None:
                line_data["person"] = m.group(4)
            table[m.group(1)] = line_data
            continue
        m = _SECRET_LINE.fullmatch(line)
        if m is None or m.group(1) in table:
            return None
        if m.group(2):
            table[m.group(1)] = m.group(2)
        else:
            entry: dict = {"value": m.group(3), "set_at": m.group(4)}
            if m.group(5):
                entry["mark"] = m.group(5)
            if m.group(6):
                entry["marks"] = [part.strip('"') for part in m.group(6).split(", ")]
            table[m.group(1)] = entry
    return data


def _check_hex(data: dict, fields: Mapping[str, int], display: str, *,
               empty_ok: bool = False) -> None:
    for key, length in fields.items():
        value = data.get(key)
        if empty_ok and value == "":
            continue
        if not (isinstance(value, str) and re.fullmatch(f"[0-9a-f]{{{length}}}", value)):
            raise StoreError(f"{display}: `{key}` is missing or malformed",
                             hint=restore_hint(display))


def _unknown(data: dict, allowed: set[str], display: str, where: str = "") -> None:
    unknown = set(data) - allowed
    if unknown:
        raise StoreError(f"{display}: unknown key(s) {where}{', '.join(sorted(unknown))}",
                         hint=restore_hint(display))


def _table(data: dict, name: str, display: str) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise StoreError(f"{display}: [{name}] must be a table",
                         hint=restore_hint(display))
    return table


def _bad_entry(display: str, what: str) -> StoreError:
    return StoreError(f"{display}: {what} is malformed",
                      hint=restore_hint(display))


def _parse_v1(data: dict, display: str) -> StoreFile:
    entries = _table(data, "secrets", display)
    for name, token in entries.items():
        if not names.is_valid(name) or not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
            raise _bad_entry(display, f"the entry for {names.shown(name)}")
    _unknown(data, {"version", "secrets", *_HEX}, display)
    return StoreFile(data["store_id"], data["key_id"], data["mac"], entries)


def _parse_team(data: dict, display: str, version: int) -> StoreFile:
    """Versions 2 to 4 (3 adds `signer` and `signature`, and `marks` for `mark`; 4 adds
    `revision` and each recipient's `person`)."""
    signed = version >= SIGNED_VERSION
    revised = version >= REVISION_VERSION
    _unknown(data, {"version", "secrets", "recipients", "generation", "previous_key_id",
                    "chain", *_HEX, *(("signer", "signature") if signed else ()),
                    *(("revision",) if revised else ())}, display)
    generation = data.get("generation")
    if type(generation) is not int or generation < 1:
        raise _bad_entry(display, "`generation`")
    revision = data.get("revision", 0)
    if revised and (type(revision) is not int or revision < 1):
        raise _bad_entry(display, "`revision`")
    _check_hex(data, {"previous_key_id": 16}, display, empty_ok=True)
    chain = data.get("chain")
    if not (isinstance(chain, str) and re.fullmatch(
            "|[0-9a-f]{64}" + ("|[0-9a-f]{128}" if signed else ""), chain)):
        raise _bad_entry(display, "`chain`")
    if signed:
        _check_hex(data, {"signer": 64, "signature": 128}, display)
    if (data["previous_key_id"] == "") != (chain == ""):
        raise _bad_entry(display, "the re-key chain (`previous_key_id` and `chain`)")
    recipients = {}
    fields = {"recipient", "added", "key", *(("person",) if revised else ())}
    for name, line in _table(data, "recipients", display).items():
        if not (shapes.RECIPIENT_NAME.fullmatch(name) and isinstance(line, dict)
                and set(line) == fields
                and all(isinstance(v, str) for v in line.values())
                and shapes.is_recipient_text(line["recipient"])
                and _TIME_RE.fullmatch(line["added"])
                and _WRAPPED_RE.fullmatch(line["key"])
                and (not revised or shapes.RECIPIENT_NAME.fullmatch(line["person"]))):
            raise _bad_entry(display, f"the recipient line {name!r}"[:90])
        recipients[name] = RecipientLine(line["recipient"], line["added"], line["key"],
                                         line.get("person", ""))
    entries, meta = {}, {}
    mark_key = "marks" if signed else "mark"
    for name, entry in _table(data, "secrets", display).items():
        if not (names.is_valid(name) and isinstance(entry, dict)
                and set(entry) in ({"value", "set_at"}, {"value", "set_at", mark_key})
                and isinstance(entry["value"], str) and _TOKEN_RE.fullmatch(entry["value"])
                and isinstance(entry["set_at"], str) and _TIME_RE.fullmatch(entry["set_at"])):
            raise _bad_entry(display, f"the entry for {names.shown(name)}")
        marks = _marks(entry.get(mark_key), signed)
        if marks is None:
            raise _bad_entry(display, f"the marks of {names.shown(name)}")
        entries[name] = entry["value"]
        meta[name] = EntryMeta(entry["set_at"], marks)
    return StoreFile(data["store_id"], data["key_id"], data["mac"], entries,
                     version=version, generation=generation,
                     previous_key_id=data["previous_key_id"], chain=chain,
                     recipients=recipients, meta=meta, signer=data.get("signer", ""),
                     signature=data.get("signature", ""), revision=revision)


def _marks(given: object, signed: bool) -> tuple[str, ...] | None:
    """An entry's marks as the file gives them (version 2: one string; version 3: a list in
    MARKS order, without repeats, never empty), or None when malformed."""
    if given is None:
        return ()
    if not signed:
        return (given,) if given in MARKS else None
    if not (isinstance(given, list) and given and all(m in MARKS for m in given)):
        return None
    ordered = tuple(m for m in MARKS if m in given)
    return ordered if list(ordered) == given else None


def write(path: Path, store: StoreFile) -> None:
    atomic_write(path, store.render())


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the store's lock. The lock file lives in a per-user folder (0700, owned by you),
    not beside the store (nothing new appears in the repository) and not in the shared temp
    folder (where another user could create it first, or plant a symlink)."""
    import hashlib

    from filelock import FileLock

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    with FileLock(lock_dir() / f"store-{digest}.lock", timeout=60, mode=0o600):
        yield


def lock_dir() -> Path:
    from kortix_guard._dirs import private_folder

    return private_folder("cache", "locks")
