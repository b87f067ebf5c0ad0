"""Regenerate the parts of docs/ that come from the code: `python -m kortix_guard._docs`.

A generated block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; tests
fail when a block differs from what the code would write.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from kortix_guard.rules import markdown_table

GENERATORS: dict[str, Callable[[], str]] = {
    "manifest-rules": lambda: markdown_table("KG1"),
    "scan-rules": lambda: markdown_table("KG3"),
}
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                   re.DOTALL)


def render(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + GENERATORS[m.group("name")]() + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    docs = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs"
    for page in sorted(docs.glob("*.md")):
        text = page.read_text()
        new = render(text)
        if new != text:
            page.write_text(new)
            print(f"updated {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
