"""What every storage backend is: the interface, the key rule and the errors (see ``heldout.storage``)."""

from __future__ import annotations

import io

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """An upload went past its size limit while it was being streamed."""

    def __init__(self, limit: int):
        super().__init__(f"the file is larger than the limit of {limit:,} bytes")
        self.limit = limit


class StorageUnavailable(Exception):
    """The configured storage cannot be used (start-up checks); the message is one line naming the setting."""


class FileChanged(OSError):
    """A file was replaced or deleted while it was being read: the reader saw no half file, only this."""


class Storage(Protocol):
    def save_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[int, str]:
        """Store a stream under ``key`` atomically, replacing what was there; returns (size, sha256).

        Raises ``TooLarge`` as soon as more than ``max_bytes`` arrived, storing nothing."""
        ...

    def save_file(self, key: str, source: Path) -> tuple[int, str]: ...

    def open(self, key: str) -> BinaryIO:
        """A seekable binary stream of the file; FileNotFoundError when there is none."""
        ...

    def local_file(self, key: str) -> Path:
        """A path on this machine holding the file's current content, for mounting into a sandbox.

        Treat it as read-only (mode 0644) and use it soon: a cached copy may later be evicted.
        FileNotFoundError when there is no such file."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Delete the file ``key``, or every file below ``key/``; nothing there is fine."""
        ...

    def keys(self) -> Iterator[str]:
        """The key of every stored file, in no particular order."""
        ...

    def stat(self, key: str) -> tuple[int, str | None] | None:
        """(size, sha256) of the file ``key``, or None when there is none."""
        ...

    def check(self) -> None:
        """Raise ``StorageUnavailable`` when the storage cannot be used (a start-up check)."""
        ...


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class PositionedReader(io.RawIOBase):
    """A read-only, seekable raw stream over ``_size`` bytes kept elsewhere (database chunks, an S3 object): the
    position bookkeeping; a subclass sets ``_size`` and ``_pos`` and reads at ``_pos`` in ``readinto``."""

    _size: int
    _pos: int

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos
