"""Detectors: each declares its rule code, its confidence, the triggers that make a line worth
its attention (all of them go into the one matcher database), a `confirm` step that extracts
the value with Python's `re`, and its own examples and counter-examples, which the tests run
and the docs list (the way gitleaks rules carry `tps`/`fps` and kingfisher rules examples).

Examples are templates: `{alnum:36}`, `{hex:32}`, `{b64:40}`, `{upper:16}`, `{digits:10}`,
`{lower:8}` are filled with random characters at test time, so no real-looking token is
ever committed (this repository's own scan stays clean).
"""
from __future__ import annotations

from kortix_guard.scan.detectors import credentials, keys, tokens
from kortix_guard.scan.detectors.base import (
    CODE_SUFFIXES,
    Detector,
    Example,
    FileInfo,
    H,
    L,
    M,
    regex_detector,
    suffix_of,
)

__all__ = ["CODE_SUFFIXES", "H", "L", "M", "Detector", "Example", "FileInfo", "all_detectors",
           "regex_detector", "suffix_of"]


def all_detectors() -> list[Detector]:
    """Every detector of the rule database, in a fixed order (the matcher's ids)."""
    return [*tokens.DETECTORS, *keys.DETECTORS, *credentials.DETECTORS]
