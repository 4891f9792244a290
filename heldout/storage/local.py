"""``LocalStorage``: files under one directory (``HELDOUT_DATA_DIR/files``), on one host or a shared disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from heldout.storage.base import _KEY, CHUNK, TooLarge, check_key


class LocalStorage:
    """Files under one directory; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[int, str]:
        """Copy a stream into storage; returns (size, sha256). Stops as soon as max_bytes is passed."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
            # Readable by the sandbox's unprivileged user when mounted; the data
            # directory itself is what keeps other host users out.
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return size, digest.hexdigest()

    def save_file(self, key: str, source: Path) -> tuple[int, str]:
        with open(source, "rb") as handle:
            return self.save_stream(key, handle)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def local_file(self, key: str) -> Path:
        """The stored file itself: nothing to copy."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no stored file {key!r}")
        return path

    def local_path(self, key: str) -> Path:
        """Where ``key`` lives or would live under the root (LocalStorage only: tests write fixtures there)."""
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            name = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and _KEY.match(name):
                yield name

    def stat(self, key: str) -> tuple[int, str | None] | None:
        """(size, sha256): the hash is computed, reading the file."""
        try:
            with self.open(key) as handle:
                digest, size = hashlib.sha256(), 0
                while data := handle.read(CHUNK):
                    digest.update(data)
                    size += len(data)
        except (FileNotFoundError, IsADirectoryError):
            return None
        return size, digest.hexdigest()

    def check(self) -> None:
        """Nothing to check: the directory is made when the first file is written."""

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
