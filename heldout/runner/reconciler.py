"""Rebuild the queue from the database: the database alone is the truth.

Run by every worker at start and then periodically. It re-enqueues
submissions that are ``queued`` but have no job (Redis flushed, enqueue
failed), ``running`` past their deadline (the worker died), and ``error``
whose retry time has come. A running submission counts as stuck when its
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
    in_queue |= set(queue.started_job_registry.get_job_ids())
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
                if job_id_for(sid, attempts) not in in_queue:
                    to_enqueue.append((sid, attempts))
            elif status == SubmissionStatus.RUNNING:
                # The running worker renews its lease; one that stopped renewing has died.
                if alive_at is not None and alive_at < stale:
                    attempt = requeue(session, sid, now=now, from_statuses=(SubmissionStatus.RUNNING,))
                    if attempt is not None:
                        report.recovered_running += 1
                        to_enqueue.append((sid, attempt))
            elif retry_at is not None and retry_at <= now:
                attempt = requeue(session, sid, now=now, from_statuses=(SubmissionStatus.ERROR,))
                if attempt is not None:
                    report.retried_errors += 1
                    to_enqueue.append((sid, attempt))
    for sid, attempt in to_enqueue:
        if enqueue_scoring(queue, sid, attempt):
            report.enqueued += 1
    if report.enqueued:
        log.info("reconciler: %s", report)
    return report
