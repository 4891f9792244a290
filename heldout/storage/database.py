"""``DatabaseStorage``: files in the database, in chunks, for worker hosts with no shared disk."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from heldout.models import StoredFile, StoredFileChunk, utcnow
from heldout.storage.base import CHUNK, FileChanged, PositionedReader, TooLarge, check_key
from heldout.storage.cache import ContentCache

_files = StoredFile.__table__
_chunks = StoredFileChunk.__table__
# A file being written has this key until it is complete: never a valid key, so no reader finds it.
_PARTIAL = "~partial/"
# Partial files older than this were left by a writer that died; any writer removes them (hourly at most).
_PARTIAL_TTL = timedelta(days=1)
_SWEEP_EVERY_S = 3600.0


class DatabaseStorage:
    """Files in the database (tables ``stored_files`` and ``stored_file_chunks``), for hosts with no shared disk.

    Writes stream chunk by chunk (short transactions, never the whole file in
    memory) under a temporary key; one last transaction drops the file being
    replaced and gives the new one its key, so a reader sees the old file or
    the new one, whole. A reader that outlives a replacement gets ``FileChanged``.

    ``local_file`` copies a file into this process's cache directory (under
    ``cache_dir``; ``ContentCache``), named by its key and content hash: a changed
    file is fetched again, an unchanged one never. The cache is bounded by
    ``cache_max_bytes``, oldest use first, sparing copies used in the last ten minutes.

    Its connections are not the caller's session's: write files before the
    session writes rows (as publishing and submitting do). On SQLite, a session
    holding the write lock would otherwise keep the storage waiting for it.
    """

    def __init__(self, engine: Engine, *, cache_dir: Path | None = None, cache_max_bytes: int = 2 << 30,
                 chunk_size: int = CHUNK):
        self.engine = engine
        self.cache = ContentCache(cache_dir, cache_max_bytes)
        self.chunk_size = chunk_size
        self._last_sweep: float | None = None

    # --- writing -------------------------------------------------------------------------------------------

    def save_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[int, str]:
        """Store a stream in chunks; returns (size, sha256). Stops as soon as max_bytes is passed."""
        self._check(key)
        file_id = self._start_partial()
        try:
            digest, size, n = hashlib.sha256(), 0, 0
            pending = bytearray()
            while True:
                data = stream.read(self.chunk_size)
                if data:
                    size += len(data)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(data)
                    pending += data
                # Every chunk but the last is exactly chunk_size bytes, whatever sizes the stream hands out.
                while len(pending) >= self.chunk_size or (not data and pending):
                    self._put_chunk(file_id, n, bytes(pending[:self.chunk_size]))
                    del pending[:self.chunk_size]
                    n += 1
                if not data:
                    break
            sha256 = digest.hexdigest()
            self._publish(file_id, key, size, sha256)
        except BaseException:
            self._discard(file_id)
            raise
        return size, sha256

    def save_file(self, key: str, source: Path) -> tuple[int, str]:
        with open(source, "rb") as handle:
            return self.save_stream(key, handle)

    def _start_partial(self) -> int:
        with self.engine.begin() as connection:
            if self._last_sweep is None or time.monotonic() - self._last_sweep > _SWEEP_EVERY_S:
                self._last_sweep = time.monotonic()
                _delete_files(connection, (_files.c.key.startswith(_PARTIAL, autoescape=True))
                              & (_files.c.created_at < utcnow() - _PARTIAL_TTL))
            result = connection.execute(insert(_files).values(
                key=f"{_PARTIAL}{uuid.uuid4().hex}", size=0, sha256="", chunk_size=self.chunk_size,
                created_at=utcnow()))
            return result.inserted_primary_key[0]

    def _put_chunk(self, file_id: int, n: int, data: bytes) -> None:
        with self.engine.begin() as connection:
            connection.execute(insert(_chunks).values(file_id=file_id, n=n, data=data))

    def _publish(self, file_id: int, key: str, size: int, sha256: str) -> None:
        """One transaction: the old file under ``key`` goes, the new one takes its key.

        Writers of one key publish one at a time (``_lock_key``). Two at once on PostgreSQL deadlocked: each
        statement of a READ COMMITTED transaction sees what committed before it began, so one writer's chunk
        delete could miss the file another had just published, whose chunks its file delete's cascade then
        locked in the other order."""
        for attempt in range(5):
            try:
                with self.engine.begin() as connection:
                    _lock_key(connection, key)
                    _delete_files(connection, _files.c.key == key)
                    published = connection.execute(update(_files).where(_files.c.id == file_id).values(
                        key=key, size=size, sha256=sha256, created_at=utcnow()))
                    if published.rowcount != 1:  # swept as abandoned while it was written (a day-long upload)
                        raise FileChanged(f"the upload of {key!r} was abandoned before it finished")
                return
            except IntegrityError:
                # A writer that published without the lock (an older Heldout) committed first; replace its file.
                if attempt == 4:
                    raise

    def _discard(self, file_id: int) -> None:
        try:
            with self.engine.begin() as connection:
                _delete_files(connection, _files.c.id == file_id)
        except Exception:  # noqa: BLE001 - the original error matters more; the sweep removes it later
            pass

    # --- reading -------------------------------------------------------------------------------------------

    def _row(self, key: str):  # noqa: ANN202
        with self.engine.connect() as connection:
            return connection.execute(
                select(_files.c.id, _files.c.size, _files.c.sha256, _files.c.chunk_size)
                .where(_files.c.key == self._check(key))).first()

    def open(self, key: str) -> BinaryIO:
        row = self._row(key)
        if row is None:
            raise FileNotFoundError(f"no stored file {key!r}")
        return io.BufferedReader(_ChunkReader(self.engine, key, row), buffer_size=row.chunk_size)

    def exists(self, key: str) -> bool:
        return self._row(key) is not None

    def keys(self) -> Iterator[str]:
        with self.engine.connect() as connection:
            keys = connection.scalars(select(_files.c.key).where(
                ~_files.c.key.startswith(_PARTIAL, autoescape=True))).all()
        yield from keys

    def stat(self, key: str) -> tuple[int, str | None] | None:
        row = self._row(key)
        return None if row is None else (row.size, row.sha256)

    def check(self) -> None:
        """The database itself is checked at start-up (``check_database``)."""

    def delete(self, key: str) -> None:
        self._check(key)
        with self.engine.begin() as connection:
            _lock_key(connection, key)
            _delete_files(connection, or_(
                _files.c.key == key,
                func.substr(_files.c.key, 1, len(key) + 1) == key + "/"))

    def _check(self, key: str) -> str:
        check_key(key)
        if len(key) > 512:
            raise ValueError(f"invalid storage key {key[:40]!r}…: longer than 512 characters")
        return key

    # --- the local cache -----------------------------------------------------------------------------------

    @property
    def cache_root(self) -> Path:
        return self.cache.cache_root

    def local_file(self, key: str) -> Path:
        """A copy of the file in this process's cache, fetched unless the same content is already there."""
        for _attempt in range(3):
            row = self._row(key)
            if row is None:
                raise FileNotFoundError(f"no stored file {key!r}")
            try:
                return self.cache.get(key, row.sha256, lambda row=row: io.BufferedReader(
                    _ChunkReader(self.engine, key, row), buffer_size=row.chunk_size), sha256=row.sha256)
            except FileChanged:
                continue  # replaced while we read it: fetch the new one
        raise FileChanged(f"{key!r} kept changing while it was being fetched")


