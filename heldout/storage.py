"""Where uploads, challenge files and solutions live.

One small interface so that workers on other machines can later read the same
keys from an object store instead of a shared disk. Keys are relative POSIX
paths chosen by Heldout, never by users.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """An upload went past its size limit while it was being streamed."""

    def __init__(self, limit: int):
        super().__init__(f"the file is larger than the limit of {limit:,} bytes")
        self.limit = limit


class Storage(Protocol):
    def save_stream(self, key: str, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[int, str]: ...
    def save_file(self, key: str, source: Path) -> tuple[int, str]: ...
    def open(self, key: str) -> BinaryIO: ...
    def local_path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one directory; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

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

    def local_path(self, key: str) -> Path:
        """A path on this machine holding the file (for mounting into a sandbox)."""
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
