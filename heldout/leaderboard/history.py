"""Rank change since the previous day, from one snapshot per challenge; and the board's record over time.

The snapshot is taken by whatever changes the board first on a new UTC day,
just before it changes anything (``snapshot_before_change``). It therefore holds
the previous day's final standings, and a board with no snapshot for today has
not changed since midnight: every team's change is 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from heldout.leaderboard.hosts import ranked_submissions
from heldout.leaderboard.modes import BoardMode, ladder_step
from heldout.leaderboard.ranking import Entry
from heldout.leaderboard.sql import board_order, insert_if_absent
from heldout.models import Challenge, LeaderboardMode, RankSnapshot, RankSnapshotDay, Submission, TeamBestScore


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


def board_records(session: Session, challenge: Challenge, mode: BoardMode) -> Iterator[tuple[datetime, float]]:
    """(time, score) each time the board's top score matched or beat its best so far (the score-history chart).

    In the board's own terms: on a rounded or ladder board, the scores the board showed.
    """
    if mode.name is LeaderboardMode.CLASSIC:
        yield from session.execute(_record_setters(challenge))
        return
    # A rounded or ladder board shows each team's released value, which for the ladder depends on the
    # team's own history: replay the scored submissions in order (one pass), keeping each team's value.
    teams: dict[int, Entry | None] = {}
    best = None
    for sid, team_id, score, at in session.execute(
            select(Submission.id, Submission.team_id, Submission.public_score, Submission.created_at)
            .where(Submission.challenge_id == challenge.id, Submission.public_score.is_not(None),
                   ranked_submissions())
            .order_by(Submission.created_at, Submission.id)):
        entry = Entry(sid, score, at)  # type: ignore[arg-type]  # the query's is_not(None)
        if mode.name is LeaderboardMode.LADDER:
            teams[team_id] = shown = ladder_step(teams.get(team_id), entry, mode.step,  # type: ignore[arg-type]
                                                 mode.greater_is_better)
            value = shown.score if shown is not None else None
        else:
            value = mode.shown(score)
        if value is not None and (best is None or (value >= best if mode.greater_is_better else value <= best)):
            best = value
            yield at, best


def _record_setters(challenge: Challenge) -> Select[datetime, float]:
    """Scored submissions that matched or beat the best public score so far, in time order.

    The running best is a window function, so the database scans the submissions
    and only the few record-setters travel to Python.
    """
    best_so_far = (func.max if challenge.greater_is_better else func.min)(Submission.public_score).over(
        order_by=(Submission.created_at, Submission.id), rows=(None, 0))
    running = (select(Submission.created_at.label("at"), Submission.id.label("id"),
                      Submission.public_score.label("score"), best_so_far.label("best"))
               .where(Submission.challenge_id == challenge.id, Submission.public_score.is_not(None),
                      ranked_submissions()).subquery())
    return (select(running.c.at, running.c.score).where(running.c.score == running.c.best)
            .order_by(running.c.at, running.c.id))
