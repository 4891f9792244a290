"""Storage: one behaviour suite, run against every backend (local files; the database on SQLite and PostgreSQL;
an S3 bucket on a real S3 API server, moto's, started by the tests)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

import heldout.storage.cache as storage_cache
from heldout.config import Settings
from heldout.db import make_engine
from heldout.models import StoredFile, StoredFileChunk, utcnow
from heldout.storage import CHUNK, DatabaseStorage, FileChanged, LocalStorage, TooLarge, make_storage
from heldout.storage.s3 import MIN_PART, S3Storage
from tests.conftest import database_url_for

MiB = 1024 * 1024


@pytest.fixture(params=["local", "database-sqlite", "database-postgresql", "s3"])
def storage(request, tmp_path, sqlite_template, postgres_database_url):  # noqa: ANN001, ANN201
    if request.param == "local":
        yield LocalStorage(tmp_path / "files")
        return
    if request.param == "s3":
        # The smallest part S3 allows, so the files below span several parts.
        yield S3Storage.from_settings(request.getfixturevalue("s3_bucket"), cache_dir=tmp_path / "cache",
                                      part_size=MIN_PART)
        return
    url = database_url_for(request.param.split("-")[1], tmp_path, sqlite_template, postgres_database_url)
    engine = make_engine(url)
    yield DatabaseStorage(engine, cache_dir=tmp_path / "cache")
    engine.dispose()


class Generated(io.RawIOBase):
    """``total`` bytes made on demand, handed out in reads of at most ``step`` bytes: never whole in memory."""

    def __init__(self, total: int, step: int = 300_001, byte: bytes = b"x", on_read=None):  # noqa: ANN001
        super().__init__()
        self.total, self.step, self.byte, self.sent, self.on_read = total, step, byte, 0, on_read
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.on_read is not None:
            self.on_read(self)
        n = min(self.step, self.total - self.sent, size if size >= 0 else self.step)
        self.sent += n
        return _pattern(self.byte, self.sent - n, n)


PERIOD = 4099  # prime: no chunk boundary lines up with it, so a misplaced chunk cannot go unnoticed


def _pattern(byte: bytes, start: int, n: int) -> bytes:
    block = bytes((i * 7 + byte[0]) % 256 for i in range(PERIOD))
    offset = start % PERIOD
    return (block * (n // PERIOD + 2))[offset:offset + n]


def _expected(total: int, byte: bytes = b"x") -> bytes:
    return _pattern(byte, 0, total)


def _files_left(storage) -> list:  # noqa: ANN001
    """Everything the backend keeps: files on disk, rows, or objects (and multipart uploads never finished)."""
    if isinstance(storage, S3Storage):
        objects = storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents", [])
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
        return sorted(o["Key"] for o in objects) + [f"unfinished upload {u['Key']}" for u in uploads]
    if isinstance(storage, LocalStorage):
        return sorted(p.relative_to(storage.root).as_posix() for p in storage.root.rglob("*") if p.is_file()) \
            if storage.root.exists() else []
    with storage.engine.connect() as connection:
        files = connection.execute(select(StoredFile.key, StoredFile.size, StoredFile.chunk_size)
                                   .order_by(StoredFile.key)).all()
        chunks = connection.scalar(select(func.count()).select_from(StoredFileChunk))
    expected = sum(-(-size // chunk_size) for _, size, chunk_size in files)
    return [key for key, _, _ in files] + ([f"{chunks - expected} stray chunks"] if chunks != expected else [])


# --- the behaviour every backend has --------------------------------------------------------------------------

def test_a_stream_round_trips_with_its_size_and_hash(storage):
    size, sha = storage.save_stream("a/b.csv", io.BytesIO(b"id,y\n1,2\n"))
    assert (size, sha) == (9, hashlib.sha256(b"id,y\n1,2\n").hexdigest())
    assert storage.exists("a/b.csv") and not storage.exists("a/c.csv")
    with storage.open("a/b.csv") as handle:
        assert handle.read() == b"id,y\n1,2\n"
    assert storage.local_file("a/b.csv").read_bytes() == b"id,y\n1,2\n"
    assert storage.save_stream("empty.csv", io.BytesIO(b"")) == (0, hashlib.sha256(b"").hexdigest())
    assert storage.open("empty.csv").read() == b"" and storage.local_file("empty.csv").read_bytes() == b""


def test_a_file_is_saved_from_a_path(storage, tmp_path):
    source = tmp_path / "source.csv"
    source.write_bytes(b"id,y\n")
    assert storage.save_file("s/source.csv", source) == (5, hashlib.sha256(b"id,y\n").hexdigest())
    assert storage.open("s/source.csv").read() == b"id,y\n"


def test_a_large_file_is_streamed_in_and_out_in_chunks(storage):
    total = 24 * MiB + 12_345
    tracemalloc.start()
    try:
        size, sha = storage.save_stream("big/train.csv", Generated(total))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = _expected(total)
    assert (size, sha) == (total, hashlib.sha256(expected).hexdigest())
    assert peak < 8 * MiB, f"saving held {peak:,} bytes at once"
    if isinstance(storage, DatabaseStorage):
        with storage.engine.connect() as connection:
            lengths = connection.execute(select(StoredFileChunk.n, func.length(StoredFileChunk.data))
                                         .order_by(StoredFileChunk.n)).all()
        # Chunks of exactly CHUNK bytes whatever sizes the stream handed out, the rest in the last one.
        assert [length for _, length in lengths] == [CHUNK] * 24 + [12_345]
    with storage.open("big/train.csv") as handle:
        digest, reads = hashlib.sha256(), 0
        while data := handle.read(CHUNK):
            assert len(data) <= CHUNK
            digest.update(data)
            reads += 1
        assert digest.hexdigest() == sha and reads == 25
        # Seekable, as Range requests need: from the middle of a chunk, across its end.
        assert handle.seek(3 * CHUNK - 10) == 3 * CHUNK - 10
        assert handle.read(20) == expected[3 * CHUNK - 10:3 * CHUNK + 10]
        assert handle.seek(0, io.SEEK_END) == total and handle.read(5) == b""
    assert hashlib.sha256(storage.local_file("big/train.csv").read_bytes()).hexdigest() == sha


def test_an_oversize_stream_stops_early_and_leaves_nothing(storage):
    stream = Generated(50 * MiB)
    with pytest.raises(TooLarge):
        storage.save_stream("big.csv", stream, max_bytes=3 * MiB)
    assert stream.sent < 5 * MiB, "kept reading after the limit"
    assert not storage.exists("big.csv")
    assert _files_left(storage) == []


def test_an_oversize_replacement_keeps_the_old_file(storage):
    storage.save_stream("s.csv", io.BytesIO(b"old"))
    with pytest.raises(TooLarge):
        storage.save_stream("s.csv", Generated(3 * MiB), max_bytes=MiB)
    assert storage.open("s.csv").read() == b"old"
    assert _files_left(storage) == ["s.csv"]


def test_a_file_being_replaced_is_seen_whole_until_the_new_one_is(storage):
    old = _expected(3 * MiB, b"a")
    storage.save_stream("solution.csv", io.BytesIO(old))
    seen = []

    def look(stream) -> None:  # noqa: ANN001
        if stream.reads == 3:  # halfway through writing the new file
            with storage.open("solution.csv") as handle:
                seen.append(handle.read())

    new = Generated(3 * MiB, step=MiB, byte=b"b", on_read=look)
    storage.save_stream("solution.csv", new)
    assert seen == [old]
    assert storage.open("solution.csv").read() == _expected(3 * MiB, b"b")
    assert _files_left(storage) == ["solution.csv"]


def test_a_reader_of_a_replaced_file_never_gets_a_mix(storage):
    old, new = _expected(3 * MiB, b"a"), _expected(3 * MiB, b"b")
    storage.save_stream("solution.csv", io.BytesIO(old))
    handle = storage.open("solution.csv")
    first = handle.read(MiB)
    storage.save_stream("solution.csv", io.BytesIO(new))
    try:
        rest = handle.read()
    except FileChanged:
        rest = None  # the database's and S3's answer: the old chunks, or the ETag, are gone
    handle.close()
    assert first == old[:MiB]
    if rest is not None:  # a local file: the open handle keeps the old inode
        assert first + rest == old


def test_concurrent_writers_of_one_key_leave_one_whole_file(storage):
    contents = [_expected(2 * MiB + 7, bytes([b])) for b in b"abcd"]
    errors = []

    def write(data: bytes) -> None:
        try:
            storage.save_stream("archives/x.zip", Generated(len(data), step=256 * 1024, byte=data[:1]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(data,)) for data in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert storage.open("archives/x.zip").read() in contents
    assert _files_left(storage) == ["archives/x.zip"]


def test_delete_removes_a_file_or_everything_below_a_prefix(storage):
    for key in ("uploads/1/a.csv", "uploads/1/b.csv", "uploads/10/c.csv", "uploads/2.csv"):
        storage.save_stream(key, io.BytesIO(b"x" * 10))
    storage.delete("uploads/1/a.csv")
    assert not storage.exists("uploads/1/a.csv")
    with pytest.raises(FileNotFoundError):
        storage.open("uploads/1/a.csv")
    with pytest.raises(FileNotFoundError):
        storage.local_file("uploads/1/a.csv")
    storage.delete("uploads/1/a.csv")  # already gone: fine
    storage.delete("uploads/1")
    assert _files_left(storage) == ["uploads/10/c.csv", "uploads/2.csv"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a b", "", "a//b", "~partial/x", "a/"])
def test_invalid_keys_are_rejected_everywhere(storage, key):
    for call in (lambda: storage.save_stream(key, io.BytesIO(b"x")), lambda: storage.open(key),
                 lambda: storage.exists(key), lambda: storage.delete(key), lambda: storage.local_file(key)):
        with pytest.raises(ValueError):
            call()
    assert _files_left(storage) == []


def test_a_local_file_is_readable_by_the_sandbox_and_follows_changes(storage):
    storage.save_stream("solutions/x/solution.csv", io.BytesIO(b"id,y\n1,1\n"))
    first = storage.local_file("solutions/x/solution.csv")
    assert first.read_bytes() == b"id,y\n1,1\n"
    assert stat.S_IMODE(first.stat().st_mode) == 0o644
    assert storage.local_file("solutions/x/solution.csv") == first  # unchanged: not fetched again
    storage.save_stream("solutions/x/solution.csv", io.BytesIO(b"id,y\n1,2\n"))
    second = storage.local_file("solutions/x/solution.csv")
    assert second.read_bytes() == b"id,y\n1,2\n"
    assert stat.S_IMODE(second.stat().st_mode) == 0o644


# --- the database's own ---------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def db_storage(request, tmp_path, sqlite_template, postgres_database_url):  # noqa: ANN001, ANN201
    engine = make_engine(database_url_for(request.param, tmp_path, sqlite_template, postgres_database_url))
    yield DatabaseStorage(engine, cache_dir=tmp_path / "cache", cache_max_bytes=3 * MiB)
    engine.dispose()


def test_the_cache_is_refetched_when_its_copy_disappears(db_storage):
    db_storage.save_stream("a.csv", io.BytesIO(b"abc"))
    path = db_storage.local_file("a.csv")
    path.unlink()
    assert db_storage.local_file("a.csv").read_bytes() == b"abc"
    assert db_storage.local_file("a.csv").parent.parent == db_storage.cache_root


def test_the_cache_is_bounded_oldest_use_first(db_storage, monkeypatch):
    monkeypatch.setattr(storage_cache, "_EVICTION_GRACE_S", 0.0)
    for i in range(5):
        db_storage.save_stream(f"f{i}.bin", io.BytesIO(bytes([i]) * MiB))
    paths = []
    for i in range(5):
        paths.append(db_storage.local_file(f"f{i}.bin"))
        os.utime(paths[-1], (1_000_000 + i, 1_000_000 + i))  # distinct ages: f0 oldest
    cached = sorted(p.name for p in paths[0].parent.iterdir())
    assert len(cached) == 3 and sum(p.stat().st_size for p in paths[0].parent.iterdir()) <= 3 * MiB
    assert [p.exists() for p in paths] == [False, False, True, True, True]
    assert db_storage.local_file("f0.bin").read_bytes() == b"\0" * MiB  # evicted, fetched again


def test_recent_copies_are_never_evicted(db_storage):
    for i in range(5):
        db_storage.save_stream(f"f{i}.bin", io.BytesIO(bytes([i]) * MiB))
    paths = [db_storage.local_file(f"f{i}.bin") for i in range(5)]
    assert all(p.exists() for p in paths)  # over the bound, but each may be mounted any moment


def test_a_dead_writers_partial_file_is_swept(db_storage):
    with db_storage.engine.begin() as connection:
        file_id = connection.execute(insert(StoredFile.__table__).values(
            key="~partial/dead", size=0, sha256="", chunk_size=CHUNK,
            created_at=utcnow() - timedelta(days=2))).inserted_primary_key[0]
        connection.execute(insert(StoredFileChunk.__table__).values(file_id=file_id, n=0, data=b"zz"))
    db_storage.save_stream("new.csv", io.BytesIO(b"new"))
    assert _files_left(db_storage) == ["new.csv"]


def test_a_reader_fails_loudly_when_its_file_is_deleted(db_storage):
    db_storage.save_stream("a.bin", io.BytesIO(_expected(3 * MiB)))
    handle = db_storage.open("a.bin")
    handle.read(10)
    db_storage.delete("a.bin")
    with pytest.raises(FileChanged):
        handle.read()


def test_a_key_longer_than_the_column_is_rejected(db_storage):
    with pytest.raises(ValueError):
        db_storage.save_stream("a" * 513, io.BytesIO(b"x"))


# --- choosing the backend -------------------------------------------------------------------------------------

def test_the_backend_is_chosen_by_configuration(tmp_path):
    base = {"HELDOUT_DATA_DIR": str(tmp_path / "data"), "HELDOUT_SECRET_KEY": "x",
            "HELDOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    local = make_storage(Settings.from_env(base))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "data" / "files"
    database = make_storage(Settings.from_env({**base, "HELDOUT_STORAGE": "database"}))
    assert isinstance(database, DatabaseStorage) and database.cache_root == tmp_path / "data" / "cache"
    assert str(database.engine.url) == base["HELDOUT_DATABASE_URL"]
    database.engine.dispose()


# --- heldout storage migrate: every file to another backend, verified, resumable -------------------------------

FILES = {"challenges/tiny/train.csv": _expected(6 * MiB + 11),  # more than one S3 part
         "challenges/tiny/solution.csv": b"id,y\n1,2\n", "uploads/7/empty.csv": b"",
         "submissions/3/predict.py": b"print('hi')\n"}


@pytest.fixture
def site_env(tmp_path, sqlite_only, request) -> dict:  # noqa: ANN001
    """What a site's processes see: a database, a data directory, and an S3 bucket (not yet used)."""
    from tests.s3_server import s3_env

    bucket = {k: v for k, v in s3_env(request.getfixturevalue("s3_bucket")).items() if k != "HELDOUT_STORAGE"}
    return {"HELDOUT_DATA_DIR": str(tmp_path / "data"), "HELDOUT_DATABASE_URL": sqlite_only,
            "HELDOUT_SECRET_KEY": "x", **bucket}


