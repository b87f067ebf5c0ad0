"""Reading input files with one clear error each, and replacing files atomically."""
from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from kortix_guard.errors import InputError

MAX_INPUT_BYTES = 10 * 1024 * 1024
# Kortix's manifest names, in the order Kortix reads them (manifest/model.py says why).
MANIFEST_NAMES = ("kortix.yaml", "kortix.yml", "kortix.toml")


def find_root(start: Path) -> Path | None:
    """The nearest folder, from start upwards, holding a manifest (kortix.yaml, kortix.yml,
    kortix.toml) or .git."""
    for folder in (start, *start.parents):
        if any((folder / name).exists() for name in MANIFEST_NAMES) or (folder / ".git").exists():
            return folder
    return None


def read_text(path: Path, *, what: str = "file", display: str | None = None,
              limit: int = MAX_INPUT_BYTES, allow_pipe: bool = False) -> str:
    """Read a UTF-8 text file, or raise InputError naming the file and what is wrong.

    Only regular files are read, never more than `limit` + 1 bytes: a device (`/dev/zero`)
    or a socket is refused, and so is a FIFO unless the user named the file explicitly
    (`allow_pipe`, for `--key-file <(pass show …)`). A symlink is followed only when it stays
    inside the project (or folder) that holds it."""
    name = display or str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{name}: is a directory, not a {what}",
                             hint=f"point to the {what} itself")
        if not (stat.S_ISREG(info.st_mode) or (allow_pipe and stat.S_ISFIFO(info.st_mode))):
            raise InputError(f"{name}: not a regular file (a device, pipe or socket); a {what} "
                             f"is a file", hint=f"point to the {what} itself")
        if path.is_symlink() and not allow_pipe:
            _refuse_escaping_link(path, name)
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise InputError(f"{name}: {info.st_size} bytes; a {what} is at most {limit} bytes",
                             hint=f"point to the {what} itself, not a larger file")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such {what}",
                         hint="check the path (relative paths start where you run the command)") \
            from None
    except PermissionError:
        raise InputError(f"{name}: permission denied",
                         hint=f"check its permissions: `ls -l {name}`") from None
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}",
                         hint="check the path and the disk, then run the command again") from None
    if len(data) > limit:
        raise InputError(f"{name}: more than {limit} bytes; a {what} is at most {limit} bytes",
                         hint=f"point to the {what} itself, not a larger stream")
    if b"\0" in data:
        raise InputError(f"{name}: binary data (a NUL byte); a {what} is UTF-8 text",
                         hint=f"point to the {what} itself, or restore it: `git checkout -- {name}`")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"{name}:{line}:{col}: not UTF-8 text (byte 0x{data[e.start]:02x})",
                         hint="save the file as UTF-8") from None


def _refuse_escaping_link(path: Path, name: str) -> None:
    """A file kortix-guard finds by itself may be a symlink only within its project: a
    committed link to /dev/zero or to another user's file is refused."""
    link = path.absolute()
    root = find_root(link.parent) or link.parent
    if not link.resolve().is_relative_to(root.resolve()):
        raise InputError(f"{name}: a symlink that leaves {root}; refusing to follow it",
                         hint="replace the link with the file itself")


def confined(path: Path, root: Path, what: str) -> Path:
    """A path kortix.toml configures (the store, the baseline), refused when it leaves the
    project root or passes through a symlink on the way: a cloned repository must not
    make kortix-guard read or write `~/.bash_login`, nor read a store from a folder a link
    swapped in. The path itself need not exist."""
    root = root.absolute()
    path = Path(os.path.normpath(path.absolute()))
    if not path.is_relative_to(root):
        raise InputError(f"{what} {path} is outside the project ({root}); refusing to read or "
                         f"write it", hint="configure a path inside the project in kortix.toml")
    step = root
    for part in path.relative_to(root).parts:
        step = step / part
        if step.is_symlink():
            raise InputError(f"{what} {path}: {step} is a symlink; refusing to follow it",
                             hint="keep the real folder and file in the project, not a link")
    return path


def atomic_write(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace path with data: temp file in the same folder, fsync, rename.

    A reader (or a crash at any moment) sees the old content or the new, never a mix. With
    mode, the temp file has that mode from its creation, so the data is never readable by
    others even for a moment.
    """
    import tempfile

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


def write_output(path: Path, data: bytes, *, display: str, force: bool) -> None:
    """Write a file the user named with `--output`/`pull FILE` (mode 0600): never onto
    something that is not a regular file or through a link, and never over an existing
    file without force (a refusal, exit 2; nothing written)."""
    if os.path.lexists(path) and not (path.is_file() and not path.is_symlink()):
        raise InputError(f"{display}: exists and is not a regular file; nothing was written",
                         hint="choose another path")
    if path.exists() and not force:
        raise InputError(f"{display}: exists; nothing was written", hint="--force replaces it")
    atomic_write(path, data, mode=0o600)


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


def store_private(path: Path, data: bytes) -> None:
    """Best effort, for caches: write data to path (0600, in a 0700 folder), atomically; a
    cache that cannot be written is only slower next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data, mode=0o600)
    except OSError:
        pass


def read_stdin(stdin: BinaryIO) -> str:
    """All of stdin as UTF-8, byte for byte (no newline translation), less one trailing \\n."""
    data = stdin.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("stdin: not UTF-8 text",
                                hint="pipe the value as UTF-8 text (NAME=- < file)") from None
    return text[:-1] if text.endswith("\n") else text
