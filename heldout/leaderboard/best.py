"""Keeping each team's public leaderboard row current as submissions are scored.

Recomputing a team's row from its own submissions (rather than comparing with
the previous best) makes the update idempotent: a rescore, a retry or a
duplicate job leave the same row behind. It also lets the ladder mode replay a
team's history in submission order, whatever order the scores arrived in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.history import snapshot_before_change
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.ranking import Entry
from heldout.leaderboard.sql import public_submission_order, rank_key
from heldout.models import Challenge, PrivateBoardState, Submission, Team, TeamBestScore, utcnow


def best_submission_order(greater_is_better: bool):  # noqa: ANN201
    """Best score first; ties go to the earlier submission, then the lower id (Kaggle's rule)."""
    return public_submission_order(greater_is_better)


def refresh_team_best(session: Session, challenge_id: int, team_id: int, *,
                      now: datetime | None = None) -> TeamBestScore | None:
    """Recompute one team's leaderboard row from its scored submissions; the caller commits."""
    # Lock the team so two workers scoring the same team's submissions serialise here.
    session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
    challenge = session.get(Challenge, challenge_id)
    board_changes(session, challenge, now or utcnow())
    scored = session.execute(
        select(Submission.id, Submission.public_score, Submission.created_at,
               Submission.public_ci_low, Submission.public_ci_high)
        .where(Submission.team_id == team_id, Submission.challenge_id == challenge_id,
               Submission.public_score.is_not(None))
        .order_by(Submission.created_at.asc(), Submission.id.asc())
    ).all()
    shown = BoardMode.of(challenge).board_entry([Entry(s.id, s.public_score, s.created_at) for s in scored])
    row = session.get(TeamBestScore, (challenge_id, team_id))
    if shown is None:
        if row is not None:
            session.delete(row)
        return None
    source = next(s for s in scored if s.id == shown.submission_id)
    if row is None:
        row = TeamBestScore(challenge_id=challenge_id, team_id=team_id)
        session.add(row)
    row.submission_id = shown.submission_id
    row.public_score = shown.score
    row.rank_key = rank_key(shown.score, challenge.greater_is_better)
    row.submitted_at = shown.submitted_at
    row.public_ci_low = source.public_ci_low
    row.public_ci_high = source.public_ci_high
    row.entries = len(scored)
    row.last_entry_at = max(s.created_at for s in scored)
    return row


def board_changes(session: Session, challenge: Challenge, now: datetime) -> None:
    """Call before anything changes the public board or what the private board is computed from.

    Takes the day's rank snapshot when this is the first change of a UTC day, and
    marks the stored private standings stale.
    """
    snapshot_before_change(session, challenge, now)
    invalidate_private_board(session, challenge.id)


def invalidate_private_board(session: Session, challenge_id: int) -> None:
    # No state row (nobody has read the private board yet) means nothing to invalidate and no row to lock.
    session.execute(update(PrivateBoardState).where(PrivateBoardState.challenge_id == challenge_id)
                    .values(generation=PrivateBoardState.generation + 1)
                    .execution_options(synchronize_session=False))


def refresh_challenge_best(session: Session, challenge_id: int, *, now: datetime | None = None) -> int:
    """Recompute every team's row, e.g. after the challenge's leaderboard mode changed; returns the count."""
    team_ids = session.scalars(select(Team.id).where(Team.challenge_id == challenge_id).order_by(Team.id)).all()
    for team_id in team_ids:
        refresh_team_best(session, challenge_id, team_id, now=now)
    return len(team_ids)