def _backend(env: dict, kind: str):  # noqa: ANN202
    return make_storage(Settings.from_env({**env, "HELDOUT_STORAGE": kind}))


@pytest.mark.parametrize("source, target", [("local", "s3"), ("s3", "database"), ("database", "local")])
def test_migrate_copies_every_file_verified_and_a_second_run_only_what_is_missing(heldout_cli, site_env, source,
                                                                                   target):
    origin = _backend(site_env, source)
    for key, data in FILES.items():
        origin.save_stream(key, io.BytesIO(data))
    run = lambda: heldout_cli("storage", "migrate", "--to", target, **site_env, HELDOUT_STORAGE=source)  # noqa: E731

    first = run()
    assert first.returncode == 0, first.stderr
    assert f"{source} -> {target}: copied 4 file(s) ({sum(map(len, FILES.values())):,} bytes), 0 already there" \
        in first.stdout
    destination = _backend(site_env, target)
    assert sorted(destination.keys()) == sorted(FILES)
    for key, data in FILES.items():
        assert destination.open(key).read() == data
        assert destination.stat(key) == (len(data), hashlib.sha256(data).hexdigest())

    # Interrupted, or the site went on while it ran: one file never arrived, one changed since, one is new.
    destination.delete("uploads/7/empty.csv")
    origin.save_stream("challenges/tiny/solution.csv", io.BytesIO(b"id,y\n1,3\n"))
    origin.save_stream("uploads/8/late.csv", io.BytesIO(b"late"))
    second = run()
    assert second.returncode == 0, second.stderr
    assert sorted(line.split()[1] for line in second.stdout.splitlines() if line.startswith("copied ")
                  and "file(s)" not in line) == ["challenges/tiny/solution.csv", "uploads/7/empty.csv",
                                                 "uploads/8/late.csv"]
    assert "copied 3 file(s)" in second.stdout and "2 already there with the same sha256, 0 failed" in second.stdout
    assert destination.open("challenges/tiny/solution.csv").read() == b"id,y\n1,3\n"
    assert "copied 0 file(s) (0 bytes), 5 already there" in run().stdout
    # Nothing was taken from the source.
    assert sorted(origin.keys()) == sorted([*FILES, "uploads/8/late.csv"])


