"""What each storage backend does with one large file: upload, download, a ranged read, and the local copy a
worker makes, with the peak memory each took.

    python bench/bench_storage.py [--mib 100] [--backends local,database-sqlite,database-postgresql,s3]

Prints, per backend: MiB/s and seconds for uploading the file (``save_stream`` from a generated stream),
downloading it whole (``open`` + read), reading 1 MiB from its middle (a ``Range`` request's path; median of
5), and fetching it into a worker's cache (``local_file``), each with the peak of Python's allocations during
that step (tracemalloc) and the process's peak RSS so far. S3 runs against moto's standalone S3 server on a
loopback port (tests/s3_server.py), which keeps objects in its own memory and temporary files: its figures
measure the client's streaming and the protocol, not a real store's disks. PostgreSQL is the one at
HELDOUT_TEST_POSTGRES_URL (a scratch database is created and dropped); it is skipped, saying so, if that does
not answer.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heldout.storage import CHUNK, DatabaseStorage, LocalStorage  # noqa: E402

MiB = 1024 * 1024
BACKENDS = ("local", "database-sqlite", "database-postgresql", "s3")


class Generated(io.RawIOBase):
    """``total`` bytes of a repeating pattern, made on demand: the source never sits in memory."""

    def __init__(self, total: int):
        super().__init__()
        self.total, self.sent = total, 0
        self.block = bytes(range(256)) * (MiB // 256)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = min(len(buffer), self.total - self.sent, MiB)
        memoryview(buffer)[:n] = self.block[:n]
        self.sent += n
        return n


def measured(step):  # noqa: ANN001, ANN201
    """(seconds, peak traced bytes, result) of one call."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = step()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak, result


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(storage, total: int) -> list[tuple[str, float, int, float]]:  # noqa: ANN001
    key = "bench/train.csv"
    rows = []
    seconds, peak, (size, sha) = measured(lambda: storage.save_stream(key, io.BufferedReader(Generated(total),
                                                                                               buffer_size=MiB)))
    assert size == total
    rows.append(("upload", seconds, peak, peak_rss_mib()))

    def download() -> str:
        digest = hashlib.sha256()
        with storage.open(key) as handle:
            while data := handle.read(CHUNK):
                digest.update(data)
        return digest.hexdigest()

    seconds, peak, got = measured(download)
    assert got == sha, "the download does not match the upload"
    rows.append(("download", seconds, peak, peak_rss_mib()))

    def ranged() -> bytes:
        with storage.open(key) as handle:
            handle.seek(total // 2)
            return handle.read(MiB)

    times = []
    peak_ranged = 0
    for _ in range(5):
        seconds, peak, data = measured(ranged)
        assert len(data) == MiB
        times.append(seconds)
        peak_ranged = max(peak_ranged, peak)
    rows.append(("ranged 1 MiB", sorted(times)[2], peak_ranged, peak_rss_mib()))

    seconds, peak, path = measured(lambda: storage.local_file(key))
    assert path.stat().st_size == total
    rows.append(("worker copy", seconds, peak, peak_rss_mib()))
    storage.delete(key)
    return rows


def make(kind: str, scratch: Path):  # noqa: ANN201
    """(storage, clean-up) for one backend, or (None, reason)."""
    from heldout.db import make_engine
    from heldout.migrate import upgrade

    if kind == "local":
        return LocalStorage(scratch / "files"), lambda: None
    if kind == "database-sqlite":
        engine = make_engine(f"sqlite:///{scratch / 'bench.sqlite3'}")
        upgrade(engine)
        return DatabaseStorage(engine, cache_dir=scratch / "cache-sqlite"), engine.dispose
    if kind == "database-postgresql":
        from sqlalchemy import create_engine, text

        admin_url = os.environ.get("HELDOUT_TEST_POSTGRES_URL",
                                   "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        try:
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            name = f"heldout_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # noqa: BLE001
            return None, f"PostgreSQL at {admin_url} does not answer: {str(exc).splitlines()[0]}"
        engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
        upgrade(engine)

        def drop() -> None:
            engine.dispose()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return DatabaseStorage(engine, cache_dir=scratch / "cache-pg"), drop
    if kind == "s3":
        from heldout.storage.s3 import S3Storage
        from tests.s3_server import MotoServer, new_bucket

        try:
            server = MotoServer(scratch / "moto.log")
        except Exception as exc:  # noqa: BLE001
            return None, f"moto_server did not start (pip install 'moto[server]'): {exc}"
        return S3Storage.from_settings(new_bucket(server.url), cache_dir=scratch / "cache-s3"), server.stop
    raise SystemExit(f"unknown backend {kind!r}; choose from {', '.join(BACKENDS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=100, help="the file's size in MiB (default 100)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    total = args.mib * MiB
    print(f"one {args.mib} MiB file per backend; peak = Python's allocations during the step (tracemalloc), "
          f"rss = the process's peak resident memory so far; {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'backend':<20} {'step':<13} {'seconds':>8} {'MiB/s':>8} {'peak MiB':>9} {'rss MiB':>8}")
    for kind in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="heldout-bench-storage-") as scratch:
            storage, clean = make(kind, Path(scratch))
            if storage is None:
                print(f"{kind:<20} skipped: {clean}")
                continue
            try:
                for step, seconds, peak, rss in run(storage, total):
                    if step == "worker copy" and kind == "local":
                        print(f"{kind:<20} {step:<13} {'none: local_file is the stored file itself':>36}")
                        continue
                    moved = MiB if step.startswith("ranged") else total
                    print(f"{kind:<20} {step:<13} {seconds:>8.3f} {moved / MiB / seconds:>8.1f} "
                          f"{peak / MiB:>9.1f} {rss:>8.0f}", flush=True)
            finally:
                clean()


if __name__ == "__main__":
    main()
