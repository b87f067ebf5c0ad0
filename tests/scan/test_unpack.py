"""Archives within a budget: a zip bomb, a member whose declared size lies, an encrypted member
and a damaged stream are each one KG350 naming the archive, quickly and without inflating past
the budget; nested archives are read to a depth; base64 that decodes to binary is not text."""
from __future__ import annotations

import gzip
import io
import struct
import zipfile
from pathlib import Path

from kortix_guard.scan import unpack
from tests.scan.conftest import TOKENS, scan_json

TOKEN = TOKENS["github-classic"]
LINE = f"token = {TOKEN}\n".encode()


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _patch_headers(data: bytes, edit) -> bytes:
    """data with each local and central header of its one member edited in place."""
    raw = bytearray(data)
    for signature, flags_at, size_at in ((b"PK\x03\x04", 6, 22), (b"PK\x01\x02", 8, 24)):
        at = raw.find(signature)
        edit(raw, at + flags_at, at + size_at)
    return bytes(raw)


def _found(tmp_path: Path, name: str, data: bytes) -> list[dict]:
    (tmp_path / name).write_bytes(data)
    code, findings = scan_json(tmp_path)
    assert code == 1
    return findings


def test_a_zip_bomb_is_one_unscanned_finding(tmp_path: Path) -> None:
    bomb = _zip({"zeros": b"\0" * (200 * 2 ** 20), "late.txt": LINE})
    assert len(bomb) < 2 ** 20  # the declared sizes are refused before inflating
    [finding] = _found(tmp_path, "bomb.zip", bomb)
    assert (finding["rule"], finding["path"]) == ("KG350", "bomb.zip")
    assert "inflates past" in finding["message"]


def test_a_gzip_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    [finding] = _found(tmp_path, "dump.sql.gz", gzip.compress(b"A" * (40 * 2 ** 20)))
    assert finding["rule"] == "KG350" and "times its compressed size" in finding["message"]


def test_a_member_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    def shrink(raw: bytearray, _flags: int, size: int) -> None:
        raw[size:size + 4] = struct.pack("<I", 1000)
    lying = _patch_headers(_zip({"big.txt": b"x" * (8 * 2 ** 20) + LINE}), shrink)
    [finding] = _found(tmp_path, "lying.zip", lying)
    assert finding["rule"] == "KG350" and "lying.zip!big.txt" in finding["message"]


def test_an_encrypted_member_is_named_and_the_ones_before_it_are_scanned(tmp_path: Path) -> None:
    def encrypt(raw: bytearray, flags: int, _size: int) -> None:
        raw[flags] |= 0x1
    data = _patch_headers(_zip({"secret.txt": b"hidden\n"}), encrypt)
    [finding] = _found(tmp_path, "locked.zip", data)
    assert finding["rule"] == "KG350" and "locked.zip!secret.txt is encrypted" in finding["message"]


def test_a_damaged_stream_is_unscanned_not_an_error(tmp_path: Path) -> None:
    damaged = gzip.compress(LINE * 50)[:-20] + b"\xff" * 20
    findings = _found(tmp_path, "notes.gz", damaged)
    assert [f["rule"] for f in findings][-1] == "KG350"


def test_nested_archives_are_read_and_named(tmp_path: Path) -> None:
    inner = _zip({"WEB-INF/app.properties": LINE})
    outer = _zip({"lib/inner.jar": inner}, zipfile.ZIP_STORED)
    [finding] = _found(tmp_path, "app.war", outer)
    assert finding["path"] == "app.war!lib/inner.jar!WEB-INF/app.properties"
    assert finding["rule"] == "KG320"


def test_an_archive_of_nothing_secret_is_clean(tmp_path: Path) -> None:
    (tmp_path / "site.zip").write_bytes(_zip({"index.html": b"<p>hello</p>\n" * 100}))
    assert scan_json(tmp_path) == (0, [])


def test_base64_of_binary_and_identifiers_is_not_decoded() -> None:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha512(b"x").digest())
    text = b"integrity: sha512-" + digest + b"\nname = some_long_identifier_in_code_here\n"
    assert unpack.decoded_runs(text) == []
    token = base64.b64encode(b"user:" + TOKEN.encode())
    [run] = unpack.decoded_runs(b"auth: " + token + b"\n")
    assert (run.start, run.form, run.text) == (6, "base64", b"user:" + TOKEN.encode())


def test_kind_is_read_from_content_not_the_name() -> None:
    assert unpack.kind(_zip({"a": b"b"})) == "zip"
    assert unpack.kind(gzip.compress(b"x")) == "gzip"
    assert unpack.kind(b"PK not a zip") is None
    assert unpack.kind(b"plain text") is None
