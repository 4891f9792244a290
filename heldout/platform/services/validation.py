"""Validation versus leaderboard for one team: its own rows, as much as its board shows, and what they say.

The comparison itself is heldout.leaderboard.validation's; here we gather the
team's scored submissions with the public scores the team was shown
(released_public_scores: rounded on a rounded board; none at all on a ladder
board, which shows no per-submission public score) and its private scores once
the challenge reveals them, and put the result in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.released import released_public_scores
from heldout.leaderboard.validation import Comparison, Point, compare
from heldout.models import Challenge, LeaderboardMode, Submission, SubmissionStatus, User
from heldout.platform.services import leaderboards
from heldout.platform.services.membership import team_for


@dataclass(frozen=True)
class ValidationView:
    challenge: Challenge
    mode: BoardMode
    comparison: Comparison
    notes: dict[int, str]  # each submission's note on how it was validated, by id
    # The team's late submissions (made after the end): never on a board, but the team's own rows, scored on both
    # splits and shown to it with both scores, so they are compared like the others and marked.
    late: frozenset[int]
    public_shown: bool  # False on a ladder board
    private_shown: bool
    # What the board mode leaves out of the chart, said where the chart is; None on a classic board.
    board_note: str | None
    summary: list[str]

    @property
    def flagged(self) -> set[int]:
        return set(self.comparison.public_up_validation_down)

    @property
    def has_validation(self) -> bool:
        return any(p.validation is not None for p in self.comparison.points)


def _rho(value: float | None) -> str:
    return f"{value:.2f}".replace("-", "−") if value is not None else "—"


def _ids(ids: list[int]) -> str:
    named = [f"#{i}" for i in ids]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def board_note(mode: BoardMode) -> str | None:
    if mode.name is LeaderboardMode.ROUNDED:
        return (f"This board is rounded: public scores are shown rounded to {mode.precision} decimal"
                f"{'s' if mode.precision != 1 else ''}, as the board shows them, so submissions the rounding makes "
                f"equal share a rank.")
    if mode.name is LeaderboardMode.LADDER:
        return ("This board is a ladder: it shows no public score per submission, so your validation scores are "
                "not compared with public ones here; once the private scores are revealed they are compared with "
                "those.")
    return None


def _summary(comparison: Comparison, public_shown: bool, private_shown: bool) -> list[str]:
    out = []
    if not any(p.validation is not None for p in comparison.points):
        return ["None of your team's scored submissions carries a validation score yet: give yours with the next "
                "one (the “Validation score” field, or heldout submit --validation-score) to see how it agrees "
                "with the board."]
    if public_shown:
        if comparison.public_correlation is None:
            pairs = comparison.public_pairs
            out.append(f"Rank correlation of validation and public scores: not yet meaningful ({pairs} "
                       f"submission{'s' if pairs != 1 else ''} with both; it needs at least three that differ).")
        else:
            out.append(f"Across {comparison.public_pairs} submissions with both scores, your validation and public "
                       f"scores rank them with a Spearman correlation of {_rho(comparison.public_correlation)} "
                       f"(1: the same order; 0: unrelated; −1: reversed).")
        flagged = comparison.public_up_validation_down
        if flagged:
            out.append(f"{_ids(flagged)} improved on the public board while your validation got worse than the "
                       f"submission before: the sign of fitting the public board.")
        elif comparison.public_pairs >= 2:
            out.append("No submission improved on the public board while your validation got worse.")
    if private_shown:
        v, p = comparison.validation_private_correlation, comparison.public_private_correlation
        if v is None:
            out.append("The private scores are revealed, but too few of your submissions carry a validation score "
                       "to rank them against the private order (it needs at least three that differ).")
        elif not public_shown:
            out.append(f"Against the private scores, your validation ranked your submissions with a Spearman "
                       f"correlation of {_rho(v)}.")
        elif comparison.closer_to_private is None:
            out.append(f"Against the private scores, your validation ranked your submissions with a Spearman "
                       f"correlation of {_rho(v)}; the public scores cannot be ranked against them (they do not "
                       f"differ).")
        else:
            verdict = {"validation": "your validation was closer to the private order than the public board",
                       "public": "the public board was closer to the private order than your validation",
                       "equal": "both were as close to the private order"}[comparison.closer_to_private]
            out.append(f"Against the private scores, your validation ranked your submissions with a Spearman "
                       f"correlation of {_rho(v)}, the public board with {_rho(p)}: {verdict}.")
    return out


def validation_view(session: Session, challenge: Challenge, user: User | None) -> ValidationView | None:
    """The viewer's team's validation comparison; None without a team."""
    team = team_for(session, challenge, user, create=False) if user is not None else None
    if team is None:
        return None
    mode = BoardMode.of(challenge)
    rows = list(session.scalars(select(Submission).where(Submission.team_id == team.id,
                                                         Submission.status == SubmissionStatus.SCORED)
                                .order_by(Submission.created_at, Submission.id)))
    public_shown = mode.name is not LeaderboardMode.LADDER
    private_shown = leaderboards.private_visible(challenge)
    released = released_public_scores(session, rows) if public_shown else {}
    points = [Point(s.id, s.created_at, s.validation_score, released.get(s.id),
                    s.private_score if private_shown else None) for s in rows]
    comparison = compare(points, bool(challenge.greater_is_better))
    return ValidationView(challenge=challenge, mode=mode, comparison=comparison,
                          notes={s.id: s.validation_note for s in rows if s.validation_note},
                          late=frozenset(s.id for s in rows if s.late),
                          public_shown=public_shown, private_shown=private_shown, board_note=board_note(mode),
                          summary=_summary(comparison, public_shown, private_shown))
