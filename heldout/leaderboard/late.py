"""Late submissions: made after the end, scored on both splits, never ranked, and told where they would have placed.

Whether a submission is late is decided once, when it is made (``is_late``), and
kept in ``Submission.late``; like a host's, a late submission is left out of
every board by ``hosts.ranked_submissions`` (the public rows, the finals and
private standings, the score history, the team counts), so it never moves a
board, a shake-up or a team count, and it is never a final.

``is_late`` takes the end that applies as a parameter: today the challenge's
end, for a study group's member their own end (whatever the caller passes).

Where a late submission *would have placed* is its rank against the frozen
private board and against the public board, with the boards' own tie rule
(``ranking.order_key``: a better score first, then the earlier submission, then
the lower id). A late submission is later than every ranked one, so it loses
every tie. Its own team's row is left out, as ``standing`` does: the question is
where the team would stand had this been its entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.public import teams_ahead
from heldout.leaderboard.sql import rank_key
from heldout.models import PrivateStanding, Submission, SubmissionStatus, TeamBestScore


def is_late(submitted_at: datetime, ends_at: datetime | None) -> bool:
    """Whether a submission made at ``submitted_at`` is late for a team whose end is ``ends_at`` (None: no end).

    The end itself is already late, as a closed challenge's end always was.

    >>> from datetime import timezone, timedelta
    >>> end = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    >>> is_late(end - timedelta(seconds=1), end), is_late(end, end), is_late(end, None)
    (False, True, False)
    """
    return ends_at is not None and submitted_at >= ends_at


@dataclass(frozen=True)
class WouldHavePlaced:
    """A late submission's rank on each board had it been its team's entry, among ``of`` teams.

    ``of`` counts the teams on the boards besides the submitter's, plus the submitter's.
    ``private`` is None while the private board is hidden from the viewer (the caller decides), and
    either is None when the submission has no score on that split.
    """

    public: int | None
    private: int | None
    of: int


def would_have_placed(session: Session, submission: Submission, *, private_shown: bool) -> WouldHavePlaced | None:
    """Where a scored late submission would have placed; None for any other submission.

    The private rank reads the stored private standings: the caller makes sure they are
    current (``platform.services.leaderboards``), and says whether the viewer may see them.
    """
    if not submission.late or submission.host or submission.status != SubmissionStatus.SCORED:
        return None
    challenge = submission.challenge
    gib = bool(challenge.greater_is_better)
    team_id = submission.team_id
    public = None
    if submission.public_score is not None:
        # In the board's own terms: a rounded or ladder board ranks the value it shows.
        shown = BoardMode.of(challenge).shown(submission.public_score)
        assert shown is not None
        public = teams_ahead(session, challenge.id, rank_key(shown, gib), submission.created_at, submission.id,
                             besides=team_id) + 1
    private = None
    if private_shown and submission.private_score is not None:
        private = private_teams_ahead(session, challenge.id, submission.private_score, gib, submission.created_at,
                                      submission.id, besides=team_id) + 1
    others = max(_count(session, TeamBestScore, challenge.id, team_id),
                 _count(session, PrivateStanding, challenge.id, team_id) if private_shown else 0)
    return WouldHavePlaced(public=public, private=private, of=others + 1)


def private_teams_ahead(session: Session, challenge_id: int, score: float, greater_is_better: bool,
                        submitted_at: datetime, submission_id: int, *, besides: int | None = None) -> int:
    """How many rows the stored private board puts before an entry (score, time, id), leaving out team ``besides``.

    The private board's order (``private.compute_standings``): the better private score, then the
    earlier submission, then the lower id.
    """
    standing = PrivateStanding
    better = standing.private_score > score if greater_is_better else standing.private_score < score
    query = (select(func.count()).select_from(standing).join(Submission, Submission.id == standing.submission_id)
             .where(standing.challenge_id == challenge_id, or_(
                 better,
                 and_(standing.private_score == score, Submission.created_at < submitted_at),
                 and_(standing.private_score == score, Submission.created_at == submitted_at,
                      standing.submission_id < submission_id))))
    if besides is not None:
        query = query.where(standing.team_id != besides)
    return session.scalar(query) or 0


def _count(session: Session, table: type[TeamBestScore] | type[PrivateStanding], challenge_id: int,
           besides: int) -> int:
    return session.scalar(select(func.count()).select_from(table)
                          .where(table.challenge_id == challenge_id, table.team_id != besides)) or 0
