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
from kortix_guard.rules import markdown_table, versions_table
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
    "manifest-versions": versions_table,
    "scan-rules": lambda: markdown_table("KG3"),
    "cli-reference": lambda: _cli_reference(),
    "loader-names": lambda: names.loader_table(),
}
BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                   re.DOTALL)


def render(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + GENERATORS[m.group("name")]() + m.group(4), text)


ROOT = Path(__file__).resolve().parents[1]
# What a user copies that pins something: this repository (its action, its reusable workflow,
# a pip install, pre-commit's rev), and the actions the snippets use.
_OURS = re.compile(r"(?<!github\.com/)(kortix-guard/kortix-guard(?:/\.github/workflows/kortix-guard\.yml)?)"
                   r"@(?:[0-9a-f]{40}|<commit SHA>)(?:  # [^\n]*)?")
_PIP = re.compile(r"(git\+https://github\.com/kortix-guard/kortix-guard)@[0-9a-f]{40}")
_REV = re.compile(r"(repo: https://github\.com/kortix-guard/kortix-guard\n\s+rev: )[^\n]+")
_ACTION = re.compile(r"(uses: )(actions/[\w-]+)@[0-9a-f]{40}(?:  # v[\d.]+)?")


def action_pins() -> dict[str, str]:
    """`actions/NAME` -> `SHA  # vX.Y.Z`, as this repository's own workflow and action pin them
    (their pins are taken from the actions' own tags and linted): the one source for the
    snippets in the docs and the examples."""
    pins: dict[str, str] = {}
    for source in (ROOT / ".github" / "workflows" / "kortix-guard.yml", ROOT / "action.yml"):
        for m in re.finditer(r"uses: (actions/[\w-]+)@([0-9a-f]{40}  # v[\d.]+)", source.read_text()):
            pins.setdefault(m.group(1), m.group(2))
    return pins


def pin(text: str) -> str:
    """text with every pin rewritten from kortix_guard/_release.py and the workflows' pins."""
    from kortix_guard import _release

    commit, release = _release.COMMIT, _release.VERSION
    text = _OURS.sub(lambda m: f"{m.group(1)}@{commit}  # v{release}", text)
    text = _PIP.sub(lambda m: f"{m.group(1)}@{commit}", text)
    text = _REV.sub(lambda m: f"{m.group(1)}{commit}  # frozen: v{release}", text)
    pins = action_pins()
    return _ACTION.sub(lambda m: f"{m.group(1)}{m.group(2)}@{pins[m.group(2)]}"
                       if m.group(2) in pins else m.group(0), text)


def pinned_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            *sorted((ROOT / "examples").rglob("*.yml"))]


def main(argv: list[str] | None = None) -> int:
    docs = Path(argv[0]) if argv else ROOT / "docs"
    for page in sorted(docs.glob("*.md")):
        text = page.read_text()
        new = render(text)
        if new != text:
            page.write_text(new)
            print(f"updated {page}")
    for path in pinned_files():
        text = path.read_text()
        new = pin(text)
        if new != text:
            path.write_text(new)
            print(f"pinned {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
