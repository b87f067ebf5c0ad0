"""Every regex that reads what an attacker writes (a store line, a manifest, any file the
scanner reads) checked for catastrophic backtracking, in CI: regexploit for cubic and
exponential cases, and a check of our own for the quadratic case regexploit does not report
(two unbounded repeats side by side that can match the same characters), which is what let
one 16,000-character recipient line hang every command of 0.3.3 for 3.3 s (and 32,000 for
15.7 s). Timings go in bench/, not here: a hang only hits the generous timeouts below."""
from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import kortix_guard
from tests.conftest import kg_proc

try:  # the sre parser moved in 3.11
    import re._parser as sre_parse  # type: ignore[import-not-found]
    from re._constants import MAXREPEAT  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover (3.10)
    import sre_parse  # type: ignore[no-redef]
    from sre_constants import MAXREPEAT  # type: ignore[no-redef]


def attacker_patterns() -> dict[str, tuple[str, int]]:
    """Every module-level regex of the package (compiled or lazy), the scanner's triggers and
    each detector's own confirm regex, by name."""
    from kortix_guard.scan.detectors import all_detectors
    from kortix_guard.scan.model import LazyPattern

    found: dict[str, tuple[str, int]] = {}

    def add(name: str, pattern: str | bytes, flags: int) -> None:
        text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
        found[name] = (text, flags & ~re.ASCII)

    for info in pkgutil.walk_packages(kortix_guard.__path__, "kortix_guard."):
        if info.name.endswith("__main__"):
            continue
        for key, value in vars(importlib.import_module(info.name)).items():
            if isinstance(value, re.Pattern):
                add(f"{info.name}.{key}", value.pattern, value.flags)
            elif isinstance(value, LazyPattern):
                add(f"{info.name}.{key}", *value._args)
    for detector in all_detectors():
        for i, trigger in enumerate(detector.triggers):
            add(f"detector {detector.id} trigger {i}", trigger, re.I if detector.caseless else 0)
        for i, pattern in enumerate(detector.patterns):
            add(f"detector {detector.id} pattern {i}", pattern, re.I if detector.caseless else 0)
    return found


PATTERNS = attacker_patterns()


def test_the_collection_reads_the_store_and_the_scanner() -> None:
    assert "kortix_guard.store.fileformat._RECIPIENT_LINE" in PATTERNS
    assert any(name.startswith("detector openai") for name in PATTERNS)
    assert len(PATTERNS) > 150


@pytest.mark.skipif(sys.version_info < (3, 11), reason="regexploit's parser needs 3.11 here")
def test_no_pattern_backtracks_cubically_or_worse() -> None:
    from regexploit.ast.sre import SreOpParser
    from regexploit.redos import find

    bad = []
    for name, (pattern, flags) in sorted(PATTERNS.items()):
        lead = re.match(r"\(\?[aiLmsux]+\)", pattern)
        head, body = (lead.group(0), pattern[lead.end():]) if lead else ("", pattern)
        # As searched (every start position) and as matched from one.
        for text in (pattern, head + r"[\s\S]*?(?:" + body + ")"):
            found = [r for r in find(SreOpParser().parse_sre(text, flags)) if r.starriness > 2]
            if found:
                bad.append((name, found[0].starriness, found[0].example()[:60]))
                break
    assert bad == []


def _repeats(items, out: list) -> None:
    """Collect, per sequence, the list of (min, max, charset) of its elements."""
    out.append(list(items))
    for op, arg in items:
        if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT):
            _repeats(arg[2], out)
        elif op == sre_parse.SUBPATTERN:
            _repeats(arg[-1], out)
        elif op == sre_parse.BRANCH:
            for branch in arg[1]:
                _repeats(branch, out)


def _chars(item) -> set[int] | None:
    """The characters one element can match, for single-character elements and repeats of
    one; None for anything wider (a group)."""
    op, arg = item
    if op == sre_parse.LITERAL:
        return {arg}
    if op == sre_parse.IN:
        chars: set[int] = set()
        for kind, value in arg:
            if kind == sre_parse.LITERAL:
                chars.add(value)
            elif kind == sre_parse.RANGE:
                chars.update(range(value[0], value[1] + 1))
            else:
                return None
        return chars
    if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and len(arg[2]) == 1:
        return _chars(arg[2][0])
    return None


