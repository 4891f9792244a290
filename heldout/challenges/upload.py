"""What every uploaded file goes through, wherever it arrives: read no further than its size limit, and keep
only its own name.

The web tier's services (a submission, a dry run, an organizer's bundle) and the
CSV reader inside the sandbox all read uploads through ``bounded_chunks``, so an
oversized or endless upload stops at its limit instead of filling memory or disk.
This module imports nothing of Heldout: it runs in the sandbox too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

CHUNK = 1 << 20
MAX_FILENAME = 255


class TooLarge(ValueError):
    """More than ``limit`` bytes arrived."""

    def __init__(self, limit: int):
        super().__init__(f"the file is larger than the limit of {limit:,} bytes")
        self.limit = limit


def bounded_chunks(stream: IO, max_bytes: int, *, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The stream's content in chunks, raising ``TooLarge`` as soon as more than ``max_bytes`` arrived.

    Text read from a text stream is encoded as UTF-8 (and counted as such).
    """
    total = 0
    while chunk := stream.read(chunk_size):
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(max_bytes)
        yield chunk


def read_bounded(stream: IO, max_bytes: int, *, chunk_size: int = CHUNK) -> bytes:
    """All of the stream, or ``TooLarge`` past ``max_bytes`` (with no more than that held in memory)."""
    return b"".join(bounded_chunks(stream, max_bytes, chunk_size=chunk_size))


def clean_filename(name: str | None) -> str:
    """The file's own name from what a browser or client sent: no directories (either slash), at most 255
    characters, no surrounding space; "" when nothing is left."""
    return (name or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:MAX_FILENAME]
