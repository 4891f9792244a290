"""Leaderboard modes: what score a team's row shows, from its scored submissions.

- ``classic``: the team's best public score, as it is.
- ``rounded``: scores are rounded to ``digits`` decimals *before* ranking, so the
  board cannot be read for differences it does not show; the earliest submission
  that reached the best rounded score holds the row.
- ``ladder``: Blum & Hardt's Ladder (2015). Walking the team's submissions in the
  order they were made, the shown score moves only when a submission beats it by
  more than ``step``, and then to that score rounded to a multiple of ``step``.
  Tiny "improvements" found by probing the public split earn nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

from heldout.leaderboard.ranking import Entry, best_entry
from heldout.models import LeaderboardMode

MODES = tuple(mode.value for mode in LeaderboardMode)


@dataclass(frozen=True)
class BoardMode:
    name: LeaderboardMode  # a mode's name ("classic", ...) is taken too
    greater_is_better: bool
    display_precision: int
    digits: int | None = None
    step: float | None = None

    def __post_init__(self) -> None:
        if self.name not in MODES:
            raise ValueError(f"leaderboard mode must be one of {', '.join(MODES)}, not {self.name!r}")
        object.__setattr__(self, "name", LeaderboardMode(self.name))
        if self.name is LeaderboardMode.ROUNDED and (self.digits is None or self.digits < 0):
            raise ValueError("the rounded leaderboard needs digits >= 0")
        if self.name is LeaderboardMode.LADDER and not (self.step and self.step > 0):
            raise ValueError("the ladder leaderboard needs a step greater than 0")

    @classmethod
    def of(cls, challenge) -> "BoardMode":  # noqa: ANN001 - a Challenge, or anything with its fields
        rules = (challenge.rules or {}).get("leaderboard") or {}
        return cls(name=challenge.leaderboard_mode or rules.get("mode") or LeaderboardMode.CLASSIC,
                   greater_is_better=bool(challenge.greater_is_better),
                   display_precision=int(challenge.display_precision if challenge.display_precision is not None else 5),
                   digits=rules.get("digits"), step=rules.get("step"))

    @property
    def _digits(self) -> int:
        assert self.digits is not None  # __post_init__ requires it of a rounded board
        return self.digits

    @property
    def _step(self) -> float:
        assert self.step is not None  # __post_init__ requires it of a ladder board
        return self.step

    @property
    def precision(self) -> int:
        """Decimals to print a board score with."""
        if self.name is LeaderboardMode.ROUNDED:
            return int(self._digits)
        if self.name is LeaderboardMode.LADDER:
            # A ladder score is a multiple of the step: print as many decimals as the step has.
            exponent = Decimal(str(self.step)).normalize().as_tuple().exponent
            return max(0, -int(exponent))
        return self.display_precision

    @property
    def shows_interval(self) -> bool:
        """Bootstrap intervals would give back the digits the rounded and ladder modes withhold."""
        return self.name is LeaderboardMode.CLASSIC

    def describe(self) -> str:
        """The mode in one plain sentence, for the rules panel."""
        if self.name is LeaderboardMode.ROUNDED:
            return (f"Rounded: scores are rounded to {self.digits} decimal{'s' if self.digits != 1 else ''} "
                    f"before ranking; equal rounded scores go to the earlier submission.")
        if self.name is LeaderboardMode.LADDER:
            return (f"Ladder: a team's score moves only when a submission beats it by more than {self.step:g}, "
                    f"and then to a multiple of {self.step:g}.")
        return "Classic: each team's best public score as it is, with its 95% bootstrap interval."

    def withheld(self) -> list[tuple[str, str]]:
        """What this mode keeps from the public board and from a team's own pages, and why: (what, why)."""
        if self.name is LeaderboardMode.CLASSIC:
            return []
        if self.name is LeaderboardMode.ROUNDED:
            exact = (f"scores are rounded to {self.digits} decimals so the public board can't be probed")
        else:
            exact = (f"a submission shows only the ladder's value, so gains of {self.step:g} or less found by "
                     f"probing the public split earn nothing")
        return [("exact public scores", exact),
                ("95% intervals", "they would give back the digits the board withholds"),
                ("per-submission diagnostics", "withheld for the same reason: a confusion matrix or residuals "
                                               "give back the exact public score")]

    def board_entry(self, entries: Sequence[Entry]) -> Entry | None:
        """The row one team earns: its submission and the score shown.

        ``entries`` are the team's scored submissions in the order they were made.
        """
        if self.name is LeaderboardMode.ROUNDED:
            return best_entry((Entry(e.submission_id, to_digits(e.score, self._digits), e.submitted_at)
                               for e in entries), self.greater_is_better)
        if self.name is LeaderboardMode.LADDER:
            return ladder(entries, self._step, self.greater_is_better)
        return best_entry(entries, self.greater_is_better)

    def released(self, entries: Sequence[Entry]) -> dict[int, float]:
        """The public score each submission shows its own team, by submission id.

        Classic: the score itself. Rounded: the score rounded to ``digits``.
        Ladder: the Ladder's released value just after that submission (Blum &
        Hardt's feedback), so the team learns no more than the board shows.
        ``entries`` are the team's scored submissions in the order they were made.
        """
        if self.name is LeaderboardMode.ROUNDED:
            return {e.submission_id: to_digits(e.score, self._digits) for e in entries if math.isfinite(e.score)}
        if self.name is LeaderboardMode.LADDER:
            released: dict[int, float] = {}
            shown: Entry | None = None
            for entry in entries:
                shown = ladder_step(shown, entry, self._step, self.greater_is_better)
                if shown is not None and math.isfinite(entry.score):
                    released[entry.submission_id] = shown.score
            return released
        return {e.submission_id: e.score for e in entries}

    def shown(self, score: float | None) -> float | None:
        """A score the board has not released per submission (a record line), at the board's resolution."""
        if score is None or not math.isfinite(score):
            return score
        if self.name is LeaderboardMode.ROUNDED:
            return to_digits(score, self._digits)
        if self.name is LeaderboardMode.LADDER:
            return to_step(score, self._step)
        return score


# Rounding goes through the decimal a person reads (repr), half up: 0.815 to two digits is 0.82, as printed
# on paper, not 0.81 as binary floating point would have it.

def to_digits(score: float, digits: int) -> float:
    """``score`` rounded half up to ``digits`` decimals."""
    return float(Decimal(repr(score)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def to_step(score: float, step: float) -> float:
    """``score`` rounded half up to the nearest multiple of ``step`` (the Ladder's [x]_η)."""
    unit = Decimal(repr(step))
    return float((Decimal(repr(score)) / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit)


def ladder(entries: Sequence[Entry], step: float, greater_is_better: bool) -> Entry | None:
    """The Ladder's released score after the team's submissions, and the submission that set it."""
    shown: Entry | None = None
    for entry in entries:
        shown = ladder_step(shown, entry, step, greater_is_better)
    return shown


def ladder_step(shown: Entry | None, entry: Entry, step: float, greater_is_better: bool) -> Entry | None:
    """The Ladder's released entry after one more submission."""
    if not math.isfinite(entry.score):
        return shown
    if shown is not None:
        gain = entry.score - shown.score if greater_is_better else shown.score - entry.score
        # Rounded so that a gain of exactly one step (0.52 - 0.51 = 0.010000000000000009) is not "more".
        if round(gain, 12) <= step:
            return shown
    return Entry(entry.submission_id, to_step(entry.score, step), entry.submitted_at)