def test_a_copy_that_does_not_verify_is_reported_and_retried_by_the_next_run(site_env, monkeypatch):
    from heldout.storage.transfer import copy_all

    origin, destination = _backend(site_env, "local"), _backend(site_env, "database")
    for key, data in FILES.items():
        origin.save_stream(key, io.BytesIO(data))
    real_save = destination.save_stream

    def garbling(key, stream, **kw):  # noqa: ANN001, ANN202 - a disk or a network that flips bits
        data = bytearray(stream.read())
        if key.endswith("train.csv"):
            data[1000] ^= 0xFF
        return real_save(key, io.BytesIO(bytes(data)), **kw)

    monkeypatch.setattr(destination, "save_stream", garbling)
    report = copy_all(origin, destination)
    assert (report.copied, report.present) == (3, 0)
    ((key, problem),) = report.failed
    assert key == "challenges/tiny/train.csv" and "sha256" in problem
    monkeypatch.undo()
    again = copy_all(origin, destination)
    assert (again.copied, again.present, again.failed) == (1, 3, [])
    assert destination.open(key).read() == FILES[key]


def test_migrate_refuses_a_target_it_cannot_use_in_one_line(heldout_cli, site_env):
    def line(*args: str, **env: str) -> str:
        done = heldout_cli("storage", "migrate", *args, **{**site_env, **env})
        assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
        return done.stderr.strip().splitlines()[-1]

    assert "already in local storage" in line("--to", "local")
    no_bucket = {k: "" for k in site_env if k.startswith("HELDOUT_S3_")}
    assert "--to s3 needs HELDOUT_S3_BUCKET" in line("--to", "s3", **no_bucket)
    assert "there is no bucket 'heldout-gone'" in line("--to", "s3", HELDOUT_S3_BUCKET="heldout-gone")
    assert "invalid choice: 'nfs'" in line("--to", "nfs")
