"""The matcher's triggers: a token's whole shape, not its prefix. A prefix such as `re_`,
`SG.` or `define` fired 128,000 times on a sample of git/git's history (C code: `prepare_`,
`COMMIT_MSG_`, `#define`), each a confirm step that found nothing; together they cost more
than the matching itself."""
from __future__ import annotations

import pytest

from kortix_guard.scan.detectors import all_detectors
from kortix_guard.scan.detectors.base import tight_trigger
from kortix_guard.scan.engine import Scanner
from kortix_guard.scan.model import Confidence

B, A = rb"(?<![A-Za-z0-9_-])", rb"(?![A-Za-z0-9_-])"


@pytest.mark.parametrize(("pattern", "trigger"), [
    (B + rb"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}" + A, rb"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}"),
    (B + rb"[rs]k_(?:live|test)_[0-9a-zA-Z]{24,}" + A, rb"[rs]k_(?:live|test)_[0-9a-zA-Z]{24}"),
    (rb"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63,80}", rb"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{63}"),
    (rb"key=(?P<s>[0-9a-f]{32})", rb"key=(?:[0-9a-f]{32})"),
    (rb"[)(\]]x\(y\)", rb"[)(\]]x\(y\)"),  # parentheses in a class or escaped are no group
    (rb"(?<=a)(?<!b)tok_\d{4}(?=\s)", rb"tok_\d{4}"),
    (rb"(?P<q>['\"])(?P<s>[^'\"]{16})(?P=q)", None),  # a back-reference
    (rb"a(?<!b)c", None),  # a lookaround left inside
    (rb"a(?=b)c", None),
    (rb"x\Z", None),
    (B + A, None),  # nothing left
])
def test_tight_trigger(pattern: bytes, trigger: bytes | None) -> None:
    assert tight_trigger(pattern) == trigger


C_SOURCE = b"""\
#define COMMIT_MSG_FILE "COMMIT_EDITMSG"
#include "cache.h"
static int allow_rerere_autoupdate;
void prepare_revision_walk(struct rev_info *revs)
{
\tif (prepare_revision_walk(revs))
\t\tdie("revision walk setup failed");
\tif (S_ISGITLINK(ce->ce_mode) && !ignore_submodules)
\t\trevs->ignore_missing = 1;
\tint ignore_case = core_ignore_case; /* re_search, sq0csp-like names, SG.x */
}
#ifndef DEFAULT_EDITOR
#define DEFAULT_EDITOR "vi"
#endif
"""


def test_ordinary_code_triggers_no_provider_detector() -> None:
    """The C code that set off `re_`, `SG.` and `define` a hundred thousand times in a
    history: no token, framework or key detector's trigger fires on it now."""
    scanner = Scanner(min_confidence=Confidence.LOW)
    fired = {scanner._detectors[scanner._owner[t]].id
             for t, _ in scanner._matcher.scan(C_SOURCE * 50) if t != scanner._encoded}
    assert fired <= {"keyword", "entropy"}, fired


def test_every_single_line_detector_triggers_on_its_whole_shape() -> None:
    """A detector whose pattern can be its own trigger has it as its trigger: the prefixes
    left are the patterns hyperscan cannot read, and a key block, which runs over lines (its
    trigger is its header's words)."""
    prefixes = [d.id for d in all_detectors() if d.patterns
                and tight_trigger(d.patterns[0]) not in (None, *d.triggers)]
    assert prefixes == ["private-key"]


def test_the_first_items_reach_the_workers_before_the_listing_has_more() -> None:
    """The channel items' matcher pass takes a listing in lists that start at 32 and double
    up to 512: a range's workers get their first batch as soon as the listing has 32 items,
    not after 512 (37 ms later on git/git's range). Order and content are kept."""
    from kortix_guard.scan.engine import Item

    def listing(count: int, stop_after: int):
        for i in range(count):
            assert i < stop_after, "read past what the first batch needs"
            yield Item(f"f{i}.txt", f"f{i}.txt", data=b"x = 1\n")

    scanner = Scanner(min_confidence=Confidence.LOW)
    first = scanner.with_triggers(listing(1000, stop_after=32))
    assert [next(first).path for _ in range(32)] == [f"f{i}.txt" for i in range(32)]
    names = [item.path for item in scanner.with_triggers(listing(1000, 1000))]
    assert names == [f"f{i}.txt" for i in range(1000)]
