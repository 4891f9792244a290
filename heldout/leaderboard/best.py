"""Keeping each team's public leaderboard row current as submissions are scored.

Recomputing a team's row from its own submissions (rather than comparing with
the previous best) makes the update idempotent: a rescore, a retry or a
duplicate job leave the same row behind. It also lets the ladder mode replay a
team's history in submission order, whatever order the scores arrived in.

Host submissions are never ranked (``hosts``): a host's team of one gets no row.

This runs in every worker after every score, so it is three statements: lock
the team and read what the update depends on, read the team's scores, write
the row (and a fourth, once the private standings are stored: mark them stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.history import (
    snapshot_before_change,
    snapshot_if_new_day,
    utc_day,
)
from heldout.leaderboard.hosts import ranked_submissions
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.ranking import Entry
from heldout.leaderboard.sql import public_submission_order, rank_key, upsert
from heldout.models import (
    Challenge,
    PrivateBoardState,
    RankSnapshotDay,
    Submission,
    Team,
    TeamBestScore,
    utcnow,
)


@dataclass(frozen=True)
class TeamRow:
    """What ``refresh_team_best`` stored for the team."""

    team_id: int
    submission_id: int
    public_score: float
    submitted_at: datetime
    entries: int
    last_entry_at: datetime


def best_submission_order(greater_is_better: bool):  # noqa: ANN201
    """Best score first; ties go to the earlier submission, then the lower id (Kaggle's rule)."""
    return public_submission_order(greater_is_better)


# The two reads are built once, with bound parameters: building a statement costs about as much
# Python time as running it, and this runs after every score.

# Locking the team makes two workers scoring the same team's submissions take turns here, and makes a
# private-board reader (private.recompute) wait for this transaction.
_CONTEXT = (
    select(Challenge.greater_is_better, Challenge.leaderboard_mode, Challenge.rules, Challenge.display_precision,
           select(RankSnapshotDay.day).where(RankSnapshotDay.challenge_id == bindparam("challenge_id"))
           .scalar_subquery().label("snapshot_day"))
    .select_from(Team).join(Challenge, Challenge.id == Team.challenge_id)
    .where(Team.id == bindparam("team_id"), Challenge.id == bindparam("challenge_id"))
    .with_for_update(of=Team)
)

# Read after the lock, in a statement of its own: a private-board reader that made us wait has committed
# its state row by now, and it must be marked stale (leaderboard.private.recompute).
_SCORED = (
    select(Submission.id, Submission.public_score, Submission.created_at, Submission.public_ci_low,
           Submission.public_ci_high,
           select(PrivateBoardState.generation).where(PrivateBoardState.challenge_id == bindparam("challenge_id"))
           .scalar_subquery().label("private_generation"))
    .where(Submission.team_id == bindparam("team_id"), Submission.challenge_id == bindparam("challenge_id"),
           Submission.public_score.is_not(None), ranked_submissions())
    .order_by(Submission.created_at.asc(), Submission.id.asc())
)


def refresh_team_best(session: Session, challenge_id: int, team_id: int, *,
                      now: datetime | None = None) -> TeamRow | None:
    """Recompute one team's leaderboard row from its scored submissions; the caller commits."""
    now = now or utcnow()
    ids = {"challenge_id": challenge_id, "team_id": team_id}
    context = session.execute(_CONTEXT, ids).first()
    if context is None:
        return None
    snapshot_if_new_day(session, challenge_id, utc_day(now), context.snapshot_day)
    scored = session.execute(_SCORED, ids).all()
    if not scored or scored[0].private_generation is not None:
        invalidate_private_board(session, challenge_id)
    shown = BoardMode.of(context).board_entry([Entry(s.id, s.public_score, s.created_at) for s in scored])
    _forget_loaded_row(session, challenge_id, team_id)
    if shown is None:
        session.execute(delete(TeamBestScore).where(TeamBestScore.challenge_id == challenge_id,
                                                    TeamBestScore.team_id == team_id)
                        .execution_options(synchronize_session=False))
        return None
    source = next(s for s in scored if s.id == shown.submission_id)
    row = TeamRow(team_id=team_id, submission_id=shown.submission_id, public_score=shown.score,
                  submitted_at=shown.submitted_at, entries=len(scored),
                  last_entry_at=max(s.created_at for s in scored))
    upsert(session, TeamBestScore.__table__, {
        "challenge_id": challenge_id, "team_id": team_id, "submission_id": row.submission_id,
        "public_score": row.public_score, "rank_key": rank_key(row.public_score, context.greater_is_better),
        "public_ci_low": source.public_ci_low, "public_ci_high": source.public_ci_high,
        "submitted_at": row.submitted_at, "entries": row.entries, "last_entry_at": row.last_entry_at})
    return row


def _forget_loaded_row(session: Session, challenge_id: int, team_id: int) -> None:
    # The row is written with Core statements: a copy this session loaded earlier must not be served stale.
    loaded = session.identity_map.get(session.identity_key(TeamBestScore, (challenge_id, team_id)))
    if loaded is not None:
        session.expunge(loaded)


def board_changes(session: Session, challenge: Challenge, now: datetime, *team_ids: int) -> None:
    """Call before anything other than a score changes the boards (a merge, say).

    Locks the teams involved (as scoring does), takes the day's rank snapshot when
    this is the first change of a UTC day, and marks the stored private standings stale.
    """
    lock_teams(session, *team_ids)
    snapshot_before_change(session, challenge, now)
    invalidate_private_board(session, challenge.id)


def lock_teams(session: Session, *team_ids: int) -> None:
    """Lock teams before changing what the boards are computed from (in id order, so two lockers never deadlock)."""
    if team_ids:
        session.execute(select(Team.id).where(Team.id.in_(sorted(team_ids))).order_by(Team.id).with_for_update())


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
