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

from typing import TYPE_CHECKING

from heldout.storage.base import CHUNK, FileChanged, Storage, TooLarge, check_key
from heldout.storage.database import DatabaseStorage
from heldout.storage.local import LocalStorage

if TYPE_CHECKING:
    from heldout.config import Settings


def make_storage(settings: "Settings") -> Storage:
    """The storage ``HELDOUT_STORAGE`` asks for; the web app, the runner and the CLI all get theirs here.

    A database storage has an engine (a connection pool) of its own: a request or a job that holds a
    session's connection never waits on that same pool for the storage's.
    """
    if settings.storage == "database":
        from heldout.db import make_engine

        return DatabaseStorage(make_engine(settings.database_url), cache_dir=settings.data_dir / "cache")
    return LocalStorage(settings.storage_dir)


__all__ = ["CHUNK", "DatabaseStorage", "FileChanged", "LocalStorage", "Storage", "TooLarge", "check_key",
           "make_storage"]
