"""The submission state machine's database side: claim, record, re-queue.

Every transition is one conditional UPDATE, so two workers (or a stale worker
that wakes up late) can never both own a submission or overwrite a newer result.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heldout.models import Challenge, ChallengeFile, Submission, SubmissionKind, SubmissionStatus, utcnow
from heldout.runner.outcome import Outcome, ScoringTask

MAX_ATTEMPTS = 5


def claim_submission(session: Session, submission_id: int, *, now: datetime | None = None,
                     commit: bool = True) -> ScoringTask | None:
    """Move a queued submission to running and return what is needed to score it; None if not ours to run.

    One read (the submission with its challenge's scoring columns) and the conditional UPDATE; a code
    submission's data files are read too. ``commit=False`` leaves the commit to the caller, who may add to the
    transaction (the worker's own row)."""
    now = now or utcnow()
    token = secrets.token_hex(16)
    row = session.execute(
        select(Submission.status, Submission.queued_at, Submission.created_at, Submission.attempts, Submission.kind,
               Submission.file_key, Submission.filename, Challenge.id.label("challenge_id"), Challenge.version,
               Challenge.scoring_spec, Challenge.solution_key, Challenge.rules)
        .join(Challenge, Challenge.id == Submission.challenge_id)
        .where(Submission.id == submission_id)
    ).first()
    if row is None or row.status != SubmissionStatus.QUEUED:
        return None
    queue_wait_s = max(0.0, (now - (row.queued_at or row.created_at)).total_seconds())
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == SubmissionStatus.QUEUED)
        .values(status=SubmissionStatus.RUNNING, run_token=token, started_at=now, heartbeat_at=now,
                queue_wait_s=queue_wait_s)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        return None
    data_keys: dict[str, str] = {}
    visible_keys: dict[str, str] = {}
    if row.kind != SubmissionKind.PREDICTIONS:  # a prediction file is scored against the solution alone
        challenge = session.get(Challenge, row.challenge_id)
        assert challenge is not None  # the foreign key keeps it
        data_keys, visible_keys = run_data_keys(session, challenge)
    task = ScoringTask(
        submission_id=submission_id, run_token=token, kind=row.kind.value,
        file_key=row.file_key, filename=row.filename, challenge_id=row.challenge_id,
        challenge_version=row.version, scoring_spec=dict(row.scoring_spec), solution_key=row.solution_key,
        rules=dict(row.rules or {}), data_keys=data_keys, visible_data_keys=visible_keys,
        attempt=row.attempts, queue_wait_s=queue_wait_s,
    )
    if commit:
        session.commit()
    return task


def run_data_keys(session: Session, challenge: Challenge) -> tuple[dict[str, str], dict[str, str]]:
    """What code submissions see at /data: (hidden run, visible run), each a mount name -> storage key.

    Never the solution. The visible run's logs are the learner's, so it mounts only learner downloads:
    the bundle's public stand-ins (``example_keys``), or for a challenge published before those existed,
    the downloads named like a mount (a hidden mount is then simply absent).
    """
    rules = challenge.rules or {}
    downloads = {f.name: f.storage_key
                 for f in session.scalars(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id))}
    data_keys = dict(rules.get("runtime_keys") or {}) or downloads
    visible = dict(rules.get("example_keys") or {}) or {name: downloads[name] for name in data_keys
                                                          if name in downloads}
    return data_keys, visible


def record_outcome(session: Session, task: ScoringTask, outcome: Outcome, *, now: datetime | None = None) -> bool:
    """Store the run's result if this run still owns the submission; returns whether it did."""
    now = now or utcnow()
    values: dict = dict(
        status=outcome.status, finished_at=now, run_s=outcome.run_s, peak_memory_bytes=outcome.peak_memory_bytes,
        exit_code=outcome.exit_code, logs=outcome.logs, error=outcome.error, error_detail=outcome.error_detail,
        internal_error=outcome.internal_error, limit_hit=outcome.limit_hit, public_score=None, private_score=None,
        public_ci_low=None, public_ci_high=None, private_ci_low=None, private_ci_high=None, retry_at=None,
        diagnostics=None,
    )
    if outcome.status == SubmissionStatus.SCORED:
        values.update(public_score=outcome.public_score, private_score=outcome.private_score,
                      scored_version=task.challenge_version, diagnostics=outcome.diagnostics)
        if outcome.public_ci is not None:
            values.update(public_ci_low=outcome.public_ci[0], public_ci_high=outcome.public_ci[1])
        if outcome.private_ci is not None:
            values.update(private_ci_low=outcome.private_ci[0], private_ci_high=outcome.private_ci[1])
    elif outcome.status == SubmissionStatus.ERROR:
        submission = session.get(Submission, task.submission_id)
        attempts = submission.attempts if submission is not None else MAX_ATTEMPTS
        if attempts < MAX_ATTEMPTS:
            values["retry_at"] = now + retry_delay(attempts)
    result = session.execute(
        update(Submission)
        .where(Submission.id == task.submission_id, Submission.run_token == task.run_token,
               Submission.status == SubmissionStatus.RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def renew_lease(session: Session, task: ScoringTask, *, now: datetime | None = None) -> bool:
    """Tell the reconciler this run is alive; False when another run has taken the submission over."""
    result = session.execute(
        update(Submission)
        .where(Submission.id == task.submission_id, Submission.run_token == task.run_token,
               Submission.status == SubmissionStatus.RUNNING)
        .values(heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff for platform errors: 5 s, 10 s, 20 s, … capped at 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


def requeue(session: Session, submission_id: int, *, now: datetime | None = None,
            from_statuses: tuple[SubmissionStatus, ...] | None = None) -> int | None:
    """Put a submission back in the queue as a new attempt; returns the attempt number to enqueue, or None."""
    now = now or utcnow()
    conditions = [Submission.id == submission_id]
    if from_statuses is not None:
        conditions.append(Submission.status.in_(from_statuses))
    result = session.execute(
        update(Submission)
        .where(*conditions)
        .values(status=SubmissionStatus.QUEUED, run_token=None, queued_at=now, retry_at=None,
                started_at=None, heartbeat_at=None, attempts=Submission.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        return None
    return session.scalar(select(Submission.attempts).where(Submission.id == submission_id))
