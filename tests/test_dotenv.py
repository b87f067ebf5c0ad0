"""python-dotenv's parser is used through `dotenv.parser.parse_stream`, not its documented
API: this fails when the records it yields change shape, before any .env is misread."""
from __future__ import annotations

import io

from kortix_guard import _dotenv


def test_parse_stream_still_yields_the_records_we_read() -> None:
    from dotenv.parser import parse_stream

    text = 'A=1\n# c\nB="two words" # note\nnot a pair\nC=$HOME/x\n'
    records = [(b.key, b.value, b.original.line, b.error) for b in parse_stream(io.StringIO(text))]
    assert records == [("A", "1", 1, False), (None, None, 2, False), ("B", "two words", 3, False),
                       (None, None, 4, True), ("C", "$HOME/x", 5, False)]


def test_entries_redact_values() -> None:
    [entry] = list(_dotenv.entries("TOKEN=s3cr3t-value\n"))
    assert entry.name == "TOKEN" and entry.value.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(entry)
