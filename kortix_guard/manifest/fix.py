"""`manifest check --fix`: only the safe fixes (trim, upper-case, drop duplicates in a list),
made through tomlkit so that every other byte of the file stays as it was."""
from __future__ import annotations

from kortix_guard import names
from kortix_guard.manifest._toml import Document, string_item
from kortix_guard.manifest.checks import ENV_KEYS, plain
from kortix_guard.manifest.model import Problem


def apply_fixes(display: str, document: Document) -> list[Problem]:
    """Fix the document in place; return one record per fix made (the pre-fix position)."""
    env = document.doc.get("env")
    if env is None or not isinstance(plain(env), dict):
        return []
    fixes: list[Problem] = []
    for list_name in ENV_KEYS:
        array = env.get(list_name)
        if isinstance(plain(array), list):
            fixes += _fix_list(display, document, array, list_name)
    return fixes


def _fix_list(display: str, document: Document, array: list, list_name: str) -> list[Problem]:
    fixes: list[Problem] = []
    seen: set[str] = set()
    replace: dict[int, str] = {}
    drop: list[int] = []
    for index, item in enumerate(array):
        value = plain(item)
        if not isinstance(value, str):
            continue
        line, col = document.position(item)
        fixed = _safe_fix(value)
        canonical = fixed or value
        if canonical in seen:
            drop.append(index)
            fixes.append(Problem(display, line, col, "KG130",
                                 f"fixed: dropped the second {canonical} in `{list_name}`"))
            continue
        seen.add(canonical)
        if fixed is not None:
            replace[index] = fixed
            code = "KG113" if value.strip() != value else "KG111"
            fixes.append(Problem(display, line, col, code, f"fixed: {value!r} -> {fixed!r}"))
    for index, fixed in replace.items():
        array[index] = string_item(fixed)
    for index in reversed(drop):
        del array[index]
    return fixes


def _safe_fix(name: str) -> str | None:
    """The trimmed, upper-cased name when that alone makes it valid and it differs."""
    fixed = names.normalize(name)
    if fixed != name and names.is_valid(fixed):
        return fixed
    return None
