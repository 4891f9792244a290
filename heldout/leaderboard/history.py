"""Rank change since the previous day, from one snapshot per challenge.

The snapshot is taken by whatever changes the board first on a new UTC day,
just before it changes anything (``snapshot_before_change``). It therefore holds
the previous day's final standings, and a board with no snapshot for today has
not changed since midnight: every team's change is 0.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.sql import board_order, insert_if_absent
from heldout.models import Challenge, RankSnapshot, RankSnapshotDay, TeamBestScore


def utc_day(now: datetime) -> date:
    return now.astimezone(timezone.utc).date()


def snapshot_before_change(session: Session, challenge: Challenge, now: datetime) -> bool:
    """Keep today's starting ranks, once per UTC day; returns whether this call took the snapshot."""
    day = session.scalar(select(RankSnapshotDay.day).where(RankSnapshotDay.challenge_id == challenge.id))
    return snapshot_if_new_day(session, challenge.id, utc_day(now), day)


def snapshot_if_new_day(session: Session, challenge_id: int, today: date, last_day: date | None) -> bool:
    """Take the snapshot when ``last_day`` (the day of the stored one, read by the caller) is before today.

    Claiming the day is one conditional write, so two workers scoring at midnight
    take one snapshot between them (the second waits for the first and finds the day taken).
    """
    if last_day is not None and last_day >= today:
        return False
    if last_day is None:
        claimed = insert_if_absent(session, RankSnapshotDay.__table__, {"challenge_id": challenge_id, "day": today})
    else:
        claimed = session.execute(
            update(RankSnapshotDay).where(RankSnapshotDay.challenge_id == challenge_id, RankSnapshotDay.day < today)
            .values(day=today).execution_options(synchronize_session=False)
        ).rowcount == 1  # type: ignore[attr-defined]  # a CursorResult
    if not claimed:
        return False
    session.execute(delete(RankSnapshot).where(RankSnapshot.challenge_id == challenge_id)
                    .execution_options(synchronize_session=False))
    ranked = select(TeamBestScore.challenge_id, TeamBestScore.team_id, func.row_number().over(order_by=board_order())) \
        .where(TeamBestScore.challenge_id == challenge_id)
    session.execute(insert(RankSnapshot).from_select(["challenge_id", "team_id", "rank"], ranked))
    return True
