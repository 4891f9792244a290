"""Ranking rules as pure functions over plain values: no database, no Flask.

Every board in Heldout orders entries the same way (Kaggle's rule): the better
score first; equal scores go to the earlier submission, then the lower id. So
ranks are always distinct, and a tie is decided by who got there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence, TypeVar


@dataclass(frozen=True)
class Entry:
    """One scored submission as ranking sees it."""

    submission_id: int
    score: float
    submitted_at: datetime


E = TypeVar("E")


def order_key(score: float, submitted_at: datetime, submission_id: int, greater_is_better: bool) -> tuple:
    """Sorting by this puts the best entry first, ties to the earlier submission, then the lower id."""
    return (-score if greater_is_better else score, submitted_at, submission_id)


def entry_key(entry: Entry, greater_is_better: bool) -> tuple:
    return order_key(entry.score, entry.submitted_at, entry.submission_id, greater_is_better)


def best_entry(entries: Iterable[Entry], greater_is_better: bool) -> Entry | None:
    return min(entries, key=lambda e: entry_key(e, greater_is_better), default=None)


def beats(score: float, other: float, greater_is_better: bool, *, by: float = 0.0) -> bool:
    """Whether ``score`` is better than ``other`` by strictly more than ``by``."""
    return score - other > by if greater_is_better else other - score > by


def shake_up(public_rank: int | None, private_rank: int) -> int | None:
    """Places gained from the public to the private board (positive = climbed); None if not on the public board."""
    return None if public_rank is None else public_rank - private_rank


def rank_change(previous_rank: int | None, rank: int) -> int | None:
    """Places gained since the previous standings (positive = climbed); None for a newcomer."""
    return None if previous_rank is None else previous_rank - rank


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def statistically_tied_top(intervals: Sequence[tuple[float, float] | None]) -> int:
    """How many of the top ranks cannot be told apart from the leader (1 when the leader stands alone).

    ``intervals`` are the 95% bootstrap intervals of the board's rows in rank order.
    A rank is tied with the leader when its interval overlaps the leader's; we stop
    at the first rank that does not (or that has no interval), so the answer always
    describes ranks 1..k. Overlapping intervals is a conservative test: it calls a
    tie more readily than a paired test would, which is the right way to err on a
    leaderboard that invites over-reading small differences.
    """
    if not intervals or intervals[0] is None:
        return 1 if intervals else 0
    leader = intervals[0]
    tied = 1
    for interval in intervals[1:]:
        if interval is None or not intervals_overlap(leader, interval):
            break
        tied += 1
    return tied


def tie_bands(intervals: Sequence[tuple[float, float] | None]) -> list[int]:
    """The statistical tie band of each row of a board, in rank order: rows that cannot be told apart share one.

    ``intervals`` are the rows' 95% bootstrap intervals, best rank first. The first row is in
    band 1; each next row shares the band of the row above when their intervals overlap, and
    starts the next band when they do not, or when either has no interval (nothing can be
    said, so no tie is claimed). A band is a chain: a row may share a band with the one above
    it without overlapping the band's first row, as on a board read from the top. An
    instructor grades by band, not by the fourth decimal.

    >>> tie_bands([(0.90, 0.95), (0.89, 0.93), (0.80, 0.88), (0.79, 0.81), None, (0.70, 0.80)])
    [1, 1, 2, 2, 3, 4]
    >>> tie_bands([])
    []
    """
    bands: list[int] = []
    for i, interval in enumerate(intervals):
        above = intervals[i - 1] if i else None
        if not bands:
            bands.append(1)
        elif interval is not None and above is not None and intervals_overlap(above, interval):
            bands.append(bands[-1])
        else:
            bands.append(bands[-1] + 1)
    return bands


def choose_finals(candidates: Sequence[E], limit: int, *, selected, public_key) -> list[E]:  # noqa: ANN001
    """The submissions that count on the private board for one team.

    The team's own selection when it made one (at most ``limit``, the best public
    ones first if it somehow holds more); otherwise its ``limit`` best public
    submissions, chosen for it as on Kaggle. ``selected(c)`` says whether the team
    picked ``c``; ``public_key(c)`` orders by public score, best first.
    """
    chosen = [c for c in candidates if selected(c)] or list(candidates)
    return sorted(chosen, key=public_key)[:max(0, limit)]
