"""Known values: this project's real secrets (the store's, and untracked `.env*` files'),
found wherever they appear, whatever their shape, and in the forms a value takes on its way
into configuration: base64 (a Kubernetes Secret's `data:`, a Docker `auth`, a `Basic`
header; standard and URL-safe alphabets, at each of the three alignments a value can start
at inside a longer encoded text) and URL encoding (a password in a connection string). They
live in their own in-memory matcher, apart from the rule database (which may be cached on
disk)."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, quote_plus

from kortix_guard.scan.matcher import LiteralMatcher
from kortix_guard.scan.model import Blob, Confidence, Hit
from kortix_guard.scan.unpack import base64_fragments
from kortix_guard.secret import SecretValue, Unshowable


def encoded_forms(text: str) -> list[tuple[bytes, str]]:
    """The forms a value is found in besides itself, each with what it is."""
    data = text.encode("utf-8")
    forms = [(fragment, "base64") for fragment in base64_fragments(data)]
    for encoded in dict.fromkeys((quote(text, safe=""), quote_plus(text, safe=""))):
        if encoded != text:
            forms.append((encoded.encode("ascii"), "URL-encoded"))
    return forms


class KnownValues(Unshowable):
    def __init__(self, values: dict[str, list[tuple[str, SecretValue]]], *, min_length: int) -> None:
        """values: rule code -> [(label, value)]; the label names where it came from."""
        by_literal: dict[bytes, tuple[str, str]] = {}
        for code, entries in values.items():
            for label, value in entries:
                text = value.reveal()
                if len(text) < min_length:
                    continue
                by_literal.setdefault(text.encode("utf-8"), (code, label))
                for form, kind in encoded_forms(text):
                    by_literal.setdefault(form, (code, f"{label}, {kind}"))
        self._literals = list(by_literal)
        self._labels = [by_literal[v] for v in self._literals]
        self._matcher = LiteralMatcher(self._literals)

    def __bool__(self) -> bool:
        return bool(self._literals)

    def find(self, blob: Blob) -> Iterator[Hit]:
        """Every occurrence; where two overlap, the longer (then the earlier) wins."""
        taken_until = -1
        spans = sorted(self._matcher.scan(blob.data), key=lambda s: (s[1], -(s[2] - s[1])))
        for index, start, end in spans:
            if start < taken_until:
                continue
            taken_until = end
            code, label = self._labels[index]
            yield Hit(start, code, label, SecretValue(self._literals[index].decode("utf-8")),
                      Confidence.HIGH)

    def _shown(self) -> str:
        return f"{len(self._literals)} literals"
