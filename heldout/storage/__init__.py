"""Where uploads, challenge files and solutions live.

Keys are relative POSIX paths chosen by Heldout, never by users. Two backends,
chosen by ``HELDOUT_STORAGE`` (``make_storage``), behind one small interface:

* ``LocalStorage`` (``local``, the default): files under ``HELDOUT_DATA_DIR/files``.
  Every process that reads them must see that directory: one host, or a shared disk.
* ``DatabaseStorage`` (``database``): files in the database, in chunks of 1 MiB,
  so any host that reaches the database reads them; no shared disk.

Callers read a file as a stream (``open``, seekable) or, to mount it into a
sandbox or hand it to a library that wants a path, as a file on this machine
(``local_file``): the file itself for ``LocalStorage``, a copy kept in a bounded
per-process cache for ``DatabaseStorage``. Neither caller knows which backend it has.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from heldout.config import Settings

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """An upload went past its size limit while it was being streamed."""

    def __init__(self, limit: int):
        super().__init__(f"the file is larger than the limit of {limit:,} bytes")
        self.limit = limit


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


def check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def make_storage(settings: "Settings") -> Storage:
    """The storage ``HELDOUT_STORAGE`` asks for; the web app, the runner and the CLI all get theirs here.

    A database storage has an engine (a connection pool) of its own: a request or a job that holds a
    session's connection never waits on that same pool for the storage's.
    """
    if settings.storage == "database":
        from heldout.db import make_engine

        return DatabaseStorage(make_engine(settings.database_url), cache_dir=settings.data_dir / "cache")
    return LocalStorage(settings.storage_dir)


# The backends import the names above, so they come last.
from heldout.storage.database import DatabaseStorage  # noqa: E402
from heldout.storage.local import LocalStorage  # noqa: E402

__all__ = ["CHUNK", "DatabaseStorage", "FileChanged", "LocalStorage", "Storage", "TooLarge", "check_key",
           "make_storage"]
