"""``ContentCache``: the copies a remote backend (database, S3) keeps on this machine for ``local_file``.

Each process has a cache directory of its own (under ``cache_root``), where a file is named by its key
and its content hash: a changed file is fetched again, an unchanged one never. The cache is bounded by
``max_bytes``, oldest use first, sparing copies used in the last ten minutes (a sandbox may be about to
mount them). Another process's directory untouched for a day is removed: that process died.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from heldout.storage.base import CHUNK, FileChanged

# Another process's cache directory untouched for this long is abandoned (its process died).
_ABANDONED_CACHE_S = 24 * 3600.0
# A cached copy used this recently is never evicted: a sandbox may be about to mount it.
_EVICTION_GRACE_S = 600.0


class ContentCache:
    def __init__(self, cache_root: Path | None, max_bytes: int):
        self.cache_root = Path(cache_root) if cache_root else Path(tempfile.gettempdir()) / "heldout-cache"
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._cache: Path | None = None
        self._cache_pid: int | None = None

    def get(self, key: str, content_hash: str, fetch: Callable[[], BinaryIO], *,
            sha256: str | None = None) -> Path:
        """The copy of ``key`` whose content hash is ``content_hash``, read from ``fetch()`` unless cached.

        With ``sha256`` the fetched bytes must have it, else ``FileChanged`` (the file was replaced while
        it was read): the caller looks the file up again and retries.
        """
        cache = self._cache_dir()
        target = cache / _cache_name(key, content_hash)
        if target.is_file():
            now = time.time()
            os.utime(target, (now, now))  # last use, for eviction
            os.utime(cache, (now, now))  # this cache is alive
            return target
        self._fetch(key, fetch, target, sha256)
        self._evict(keep=target)
        return target

    def _fetch(self, key: str, fetch: Callable[[], BinaryIO], target: Path, sha256: str | None) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, fetch() as source:
                while data := source.read(CHUNK):
                    digest.update(data)
                    out.write(data)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise FileChanged(f"{key!r} does not match its sha256")
            os.chmod(tmp_name, 0o644)  # sandboxes mount it read-only as an unprivileged user
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def _cache_dir(self) -> Path:
        """This process's own cache directory, made on first use (again after a fork)."""
        with self._lock:
            pid = os.getpid()
            if self._cache is None or self._cache_pid != pid or not self._cache.is_dir():
                self.cache_root.mkdir(parents=True, exist_ok=True)
                self._remove_abandoned()
                self._cache = Path(tempfile.mkdtemp(prefix=f"files-{pid}-", dir=self.cache_root))
                os.chmod(self._cache, 0o755)
                self._cache_pid = pid
                atexit.register(shutil.rmtree, self._cache, ignore_errors=True)
            return self._cache

    def _remove_abandoned(self) -> None:
        # Processes on other hosts may share this directory, so pids say nothing: age does.
        cutoff = time.time() - _ABANDONED_CACHE_S
        for entry in os.scandir(self.cache_root):
            try:
                if entry.name.startswith("files-") and entry.is_dir() and entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry.path, ignore_errors=True)
            except OSError:
                continue

    def _evict(self, *, keep: Path) -> None:
        entries = []
        for entry in os.scandir(keep.parent):
            if entry.name.startswith("."):
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in entries)
        now = time.time()
        for used, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            if path == keep or now - used < _EVICTION_GRACE_S:
                continue
            path.unlink(missing_ok=True)
            total -= size


def _cache_name(key: str, content_hash: str) -> str:
    suffix = PurePosixPath(key).suffix
    return f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{content_hash}{suffix if len(suffix) <= 16 else ''}"
