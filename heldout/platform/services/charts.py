"""The numbers behind the challenge page's charts, as plain JSON-ready dicts.

The page draws them in the browser; here we only decide what the points are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.leaderboard.history import board_records
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.ranking import Entry
from heldout.models import Challenge, Submission, User, utcnow
from heldout.platform.services import leaderboards
from heldout.platform.services.membership import team_for

# Enough teams for the picture; a scatter of every team of a huge challenge would only be slower.
SHAKEUP_POINTS = 2000


def _iso(value: datetime) -> str:
    return value.isoformat()


def score_history(session: Session, challenge: Challenge, user: User | None,
                  now: datetime | None = None) -> dict:
    """The viewer's team's public scores over time, against the best public score on the board at each moment.

    ``top`` is a step line: one point each time the record improved, and one at
    ``now`` (or the close) so the line reaches the right edge of the chart.
    """
    now = now or utcnow()
    mode = BoardMode.of(challenge)  # rounded and ladder boards: the chart shows no more digits than the board
    team = team_for(session, challenge, user, create=False) if user is not None else None
    scored = (Submission.challenge_id == challenge.id, Submission.public_score.is_not(None))
    mine = []
    if team is not None:
        rows = session.execute(
            select(Submission.id, Submission.created_at, Submission.public_score)
            .where(*scored, Submission.team_id == team.id).order_by(Submission.created_at, Submission.id)).all()
        released = mode.released([Entry(sid, score, at) for sid, at, score in rows])
        mine = [{"t": _iso(at), "score": released.get(sid), "id": sid} for sid, at, _score in rows]
    top: list[dict] = []
    record, record_at = None, None
    for at, score in board_records(session, challenge, mode):
        if record is None or score != record:  # equal scores after the first only tie the record
            record, record_at = score, at
            top.append({"t": _iso(at), "score": score})
    end = min(now, challenge.ends_at) if challenge.ends_at is not None else now
    if record_at is not None and end > record_at:
        top.append({"t": _iso(end), "score": record})
    return {"metric": challenge.metric, "greater_is_better": challenge.greater_is_better,
            "precision": mode.precision, "team": mine, "top": top,
            "team_name": team.name if team is not None else None}


def shakeup(session: Session, challenge: Challenge, viewer: User | None) -> dict:
    """Each team's public rank against its private rank, once the private board is revealed.

    The leaderboards service decides the reveal and raises Forbidden before it.
    """
    board = leaderboards.private_board(session, challenge, viewer, per_page=SHAKEUP_POINTS)
    points = [{"team": row.team, "public_rank": row.public_rank, "private_rank": row.rank}
              for row in board.rows if row.public_rank is not None]
    return {"points": points, "total": board.total}
