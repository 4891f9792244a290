"""One zip of all of a challenge's data files, for clients that download everything at once.

Built on first request and kept in storage under the challenge's content hash:
a changed bundle gets a new archive, and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from heldout.models import Challenge
from heldout.platform.services.errors import NotFound
from heldout.storage import CHUNK, Storage


def archive_key(challenge: Challenge) -> str:
    return f"archives/{challenge.slug}/{challenge.content_hash[:16]}.zip"


def data_archive(storage: Storage, challenge: Challenge) -> str:
    """The storage key of the zip of every data file of ``challenge``, building it if needed."""
    if not challenge.files:
        raise NotFound("This challenge has no data files.", field="slug")
    key = archive_key(challenge)
    if not storage.exists(key):
        fd, tmp_name = tempfile.mkstemp(prefix="heldout-archive-", suffix=".zip")
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for row in challenge.files:
                    # Streamed from storage, whichever backend: this host needs no copy of the files.
                    info = zipfile.ZipInfo(row.name, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                    with storage.open(row.storage_key) as source, \
                            archive.open(info, "w", force_zip64=True) as target:
                        shutil.copyfileobj(source, target, CHUNK)
            # Storage writes atomically, so two requests racing to build it leave one whole archive.
            storage.save_file(key, Path(tmp_name))
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    return key
