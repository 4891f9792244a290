"""Rebuild the queue from the database: the database alone is the truth.

Run by every worker at start and then periodically. It re-enqueues
submissions that are ``queued`` but have no job (Redis flushed, enqueue
failed) or whose job a worker took and died before claiming the row (RQ
keeps such a job "started" for its whole timeout), ``running`` past their
deadline (the worker died), and ``error`` whose retry time has come. A running submission counts as stuck when its
worker has not renewed its lease for ``running_deadline_s``, however long the
run itself is allowed to take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import Queue
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from heldout.db import session_scope
from heldout.models import Submission, SubmissionStatus, utcnow
from heldout.runner.claims import requeue
from heldout.runner.queue import enqueue_scoring, job_id_for, queued_job_ids

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    enqueued: int = 0
    recovered_running: int = 0
    retried_errors: int = 0


def reconcile(sessions: sessionmaker[Session], queue: Queue, *, running_deadline_s: int = 600,
              now: datetime | None = None) -> ReconcileReport:
    now = now or utcnow()
    report = ReconcileReport()
    in_queue = queued_job_ids(queue)
    # Jobs being run right now by some worker are not in the queue list but must not be doubled.
    started = set(queue.started_job_registry.get_job_ids())
    in_queue |= started
    to_enqueue: list[tuple[int, int]] = []
    with session_scope(sessions) as session:
        stale = now - timedelta(seconds=running_deadline_s)
        rows = session.execute(
            select(Submission.id, Submission.status, Submission.attempts,
                   func.coalesce(Submission.heartbeat_at, Submission.started_at), Submission.retry_at)
            .where(or_(Submission.status == SubmissionStatus.QUEUED,
                       Submission.status == SubmissionStatus.RUNNING,
                       Submission.status == SubmissionStatus.ERROR))
            .order_by(Submission.id)
        ).all()
        for sid, status, attempts, alive_at, retry_at in rows:
            if status == SubmissionStatus.QUEUED:
                job_id = job_id_for(sid, attempts)
                if job_id not in in_queue:
                    log.info("reconciler: submission %s is queued without a job; enqueuing it", sid,
                             extra={"submission_id": sid, "requeue_reason": "no_job", "attempt": attempts})
                    to_enqueue.append((sid, attempts))
                elif job_id in started and _taken_before(queue, job_id, stale):
                    # A worker took the job and died before claiming the row (the job's first step): RQ keeps
                    # the job "started" for its whole timeout, so the row gets a new attempt and a new job.
                    attempt = requeue(session, sid, now=now, from_statuses=(SubmissionStatus.QUEUED,))
                    if attempt is not None:
                        log.warning("reconciler: submission %s was taken by a worker that never claimed it; "
                                    "re-queued as attempt %s", sid, attempt,
                                    extra={"submission_id": sid, "requeue_reason": "taken_not_claimed",
                                           "attempt": attempt})
                        report.recovered_running += 1
                        to_enqueue.append((sid, attempt))
            elif status == SubmissionStatus.RUNNING:
                # The running worker renews its lease; one that stopped renewing has died.
                if alive_at is not None and alive_at < stale:
                    attempt = requeue(session, sid, now=now, from_statuses=(SubmissionStatus.RUNNING,))
                    if attempt is not None:
                        log.warning("reconciler: submission %s lost its worker (no lease renewal since %s); "
                                    "re-queued as attempt %s", sid, alive_at.isoformat(), attempt,
                                    extra={"submission_id": sid, "requeue_reason": "lease_expired",
                                           "attempt": attempt})
                        report.recovered_running += 1
                        to_enqueue.append((sid, attempt))
            elif retry_at is not None and retry_at <= now:
                attempt = requeue(session, sid, now=now, from_statuses=(SubmissionStatus.ERROR,))
                if attempt is not None:
                    log.info("reconciler: submission %s is retried after a platform error, attempt %s", sid,
                             attempt, extra={"submission_id": sid, "requeue_reason": "retry_error",
                                             "attempt": attempt})
                    report.retried_errors += 1
                    to_enqueue.append((sid, attempt))
    for sid, attempt in to_enqueue:
        if enqueue_scoring(queue, sid, attempt):
            report.enqueued += 1
    if report.enqueued:
        log.info("reconciler: %s", report)
    return report


def _taken_before(queue: Queue, job_id: str, cutoff: datetime) -> bool:
    """Whether a worker took this started job before ``cutoff``: when its RQ execution began (gone from
    Redis altogether: long ago, as far as anyone can tell)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=queue.connection)
        taken = [e.created_at for e in job.get_executions()] + ([job.started_at] if job.started_at else [])
    except NoSuchJobError:
        return True
    return not taken or max(taken) < cutoff
