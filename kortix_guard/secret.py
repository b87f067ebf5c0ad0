"""A secret value that will not print itself."""
from __future__ import annotations


class SecretValue:
    """Holds one secret. `repr`, `str` and f-strings show a redaction, never the value;
    `reveal()` is the one way out, called only at the point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "SecretValue('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> None:  # no pickling a secret into a cache or a temp file
        raise TypeError("a SecretValue cannot be pickled")
