"""The public leaderboard: one indexed query over the best-score table.

Ranks are positions in the board order (``sql.board_order``), so a page at
``offset`` starts at rank ``offset + 1`` without counting anything. A study
group's view keeps each team's overall rank and numbers the group's teams 1..k.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from heldout.leaderboard.history import utc_day
from heldout.leaderboard.ranking import rank_change
from heldout.leaderboard.sql import board_order
from heldout.models import (
    Challenge,
    GroupMembership,
    RankSnapshot,
    RankSnapshotDay,
    Team,
    TeamBestScore,
    TeamMembership,
    utcnow,
)


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    team_id: int
    team_name: str
    score: float
    entries: int
    last_entry_at: datetime | None
    submission_id: int
    ci_low: float | None = None
    ci_high: float | None = None
    # Places gained since the previous day's final standings; None for a team new today.
    rank_change: int | None = 0
    # In a study group's view: the rank among the group's teams (``rank`` stays the overall one).
    group_rank: int | None = None


def group_teams(challenge_id, group_id) -> Select:  # noqa: ANN001 - ints or bound parameters
    """Ids of the challenge's teams with at least one member of the study group."""
    return (select(TeamMembership.team_id)
            .join(GroupMembership, GroupMembership.user_id == TeamMembership.user_id)
            .where(TeamMembership.challenge_id == challenge_id, GroupMembership.group_id == group_id))


@functools.cache
def _board_query(grouped: bool, limited: bool) -> Select:
    """The board query, built once per shape with bound parameters (building one costs about what running it does)."""
    best = TeamBestScore
    challenge_id: BindParameter[Any] = bindparam("challenge_id")
    if not grouped:
        # The page's keys first, by an index-only scan of ix_best_rank however deep the offset; then the
        # rows, names and yesterday's ranks for those keys only.
        page_keys = (select(best.team_id, best.rank_key, best.submitted_at, best.submission_id)
                     .where(best.challenge_id == challenge_id).order_by(*board_order()).offset(bindparam("offset")))
        keys = (page_keys.limit(bindparam("limit")) if limited else page_keys).subquery()
        rows = select(best).join(keys, (best.challenge_id == challenge_id) & (best.team_id == keys.c.team_id)) \
            .subquery()
        order: tuple = (rows.c.rank_key, rows.c.submitted_at, rows.c.submission_id)
    else:
        # Overall ranks need the whole board, so number it first and filter afterwards.
        rows = select(best, func.row_number().over(order_by=board_order()).label("overall_rank")) \
            .where(best.challenge_id == challenge_id).subquery()
        order = (rows.c.overall_rank,)
    # The snapshot's day rides along (no extra round trip): its ranks count only if it was taken today.
    snapshot_day = select(RankSnapshotDay.day).where(RankSnapshotDay.challenge_id == challenge_id).scalar_subquery()
    query = (select(rows, Team.name, RankSnapshot.rank.label("previous_rank"), snapshot_day.label("snapshot_day"))
             .join(Team, Team.id == rows.c.team_id)
             .outerjoin(RankSnapshot, (RankSnapshot.challenge_id == rows.c.challenge_id)
                        & (RankSnapshot.team_id == rows.c.team_id))
             .order_by(*order))
    if grouped:
        query = query.where(rows.c.team_id.in_(group_teams(challenge_id, bindparam("group_id"))))
        query = query.offset(bindparam("offset"))
        query = query.limit(bindparam("limit")) if limited else query
    return query


def public_leaderboard(session: Session, challenge: Challenge, *, limit: int | None = None, offset: int = 0,
                       group_id: int | None = None, now: datetime | None = None) -> list[LeaderboardRow]:
    """Teams ranked by their board score; ties go to the earlier submission, then the lower id."""
    today = utc_day(now or utcnow())
    grouped = group_id is not None
    params = {"challenge_id": challenge.id, "offset": offset, "limit": limit, "group_id": group_id}
    out = []
    for position, r in enumerate(session.execute(_board_query(grouped, limit is not None), params),
                                 start=offset + 1):
        rank = r.overall_rank if grouped else position
        out.append(LeaderboardRow(
            rank=rank, team_id=r.team_id, team_name=r.name, score=r.public_score, entries=r.entries,
            last_entry_at=r.last_entry_at, submission_id=r.submission_id, ci_low=r.public_ci_low,
            ci_high=r.public_ci_high, rank_change=rank_change(r.previous_rank, rank) if r.snapshot_day == today else 0,
            group_rank=position if grouped else None))
    return out


def count_teams(session: Session, challenge: Challenge, *, group_id: int | None = None) -> int:
    query = select(func.count()).select_from(TeamBestScore).where(TeamBestScore.challenge_id == challenge.id)
    if group_id is not None:
        query = query.where(TeamBestScore.team_id.in_(group_teams(challenge.id, group_id)))
    return session.scalar(query) or 0


def public_ranks(session: Session, challenge: Challenge) -> dict[int, int]:
    """Every team's current public rank, by team id."""
    team_ids = session.scalars(select(TeamBestScore.team_id).where(TeamBestScore.challenge_id == challenge.id)
                               .order_by(*board_order())).all()
    return {team_id: rank for rank, team_id in enumerate(team_ids, start=1)}


def teams_ahead(session: Session, challenge_id: int, key: float, submitted_at: datetime, submission_id: int, *,
                besides: int | None = None) -> int:
    """How many rows the board puts before a row (``rank_key``, time, id), leaving out team ``besides``."""
    best = TeamBestScore
    query = select(func.count()).select_from(best).where(best.challenge_id == challenge_id, or_(
        best.rank_key < key,
        and_(best.rank_key == key, best.submitted_at < submitted_at),
        and_(best.rank_key == key, best.submitted_at == submitted_at, best.submission_id < submission_id)))
    if besides is not None:
        query = query.where(best.team_id != besides)
    return session.scalar(query) or 0


def best_rank(session: Session, best: TeamBestScore) -> int:
    """The rank of a best-score row on the whole public board, with the board's tie-breaks."""
    return teams_ahead(session, best.challenge_id, best.rank_key, best.submitted_at, best.submission_id) + 1


def team_rank(session: Session, challenge_id: int, team_id: int | None) -> int | None:
    """The team's rank on the whole public board; None if it has no row."""
    if team_id is None:
        return None
    row = session.execute(select(TeamBestScore.rank_key, TeamBestScore.submitted_at, TeamBestScore.submission_id)
                          .where(TeamBestScore.challenge_id == challenge_id, TeamBestScore.team_id == team_id)).first()
    return None if row is None else teams_ahead(session, challenge_id, *row) + 1
