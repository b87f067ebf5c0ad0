"""Regenerate the parts of docs/ that come from the code: `python -m kortix_guard._docs`.

A generated block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; tests
fail when a block differs from what the code would write.
"""
from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable
from pathlib import Path

from kortix_guard import names
from kortix_guard.cli import reference
from kortix_guard.rules import markdown_table
from kortix_guard.scan.context import RULES
from kortix_guard.scan.detectors import all_detectors, files


def _cell(text: str) -> str:
    return "<code>" + html.escape(text).replace("\n", "<br>").replace("|", "&#124;") + "</code>"


def _source(text: str) -> str:
    """A detector's source: a link to the provider's documentation, or the peer rule."""
    if text.startswith("http"):
        url, _, rest = text.partition(" ")
        links = " ".join(f"[{u.split('/')[2]}]({u})" for u in url.rstrip(";").split(";"))
        return links + (f" {rest}" if rest else "")
    return text.replace("|", "&#124;")


def detectors_table() -> str:
    """Every detector with its code, confidence, where its format comes from and its first
    example (a template: `{alnum:36}` stands for 36 random characters)."""

    lines = ["| detector | code | confidence | finds | format from | example |",
             "|---|---|---|---|---|---|"]
    for d in all_detectors():
        example = d.examples[0] if d.examples else None
        shown = f"{example.path}: {_cell(example.text)}" if example else ""
        lines.append(f"| `{d.id}` | {d.code} | {d.confidence.label} | {d.what} | "
                     f"{_source(d.source) if d.source else ''} | {shown} "
                     f"<!-- kortix-guard: allow --> |")
    names = ", ".join(f"`{e.path}`" for e in files.EXAMPLES)
    lines.append(f"| `never-commit-file` | KG340 | high | files that must never be committed "
                 f"| | {names} |")
    return "\n".join(lines) + "\n"


def context_table() -> str:

    lines = ["| rule | effect | what it is | example |", "|---|---|---|---|"]
    for r in RULES:
        scope = " (also on high)" if r.even_high else ""
        if r.path_based:
            scope += " (judges the path: only lowers in gate modes)"
        lines.append(f"| `{r.id}` | {r.effect.value}{scope} | {r.summary.replace('|', '&#124;')} "
                     f"| {r.example_path}: {_cell(r.example)} <!-- kortix-guard: allow --> |")
    return "\n".join(lines) + "\n"


def _cli_reference() -> str:

    return reference.text()


GENERATORS: dict[str, Callable[[], str]] = {
    "scan-detectors": detectors_table,
    "scan-context": context_table,
    "manifest-rules": lambda: markdown_table("KG1"),
    "scan-rules": lambda: markdown_table("KG3"),
    "cli-reference": lambda: _cli_reference(),
    "loader-names": lambda: names.loader_table(),
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
