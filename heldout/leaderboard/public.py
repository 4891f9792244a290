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

from heldout.leaderboard.history import snapshot_is_today
from heldout.leaderboard.ranking import rank_change
from heldout.leaderboard.sql import board_order
from heldout.models import Challenge, GroupMembership, RankSnapshot, Team, TeamBestScore, TeamMembership, utcnow


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
    changed_today = snapshot_is_today(session, challenge.id, now or utcnow())
    best = TeamBestScore
    columns = (best.team_id, Team.name, best.public_score, best.entries, best.last_entry_at, best.submission_id,
               best.public_ci_low, best.public_ci_high, RankSnapshot.rank.label("previous_rank"))
    if group_id is None:
        query = (select(*columns).join(Team, Team.id == best.team_id)
                 .outerjoin(RankSnapshot, (RankSnapshot.challenge_id == best.challenge_id)
                            & (RankSnapshot.team_id == best.team_id))
                 .where(best.challenge_id == challenge.id)
                 .order_by(*board_order(challenge.greater_is_better)))
    else:
        # Overall ranks need the whole board, so number it first and filter afterwards.
        ranked = (select(best, func.row_number().over(order_by=board_order(challenge.greater_is_better))
                         .label("overall_rank"))
                  .where(best.challenge_id == challenge.id).subquery())
        best = ranked.c
        query = (select(best.team_id, Team.name, best.public_score, best.entries, best.last_entry_at,
                        best.submission_id, best.public_ci_low, best.public_ci_high,
                        RankSnapshot.rank.label("previous_rank"), best.overall_rank)
                 .join(Team, Team.id == best.team_id)
                 .outerjoin(RankSnapshot, (RankSnapshot.challenge_id == best.challenge_id)
                            & (RankSnapshot.team_id == best.team_id))
                 .where(best.team_id.in_(group_teams(challenge.id, group_id)))
                 .order_by(best.overall_rank))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for position, r in enumerate(session.execute(query), start=offset + 1):
        rank = position if group_id is None else r.overall_rank
        rows.append(LeaderboardRow(
            rank=rank, team_id=r.team_id, team_name=r.name, score=r.public_score, entries=r.entries,
            last_entry_at=r.last_entry_at, submission_id=r.submission_id, ci_low=r.public_ci_low,
            ci_high=r.public_ci_high, rank_change=rank_change(r.previous_rank, rank) if changed_today else 0,
            group_rank=None if group_id is None else position))
    return rows


def count_teams(session: Session, challenge: Challenge, *, group_id: int | None = None) -> int:
    query = select(func.count()).select_from(TeamBestScore).where(TeamBestScore.challenge_id == challenge.id)
    if group_id is not None:
        query = query.where(TeamBestScore.team_id.in_(group_teams(challenge.id, group_id)))
    return session.scalar(query) or 0


def public_ranks(session: Session, challenge: Challenge) -> dict[int, int]:
    """Every team's current public rank, by team id."""
    team_ids = session.scalars(select(TeamBestScore.team_id).where(TeamBestScore.challenge_id == challenge.id)
                               .order_by(*board_order(challenge.greater_is_better))).all()
    return {team_id: rank for rank, team_id in enumerate(team_ids, start=1)}
