"""The public/private split of a challenge's hidden solution.

A bundle either marks every solution row ``Public`` or ``Private`` itself (a
``Usage`` column, as Kaggle does) or gives ``public_fraction`` and ``seed`` and
lets :func:`assign_usage` draw the split once, when the bundle is loaded.

The draw ranks rows by a SHA-256 of ``seed`` and the row's id, not by a
pseudo-random generator: the result depends only on the ids, the seed and the
fraction, never on the row order, the platform or the NumPy version, so the
same bundle always splits the same way (a moved leaderboard would be a bug).
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

PUBLIC = "Public"
PRIVATE = "Private"
USAGE_VALUES = (PUBLIC, PRIVATE)


def _rank_key(seed: int, row_id: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{row_id}".encode("utf-8")).digest()


def public_count(n_rows: int, public_fraction: float) -> int:
    """How many of ``n_rows`` are public: rounded, but never all nor none (given 2+ rows)."""
    if n_rows < 2:
        raise ValueError("a public/private split needs at least 2 rows")
    if not 0.0 < public_fraction < 1.0:
        raise ValueError("public_fraction must be strictly between 0 and 1")
    return min(n_rows - 1, max(1, round(n_rows * public_fraction)))


def assign_usage(ids: Sequence[str], public_fraction: float, seed: int) -> list[str]:
    """``Public``/``Private`` for each id, in the order given.

    Ids must be distinct (the solution's own checks ensure that first).
    """
    ids = [str(i) for i in ids]
    n_public = public_count(len(ids), public_fraction)
    ranked = sorted(range(len(ids)), key=lambda k: _rank_key(seed, ids[k]))
    public = set(ranked[:n_public])
    return [PUBLIC if k in public else PRIVATE for k in range(len(ids))]


def usage_problems(values: Iterable[str]) -> list[str]:
    """Plain-language problems with a Usage column (empty when it is usable)."""
    values = list(values)
    problems = []
    bad = sorted({v for v in values if v not in USAGE_VALUES})
    if bad:
        shown = ", ".join(repr(v) for v in bad[:5])
        problems.append(f"Usage values must be Public or Private; found {shown}")
    if PUBLIC not in values:
        problems.append("no Public rows: the public leaderboard would be empty")
    if PRIVATE not in values:
        problems.append("no Private rows: the final ranking would have nothing held out")
    return problems