# pg_advisory_xact_lock's two-int key space (apart from the one-bigint space): this class, then the key's hash.
_LOCK_CLASS = int.from_bytes(b"hldt", "big", signed=True)


def _lock_key(connection: Connection, key: str) -> None:
    """Hold ``key`` until this transaction ends, against every other writer of it (PostgreSQL; SQLite lets one
    writer in at a time anyway). Two keys sharing a 32-bit hash merely wait for each other."""
    if connection.dialect.name == "postgresql":
        objid = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK_CLASS, objid)))


def _delete_files(connection: Connection, where) -> None:  # noqa: ANN001
    # The foreign key cascades too, but only where the connection enabled it (SQLite): say it outright.
    ids = select(_files.c.id).where(where)
    connection.execute(delete(_chunks).where(_chunks.c.file_id.in_(ids)))
    connection.execute(delete(_files).where(where))


class _ChunkReader(PositionedReader):
    """A seekable view of one stored file; each chunk is read when needed, by a short query of its own."""

    def __init__(self, engine: Engine, key: str, row):  # noqa: ANN001
        super().__init__()
        self._engine = engine
        self._key = key
        self._id, self._size, self._chunk_size = row.id, row.size, row.chunk_size
        self._pos = 0
        self._n: int | None = None
        self._data = b""

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self._pos >= self._size:
            return 0
        n, offset = divmod(self._pos, self._chunk_size)
        data = self._chunk(n)
        count = min(len(buffer), len(data) - offset)
        memoryview(buffer)[:count] = data[offset:offset + count]
        self._pos += count
        return count

    def _chunk(self, n: int) -> bytes:
        if self._n != n:
            with self._engine.connect() as connection:
                data = connection.scalar(select(_chunks.c.data).where(_chunks.c.file_id == self._id,
                                                                      _chunks.c.n == n))
            expected = min(self._chunk_size, self._size - n * self._chunk_size)
            if data is None or len(data) != expected:
                raise FileChanged(f"{self._key!r} was replaced or deleted while it was being read")
            self._n, self._data = n, bytes(data)
        return self._data

    def close(self) -> None:
        self._data = b""
        super().close()
