"""The public leaderboard: one indexed query over the best-score table.

Ranks are positions in the board order (``sql.board_order``), so a page at
``offset`` starts at rank ``offset + 1`` without counting anything. A study
group's view keeps each team's overall rank and numbers the group's teams 1..k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
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


def group_teams(challenge_id: int, group_id: int) -> Select:
    """Ids of the challenge's teams with at least one member of the study group."""
    return (select(TeamMembership.team_id)
            .join(GroupMembership, GroupMembership.user_id == TeamMembership.user_id)
            .where(TeamMembership.challenge_id == challenge_id, GroupMembership.group_id == group_id))


def public_leaderboard(session: Session, challenge: Challenge, *, limit: int | None = None, offset: int = 0,
                       group_id: int | None = None, now: datetime | None = None) -> list[LeaderboardRow]:
    """Teams ranked by their board score; ties go to the earlier submission, then the lower id."""
    today = utc_day(now or utcnow())
    best = TeamBestScore
    if group_id is None:
        # The page's rows first, straight off the index; names and yesterday's ranks for those rows only.
        page = select(best).where(best.challenge_id == challenge.id).order_by(*board_order())
        page = page.offset(offset) if offset else page
        page = page.limit(limit) if limit is not None else page
        rows = page.subquery()
        order = (rows.c.rank_key, rows.c.submitted_at, rows.c.submission_id)
    else:
        # Overall ranks need the whole board, so number it first and filter afterwards.
        rows = select(best, func.row_number().over(order_by=board_order()).label("overall_rank")) \
            .where(best.challenge_id == challenge.id).subquery()
        order = (rows.c.overall_rank,)
    # The snapshot's day rides along (one round trip): its ranks count only if it was taken today.
    snapshot_day = select(RankSnapshotDay.day).where(RankSnapshotDay.challenge_id == challenge.id).scalar_subquery()
    query = (select(rows, Team.name, RankSnapshot.rank.label("previous_rank"), snapshot_day.label("snapshot_day"))
             .join(Team, Team.id == rows.c.team_id)
             .outerjoin(RankSnapshot, (RankSnapshot.challenge_id == rows.c.challenge_id)
                        & (RankSnapshot.team_id == rows.c.team_id))
             .order_by(*order))
    if group_id is not None:
        query = query.where(rows.c.team_id.in_(group_teams(challenge.id, group_id)))
        query = query.offset(offset) if offset else query
        query = query.limit(limit) if limit is not None else query
    out = []
    for position, r in enumerate(session.execute(query), start=offset + 1):
        rank = position if group_id is None else r.overall_rank
        out.append(LeaderboardRow(
            rank=rank, team_id=r.team_id, team_name=r.name, score=r.public_score, entries=r.entries,
            last_entry_at=r.last_entry_at, submission_id=r.submission_id, ci_low=r.public_ci_low,
            ci_high=r.public_ci_high, rank_change=rank_change(r.previous_rank, rank) if r.snapshot_day == today else 0,
            group_rank=None if group_id is None else position))
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
