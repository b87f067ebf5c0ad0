"""The provider catalog of the maintained kingfisher rules (`pip install
"kortix-guard[catalog]"`: the kingfisher-secret-scanner package, its only importer): every
provider's token format that kortix-guard has no built-in detector for, found by the same one
matcher pass, confirmed in Python's `re`, judged by the same context rules.

Nothing of the catalog is copied into this repository. Its rules are read from the installed
package once per catalog version (building them costs the package 0.3 to 3.5 seconds) and kept
in the user's private cache folder as plain data (ids, patterns, confidences: no secret); the
rule database they join is cached there too. A commit hook never pays the build: it reads
the cached rules, or runs without the catalog until a command that may take its time
(`kortix-guard check`, `scan` of a tree or a history, the action's install step) builds them.

What is taken, and what is not (docs/choices.md, "The provider catalog"):
- a rule whose pattern Python's `re` compiles (its confirm step), that names a provider's
  token on its own: not a rule that needs another rule's match (`depends_on_rule`), not one
  that matches file paths, not the generic ones (a URL with a password, a curl header: the
  keyword and URL layers judge those with their context), and not one for a provider a
  built-in detector knows (its judgment stands: a public PostHog project key, an age
  identity whose checksum fails);
- its confidence is the catalog's (`high` or `medium`), then the context rules';
- its minimum entropy is kept; its betterleaks filter expressions are not interpreted: the
  context rules (placeholders, impossible bodies, vendor examples, example files) stand in
  for them, and every catalog finding goes through them.
Findings carry kortix-guard's code for a provider token (KG320) with the catalog's rule id
beside it in the message: a catalog upgrade that renames a rule does not churn a baseline.
"""
from __future__ import annotations

import marshal
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from kortix_guard._fs import store_private
from kortix_guard.scan.detectors.base import Detector, FileInfo, entropy, syntax
from kortix_guard.scan.model import Blob, Confidence, Hit
from kortix_guard.secret import SecretValue

PACKAGE = "kingfisher-secret-scanner"
SWITCH = "KORTIX_GUARD_CATALOG"  # "0": scan without the catalog even when it is installed
MODULE = "kingfisher_sdk"
FORMAT = 4  # of the cached rules file (and what it takes from the catalog)
# Rules that judge context rather than name a provider's token: kortix-guard's keyword and
# URL layers judge these with the file's context.
_CONTEXTUAL = re.compile(r"generic|curl-auth|credential-uri|password-in-url|basic-auth|"
                         r"jwt$|private-key|connection-string|connection-uri|-uri$|-url$")
WINDOW = 1024  # a catalog pattern is confirmed on the bytes before its trigger's end


class CatalogRule(NamedTuple):
    id: str
    pattern: str
    confidence: str
    min_entropy: float
    group: int  # the secret's capture group (0: the whole match)


class Catalog(NamedTuple):
    version: str
    rules: tuple[CatalogRule, ...]
    left_out: int  # rules of the catalog not taken (see the module's docstring)


