"""Declared names: a literal assigned to a name that kortix.toml declares is a secret value
in the wrong place (`high`). References and placeholders are not. The names are found by an
in-memory literal matcher; the assignment is confirmed on their lines."""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kortix_guard.scan.detectors.base import CODE_SUFFIXES, FileInfo
from kortix_guard.scan.detectors.credentials import strong
from kortix_guard.scan.matcher import LiteralMatcher
from kortix_guard.scan.model import Blob, Confidence, Hit, LazyPattern
from kortix_guard.secret import SecretValue

PLACEHOLDER = LazyPattern(
    r"""(?ix)^(?:
        | \\?\$.*                    # $NAME, ${NAME}, ${{ secrets.NAME }}, \${NAME} (escaped)
        | @[A-Z_]+@                  # @NAME@ (autoconf, CMake)
        | .*(?:\.\.\.|…).*            # sk-ant-..., postgres://...
        | https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|host\.docker\.internal)
          (?::\d+)?(?:/.*)?           # this machine's own services: a local default
        | .*[-_.](?:test|fake|dummy|mock|example|sample)(?:[-_.].*)?   # sk-proj-test-openai
        | \{\{.*                     # {{ templating }} (an unquoted value stops at a space)
        | <.*                        # <your key>
        | %\(.*\)s? | %[A-Z_]+%      # %(NAME)s, %NAME%
        | kg1:.*                     # a value sealed by kortix-guard's store
        | changeme | change[-_]me | x{3,} | \*{3,} | \.{3} | todo | tbd | none | null | nil
        | true | false | ~ | redacted | secret | password | placeholder
        | your[-_].* | .*example.* | dummy.* | fake.* | test
        | \[.*\]                     # [password], [project]
        | [a-z]+(?:[-_][a-z]+)*[-_](?:password|passwd|pass|secret|key|token)  # smtp-password
        | (?:0x)?(?:deadbeef|cafebabe|feedface|badc0ffee?)+
        | (?:os\.environ|process\.env|os\.getenv|getenv|env|ENV|settings|config)\b.*
    )$""")
# An unquoted value never starts a table or a list: `NAME = { value = "kg1:…" }` (a version 2
# store's own line) and `NAME: [a, b]` hold no literal of NAME.
_VALUE = r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|`(?P<bq>[^`\n]*)`|(?P<raw>[^\s#,;{}\[\])]*))"""


def _assignment(alternation: str) -> re.Pattern[str]:
    # Not after `{` either: `${NAME:-}` and `{NAME}` name a variable, they assign nothing.
    return re.compile(r"(?<![\w${.-])(?:export\s+)?[\"']?(?P<name>" + alternation + r")[\"']?\]?"
                      r"[ \t]*(?P<op>:=|=(?!=)|:(?![:/]))[ \t]*" + _VALUE)


_URL = LazyPattern(r"(?i)^[a-z][a-z0-9+.-]*://(?:(?P<user>[^:@/\s]*)(?::(?P<password>[^@/\s]*))?@)?"
                   r"(?P<host>\[[^\]]*\]|[^:/?#\s]*)")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "host.docker.internal"})
# What a connection string in a sample says where its password goes.
_SAMPLE_PASSWORDS = frozenset({"password", "pass", "passwd", "pwd", "secret", "postgres", "root",
                               "admin", "user", "mysql", "changeme", "example"})


def is_sample(info: FileInfo) -> bool:
    """Documentation, tests and example files: a declared name's value there is a sample
    until its shape says otherwise."""
    return (info.kind == "docs" or info.is_test or info.is_example_env
            or any(f".{word}" in info.name.lower() for word in ("example", "sample", "template")))


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


_PATH = LazyPattern(r"^(?:/|\./|\.\./|~/)[\w./@-]*$")  # /run/secrets/db-password
_WORDS = LazyPattern(r"^[A-Za-z]+(?: [A-Za-z]+)*$")  # "OpenAI", "Azure OpenAI", "Your Key"


def grade(value: str, sample: bool, code: bool = False, name: str = "") -> Confidence | None:
    """How sure a literal of a declared name is a secret: `high` where values live; in a
    sample (docs, tests, examples) judged by its shape like any other literal (`medium` when
    it is random-looking, else nothing). A URL is its password: none (a host, a bucket) is no
    secret; a sample's word (`user:password@`) is none either; on this machine's own host
    it is a local default (`low`). A path (the file that holds the value), prose, and a
    word in code (`"OPENAI_API_KEY": "OpenAI"`, a label) are no values."""
    if _PATH.match(value) or (" " in value and _WORDS.match(value)) or (code and _WORDS.match(value)):
        return None  # a file holding the value (Docker secrets), prose, a label in code
    if name and _letters(value) in (_letters(name), _letters(name.rsplit("_", 1)[-1])):
        return None  # VNC_PASSWORD=vncpassword, API_KEY=api_key: the name said again
    url = _URL.match(value)
    secret = value
    if url:
        password = url.group("password")
        if not password or password.lower() in _SAMPLE_PASSWORDS or PLACEHOLDER.match(password):
            return None
        host = (url.group("host") or "").lower()
        if host in LOCAL_HOSTS or host.endswith((".local", ".localhost")):
            return Confidence.LOW
        secret = password
    if sample:
        return Confidence.MEDIUM if strong(secret) else None
    return Confidence.HIGH


class DeclaredNames:
    """The literal matcher finds which declared names a blob mentions; the assignment
    pattern is then built for those names only (one alternation of 10,000 names costs a
    third of a second to compile, and most scans need none of it)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._matcher = LiteralMatcher([n.encode() for n in self.names])
        self._patterns: dict[frozenset[int], re.Pattern[str]] = {}

    def _pattern(self, indexes: frozenset[int]) -> re.Pattern[str]:
        pattern = self._patterns.get(indexes)
        if pattern is None:
            chosen = sorted((self.names[i] for i in indexes), key=len, reverse=True)
            pattern = self._patterns[indexes] = _assignment("|".join(map(re.escape, chosen)))
        return pattern

    def find(self, blob: Blob) -> Iterator[Hit]:
        if not self.names:
            return
        code_file = any(blob.path.endswith(s) for s in CODE_SUFFIXES)
        sample = is_sample(FileInfo.of(blob.path))
        by_line: dict[tuple[int, int], set[int]] = {}
        for index, start, _ in self._matcher.scan(blob.data):
            by_line.setdefault(blob.span_at(start), set()).add(index)
        for (start, end), indexes in sorted(by_line.items()):
            line = blob.data[start:end].decode("utf-8", errors="replace")
            for m in self._pattern(frozenset(indexes)).finditer(line):
                group = next(g for g in ("dq", "sq", "bq", "raw") if m.group(g) is not None)
                value = m.group(group)
                if (code_file and group == "raw") or PLACEHOLDER.match(value.strip()):
                    continue
                name = m.group("name")
                confidence = grade(value.strip(), sample, code_file, name)
                if confidence is None:
                    continue
                offset = start + len(line[:m.start(group)].encode("utf-8"))
                yield Hit(offset, "KG310", f"literal value of {name}", SecretValue(value),
                          confidence,
                          hint=f"keep it in the store: `kortix-guard secrets set {name}=-`")
