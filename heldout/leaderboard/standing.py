"""Where a scored submission leaves its team: the public rank it gives the team now (or would give, were
it the team's best), and how it compares with the team's previous best.

Everything here is in the board's own terms (``BoardMode``): on a rounded or ladder board the
submission's score is its released value and the previous best is the row the board showed
before it, so a team learns nothing the board does not show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.leaderboard.hosts import ranked_submissions
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.public import team_rank, teams_ahead
from heldout.leaderboard.ranking import Entry
from heldout.leaderboard.sql import rank_key
from heldout.models import Submission, SubmissionStatus, TeamBestScore


@dataclass(frozen=True)
class Standing:
    # The team's public rank with this submission as its row: the rank it holds now when ``holds_row``.
    rank: int
    holds_row: bool
    # Teams on the public board, this one included.
    teams: int
    # The score this submission shows (the board's value) and the team's board score before it (None: first).
    score: float
    previous_best: float | None
    # score - previous_best; ``improved`` says whether that is better in the metric's direction.
    change: float | None
    improved: bool | None
    # The team's rank now, from whichever submission holds its row.
    team_rank: int | None


def change_against(score: float, previous: float | None, greater_is_better: bool) -> tuple[float | None, bool | None]:
    """The signed difference from the previous best, and whether it is an improvement (None: nothing before)."""
    if previous is None or not math.isfinite(score) or not math.isfinite(previous):
        return None, None
    change = score - previous
    return change, (change > 0 if greater_is_better else change < 0)


def standing(session: Session, submission: Submission) -> Standing | None:
    """The submission's place on the public board; None unless it is scored with a public score.

    A host submission has none: it is never ranked (``hosts``), not even as "would be"; nor has a late one,
    which says where it would have placed instead (``late``).
    """
    if (submission.status != SubmissionStatus.SCORED or submission.public_score is None or submission.host
            or submission.late):
        return None
    challenge = submission.challenge
    mode = BoardMode.of(challenge)
    # Scored submissions with a public score only (the query's is_not(None)).
    history = [Entry(sid, score, at) for sid, score, at in session.execute(  # type: ignore[arg-type]
        select(Submission.id, Submission.public_score, Submission.created_at)
        .where(Submission.challenge_id == challenge.id, Submission.team_id == submission.team_id,
               Submission.status == SubmissionStatus.SCORED, Submission.public_score.is_not(None),
               ranked_submissions())
        .order_by(Submission.created_at, Submission.id))]
    position = next((i for i, e in enumerate(history) if e.submission_id == submission.id), None)
    if position is None:
        return None
    score = mode.released(history[:position + 1]).get(submission.id)
    if score is None:
        return None
    before = mode.board_entry(history[:position])
    previous = before.score if before is not None else None
    row = session.scalar(select(TeamBestScore).where(TeamBestScore.challenge_id == challenge.id,
                                                     TeamBestScore.team_id == submission.team_id))
    holds = row is not None and row.submission_id == submission.id
    # As the board orders rows: by score, then the earlier submission, then the lower id.
    at, sid = (row.submitted_at, row.submission_id) if row is not None and holds \
        else (submission.created_at, submission.id)
    ahead = teams_ahead(session, challenge.id, rank_key(score, bool(challenge.greater_is_better)), at, sid,
                        besides=submission.team_id)
    teams = (session.scalar(select(func.count()).select_from(TeamBestScore).where(
        TeamBestScore.challenge_id == challenge.id, TeamBestScore.team_id != submission.team_id)) or 0) + 1
    change, improved = change_against(score, previous, bool(challenge.greater_is_better))
    return Standing(rank=ahead + 1, holds_row=holds, teams=teams, score=score, previous_best=previous,
                    change=change, improved=improved,
                    team_rank=ahead + 1 if holds else team_rank(session, challenge.id, submission.team_id))
