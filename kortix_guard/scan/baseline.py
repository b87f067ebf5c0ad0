"""Accepted findings: keyed by path, rule and a slow salted hash (scrypt) of the secret, so a
committed baseline does not help anyone brute-force a short secret. No line numbers and no
timestamps, sorted: the file changes only when the accepted findings do.

Version 1 baselines (kortix-guard 0.1) named detect-secrets' findings KG330; 0.2 reports the
same values under new codes. A version 1 entry therefore accepts its path and value under any
code, until `--update-baseline` writes version 2."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from kortix_guard._fs import atomic_write, read_text
from kortix_guard.errors import InputError, restore_hint
from kortix_guard.secret import SecretValue

VERSION = 2
_READABLE = (1, 2)
# Codes an earlier release reported the same value under, so that an accepted finding keeps
# its acceptance when a new detector names it better (0.3 reports as provider tokens, KG320,
# keys that 0.2 found only as values under a secret-like key, KG331).
FORMER_CODES: dict[str, tuple[str, ...]] = {
    "KG320": ("KG331", "KG332"),
    "KG322": ("KG331",),
    "KG323": ("KG331", "KG332"),
    "KG326": ("KG331",),
}
# scrypt cost: about 50 ms and 16 MiB per hash, paid only for findings on a baselined path.
_N, _R, _P = 2 ** 14, 8, 1


class Baseline:
    """The accepted findings: (path, rule, hash) entries and the salt of their hashes."""

    __slots__ = ("salt", "entries", "legacy", "_pairs", "_legacy")

    def __init__(self, salt: str, entries: Iterable[tuple[str, str, str]] = (), *,
                 legacy: bool = False) -> None:
        self.salt = salt
        self.entries = frozenset(entries)
        self.legacy = legacy  # version 1: any rule code accepts an entry's path and value
        self._pairs = frozenset((p, r) for p, r, _ in self.entries)
        self._legacy = (frozenset((p, h) for p, _, h in self.entries) if legacy
                        else frozenset())

    def __repr__(self) -> str:
        return f"Baseline({len(self.entries)} entries, legacy={self.legacy})"

    @classmethod
    def new(cls) -> Baseline:
        import secrets

        return cls(secrets.token_hex(16))

    @classmethod
    def of(cls, salt: str, entries: Iterable[tuple[str, str, str]], *,
           legacy: bool = False) -> Baseline:
        return cls(salt, entries, legacy=legacy)

    def fingerprint(self, secret: SecretValue) -> str:
        return hashlib.scrypt(secret.reveal().encode("utf-8"), salt=bytes.fromhex(self.salt),
                              n=_N, r=_R, p=_P, dklen=32).hex()

    def may_accept(self, path: str, rule: str) -> bool:
        if self.legacy:
            return any(p == path for p, _ in self._legacy)
        return any((path, code) in self._pairs for code in (rule, *FORMER_CODES.get(rule, ())))

    def accepts(self, path: str, rule: str, fingerprint: str) -> bool:
        return (any((path, code, fingerprint) in self.entries
                    for code in (rule, *FORMER_CODES.get(rule, ())))
                or (self.legacy and (path, fingerprint) in self._legacy))

    def render(self, version: int = VERSION) -> str:
        findings = [{"path": p, "rule": r, "hash": h} for p, r, h in sorted(self.entries)]
        return json.dumps({"version": version, "salt": self.salt, "findings": findings},
                          indent=2) + "\n"


def load(path: Path, display: str) -> Baseline | None:
    if not path.exists():
        return None
    return parse(read_text(path, what="baseline", display=display), display)


def parse(text: str, display: str) -> Baseline:
    """A baseline's text (from the file, or from a base commit in gate modes)."""
    try:
        data = json.loads(text)
        if data.get("version") not in _READABLE:
            raise ValueError(f"unknown version {data.get('version')!r}")
        salt = data["salt"]
        bytes.fromhex(salt)
        entries = [(f["path"], f["rule"], f["hash"]) for f in data["findings"]]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InputError(f"{display}: not a kortix-guard baseline ({e})",
                         hint="regenerate it with `kortix-guard scan --update-baseline`") from None
    baseline = Baseline.of(salt, entries, legacy=data["version"] == 1)
    if baseline.render(data["version"]) != text:
        # Accepted only as written: anything else in the file (text appended, entries
        # reordered) was not put there by kortix-guard.
        raise InputError(f"{display}: not byte for byte as kortix-guard writes it",
                         hint=restore_hint(display) + ", or regenerate it "
                              "with `kortix-guard scan --update-baseline`")
    return baseline


def write(path: Path, baseline: Baseline) -> None:
    atomic_write(path, baseline.render().encode("utf-8"))
