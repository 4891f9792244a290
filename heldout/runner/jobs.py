"""RQ jobs. A job takes ids, holds no database session while a container runs,
and is idempotent: running it twice scores once."""

from __future__ import annotations

import logging
import time

from rq import get_current_job

from heldout.db import session_scope
from heldout.leaderboard.best import refresh_team_best
from heldout.logs import log_context
from heldout.models import Challenge, Submission, SubmissionStatus
from heldout.runner import baseline, baseline_checks, registry
from heldout.runner.claims import claim_submission, record_outcome, requeue
from heldout.runner.context import current_context
from heldout.runner.failures import SANDBOX_UNAVAILABLE, failure_reason
from heldout.runner.lease import LeaseKeeper
from heldout.runner.outcome import Outcome
from heldout.runner.run import run_task
from heldout.runner.sandbox.base import SandboxUnavailable

log = logging.getLogger(__name__)


def score_submission(submission_id: int) -> str:
    """Score one submission; returns its final status (or ``skipped`` when it was not ours to run).

    Every line logged while it runs carries the submission id and RQ's job id (see heldout.logs).
    """
    job = get_current_job()
    with log_context(submission_id=submission_id, job_id=job.id if job is not None else None):
        return _score_submission(submission_id)


def _score_submission(submission_id: int) -> str:
    context = current_context()
    with session_scope(context.sessions) as session:  # the claim and the worker's row: one transaction
        task = claim_submission(session, submission_id, commit=False)
        if task is not None:
            registry.job_started(session, context.worker_name, submission_id)
    if task is None:
        log.info("submission %s is not queued; nothing to do", submission_id)
        return "skipped"
    with log_context(challenge_id=task.challenge_id):
        log.info("submission %s started (attempt %s, %.2fs in the queue)", submission_id, task.attempt,
                 task.queue_wait_s or 0.0, extra={"attempt": task.attempt, "queue_wait_s": task.queue_wait_s})
        return _run_claimed(context, task, task.queue_wait_s)


def _run_claimed(context, task, queue_wait_s: float | None) -> str:  # noqa: ANN001
    submission_id = task.submission_id
    started = time.monotonic()
    lease_interval = max(0.5, context.settings.running_deadline_s / 4)
    try:
        with LeaseKeeper(context.sessions, task, lease_interval):
            outcome = run_task(context.sandbox, context.storage, task, context.scorer)
    except SandboxUnavailable as exc:
        outcome = Outcome.platform_error(f"{SANDBOX_UNAVAILABLE}: {exc}")
    except Exception as exc:  # noqa: BLE001 - recorded as a platform error, then re-raised so RQ marks the job failed
        log.exception("submission %s: the scoring job crashed", submission_id,
                      extra={"status": SubmissionStatus.ERROR.value, "reason": "platform_error"})
        with session_scope(context.sessions) as session:
            crashed = record_outcome(session, task, Outcome.platform_error(f"{type(exc).__name__}: {exc}",
                                                                           run_s=time.monotonic() - started))
            registry.job_finished(session, context.worker_name, SubmissionStatus.ERROR if crashed else None)
        raise
    with session_scope(context.sessions) as session:
        recorded = record_outcome(session, task, outcome)
        team_id = _ranked_team_of(session, submission_id) if recorded else None
        if team_id is not None:
            refresh_team_best(session, task.challenge_id, team_id)
        # Counted with the outcome, in its transaction: a run that recorded nothing counts nothing.
        registry.job_finished(session, context.worker_name, outcome.status if recorded else None)
    if not recorded:
        log.warning("submission %s: a newer run owns it; this result is discarded", submission_id)
        return "discarded"
    _log_outcome(submission_id, outcome, time.monotonic() - started, queue_wait_s)
    return outcome.status.value


def _log_outcome(submission_id: int, outcome: Outcome, elapsed_s: float, queue_wait_s: float | None) -> None:
    status = outcome.status.value
    reason = failure_reason(outcome.status, outcome.limit_hit, outcome.internal_error)
    fields = {"status": status, "run_s": outcome.run_s, "queue_wait_s": queue_wait_s, "job_s": round(elapsed_s, 3)}
    if reason is not None:
        fields["reason"] = reason
        fields["exit_code"] = outcome.exit_code
        # The participant's message, or what broke on our side; capped, a log line is not a log file.
        text = outcome.internal_error if outcome.status == SubmissionStatus.ERROR else outcome.error
        log.log(logging.WARNING if outcome.status == SubmissionStatus.ERROR else logging.INFO,
                "submission %s %s: %s: %s", submission_id, status, reason, (text or "")[:500],
                extra={"status": status, "reason": reason, "exit_code": outcome.exit_code})
    log.info("submission %s %s in %.2fs", submission_id, status, elapsed_s, extra=fields)


def check_baseline(challenge_id: int, content_hash: str) -> str:
    """Run the pending baseline check of one bundle of a challenge; returns the state it recorded, or
    ``skipped`` when there was none pending for that bundle, or ``discarded`` when the bundle changed meanwhile."""
    context = current_context()
    with session_scope(context.sessions) as session:
        challenge = session.get(Challenge, challenge_id)
        pending = challenge is not None and challenge.content_hash == content_hash \
            and challenge.baseline_state == baseline_checks.PENDING
        task = baseline_checks.task_of_challenge(session, challenge) if challenge is not None and pending else None
    if task is None:
        return "skipped"
    with log_context(challenge_id=challenge_id):
        started = time.monotonic()
        try:
            if not task.script_key:
                report = baseline_checks.unrunnable(task, "this challenge was stored before baseline scripts were "
                                                          "kept: upload its bundle again")
            else:
                report = baseline.check_baseline(context.sandbox, context.storage, task)
        except SandboxUnavailable as exc:
            report = baseline.unavailable(task, exc)
        except Exception as exc:  # noqa: BLE001 - recorded, so the page does not say "pending" forever; re-raised
            log.exception("the baseline check of challenge %s crashed", challenge_id)
            with session_scope(context.sessions) as session:
                baseline_checks.record_report(session, challenge_id, content_hash, baseline_checks.unrunnable(
                    task, f"the check crashed on the platform's side: {type(exc).__name__}: {exc}"))
            raise
        with session_scope(context.sessions) as session:
            recorded = baseline_checks.record_report(session, challenge_id, content_hash, report)
        log.info("baseline check of challenge %s: %s in %.2fs", challenge_id, report.state,
                 time.monotonic() - started)
    return report.state if recorded else "discarded"


def rescore_submission(submission_id: int) -> str:
    """Queue a submission again (e.g. after the solution changed); the scoring job does the rest."""
    from heldout.runner.queue import enqueue_scoring, scoring_queue

    context = current_context()
    with session_scope(context.sessions) as session:
        attempt = requeue(session, submission_id)
    if attempt is None:
        return "missing"
    enqueue_scoring(scoring_queue(context.redis), submission_id, attempt)
    return "queued"


def _ranked_team_of(session, submission_id: int) -> int | None:  # noqa: ANN001
    """The team whose board row the submission may change; None for a host's or a late one, which change nothing
    (not even the day's rank snapshot or the private board's staleness)."""
    submission = session.get(Submission, submission_id)
    return None if submission.host or submission.late else submission.team_id


__all__ = ["score_submission", "rescore_submission", "check_baseline", "run_task", "SubmissionStatus"]
