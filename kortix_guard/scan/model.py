"""The scanner's records. A Finding never holds the secret: only where it is, which rule, a
description (a provider's public prefix and the length at most), and, when a baseline is in
play, its slow salted hash.

The records on the commit hook's path are NamedTuples, not dataclasses: importing
`dataclasses` (and `inspect` with it) and building each class costs the hook more than the
scan of a typical commit."""
from __future__ import annotations

import bisect
import enum
import re
from typing import NamedTuple

from kortix_guard._out import quote_path
from kortix_guard.secret import SecretValue

PUBLIC_PREFIXES = (
    "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "sk-proj-", "sk-svcacct-", "sk-admin-",
    "sk-ant-", "sk-or-v1-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "sk-", "xoxb-",
    "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "AIza", "AKIA", "ASIA", "glpat-", "eyJ", "kgk1_",
    "SG.", "pypi-", "npm_", "gsk_", "xai-", "pplx-", "tvly-", "fc-", "r8_", "hf_", "pcsk_",
    "lsv2_pt_", "lsv2_sk_", "e2b_", "bb_live_", "ctx7sk-", "sb_secret_", "sbp_", "re_",
    "pscale_tkn_", "pscale_pw_", "lin_api_", "ntn_", "phx_", "sntrys_", "sntryu_", "napi_",
    "tgp_v1_", "fw_", "vcp_", "vci_", "vca_", "vcr_", "vck_", "nfp_", "sk.", "whsec_",
    "jina_", "dtn_", "sk-helicone", "pk-helicone", "signkey-", "secret-", "sk-lf-", "csk-",
    "tr_dev_", "tr_prod_", "tr_stg_", "tr_preview_",
)


class Confidence(enum.IntEnum):
    """How sure a detector is that a finding is a live secret (kingfisher's three levels)."""

    LOW = 1  # high entropy with no context; a weak password in code, docs or tests
    MEDIUM = 2  # a value under a secret-like key; a URL password; a password hash
    HIGH = 3  # known values, declared names, provider formats, private keys, never-commit files

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Confidence:
        return cls[text.strip().upper()]

    @property
    def sarif_level(self) -> str:
        return {Confidence.HIGH: "error", Confidence.MEDIUM: "warning", Confidence.LOW: "note"}[self]


class LazyPattern:
    """A regex compiled on first use: a commit hook imports the scanner's modules on every
    commit, and most of their patterns are never needed by the files of one commit."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern | None = None

    def __getattr__(self, name: str):
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


UNSCANNED = "KG350"  # content that could not be scanned: too large, unreadable, or missing


class Finding(NamedTuple):
    path: str  # relative to the project root, with '/'
    line: int
    col: int
    code: str
    message: str
    commit: str | None = None
    fingerprint: str | None = None  # the baseline's salted hash (not in the repr)
    confidence: Confidence = Confidence.HIGH
    object_id: str | None = None  # an unscanned item's git object (a blob or tree id)
    # A stable id per (rule, path, secret): a keyed hash, never the value (scan.engine).
    secret_id: str | None = None
    # Where a history holds the same secret again: (line, col, commit) of every occurrence
    # after this one (scan.command.one_per_secret).
    more: tuple[tuple[int, int, str | None], ...] = ()

    def __repr__(self) -> str:
        return (f"Finding(path={self.path!r}, line={self.line}, col={self.col}, "
                f"code={self.code!r}, message={self.message!r}, commit={self.commit!r}, "
                f"confidence={self.confidence!r})")

    @property
    def unscanned(self) -> bool:
        return self.code == UNSCANNED

    @property
    def occurrences(self) -> int:
        return 1 + len(self.more)

    def as_text(self) -> str:
        where = f" (commit {self.commit[:12]})" if self.commit else ""
        if self.more:
            last = self.more[-1][2]
            where = (f" (commit {self.commit[:12] if self.commit else '-'}; "
                     f"{self.occurrences:,} occurrences" +
                     (f", last in {last[:12]})" if last else ")"))
        level = "unscanned" if self.unscanned else self.confidence.label
        return (f"{quote_path(self.path)}:{self.line}:{self.col}: {self.code} [{level}] "
                f"{self.message}{where}")

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"path": self.path, "line": self.line, "col": self.col,
                                     "rule": self.code, "confidence": self.confidence.label,
                                     "message": self.message}
        if self.commit:
            record["commit"] = self.commit
        if self.unscanned:
            record["unscanned"] = True
        if self.object_id:
            record["object"] = self.object_id
        if self.secret_id:
            record["id"] = self.secret_id
        if self.more:
            record["occurrences"] = self.occurrences
            record["locations"] = [{"line": self.line, "col": self.col, "commit": self.commit},
                                   *({"line": ln, "col": c, "commit": cm}
                                     for ln, c, cm in self.more)]
        return record


class Hit(NamedTuple):
    """A detector's raw result inside one file; the secret never leaves the scan of that file."""

    offset: int  # byte offset in the scanned data
    code: str
    what: str  # "GitHub token", "value of DATABASE_URL", ...
    secret: SecretValue
    confidence: Confidence = Confidence.HIGH
    hint: str | None = None  # what to do about this one, when there is something specific
    kind: str = ""  # for the context rules: "password", "token", "url", "hash", "entropy"
    key: str = ""  # the key or name the value is assigned to, when the detector knows it
    quoted: bool = True  # written between quotes (an unquoted word in code is an expression)
    public: str = ""  # why the value is public by design, when the detector knows (an anon JWT)


