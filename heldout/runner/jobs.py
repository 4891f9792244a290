"""RQ jobs. A job takes ids, holds no database session while a container runs,
and is idempotent: running it twice scores once."""

from __future__ import annotations

import logging
import time

from heldout.db import session_scope
from heldout.leaderboard.best import refresh_team_best
from heldout.models import Submission, SubmissionStatus
from heldout.runner.claims import claim_submission, record_outcome, requeue
from heldout.runner.context import current_context
from heldout.runner.execute import run_code, score_predictions
from heldout.runner.lease import LeaseKeeper
from heldout.runner.outcome import Outcome
from heldout.runner.reinforcement import run_reinforcement
from heldout.runner.sandbox.base import SandboxUnavailable

log = logging.getLogger(__name__)


def score_submission(submission_id: int) -> str:
    """Score one submission; returns its final status (or ``skipped`` when it was not ours to run)."""
    context = current_context()
    with session_scope(context.sessions) as session:
        task = claim_submission(session, submission_id)
    if task is None:
        log.info("submission %s is not queued; nothing to do", submission_id)
        return "skipped"
    started = time.monotonic()
    lease_interval = max(0.5, context.settings.running_deadline_s / 4)
    try:
        with LeaseKeeper(context.sessions, task, lease_interval):
            outcome = _run(context.sandbox, context.storage, task)
    except SandboxUnavailable as exc:
        outcome = Outcome.platform_error(f"sandbox unavailable: {exc}")
    except Exception as exc:  # noqa: BLE001 - recorded as a platform error, then re-raised so RQ marks the job failed
        with session_scope(context.sessions) as session:
            record_outcome(session, task, Outcome.platform_error(f"{type(exc).__name__}: {exc}",
                                                                 run_s=time.monotonic() - started))
        raise
    with session_scope(context.sessions) as session:
        recorded = record_outcome(session, task, outcome)
        if recorded:
            refresh_team_best(session, task.challenge_id, _team_of(session, submission_id))
    if not recorded:
        log.warning("submission %s: a newer run owns it; this result is discarded", submission_id)
        return "discarded"
    log.info("submission %s %s in %.2fs", submission_id, outcome.status.value, time.monotonic() - started)
    return outcome.status.value


def _run(sandbox, storage, task) -> Outcome:  # noqa: ANN001
    if task.scoring_spec.get("task_type") == "reinforcement":
        return run_reinforcement(sandbox, storage, task)
    if task.kind == "code":
        return run_code(sandbox, storage, task)
    return score_predictions(sandbox, storage, task)


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


def _team_of(session, submission_id: int) -> int:  # noqa: ANN001
    return session.get(Submission, submission_id).team_id


__all__ = ["score_submission", "rescore_submission", "SubmissionStatus"]
