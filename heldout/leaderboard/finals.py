"""Which submissions count on the private leaderboard.

A team's selected final submissions (up to the challenge's number); a team that
selected none gets its best public submissions chosen for it, as on Kaggle.
Only scored submissions count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from heldout.leaderboard.ranking import choose_finals, order_key
from heldout.leaderboard.sql import public_submission_order
from heldout.models import Challenge, Submission, SubmissionStatus


@dataclass(frozen=True)
class Candidate:
    submission_id: int
    team_id: int
    public_score: float
    private_score: float | None
    submitted_at: datetime
    selected: bool


def _columns():  # noqa: ANN202
    return (Submission.id.label("submission_id"), Submission.team_id, Submission.public_score,
            Submission.private_score, Submission.created_at.label("submitted_at"),
            Submission.selected_final.label("selected"))


def _scored(challenge: Challenge) -> tuple:
    return (Submission.challenge_id == challenge.id, Submission.status == SubmissionStatus.SCORED,
            Submission.public_score.is_not(None))


def _choose(challenge: Challenge, candidates: list[Candidate]) -> list[Candidate]:
    gib = challenge.greater_is_better
    return choose_finals(candidates, challenge.max_final_submissions, selected=lambda c: c.selected,
                         public_key=lambda c: order_key(c.public_score, c.submitted_at, c.submission_id, gib))


def team_finals(session: Session, challenge: Challenge, team_id: int) -> list[Candidate]:
    """The submissions that count for one team, best public first."""
    rows = session.execute(select(*_columns()).where(*_scored(challenge), Submission.team_id == team_id)).all()
    return _choose(challenge, [Candidate(**r._mapping) for r in rows])


def all_finals(session: Session, challenge: Challenge) -> dict[int, list[Candidate]]:
    """The submissions that count for every team, by team id.

    One pass over the challenge's scored submissions: each team's selected ones
    plus its N best public ones (a window function), from which ``choose_finals``
    keeps the selection if there is one.
    """
    numbered = select(*_columns(), func.row_number().over(
        partition_by=Submission.team_id, order_by=public_submission_order(challenge.greater_is_better)).label("n")
    ).where(*_scored(challenge)).subquery()
    rows = session.execute(select(numbered).where(or_(numbered.c.n <= challenge.max_final_submissions,
                                                      numbered.c.selected.is_(True)))).all()
    by_team: dict[int, list[Candidate]] = {}
    for r in rows:
        values = dict(r._mapping)
        values.pop("n")
        by_team.setdefault(r.team_id, []).append(Candidate(**values))
    return {team_id: _choose(challenge, candidates) for team_id, candidates in by_team.items()}
