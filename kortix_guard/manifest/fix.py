"""`manifest check --fix`: only the safe fixes (trim, upper-case, drop a name's second
occurrence in a list), and only in `env`'s two lists. Everything else of the file stays as it
was: kortix.toml is edited through tomlkit; kortix.yaml by replacing the exact characters of
the names fixed (libyaml gives each one's span), then read again to prove the edit meant
what it should."""
from __future__ import annotations

import json
from typing import Any, NamedTuple

from kortix_guard import names
from kortix_guard.manifest.checks import ENV_KEYS
from kortix_guard.manifest.model import Problem
from kortix_guard.manifest.source import Source


class ListFixes(NamedTuple):
    """What to do to one list: names to rewrite (by index), items to drop, and the report."""

    name: str
    changes: dict[int, str]
    drop: list[int]
    fixes: list[Problem]


def apply_fixes(source: Source) -> tuple[list[Problem], str]:
    """The fixes made (each at its pre-fix position) and the fixed text."""
    env = source.data.get("env") if isinstance(source.data, dict) else None
    if not isinstance(env, dict):
        return [], source.text
    plans = [_plan(source, env[key], key) for key in ENV_KEYS if isinstance(env.get(key), list)]
    plans = [p for p in plans if p.fixes]
    if not plans:
        return [], source.text
    if source.format == "yaml":
        return _apply_yaml(source, plans)
    return _apply_toml(source, plans)


def _plan(source: Source, array: list, list_name: str) -> ListFixes:
    plan = ListFixes(list_name, {}, [], [])
    seen: set[str] = set()
    for index, value in enumerate(array):
        if not isinstance(value, str):
            continue
        line, col = source.at(("env", list_name, index))
        fixed = _safe_fix(value)
        canonical = fixed or value
        if canonical in seen:
            plan.drop.append(index)
            plan.fixes.append(Problem(source.display, line, col, "KG130",
                                      f"fixed: dropped the second {canonical} in `{list_name}`"))
            continue
        seen.add(canonical)
        if fixed is not None:
            plan.changes[index] = fixed
            code = "KG113" if value.strip() != value else "KG111"
            plan.fixes.append(Problem(source.display, line, col, code,
                                      f"fixed: {value!r} -> {fixed!r}"))
    return plan


def _apply_toml(source: Source, plans: list[ListFixes]) -> tuple[list[Problem], str]:
    from kortix_guard.manifest._toml import string_item

    doc = source.toml_document()
    for plan in plans:
        array: Any = doc.doc["env"][plan.name]
        for index, fixed in plan.changes.items():
            array[index] = string_item(fixed)
        for index in reversed(plan.drop):
            del array[index]
    return [f for plan in plans for f in plan.fixes], doc.dumps()


def _apply_yaml(source: Source, plans: list[ListFixes]) -> tuple[list[Problem], str]:
    text = source.text
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), by character offset
    for plan in plans:
        spans = [source.scalar(("env", plan.name, i))
                 for i in range(len(source.data["env"][plan.name]))]
        for index, fixed in plan.changes.items():
            span = spans[index]
            if span is None or span.style not in ("", "'", '"'):
                return [], text  # a block scalar or an alias: left to the author
            written = (fixed if _yaml_plain(fixed) else json.dumps(fixed)) if not span.style \
                else span.style + fixed + span.style
            edits.append((span.start, span.end, written))
        for index in plan.drop:
            span, before = spans[index], spans[index - 1]  # a duplicate is never the first
            if span is None or before is None:
                return [], text
            cut = (before.end, span.end) if span.in_flow else _block_item_line(text, span)
            if cut is None:
                return [], text
            edits.append((*cut, ""))
    for start, end, written in sorted(edits, reverse=True):
        text = text[:start] + written + text[end:]
    if not _means(source, text, plans):
        return [], source.text
    return [f for plan in plans for f in plan.fixes], text


def _yaml_plain(name: str) -> bool:
    from kortix_guard import _yaml

    return _yaml.is_plain_string(name)


def _block_item_line(text: str, span) -> tuple[int, int] | None:
    """The whole `  - NAME  # comment` line of a block sequence item, or None when the item
    shares its line with anything else."""
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line_end = len(text) if line_end < 0 else line_end + 1
    lead, rest = text[line_start:span.start], text[span.end:line_end].strip()
    if lead.strip() != "-" or rest and not rest.startswith("#"):
        return None
    return line_start, line_end


def _means(source: Source, text: str, plans: list[ListFixes]) -> bool:
    """Whether the edited text reads back as the original with exactly the planned changes."""
    import copy

    edited = Source(source.path, source.display, text)
    if edited.problem is not None:
        return False
    expected = copy.deepcopy(source.data)
    for plan in plans:
        array = expected["env"][plan.name]
        for index, fixed in plan.changes.items():
            array[index] = fixed
        for index in reversed(plan.drop):
            del array[index]
    return bool(edited.data == expected)


def _safe_fix(name: str) -> str | None:
    """The trimmed, upper-cased name when that alone makes it valid and it differs."""
    fixed = names.normalize(name)
    if fixed != name and names.is_valid(fixed):
        return fixed
    return None
