"""Creating submissions and reading them back, with Kaggle's limits.

The row is committed as ``queued`` before the job is enqueued: a worker can
never pick up a submission that is not yet in the database, and an enqueue
that fails leaves the row for the reconciler.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import BinaryIO

from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.challenges.diagnostics import NONE_FOR_KIND
from heldout.challenges.upload import clean_filename
from heldout.leaderboard.hosts import is_host
from heldout.leaderboard.late import is_late
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.validation import InvalidValidation, parse_validation
from heldout.models import (
    Challenge,
    LeaderboardMode,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    Team,
    TeamMembership,
    User,
    utcnow,
)
from heldout.platform.services import extensions
from heldout.platform.services.errors import Forbidden, LimitReached, NotFound, ServiceError, UploadTooLarge
from heldout.platform.services.membership import team_for, utc_day_start
from heldout.platform.services.submission_format import submission_format
from heldout.runner.queue import enqueue_scoring
from heldout.storage import Storage, TooLarge

# Failed and errored submissions do not use up the day's quota: they earned no score.
COUNTED = (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING, SubmissionStatus.SCORED)


def wait_in_words(seconds: float) -> str:
    """A wait as people say it: "40 seconds", "12 minutes", "19 hours 28 minutes" (minutes rounded up).

    >>> wait_in_words(70108)
    '19 hours 29 minutes'
    """
    seconds = max(0, int(seconds + 0.999))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def daily_limit_message(challenge: Challenge, now: datetime) -> str:
    reset = utc_day_start(now) + timedelta(days=1)
    return (f"Your team has used all {challenge.daily_limit} submissions for today; the count resets at "
            f"{reset:%H:%M} UTC on {reset:%Y-%m-%d}, in {wait_in_words((reset - now).total_seconds())}.")


def submissions_today(session: Session, team_id: int, now: datetime) -> int:
    return session.scalar(select(func.count(Submission.id)).where(
        Submission.team_id == team_id, Submission.created_at >= utc_day_start(now),
        Submission.status.in_(COUNTED))) or 0


def remaining_today(session: Session, challenge: Challenge, user: User, now: datetime | None = None) -> int:
    now = now or utcnow()
    team = team_for(session, challenge, user, create=False)
    used = submissions_today(session, team.id, now) if team is not None else 0
    return max(0, challenge.daily_limit - used)


def check_window(challenge: Challenge, now: datetime, ends_at: datetime | None = None) -> bool:
    """Refuse a submission outside the challenge's window; returns whether it is late (leaderboard.late).

    ``ends_at`` is the end that applies to the submitter (the challenge's unless given). Past it, a challenge
    that takes late submissions takes the submission as late; one that does not refuses, saying so.
    """
    if challenge.starts_at is not None and now < challenge.starts_at:
        raise Forbidden(f"This challenge opens for submissions at {challenge.starts_at:%Y-%m-%d %H:%M:%S} UTC.",
                        code="not_open")
    end = ends_at if ends_at is not None else challenge.ends_at
    if not is_late(now, end):
        return False
    if not challenge.late_submissions:
        raise Forbidden(f"This challenge closed for submissions at {end:%Y-%m-%d %H:%M:%S} UTC and does not take "
                        "late submissions.", code="closed")
    return True


def check_quota(session: Session, challenge: Challenge, team: Team | None, now: datetime) -> None:
    used = submissions_today(session, team.id, now) if team is not None else 0
    if used >= challenge.daily_limit:
        raise LimitReached(daily_limit_message(challenge, now), code="daily_limit")


def create_submission(session: Session, storage: Storage, queue: Queue | None, *, challenge: Challenge,
                      user: User, stream: BinaryIO, filename: str, message: str = "",
                      max_bytes: int, now: datetime | None = None, validation_score: str | None = None,
                      validation_note: str | None = None) -> Submission:
    """``validation_score`` and ``validation_note`` as the learner typed them (leaderboard.validation checks them
    before anything is stored)."""
    now = now or utcnow()
    filename = clean_filename(filename)
    if not filename:
        raise ServiceError("Choose a file to submit.", field="file")
    try:
        validation, note = parse_validation(validation_score, validation_note)
    except InvalidValidation as exc:
        raise ServiceError(exc.message, field=exc.field) from None
    if challenge.kind == SubmissionKind.CODE and not filename.lower().endswith((".py", ".zip")):
        raise ServiceError(f"This is a code challenge: submit {submission_format(challenge).what}.", field="file")
    # The end that applies to this member: theirs on an extension, cut short by a reveal by hand.
    late = check_window(challenge, now, extensions.counting_end(session, challenge, user))
    # The team is made only once the file is stored: this session writes nothing before. (A database storage
    # on SQLite writes through a connection of its own, which a session holding the write lock would block.)
    team = team_for(session, challenge, user, create=False)
    check_quota(session, challenge, team, now)
    key = f"submissions/{challenge.id}/{secrets.token_hex(12)}.upload"
    try:
        size, _sha = storage.save_stream(key, stream, max_bytes=max_bytes)
    except TooLarge as exc:
        session.rollback()
        raise UploadTooLarge(exc.limit) from None
    if size == 0:
        storage.delete(key)
        session.rollback()
        raise ServiceError("The file is empty.", field="file", code="empty_file")
    if team is None:
        try:
            team = team_for(session, challenge, user)
        except BaseException:
            session.rollback()
            storage.delete(key)
            raise
    submission = Submission(challenge_id=challenge.id, team_id=team.id, user_id=user.id, kind=challenge.kind,
                            status=SubmissionStatus.QUEUED, filename=filename, file_key=key, file_size=size,
                            message=(message or "").strip()[:500], created_at=now, queued_at=now, attempts=1,
                            validation_score=validation, validation_note=note,
                            host=is_host(session, challenge, user), late=late)
    session.add(submission)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(key)
        raise
    if queue is not None:
        enqueue_scoring(queue, submission.id, submission.attempts)
    return submission


def team_submissions(session: Session, challenge: Challenge, user: User) -> list[Submission]:
    team = team_for(session, challenge, user, create=False)
    if team is None:
        return []
    return list(session.scalars(select(Submission).where(Submission.team_id == team.id)
                                .order_by(Submission.created_at.desc(), Submission.id.desc())))


def get_submission(session: Session, user: User, submission_id: int) -> Submission:
    """A submission of the user's own team; anything else is "not found" (never "forbidden")."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("No such submission.")
    if user.is_admin:
        return submission
    member = session.scalar(select(TeamMembership.id).where(TeamMembership.team_id == submission.team_id,
                                                            TeamMembership.user_id == user.id))
    if member is None:
        raise NotFound("No such submission.")
    return submission


def queue_position(session: Session, submission: Submission) -> int | None:
    if submission.status != SubmissionStatus.QUEUED:
        return None
    ahead = session.scalar(select(func.count(Submission.id)).where(
        Submission.status == SubmissionStatus.QUEUED, Submission.queued_at < submission.queued_at))
    return (ahead or 0) + 1


def learner_logs(submission: Submission) -> str | None:
    """The logs the submitting team may read (the submission page and the API show the same)."""
    return submission.logs or None


def diagnostics_note(submission: Submission) -> str | None:
    """Why a scored submission on a classic board has no diagnostics, for the kinds of challenge that never get
    them (heldout.challenges.diagnostics.NONE_FOR_KIND); None otherwise."""
    if submission.status != SubmissionStatus.SCORED or submission.diagnostics \
            or BoardMode.of(submission.challenge).name is not LeaderboardMode.CLASSIC:
        return None
    return NONE_FOR_KIND.get(str((submission.challenge.scoring_spec or {}).get("task_type")))


def visible_diagnostics(submission: Submission) -> dict | None:
    """The public-split diagnostics the submitting team may see, or None.

    Only on a classic board: a confusion matrix gives back the exact public
    score that the rounded and ladder boards withhold.
    """
    if submission.status != SubmissionStatus.SCORED or not submission.diagnostics:
        return None
    return submission.diagnostics if BoardMode.of(submission.challenge).name is LeaderboardMode.CLASSIC else None