def installed_version() -> str | None:
    """The catalog package's version when it is installed, found without importing it (the
    native library is 36 MB) nor scanning every installed distribution."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    prefix, suffix = "kingfisher_secret_scanner-", ".dist-info"
    with os.scandir(Path(spec.origin).parent.parent) as site:  # not glob: no pattern to compile
        for entry in site:
            if entry.name.startswith(prefix) and entry.name.endswith(suffix):
                return entry.name[len(prefix):-len(suffix)]
    return None


def _cache_file(cache_dir: Path, version: str) -> Path:
    return cache_dir / f"catalog-{FORMAT}-kingfisher-{version}.marshal"


def load(cache_dir: Path | None, *, build: bool) -> Catalog | None:
    """The catalog's rules: from the cache, or (with build) read from the package and
    cached. None when the package is not installed, or its rules are not cached and build
    is False (the commit hook's case)."""
    version = installed_version()
    if version is None or os.environ.get(SWITCH) == "0":
        return None
    if cache_dir is not None:
        try:
            return _parse(_cache_file(cache_dir, version).read_bytes(), version)
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            pass
    if not build:
        return None
    try:
        catalog = _build(version, cache_dir)
    except Exception as e:  # a broken install of an optional extra: scan without it
        from kortix_guard._out import echo

        echo(f"kortix-guard: warning: the provider catalog ({PACKAGE} {version}) could not be "
             f"read ({type(e).__name__}); scanning with the built-in detectors only (reinstall "
             f"it: `pip install --force-reinstall \"kortix-guard[catalog]\"`)", err=True)
        return None
    if cache_dir is not None:
        store_private(_cache_file(cache_dir, version), _dump(catalog))
    return catalog


def _build(version: str, cache_dir: Path | None) -> Catalog:
    from kortix_guard._out import echo

    echo(f"kortix-guard: reading the provider catalog ({PACKAGE} {version}): once per "
         f"catalog version", err=True)
    import kingfisher_sdk

    rules = kingfisher_sdk.Rules(confidence="low", cache=cache_dir is not None,
                                 cache_dir=None if cache_dir is None else cache_dir / "kingfisher")
    taken: list[CatalogRule] = []
    known = built_in_providers()
    for entry in rules.metadata():
        detail = rules.detail(entry["id"])
        rule = _take(detail, known)
        if rule is not None:
            taken.append(rule)
    return Catalog(version, tuple(taken), len(rules) - len(taken))


def provider_of(rule_id: str) -> str:
    """The provider a rule id names: `betterleaks.posthog-project-api-key` and
    `veles.secrets/posthog` are both `posthog`."""
    unqualified = rule_id.rpartition("/")[2] if "/" in rule_id else rule_id.partition(".")[2]
    return re.split(r"[-_.]", unqualified or rule_id, maxsplit=1)[0].lower()


def built_in_providers() -> frozenset[str]:
    """The providers a built-in detector knows: its judgment stands (a public PostHog
    project key, an age identity whose checksum fails, a Mistral key only by its name)."""
    from kortix_guard.scan.detectors import all_detectors

    return frozenset(re.split(r"[-_]", d.id, maxsplit=1)[0].lower() for d in all_detectors())


def _take(detail: dict, known: frozenset[str] = frozenset()) -> CatalogRule | None:
    rule_id, pattern = str(detail.get("id", "")), detail.get("detection_regex")
    if (not isinstance(pattern, str) or detail.get("depends_on_rule") or detail.get("path")
            or not detail.get("visible", True) or _CONTEXTUAL.search(rule_id)
            or provider_of(rule_id) in known):
        return None
    import warnings

    pattern = for_python(pattern)
    try:
        with warnings.catch_warnings():  # "possible nested set": Rust's syntax, read as meant
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile(pattern.encode())
    except (re.error, ValueError):
        return None  # Rust regex syntax that Python's re does not read
    from kortix_guard.scan.matcher import compiles

    if not compiles(pattern.encode()):
        return None  # one rule hyperscan refuses would fail the whole database
    group = detail.get("betterleaks_secret_group") or 0
    if not isinstance(group, int) or group > compiled.groups:
        group = 0
    if group == 0 and compiled.groups:
        group = 1
    confidence = detail.get("confidence")
    return CatalogRule(rule_id, pattern, confidence if confidence in ("high", "medium") else "low",
                       float(detail.get("min_entropy") or 0.0), group)


def for_python(pattern: str) -> str:
    """A Rust pattern as Python's re reads it, where the two differ only in how it is
    written: `\\z` (the end of the text) is `\\Z`; a flag set part way (`dp\\.pt\\.(?i)[a-z]`,
    to the end of its group in Rust) is a scoped group `(?i:…)` running to the same end. A
    group whose rest holds a `|` (the flag would cover the other branches too) is left as
    it is: re refuses it, and the rule is left out."""
    pattern = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)
    while True:
        found = _mid_flags(pattern)
        if found is None:
            return pattern
        start, end, flags = found
        close = _group_end(pattern, end)
        if close is None:
            return pattern
        pattern = (pattern[:start] + f"(?{flags}:" + pattern[end:close] + ")"
                   + pattern[close:])


def _mid_flags(pattern: str) -> tuple[int, int, str] | None:
    """The first `(?flags)` after the start, outside classes: (start, end, flags)."""
    for i, c in syntax(pattern):
        m = re.match(r"\(\?([imsx]+)\)", pattern[i:]) if c == "(" and i else None
        if m:
            return i, i + m.end(), m.group(1)
    return None


def _group_end(pattern: str, start: int) -> int | None:
    """Where the group around start closes (or the pattern ends), or None when a `|` of
    that group comes first."""
    depth = 0
    for i, c in syntax(pattern, start):
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return i
            depth -= 1
        elif c == "|" and depth == 0:
            return None
    return len(pattern)


# The cached rules are plain data in marshal's form: read on every commit, they cost a
# commit hook a tenth of what json's import and reading do. The file is the user's own
# (private_cache), as the compiled database beside it; what it holds is checked field by
# field before use.
def _dump(catalog: Catalog) -> bytes:
    return marshal.dumps((FORMAT, catalog.version, catalog.left_out,
                          [tuple(rule) for rule in catalog.rules]))


