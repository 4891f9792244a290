"""Where uploads, challenge files and solutions live.

Keys are relative POSIX paths chosen by Heldout, never by users. Three backends,
chosen by ``HELDOUT_STORAGE`` (``make_storage``), behind one small interface:

* ``LocalStorage`` (``local``, the default): files under ``HELDOUT_DATA_DIR/files``.
  Every process that reads them must see that directory: one host, or a shared disk.
* ``DatabaseStorage`` (``database``): files in the database, in chunks of 1 MiB,
  so any host that reaches the database reads them; no shared disk.
* ``S3Storage`` (``s3``): files in an S3-compatible bucket (``HELDOUT_S3_*``), uploaded in parts
  as they arrive and read with ranged GETs; no shared disk, and no files in the database.

Callers read a file as a stream (``open``, seekable) or, to mount it into a
sandbox or hand it to a library that wants a path, as a file on this machine
(``local_file``): the file itself for ``LocalStorage``, a copy kept in a bounded
per-process cache (``ContentCache``) for the others. No caller knows which backend it has.
``keys`` and ``stat`` list and describe what is stored, for ``heldout storage migrate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heldout.storage.base import CHUNK, FileChanged, Storage, StorageUnavailable, TooLarge, check_key
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
    if settings.storage == "s3":
        if settings.s3 is None:
            raise ValueError("HELDOUT_STORAGE=s3 needs HELDOUT_S3_BUCKET")  # Settings.from_env says so first
        from heldout.storage.s3 import S3Storage

        return S3Storage.from_settings(settings.s3, cache_dir=settings.data_dir / "cache")
    return LocalStorage(settings.storage_dir)


__all__ = ["CHUNK", "DatabaseStorage", "FileChanged", "LocalStorage", "Storage", "StorageUnavailable", "TooLarge",
           "check_key", "make_storage"]
