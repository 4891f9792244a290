"""One zip of all of a challenge's data files, for clients that download everything at once.

Built on first request and kept in storage under the challenge's content hash:
a changed bundle gets a new archive, and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from heldout.models import Challenge
from heldout.platform.services.errors import NotFound
from heldout.storage import Storage


def archive_key(challenge: Challenge) -> str:
    return f"archives/{challenge.slug}/{challenge.content_hash[:16]}.zip"


def data_archive(storage: Storage, challenge: Challenge) -> Path:
    """A local path of the zip of every data file of ``challenge``, building it if needed."""
    if not challenge.files:
        raise NotFound("This challenge has no data files.", field="slug")
    key = archive_key(challenge)
    if not storage.exists(key):
        fd, tmp_name = tempfile.mkstemp(prefix="heldout-archive-", suffix=".zip")
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for row in challenge.files:
                    archive.write(storage.local_path(row.storage_key), arcname=row.name)
            # Storage writes atomically, so two requests racing to build it leave one whole archive.
            storage.save_file(key, Path(tmp_name))
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    return storage.local_path(key)
