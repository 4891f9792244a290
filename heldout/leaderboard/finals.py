"""Which submissions count on the private leaderboard.

A team's selected final submissions (up to the challenge's number); a team that
selected none gets its best public submissions chosen for it, as on Kaggle.
Only scored submissions count, and never a host's (``hosts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from heldout.leaderboard.hosts import ranked_submissions
from heldout.leaderboard.ranking import choose_finals, order_key
from heldout.leaderboard.sql import public_submission_order
from heldout.models import Challenge, Submission, SubmissionStatus, Team


@dataclass(frozen=True)
class Candidate:
    submission_id: int
    team_id: int
    public_score: float
    private_score: float | None
    submitted_at: datetime
    selected: bool


def _columns():  # noqa: ANN202
    # In Candidate's field order.
    return (Submission.id.label("submission_id"), Submission.team_id, Submission.public_score,
            Submission.private_score, Submission.created_at.label("submitted_at"),
            Submission.selected_final.label("selected"))


def _scored(challenge: Challenge) -> tuple:
    return (Submission.challenge_id == challenge.id, Submission.status == SubmissionStatus.SCORED,
            Submission.public_score.is_not(None), ranked_submissions())


def _choose(challenge: Challenge, candidates: list[Candidate]) -> list[Candidate]:
    gib = challenge.greater_is_better
    return choose_finals(candidates, challenge.max_final_submissions, selected=lambda c: c.selected,
                         public_key=lambda c: order_key(c.public_score, c.submitted_at, c.submission_id, gib))


def team_finals(session: Session, challenge: Challenge, team_id: int) -> list[Candidate]:
    """The submissions that count for one team, best public first."""
    rows = session.execute(select(*_columns()).where(*_scored(challenge), Submission.team_id == team_id)).all()
    return _choose(challenge, [Candidate(*r) for r in rows])


def all_finals(session: Session, challenge: Challenge) -> dict[int, list[Candidate]]:
    """The submissions that count for every team, by team id.

    Each team's selected submissions plus its N best public ones, from which
    ``choose_finals`` keeps the selection if there is one. On PostgreSQL the N
    best come from one short index scan per team (a LATERAL join on
    ``ix_submissions_team_public``), not from sorting every submission of the challenge.
    """
    limit = challenge.max_final_submissions
    order = public_submission_order(challenge.greater_is_better)
    if session.get_bind().dialect.name == "postgresql":
        teams = select(Team.id).where(Team.challenge_id == challenge.id).subquery()
        best = (select(*_columns()).where(*_scored(challenge), Submission.team_id == teams.c.id)
                .order_by(*order).limit(limit).lateral())
        top = select(best).select_from(teams).join(best, true())
    else:
        numbered = select(*_columns(), func.row_number().over(partition_by=Submission.team_id, order_by=order)
                          .label("n")).where(*_scored(challenge)).subquery()
        top = select(*(c for c in numbered.c if c.name != "n")).where(numbered.c.n <= limit)
    selected = select(*_columns()).where(*_scored(challenge), Submission.selected_final.is_(True))
    by_team: dict[int, dict[int, Candidate]] = {}
    for query in (top, selected):
        for r in session.execute(query):
            # Positional: the columns are in the field order, and _mapping costs more than the query at 10,000 teams.
            by_team.setdefault(r[1], {})[r[0]] = Candidate(*r)
    return {team_id: _choose(challenge, list(candidates.values())) for team_id, candidates in by_team.items()}
