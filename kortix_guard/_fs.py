"""Reading input files with one clear error each, and replacing files atomically."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from kortix_guard.errors import InputError

MAX_INPUT_BYTES = 10 * 1024 * 1024


def read_text(path: Path, *, what: str = "file", display: str | None = None,
              limit: int = MAX_INPUT_BYTES) -> str:
    """Read a UTF-8 text file, or raise InputError naming the file and what is wrong."""
    name = display or str(path)
    try:
        if path.is_dir():
            raise InputError(f"{name}: is a directory, not a {what}")
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"{name}: {size} bytes; a {what} is at most {limit} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such {what}") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}") from None
    if b"\0" in data:
        raise InputError(f"{name}: binary data (a NUL byte); a {what} is UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"{name}:{line}:{col}: not UTF-8 text (byte 0x{data[e.start]:02x})") from None


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace path with data: temp file in the same folder, fsync, rename.

    A reader (or a crash at any moment) sees the old content or the new, never a mix. With
    mode, the temp file has that mode from its creation, so the data is never readable by
    others even for a moment.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; widen only to what the file had (or umask's default).
        os.fchmod(fd, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
