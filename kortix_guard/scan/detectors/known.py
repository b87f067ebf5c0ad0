"""Known values: this project's real secrets (the store's, and untracked `.env*` files'),
found wherever they appear, whatever their shape."""
from __future__ import annotations

import re
from collections.abc import Iterator

from kortix_guard.scan.model import Hit, Text
from kortix_guard.secret import SecretValue


class KnownValues:
    def __init__(self, values: dict[str, list[tuple[str, SecretValue]]], *, min_length: int) -> None:
        """values: rule code -> [(label, value)]; the label names where it came from."""
        self._by_value: dict[str, tuple[str, str]] = {}
        for code, entries in values.items():
            for label, value in entries:
                text = value.reveal()
                if len(text) >= min_length and text not in self._by_value:
                    self._by_value[text] = (code, label)
        ordered = sorted(self._by_value, key=len, reverse=True)
        self._regex = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def find(self, text: Text) -> Iterator[Hit]:
        if self._regex is None:
            return
        for m in self._regex.finditer(text.text):
            code, label = self._by_value[m.group(0)]
            yield Hit(m.start(), code, label, SecretValue(m.group(0)))

    def __repr__(self) -> str:
        return f"KnownValues({len(self._by_value)} values)"

    def __reduce__(self) -> None:
        raise TypeError("known values cannot be pickled")
