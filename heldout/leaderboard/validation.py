"""Validation versus leaderboard: a team's own validation scores set against the scores its board showed it.

Pure functions over plain values (see ranking.py). A learner may give each
submission the score their own validation gave it ("5-fold CV", "time split"),
in the challenge's metric. Walking the team's submissions in the order they
were made, these functions say how well the validation ranks agree with the
public ones (Spearman's rank correlation), which submissions improved on the
public board while validation got worse (the sign of fitting the public
board), and, once the private scores are revealed, which of the two ranked the
submissions closer to the private order.

The public scores given here must be the ones the team was shown
(leaderboard.released: rounded on a rounded board); a ladder board shows no
per-submission public score, and its callers pass none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from heldout.leaderboard.ranking import beats

NOTE_MAX_CHARS = 120
# Fewer points than this and a rank correlation says nothing (two points always correlate perfectly).
MIN_POINTS = 3


class InvalidValidation(ValueError):
    """A validation score or note that cannot be stored; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def parse_validation(score: str | None, note: str | None) -> tuple[float | None, str | None]:
    """The validation score and note a learner typed, checked: (None, None) when both are left empty.

    >>> parse_validation(" 0.431 ", "5-fold CV")
    (0.431, '5-fold CV')
    >>> parse_validation("", "  ")
    (None, None)
    >>> try:
    ...     parse_validation("nan", None)
    ... except InvalidValidation as error:
    ...     print(error.field, "-", error.message)
    validation_score - validation_score must be a finite number such as 0.431, not 'nan'.
    """
    raw = (score or "").strip()
    text = (note or "").strip()
    value: float | None = None
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise InvalidValidation("validation_score", f"validation_score must be a number such as 0.431, "
                                                        f"not {raw[:40]!r}.") from None
        if not math.isfinite(value):
            raise InvalidValidation("validation_score", f"validation_score must be a finite number such as 0.431, "
                                                        f"not {raw[:40]!r}.")
    if text:
        if any(ch in text for ch in "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"):
            raise InvalidValidation("validation_note", "validation_note must be one line, such as '5-fold CV'.")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise InvalidValidation("validation_note", "validation_note must be plain text without control "
                                                       "characters.")
        if len(text) > NOTE_MAX_CHARS:
            raise InvalidValidation("validation_note", f"validation_note must be at most {NOTE_MAX_CHARS} "
                                                       f"characters, not {len(text)}.")
        if value is None:
            raise InvalidValidation("validation_note", "validation_note says how a validation score was found: "
                                                       "give the validation_score with it.")
    return value, text or None


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation of two equally long lists (ties take their average rank); None when it says
    nothing: fewer than three pairs, or one list all equal.

    >>> spearman([0.1, 0.2, 0.3, 0.4], [0.5, 0.7, 0.6, 0.9])
    0.8
    >>> spearman([1, 2, 3], [3, 2, 1])
    -1.0
    >>> spearman([1, 2, 3], [5, 5, 5]) is None, spearman([1, 2], [1, 2]) is None
    (True, True)
    """
    from scipy.stats import spearmanr  # imported when needed: scipy takes a while to load

    if len(xs) != len(ys):
        raise ValueError("spearman needs two lists of the same length")
    if len(xs) < MIN_POINTS or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    rho = float(spearmanr(xs, ys).statistic)
    return round(rho, 12) if math.isfinite(rho) else None


@dataclass(frozen=True)
class Point:
    """One submission with its validation score, and the public and private scores its team may see (or None)."""

    submission_id: int
    submitted_at: datetime
    validation: float | None
    public: float | None
    private: float | None = None


@dataclass(frozen=True)
class Comparison:
    points: list[Point]
    # Validation against public, over the submissions with both.
    public_correlation: float | None
    public_pairs: int
    # Submissions whose public score beat the team's previous submission's while their validation score was worse.
    public_up_validation_down: list[int]
    # Once the private scores are shown: each against the private order, over the submissions with all three
    # (validation with private alone when no public score is shown).
    validation_private_correlation: float | None
    public_private_correlation: float | None
    private_pairs: int
    # "validation", "public", "equal", or None when it cannot be said.
    closer_to_private: str | None


def _v(score: float | None) -> float:
    assert score is not None  # the callers keep only the points that have it
    return score


def compare(points: Sequence[Point], greater_is_better: bool) -> Comparison:
    """Set a team's validation scores against its public (and private) scores; ``points`` in the order made.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> made = [Point(1, t, 0.80, 0.70, 0.71), Point(2, t, 0.82, 0.72, 0.73), Point(3, t, 0.79, 0.75, 0.70)]
    >>> result = compare(made, greater_is_better=True)
    >>> result.public_correlation, result.public_up_validation_down
    (-0.5, [3])
    >>> result.validation_private_correlation, result.public_private_correlation, result.closer_to_private
    (1.0, -0.5, 'validation')
    """
    with_public = [p for p in points if p.validation is not None and p.public is not None]
    flagged = []
    for before, after in zip(with_public, with_public[1:]):
        if beats(_v(after.public), _v(before.public), greater_is_better) and \
                beats(_v(before.validation), _v(after.validation), greater_is_better):
            flagged.append(after.submission_id)
    public_rho = spearman([_v(p.validation) for p in with_public], [_v(p.public) for p in with_public])

    public_shown = any(p.public is not None for p in points)
    judged = [p for p in points if p.validation is not None and p.private is not None
              and (p.public is not None or not public_shown)]
    validation_rho = spearman([_v(p.validation) for p in judged], [_v(p.private) for p in judged])
    public_private_rho = spearman([_v(p.public) for p in judged], [_v(p.private) for p in judged]) \
        if public_shown else None
    closer = None
    if validation_rho is not None and public_private_rho is not None:
        if math.isclose(validation_rho, public_private_rho, abs_tol=1e-9):
            closer = "equal"
        else:
            closer = "validation" if validation_rho > public_private_rho else "public"
    return Comparison(points=list(points), public_correlation=public_rho, public_pairs=len(with_public),
                      public_up_validation_down=flagged, validation_private_correlation=validation_rho,
                      public_private_correlation=public_private_rho, private_pairs=len(judged),
                      closer_to_private=closer)
