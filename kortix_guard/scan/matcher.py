"""The only importer of hyperscan: many patterns, one pass over a file's bytes.

Two kinds of matcher share one interface. `RuleMatcher` holds every detector's trigger in one
compiled database; it holds no secret, so its compiled form may be cached on disk.
`LiteralMatcher` holds this project's known values and declared names; it is built in memory
for each run and never written anywhere. Where hyperscan is not installed (or
KORTIX_GUARD_NO_HYPERSCAN=1), both fall back to Python's `re` and find the same things, slower.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kortix_guard._dirs import cache_key
from kortix_guard._fs import store_private
from kortix_guard.secret import Unshowable

NO_HYPERSCAN_ENV = "KORTIX_GUARD_NO_HYPERSCAN"


def _hyperscan():
    """The hyperscan module, or None when it is absent or switched off."""
    if os.environ.get(NO_HYPERSCAN_ENV) == "1":
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    return hyperscan


def engine_name() -> str:
    return "hyperscan" if _hyperscan() is not None else "re"


def compiles(pattern: bytes) -> bool:
    """Whether hyperscan compiles pattern (one bad pattern would fail a whole database);
    True where hyperscan is absent or switched off (then `re` reads the patterns)."""
    hs = _hyperscan()
    if hs is None:
        return True
    try:
        hs.Database().compile(expressions=[pattern])
    except hs.HyperscanError:
        return False
    return True


class RuleMatcher:
    """Trigger patterns (bytes regexes hyperscan and `re` both understand) by index.

    `scan(data)` returns (index, end offset) for every place a trigger matches; the detectors
    confirm each one with Python's `re` on its line.
    """

    def __init__(self, patterns: Sequence[tuple[bytes, bool]], *, cache_dir: Path | None = None):
        """patterns: (regex, caseless) in detector order."""
        self._patterns = list(patterns)
        self._hs = _hyperscan()
        self._db: Any = None  # hyperscan.Database (no type information)
        self._pid = -1
        self._cache_dir = cache_dir
        self._fallback: list[re.Pattern[bytes]] | None = None

    def ready(self) -> None:
        """Load the database and this process's scratch now (a worker waiting for work)."""
        if self._hs is not None:
            self._database()

    def _database(self):
        hs = self._hs
        if self._db is not None and self._pid == os.getpid():
            return self._db
        if self._db is None:
            self._db = self._load_cached() or self._compile()
        # A scratch space belongs to one process: a forked worker makes its own.
        self._db.scratch = hs.Scratch(self._db)
        self._pid = os.getpid()
        return self._db

    def _key(self) -> str:
        return cache_key(repr((self._hs.__version__, self._patterns)))

    def _load_cached(self):
        if self._cache_dir is None:
            return None
        path = self._cache_dir / f"rules-{self._key()}.hsdb"
        try:
            return self._hs.loadb(path.read_bytes(), mode=self._hs.HS_MODE_BLOCK)
        except (OSError, self._hs.HyperscanError):
            return None

    def _compile(self):
        hs = self._hs
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        flags = [hs.HS_FLAG_CASELESS if caseless else 0 for _, caseless in self._patterns]
        db.compile(expressions=[p for p, _ in self._patterns], ids=list(range(len(self._patterns))),
                   elements=len(self._patterns), flags=flags)
        if self._cache_dir is not None:
            _store(self._cache_dir / f"rules-{self._key()}.hsdb", hs.dumpb(db))
        return db

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        if self._hs is None:
            if self._fallback is None:
                self._fallback = [re.compile(p, re.I if caseless else 0)
                                  for p, caseless in self._patterns]
            return [(i, m.end()) for i, regex in enumerate(self._fallback)
                    for m in regex.finditer(data)]
        found: list[tuple[int, int]] = []
        self._database().scan(data, match_event_handler=_collect_end, context=found)
        return found


def _collect_end(index: int, _start: int, end: int, _flags: int, found: list) -> None:
    found.append((index, end))


def _collect_span(index: int, start: int, end: int, _flags: int, found: list) -> None:
    found.append((index, start, end))


def _store(path: Path, data: bytes) -> None:
    """Best effort: a cache that cannot be written is only slower next time."""
    store_private(path, data)


class LiteralMatcher(Unshowable):
    """Exact byte strings (known values, declared names) with their start and end offsets.

    Built in memory for one run; it holds secrets, so it is never cached, pickled or shown.
    """

    def __init__(self, literals: Sequence[bytes]) -> None:
        self._literals = list(literals)
        self._hs = _hyperscan() if self._literals else None
        self._db: Any = None  # hyperscan.Database (no type information)
        self._pid = -1
        self._regex: re.Pattern[bytes] | None = None
        self._groups: list[int] = []

    def __bool__(self) -> bool:
        return bool(self._literals)

    def scan(self, data: bytes) -> list[tuple[int, int, int]]:
        """(index, start, end) of every occurrence, overlapping ones included."""
        if not self._literals:
            return []
        if self._hs is None:
            return self._scan_re(data)
        if self._db is None:
            hs = self._hs
            self._db = hs.Database(mode=hs.HS_MODE_BLOCK)
            self._db.compile(expressions=self._literals, ids=list(range(len(self._literals))),
                             elements=len(self._literals),
                             flags=[hs.HS_FLAG_SOM_LEFTMOST] * len(self._literals), literal=True)
        if self._pid != os.getpid():
            self._db.scratch = self._hs.Scratch(self._db)
            self._pid = os.getpid()
        found: list[tuple[int, int, int]] = []
        self._db.scan(data, match_event_handler=_collect_span, context=found)
        return found

    def _scan_re(self, data: bytes) -> list[tuple[int, int, int]]:
        if self._regex is None:
            order = sorted(range(len(self._literals)), key=lambda i: -len(self._literals[i]))
            self._regex = re.compile(b"|".join(b"(" + re.escape(self._literals[i]) + b")"
                                               for i in order))
            self._groups = order
        found = []
        for m in self._regex.finditer(data):
            index = self._groups[(m.lastindex or 1) - 1]
            found.append((index, m.start(), m.end()))
        return found

    def _shown(self) -> str:
        return f"{len(self._literals)} literals"
