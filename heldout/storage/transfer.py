"""Copying every stored file from one backend to another (``heldout storage migrate``), verified and resumable.

Each file is streamed from the source into the target (never whole in memory), then the copy's size and
sha256 are checked against the source's. A file the target already holds with the same size and sha256 is
left alone, so a run that stopped half-way is simply run again: it copies only what is missing (or changed
since). Nothing is deleted from either side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from heldout.storage.base import Storage


@dataclass
class TransferReport:
    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    # (key, what was wrong): copies whose size or sha256 differ from the source's; run again to retry them.
    failed: list[tuple[str, str]] = field(default_factory=list)


def copy_all(source: Storage, target: Storage, *,
             on_copied: Callable[[str, int], None] | None = None) -> TransferReport:
    """Copy every file of ``source`` that ``target`` lacks (or holds with other content) into ``target``."""
    report = TransferReport()
    for key in sorted(source.keys()):
        described = source.stat(key)
        if described is None:
            continue  # deleted since it was listed
        size, sha256 = described
        if sha256 is None or target.stat(key) != (size, sha256):
            with source.open(key) as stream:
                got = target.save_stream(key, stream)
            copy = target.stat(key)
            if sha256 is None:  # an object the source cannot vouch for: what was read is what counts
                size, sha256 = got
            if copy != (size, sha256):
                report.failed.append((key, _mismatch((size, sha256), copy)))
                continue
            report.copied += 1
            report.copied_bytes += size
            if on_copied is not None:
                on_copied(key, size)
        else:
            report.present += 1
    return report


def _mismatch(expected: tuple[int, str], copy: tuple[int, str | None] | None) -> str:
    if copy is None:
        return "the copy is missing after it was written"
    if copy[0] != expected[0]:
        return f"the copy has {copy[0]:,} bytes, the source {expected[0]:,} (changed while it was copied?)"
    return f"the copy's sha256 is {copy[1]}, the source's {expected[1]} (changed while it was copied?)"
