"""What a team is told of its own public scores: no more digits than its board shows.

Every page and API answer that shows a team its own submissions takes the
public scores from ``released_public_scores``, never from the column itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.ranking import Entry
from heldout.models import Challenge, LeaderboardMode, Submission, SubmissionStatus


def released_public_scores(session: Session, shown: Iterable[Submission]) -> dict[int, float | None]:
    """The public score each of ``shown`` tells its team, by submission id (see BoardMode.released).

    On a classic board that is the score itself; on rounded and ladder boards
    it is what the board would show, so a team's own pages and the API give
    back no digits the leaderboard withholds.
    """
    shown = list(shown)
    released: dict[int, float | None] = {}
    teams: dict[tuple[int, int], Challenge] = {}
    for submission in shown:
        if BoardMode.of(submission.challenge).name is LeaderboardMode.CLASSIC or submission.public_score is None:
            released[submission.id] = submission.public_score
        else:
            teams[(submission.challenge_id, submission.team_id)] = submission.challenge
    for (_challenge_id, team_id), challenge in teams.items():
        # Only submissions with a public score (the query's is_not(None)).
        entries = [Entry(sid, score, at) for sid, score, at in session.execute(  # type: ignore[arg-type]
            select(Submission.id, Submission.public_score, Submission.created_at)
            .where(Submission.challenge_id == challenge.id, Submission.team_id == team_id,
                   Submission.status == SubmissionStatus.SCORED, Submission.public_score.is_not(None))
            .order_by(Submission.created_at, Submission.id))]
        released.update(BoardMode.of(challenge).released(entries))
    return {submission.id: released.get(submission.id) for submission in shown}
