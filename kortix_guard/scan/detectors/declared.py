"""Declared names: a literal assigned to a name that kortix.toml declares is a secret value
in the wrong place (`high`). References and placeholders are not. The names are found by an
in-memory literal matcher; the assignment is confirmed on their lines."""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kortix_guard.scan.detectors.base import CODE_SUFFIXES
from kortix_guard.scan.matcher import LiteralMatcher
from kortix_guard.scan.model import Blob, Confidence, Hit, LazyPattern
from kortix_guard.secret import SecretValue

PLACEHOLDER = LazyPattern(
    r"""(?ix)^(?:
        | \$.*                       # $NAME, ${NAME}, ${{ secrets.NAME }}
        | \{\{.*                     # {{ templating }} (an unquoted value stops at a space)
        | <.*                        # <your key>
        | %\(.*\)s? | %[A-Z_]+%      # %(NAME)s, %NAME%
        | kg1:.*                     # a value sealed by kortix-guard's store
        | changeme | change[-_]me | x{3,} | \*{3,} | \.{3} | todo | tbd | none | null | nil
        | true | false | ~ | redacted | secret | password | placeholder
        | your[-_].*[-_]here | .*example.* | dummy.* | fake.* | test
        | (?:os\.environ|process\.env|os\.getenv|getenv|env|ENV|settings|config)\b.*
    )$""")
# An unquoted value never starts a table or a list: `NAME = { value = "kg1:…" }` (a version 2
# store's own line) and `NAME: [a, b]` hold no literal of NAME.
_VALUE = r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|`(?P<bq>[^`\n]*)`|(?P<raw>[^\s#,;{}\[\])]*))"""


class DeclaredNames:
    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._matcher = LiteralMatcher([n.encode() for n in self.names])
        if not names:
            self._regex = None
            return
        alternation = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
        self._regex = re.compile(
            r"(?<![\w$.-])(?:export\s+)?[\"']?(?P<name>" + alternation + r")[\"']?\]?"
            r"[ \t]*(?P<op>:=|=(?!=)|:(?![:/]))[ \t]*" + _VALUE)

    def find(self, blob: Blob) -> Iterator[Hit]:
        if self._regex is None:
            return
        code_file = any(blob.path.endswith(s) for s in CODE_SUFFIXES)
        spans = sorted({blob.span_at(start) for _, start, _ in self._matcher.scan(blob.data)})
        for start, end in spans:
            line = blob.data[start:end].decode("utf-8", errors="replace")
            for m in self._regex.finditer(line):
                group = next(g for g in ("dq", "sq", "bq", "raw") if m.group(g) is not None)
                value = m.group(group)
                if (code_file and group == "raw") or PLACEHOLDER.match(value.strip()):
                    continue
                name = m.group("name")
                offset = start + len(line[:m.start(group)].encode("utf-8"))
                yield Hit(offset, "KG310", f"literal value of {name}", SecretValue(value),
                          Confidence.HIGH,
                          hint=f"keep it in the store: `kortix-guard secrets set {name}=-`")