def _parse(data: bytes, version: str) -> Catalog:
    form, cached_version, left_out, rules = marshal.loads(data)
    if form != FORMAT or cached_version != version:
        raise ValueError("another catalog")
    taken = []
    for rule_id, pattern, confidence, min_entropy, group in rules:
        if not (isinstance(rule_id, str) and isinstance(pattern, str)
                and confidence in _LEVELS and isinstance(min_entropy, float)
                and isinstance(group, int)):
            raise ValueError("not a catalog rule")
        taken.append(CatalogRule(rule_id, pattern, confidence, min_entropy, group))
    return Catalog(version, tuple(taken), int(left_out))


_LEVELS = {"high": Confidence.HIGH, "medium": Confidence.MEDIUM, "low": Confidence.LOW}


def extra_detectors(cache_dir: Path | None, *, build: bool) -> list[Detector]:
    """The catalog's detectors for a scan, or none: where hyperscan is missing (Python's re
    would read 461 patterns one by one over every file: minutes on a tree) or the catalog
    is not installed, switched off, or not yet read and build is False."""
    from kortix_guard.scan.matcher import engine_name

    if engine_name() != "hyperscan":
        return []
    catalog = load(cache_dir, build=build)
    return detectors(catalog) if catalog is not None else []


def detectors(catalog: Catalog) -> list[Detector]:
    """One detector per catalog rule: its pattern is the trigger (hyperscan runs it), and
    the confirm step reads the same pattern with Python's `re` on the bytes just before the
    trigger's end, never a whole minified line."""
    return [_detector(rule) for rule in catalog.rules]


# A boundary before a token as the catalog writes betterleaks' `\b` for hyperscan, first
# inside the pattern's own group: `(?:(?:\A|(?:[…]))…`. A trigger that may start at any byte
# before a run of classes cost hyperscan more than all the other rules together on git/git
# (zai's `(?:\A|[…])[0-9A-Fa-f]{32}\.…`); without it the trigger matches more, never less,
# and ends where the pattern ends, so the confirm step (the whole pattern) reads the same.
_LEADING_BOUNDARY = re.compile(rb"\(\?:\(\?:\\A\|\(\?:\[(?:\\.|[^\]\\])*\]\)\)")


def trigger(pattern: bytes) -> bytes:
    """A catalog pattern's trigger: the pattern, less a leading boundary."""
    boundary = _LEADING_BOUNDARY.match(pattern)
    return b"(?:" + pattern[boundary.end():] if boundary else pattern


def _detector(rule: CatalogRule) -> Detector:
    compiled: list[re.Pattern[bytes]] = []
    level = _LEVELS[rule.confidence]
    what = f"provider token [{rule.id}]"

    def confirm(blob: Blob, span: tuple[int, int], info: FileInfo) -> Iterator[Hit]:
        if not compiled:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                compiled.append(re.compile(rule.pattern.encode()))
        start, end = span  # the window before the trigger's end (Detector.window)
        for m in compiled[0].finditer(blob.data, start, end):
            secret = m.group(rule.group) if m.group(rule.group) is not None else m.group(0)
            if rule.min_entropy and entropy(secret) < rule.min_entropy:
                continue
            yield Hit(m.start(rule.group) if m.group(rule.group) is not None else m.start(),
                      "KG320", what, SecretValue(secret.decode("utf-8", "replace")), level,
                      kind="token")

    return Detector(f"catalog:{rule.id}", "KG320", what, level, (trigger(rule.pattern.encode()),),
                    confirm, source=f"{PACKAGE} {rule.id}", window=WINDOW)


def status() -> str:
    """What `--version` and `check` say about the catalog: the cached one, never read from
    the package here."""
    from kortix_guard._dirs import private_cache

    return describe(load(private_cache(), build=False))


def describe(catalog: Catalog | None) -> str:
    if catalog is None:
        version = installed_version()
        return (f"provider catalog: {PACKAGE} {version} (its rules are read on the next "
                f"`kortix-guard check` or tree scan)" if version else
                "provider catalog: not installed (`pip install \"kortix-guard[catalog]\"` adds "
                "the maintained kingfisher rules)")
    return (f"provider catalog: {PACKAGE} {catalog.version}, {len(catalog.rules)} rules "
            f"({catalog.left_out} left out: built in already, generic, dependent, or not "
            f"readable by Python's re)")
