"""Opening files by name without being hurt by what the name turns out to be.

A name can stand for anything the file system holds: a FIFO (opening it to read waits for a writer,
for ever), a device (`/dev/zero` never ends), a directory, a socket, or a symbolic link to any of
them. Every file streamwatch reads goes through `open_regular`: the name is looked at before it is
opened (a device is never opened), opened without waiting (`O_NONBLOCK`), and what was opened is
looked at again (`fstat`), so a name swapped in between does not slip through. Reads stop at the
size the file had when it was opened, so a file that keeps growing is read as it was, and lines
come one at a time (`lines`): memory follows the longest line, not the file. Where a link is the
danger (the sessions folder and its files, the target of an export) it is refused, not followed;
a session file is appended to (`open_append`) only where it is a regular file, never through one.

What streamwatch writes for the user outside its own folder is made by `create_new`: a new file,
readable by its owner only, made exclusively (`O_EXCL`), so neither an existing file nor a link at
the name is ever opened. `create_private` (what `e` and `w` write) gives the name `-1`, `-2`, ...
until a free one is found; `write_new` (an export's `-o FILE`) takes the name it is given or nothing.

Refusals are `Refused`, an OSError whose `strerror` says in a few words what the name is instead,
so the callers' one-line messages for unreadable files (`cannot read X: ...`) say it too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

COPY_PIECE = 1 << 20
FREE_NAME_TRIES = 1000

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


class Refused(OSError):
    """A name streamwatch will not open, or a folder it will not use; `strerror` says why."""

    def __init__(self, path: Path | str, why: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, why, str(path))


def kind_of(mode: int) -> str:
    """What a file of this `st_mode` is, in words: "a FIFO (named pipe)", "a directory", ..."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a file"


def not_regular(path: Path | str, mode: int) -> Refused:
    code = errno.ELOOP if stat.S_ISLNK(mode) else errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
    return Refused(path, f"it is {kind_of(mode)}, not a regular file", code)


class RegularFile:
    """A regular file open for reading, read up to the size it had when it was opened (`size`)."""

    def __init__(self, path: Path, handle: BinaryIO, status: os.stat_result) -> None:
        self.path = path
        self.status = status
        self.size = status.st_size
        self._handle = handle

    def __enter__(self) -> RegularFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def _left(self) -> int:
        return max(0, self.size - self._handle.tell())

    def read(self, limit: int | None = None) -> bytes:
        """Up to `limit` bytes (all that is left, by default), never past `size`."""
        left = self._left()
        return self._handle.read(left if limit is None else min(limit, left))

    def lines(self) -> Iterator[bytes]:
        """The rest of the file a line at a time, each with its b"\\n" (all but maybe the last)."""
        while True:
            left = self._left()
            line = self._handle.readline(left) if left else b""
            if not line:
                return
            yield line

    def seek(self, offset: int) -> None:
        self._handle.seek(offset)

    def grown(self, offset: int, limit: int) -> bytes | None:
        """What the file holds past `offset` now (at most `limit` bytes): `size` is what it has grown
        to. None when it shrank below `offset` (truncated by someone)."""
        self.size = os.fstat(self._handle.fileno()).st_size
        if self.size < offset:
            return None
        self._handle.seek(offset)
        return self.read(limit)


def open_regular(path: Path | str, follow: bool = True) -> RegularFile:
    """A regular file open for reading; `Refused` for anything else (a FIFO, a device, a directory, a
    socket; a symbolic link too unless `follow`), and the OSError of a name that cannot be opened."""
    path = Path(path)
    before = os.stat(path) if follow else os.lstat(path)
    if not stat.S_ISREG(before.st_mode):
        raise not_regular(path, before.st_mode)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise not_regular(path, stat.S_IFLNK) from None
        raise
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise not_regular(path, status.st_mode)
        return RegularFile(path, os.fdopen(fd, "rb"), status)
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str) -> bytes:
    """The bytes of a regular file the user named (a link to one is followed), as big as it was when opened."""
    with open_regular(path) as file:
        return file.read()


def open_append(path: Path, new: bool) -> int:
    """A descriptor (to close) appending to the regular file at `path`, made `new` (0600, exclusively)
    or one that is there; never through a symbolic link, never a FIFO or a device (`Refused`)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | (os.O_CREAT | os.O_EXCL if new else 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_regular(path, stat.S_IFLNK) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise not_regular(path, mode)
    return fd


def own_folder(path: Path | str) -> int:
    """A folder the user owns, opened (its descriptor, to close), never through a symbolic link:
    `Refused` when it is a link, not a folder, or another user's (`root` included: a folder someone
    else owns can have anything put in it)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        mode = os.lstat(path).st_mode
        raise Refused(path, f"it is {kind_of(mode)}, not a folder", exc.errno) from None
    status = os.fstat(fd)
    if status.st_uid != os.geteuid():
        os.close(fd)
        raise Refused(path, f"it belongs to user id {status.st_uid}, not to you ({os.geteuid()})", errno.EPERM)
    return fd


def create_new(path: Path) -> int:
    """A new file at `path`, readable and writable by its owner only, made exclusively: its descriptor
    (to close). FileExistsError when anything (a file, a link, a FIFO) is there: nothing is opened."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def create_private(folder: Path, name: str) -> tuple[Path, int]:
    """A new file in `folder` made by `create_new`, and its descriptor (to close): `name`, or if
    anything (a file, a link) is there already `stem-1.suffix`, `stem-2.suffix`, ..."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for number in range(FREE_NAME_TRIES):
        path = folder / (name if number == 0 else f"{stem}-{number}{suffix}")
        try:
            return path, create_new(path)
        except FileExistsError:
            continue
    raise Refused(folder / name, f"{FREE_NAME_TRIES} files by that name are there already", errno.EEXIST)


def write_private(folder: Path, name: str, pieces: Iterable[bytes]) -> Path:
    """A new file made with `create_private` in `folder` holding the pieces; the path it got (nothing is
    left of it when writing fails)."""
    path, fd = create_private(folder, name)
    _fill(path, fd, pieces)
    return path


def write_new(path: Path, pieces: Iterable[bytes]) -> None:
    """A new file made with `create_new` at exactly `path` holding the pieces (nothing is left of it
    when writing fails); FileExistsError when anything is there."""
    _fill(path, create_new(path), pieces)


def _fill(path: Path, fd: int, pieces: Iterable[bytes]) -> None:
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                out.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def copy_private(source: Path, folder: Path) -> Path:
    """A copy of the regular file `source` made with `create_private` in `folder` under the same name
    (or the next free one), as big as `source` was when opened; the path it got. When `source` is
    already there under its name (the same file, not a link to it), that is its path: no copy."""
    with open_regular(source) as reader:
        same = folder / source.name
        try:
            there = os.lstat(same)
        except FileNotFoundError:
            there = None
        if there is not None and stat.S_ISREG(there.st_mode) and os.path.samestat(there, reader.status):
            return same
        return write_private(folder, source.name, iter(lambda: reader.read(COPY_PIECE), b""))
