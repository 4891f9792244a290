"""Solutions read once by a long-lived scorer and shared by every child it forks.

Reading a challenge's solution costs as much as reading a submission of the same size (for a 1,000,000-row
challenge, most of a second), and it is the same file for every submission. The warm scorer's server
(``runner/sandbox/_warm_server.py``) reads each solution here, in its own process, before it forks the child
that reads the submission: the child inherits the parsed solution (copy-on-write) instead of parsing it again.

A solution is the organizer's file, checked when the challenge was loaded; a submission is never read here.
An entry is found again only for the same file (device, inode, size, modification time) read with the same
spec; anything that fails to read is not kept, and the child reads the file itself and reports what is wrong
as it always did.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable

from .spec import ScoringSpec
from .validation import Solution, read_solution

MAX_ENTRIES = 4
# Larger solutions are read by each child: the server's own memory is small next to a child's budget.
MAX_FILE_BYTES = 64 << 20


def cache_key(path: str, spec: dict) -> tuple | None:
    """What identifies one reading of a solution file; None when the file cannot be looked at.

    >>> cache_key("/nonexistent/solution.csv", {}) is None
    True
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            json.dumps(spec, sort_keys=True))


class SolutionCache:
    """The last ``max_entries`` solutions read, by :func:`cache_key`."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_file_bytes: int = MAX_FILE_BYTES,
                 reader: Callable[[str, ScoringSpec], Solution] = read_solution):
        self.max_entries = max_entries
        self.max_file_bytes = max_file_bytes
        self._reader = reader
        self._entries: OrderedDict[tuple, Solution] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, path: str, spec: dict) -> bool:
        """Read the solution into the cache if it is not there (and small enough); whether it is there now."""
        key = cache_key(path, spec)
        if key is None or key[3] > self.max_file_bytes:
            return False
        if key in self._entries:
            self._entries.move_to_end(key)
            return True
        try:
            solution = self._reader(path, ScoringSpec.from_dict(spec))
        except Exception:  # noqa: BLE001 - the child reads it again and reports the problem as it always did
            return False
        self._entries[key] = solution
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def reader_for(self, spec: dict) -> Callable[[str, ScoringSpec], Solution]:
        """A ``read_solution`` for the scorer's entry point: the cached solution when the file is the same."""

        def read(path: str, parsed: ScoringSpec) -> Solution:
            cached = self._entries.get(cache_key(path, spec) or ())
            return cached if cached is not None else self._reader(path, parsed)

        return read