def overlapping_repeats(pattern: str, flags: int = 0) -> list[str]:
    """Two unbounded repeats in one sequence, with only optional single characters between
    them, that can both match one character: quadratic backtracking when what follows fails
    (the 0.3.3 recipient line's `[a-z0-9 -]+ ?[A-Za-z0-9+/=]*` before a missing quote)."""
    sequences: list = []
    _repeats(sre_parse.parse(pattern, flags), sequences)
    found = []
    for items in sequences:
        open_chars: set[int] | None = None
        for item in items:
            op, arg = item
            unbounded = op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and arg[1] == MAXREPEAT
            chars = _chars(item)
            if unbounded and chars is not None:
                if open_chars is not None and open_chars & chars:
                    found.append(pattern)
                    break
                open_chars = chars if open_chars is None else open_chars | chars
            elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and arg[0] == 0 \
                    and chars is not None:
                continue  # an optional character lets both repeats meet
            else:
                open_chars = None
    return found


def test_the_quadratic_check_finds_the_0_3_3_recipient_line() -> None:
    old = (r'"([A-Za-z0-9._@+-]+)" = \{ recipient = "([a-z0-9 -]+ ?[A-Za-z0-9+/=]*)", '
           r'added = "([0-9TZ:-]+)", key = "([A-Za-z0-9+/=]+)" \}')
    assert overlapping_repeats(old)
    assert not overlapping_repeats(PATTERNS["kortix_guard.store.fileformat._RECIPIENT_LINE"][0])


@pytest.mark.parametrize("name", [n for n in PATTERNS if n.startswith(
    ("kortix_guard.store.", "kortix_guard.names.", "kortix_guard.manifest."))])
def test_store_and_manifest_patterns_have_no_overlapping_repeats(name: str) -> None:
    pattern, flags = PATTERNS[name]
    assert overlapping_repeats(pattern, flags) == []


def test_a_long_line_is_refused_before_any_pattern_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure, not seconds: the line caps are checked before a pattern or a parser runs."""
    from kortix_guard.errors import StoreError
    from kortix_guard.store import fileformat

    class Untouchable:
        def __getattr__(self, name: str):
            raise AssertionError("a pattern read an over-long line")

    for name in ("_RECIPIENT_LINE", "_SECRET_LINE", "_HEADER_LINE"):
        monkeypatch.setattr(fileformat, name, Untouchable())
    monkeypatch.setattr(fileformat, "_toml_loads", Untouchable().__getattr__)
    head = fileformat.HEADER + "version = 4\n"
    for text, kind in (
            (head + "\n[recipients]\n" + '"a" = { recipient = "age1' + "q" * 5000 + "\n",
             "a recipient line"),
            (head + "\n[secrets]\n" + "A = " + "x" * (fileformat.MAX_SECRET_LINE + 1),
             "a sealed value's line"),
            (head + 'store_id = "' + "a" * 300, "a header line")):
        with pytest.raises(StoreError, match=kind):
            fileformat.parse(text, "store")


MEGABYTE_LINE = ('"mallory" = { recipient = "ssh-rsa AAAA' + "A" * 1_000_000 + "\n")


@pytest.mark.parametrize("args", [["secrets", "ls"], ["check"], ["inject", "--check"],
                                  ["scan", "--staged"]])
def test_a_megabyte_line_hangs_no_command(store_project: Path, args: list[str]) -> None:
    path = store_project / ".kortix" / "secrets.enc.toml"
    text = path.read_text().replace("\n[secrets]", MEGABYTE_LINE + "\n[secrets]")
    path.write_text(text)
    result = kg_proc(*args, cwd=store_project, timeout=120)  # only a guard against a hang
    assert "Traceback" not in result.all
    if args[0] != "scan":
        assert result.code in (1, 2) and "a recipient line is at most 4096" in result.all


def test_the_merge_driver_refuses_a_megabyte_line(store_project: Path, tmp_path: Path) -> None:
    store = store_project / ".kortix" / "secrets.enc.toml"
    long = tmp_path / "theirs"
    long.write_text(store.read_text().replace("\n[secrets]", MEGABYTE_LINE + "\n[secrets]"))
    ours = tmp_path / "ours"
    ours.write_bytes(store.read_bytes())
    result = kg_proc("merge-store", str(store), str(ours), str(long), cwd=store_project,
                     timeout=120)
    assert result.code == 1 and "a recipient line is at most 4096" in result.err
