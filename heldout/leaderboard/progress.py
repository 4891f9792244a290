"""How far a learner got on one challenge of the practice roadmap, as pure functions over plain values.

Four marks, each above the one before: "not tried" (the learner's team made no
submission), "tried" (it made at least one, scored or not, late ones included:
practising on a closed challenge is practice), "beat the baseline" (its best
public score, as its board shows it, is better than the bundle's baseline) and
"top 10% of the public board" (its row on the public board is in the first
tenth; a board of fewer than ten teams has none). Only the public board's rows count for the last one, so host and late
submissions, which never stand on a board, never earn it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from heldout.leaderboard.ranking import beats


class Progress(enum.StrEnum):
    NOT_TRIED = "not_tried"
    TRIED = "tried"
    BEAT_BASELINE = "beat_baseline"
    TOP_TENTH = "top_10_percent"

    @property
    def label(self) -> str:
        """The mark as the page says it."""
        return _LABELS[self]


_LABELS = {Progress.NOT_TRIED: "not tried", Progress.TRIED: "tried", Progress.BEAT_BASELINE: "beat the baseline",
           Progress.TOP_TENTH: "top 10% of the public board"}


def baseline_score(greater_is_better: bool, score_min: float | None, score_max: float | None,
                   measured: float | None = None) -> float | None:
    """The score to beat: the baseline's public score when the organizer's check measured it, else the better
    end of the range the bundle promises for it (a score past that beats whatever the baseline scored).

    >>> baseline_score(True, 0.86, 0.96)
    0.96
    >>> baseline_score(False, 0.48, 0.56)
    0.48
    >>> baseline_score(False, 0.48, 0.56, measured=0.52)
    0.52
    >>> baseline_score(True, None, None) is None
    True
    """
    if measured is not None:
        return measured
    return score_max if greater_is_better else score_min


def best_score(scores: Iterable[float | None], greater_is_better: bool) -> float | None:
    """The best of a team's shown public scores; None when none is known.

    >>> best_score([0.7, None, 0.9, 0.8], True), best_score([0.7, None, 0.9], False)
    (0.9, 0.7)
    """
    known = [s for s in scores if s is not None]
    if not known:
        return None
    return max(known) if greater_is_better else min(known)


def in_top_tenth(rank: int | None, teams: int) -> bool:
    """Whether a public rank is in the first tenth of the ``teams`` ranked.

    A board of fewer than ten teams has no top tenth: leading three teams, or
    standing alone, is not the mark of the top 10%.

    >>> [in_top_tenth(r, 30) for r in (1, 3, 4)]
    [True, True, False]
    >>> in_top_tenth(1, 9), in_top_tenth(1, 10), in_top_tenth(None, 40)
    (False, True, False)
    """
    return rank is not None and rank >= 1 and rank * 10 <= teams


def progress(*, tried: bool, best: float | None, baseline: float | None, rank: int | None, teams: int,
             greater_is_better: bool) -> Progress:
    """The mark one team earned on one challenge.

    ``best`` is its best public score as its board shows it (rounded, laddered);
    ``rank`` its row's place on the public board (None without one).

    >>> progress(tried=True, best=0.50, baseline=0.48, rank=None, teams=0, greater_is_better=False).label
    'tried'
    >>> progress(tried=True, best=0.47, baseline=0.48, rank=9, teams=20, greater_is_better=False).label
    'beat the baseline'
    >>> progress(tried=True, best=0.47, baseline=0.48, rank=2, teams=20, greater_is_better=False).label
    'top 10% of the public board'
    """
    if in_top_tenth(rank, teams):
        return Progress.TOP_TENTH
    if best is not None and baseline is not None and beats(best, baseline, greater_is_better):
        return Progress.BEAT_BASELINE
    return Progress.TRIED if tried else Progress.NOT_TRIED