def describe(what: str, secret: str) -> str:
    """What was found, never the secret beyond a provider's public prefix, and its length."""
    prefix = max((p for p in PUBLIC_PREFIXES if secret.startswith(p)), key=len, default=None)
    shown = f" `{prefix}…`" if prefix else ""
    return f"{what}{shown} ({len(secret)} chars)"


class Blob:
    """One file's bytes (UTF-8, or transcoded to it) and the line/column of any offset."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.data.find
            i = find(b"\n")
            while i != -1:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._starts = starts
        return self._starts

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def span_at(self, offset: int) -> tuple[int, int]:
        """(start, end) of the line holding offset, without indexing every line: most files
        have no finding, and only findings need line numbers."""
        data = self.data
        end = data.find(b"\n", offset)
        return data.rfind(b"\n", 0, offset) + 1, len(data) if end == -1 else end

    def start_above(self, offset: int, lines: int = 0) -> int:
        """Where the line `lines` above the one holding offset starts (the first line's
        start at most), found backwards: a detector that asks for a few lines around each
        trigger must not index every line of a large file (curl in git/git's tests did)."""
        data = self.data
        at = data.rfind(b"\n", 0, offset)
        for _ in range(lines):
            if at == -1:
                break
            at = data.rfind(b"\n", 0, at)
        return at + 1

    def text_at(self, offset: int) -> str:
        start, end = self.span_at(offset)
        return self.data[start:end].decode("utf-8", errors="replace")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column; the column counts characters, not bytes."""
        line = self.line_of(offset)
        start = self.starts[line - 1]
        return line, len(self.data[start:offset].decode("utf-8", errors="replace")) + 1

    def line_span(self, number: int) -> tuple[int, int]:
        starts = self.starts
        end = starts[number] - 1 if number < len(starts) else len(self.data)
        return starts[number - 1], end

    def line(self, number: int) -> bytes:
        start, end = self.line_span(number)
        return self.data[start:end]


ENV_EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")


def is_env_file(name: str) -> bool:
    """A dotenv file that holds real values: `.env`, `.env.production`, …, not an example
    (`.env.example`, `.env.sample`, …), which is judged line by line like any other file."""
    return (name == ".env" or name.startswith(".env.")) and not name.endswith(ENV_EXAMPLE_SUFFIXES)
