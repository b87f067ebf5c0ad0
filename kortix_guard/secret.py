"""A secret value that will not print itself, and the habit it shares with every other holder
of secret material: a repr that shows nothing secret, and no pickling."""
from __future__ import annotations

from typing import NoReturn


class Unshowable:
    """Holds secret material: its repr shows only `_shown()` (public facts: an id, a count),
    str and format show the same, and it refuses to be pickled into a cache or a temp file."""

    __slots__ = ()

    def _shown(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown()})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        name = type(self).__name__
        raise TypeError(f"{'an' if name[0] in 'AEIOU' else 'a'} {name} cannot be pickled")


class SecretValue(Unshowable):
    """Holds one secret. `repr`, `str` and f-strings show a redaction, never the value;
    `reveal()` is the one way out, called only at the point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def _shown(self) -> str:
        return "'***'"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
