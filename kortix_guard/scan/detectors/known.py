"""Known values: this project's real secrets (the store's, and untracked `.env*` files'),
found wherever they appear, whatever their shape. They live in their own in-memory matcher,
apart from the rule database (which may be cached on disk)."""
from __future__ import annotations

from collections.abc import Iterator

from kortix_guard.scan.matcher import LiteralMatcher
from kortix_guard.scan.model import Blob, Confidence, Hit
from kortix_guard.secret import SecretValue, Unshowable


class KnownValues(Unshowable):
    def __init__(self, values: dict[str, list[tuple[str, SecretValue]]], *, min_length: int) -> None:
        """values: rule code -> [(label, value)]; the label names where it came from."""
        by_value: dict[bytes, tuple[str, str]] = {}
        for code, entries in values.items():
            for label, value in entries:
                text = value.reveal()
                data = text.encode("utf-8")
                if len(text) >= min_length and data not in by_value:
                    by_value[data] = (code, label)
        self._values = list(by_value)
        self._labels = [by_value[v] for v in self._values]
        self._matcher = LiteralMatcher(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def find(self, blob: Blob) -> Iterator[Hit]:
        """Every occurrence; where two overlap, the longer (then the earlier) wins."""
        taken_until = -1
        spans = sorted(self._matcher.scan(blob.data), key=lambda s: (s[1], -(s[2] - s[1])))
        for index, start, end in spans:
            if start < taken_until:
                continue
            taken_until = end
            code, label = self._labels[index]
            yield Hit(start, code, label, SecretValue(self._values[index].decode("utf-8")),
                      Confidence.HIGH)

    def _shown(self) -> str:
        return f"{len(self._values)} values"
