"""Send a stored file as a download, streamed from storage, whichever backend holds it."""

from __future__ import annotations

import io

from flask import Response, request, send_file

from heldout.storage import Storage


def send_stored(storage: Storage, key: str, *, download_name: str, etag: str, **options) -> Response:
    """``send_file`` for a storage key: with its length, ETag and Range support (206), so downloads resume.

    The file is read chunk by chunk as the response is sent, never whole; this host needs no copy of it.
    """
    handle = storage.open(key)
    try:
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        # Flask cannot size a stream, so it cannot answer a Range by itself: conditional is done here.
        response = send_file(handle, as_attachment=True, download_name=download_name, etag=etag,
                             conditional=False, **options)
        response.content_length = size
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=size)
    except BaseException:  # a Range past the end (416) included
        handle.close()
        raise
