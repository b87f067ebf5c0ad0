"""Declared names: a literal assigned to a name that kortix.toml declares is a secret value
in the wrong place. References and placeholders are not."""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kortix_guard.scan.model import Hit, Text
from kortix_guard.secret import SecretValue

# Files where an unquoted right-hand side is an expression, not a literal.
CODE_SUFFIXES = frozenset({
    ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rb", ".java", ".kt", ".rs",
    ".php", ".cs", ".swift", ".scala", ".c", ".h", ".cpp", ".hpp", ".m", ".ex", ".exs", ".lua",
})
PLACEHOLDER = re.compile(
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
_VALUE = r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|`(?P<bq>[^`\n]*)`|(?P<raw>[^\s#,;}\])]*))"""


class DeclaredNames:
    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        if not names:
            self._regex = None
            return
        alternation = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
        self._regex = re.compile(
            r"(?<![\w$.-])(?:export\s+)?[\"']?(?P<name>" + alternation + r")[\"']?\]?"
            r"[ \t]*(?P<op>:=|=(?!=)|:(?![:/]))[ \t]*" + _VALUE)

    def find(self, text: Text) -> Iterator[Hit]:
        if self._regex is None:
            return
        code_file = any(text.path.endswith(s) for s in CODE_SUFFIXES)
        for m in self._regex.finditer(text.text):
            group = next(g for g in ("dq", "sq", "bq", "raw") if m.group(g) is not None)
            value = m.group(group)
            if (code_file and group == "raw") or PLACEHOLDER.match(value.strip()):
                continue
            name = m.group("name")
            yield Hit(m.start(group), "KG310", f"literal value of {name}", SecretValue(value),
                      hint=f"keep it in the store: `kortix-guard secrets set {name}=-`")
