"""The scoring queue: RQ on Redis, or on an in-process fakeredis for the demo.

Connections are passed explicitly. The queue is a cache of work whose truth is
the database: losing it loses nothing, because the reconciler rebuilds it.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from heldout.challenges.code import code_limits
from heldout.models import SubmissionStatus

log = logging.getLogger(__name__)

QUEUE_NAME = "heldout-scoring"
JOB_TIMEOUT_S = 3600  # RQ's own timeout is a soft backstop; the sandbox enforces the real limits.
# "Check my file" for code: short jobs someone is waiting for, put at the front of the scoring queue so that
# workers take them before any scoring job. (One queue, not two: an RQ worker blocked on several queues
# ignores SIGTERM until its wait ends, which would make every worker slow to stop.)
CHECK_JOB_TIMEOUT_S = 300
CHECK_RESULT_TTL_S = 600
# A check runs with the challenge's own time limit, cut to this: someone waits for the answer.
CHECK_TIME_LIMIT_S = 30.0
# How long the web host waits for a worker to take the job and run it, beyond the run's own limit.
CHECK_WAIT_MARGIN_S = 60.0
CHECK_POLL_S = 0.2


def connect_redis(url: str | None, *, embedded_server=None) -> Redis:  # noqa: ANN001
    """A Redis connection for ``url``, or an in-process fakeredis when ``url`` is None."""
    if url is None:
        import fakeredis  # only the embedded demo needs it

        server = embedded_server if embedded_server is not None else fakeredis.FakeServer()
        return fakeredis.FakeRedis(server=server)
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def scoring_queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, default_timeout=JOB_TIMEOUT_S)


def job_id_for(submission_id: int, attempt: int) -> str:
    return f"score-submission-{submission_id}-{attempt}"


def enqueue_scoring(queue: Queue, submission_id: int, attempt: int) -> bool:
    """Queue ``score_submission(submission_id)``; False when Redis refused or was unreachable.

    The job id carries the attempt number so a retry or rescore is a new job,
    while a second enqueue of the same attempt is refused by RQ.
    """
    try:
        queue.enqueue(
            "heldout.runner.jobs.score_submission",
            submission_id,
            job_id=job_id_for(submission_id, attempt),
            unique=True,
            result_ttl=0,
            failure_ttl=7 * 24 * 3600,
        )
        return True
    except DuplicateJobError:
        return True
    except Exception as exc:  # noqa: BLE001 - Redis down must not lose the submission: the reconciler re-queues it
        log.warning("could not enqueue submission %s: %s", submission_id, exc)
        return False


def enqueue_baseline_check(queue: Queue, challenge_id: int, content_hash: str) -> bool:
    """Queue ``check_baseline`` of the challenge's current bundle (see heldout.runner.baseline_checks); False when
    Redis refused. The job id names the bundle: asking again while one is queued adds nothing."""
    try:
        queue.enqueue("heldout.runner.jobs.check_baseline", challenge_id, content_hash,
                      job_id=f"check-baseline-{challenge_id}-{content_hash[:16]}", unique=True, result_ttl=0,
                      failure_ttl=7 * 24 * 3600)
        return True
    except DuplicateJobError:
        return True
    except Exception as exc:  # noqa: BLE001 - the page says the check is pending and offers to ask again
        log.warning("could not enqueue the baseline check of challenge %s: %s", challenge_id, exc)
        return False


def enqueue_check(queue: Queue, check_id: str, challenge_id: int, file_key: str, filename: str):  # noqa: ANN201
    """Queue the visible run of an uploaded file (``runner.checks.check_code``); returns the RQ job.

    Nothing in the database tracks a check: if Redis loses it, the learner who waits is told to try again."""
    return queue.enqueue("heldout.runner.checks.check_code", challenge_id, file_key, filename, check_id,
                         job_id=f"check-{check_id}", at_front=True, job_timeout=CHECK_JOB_TIMEOUT_S,
                         result_ttl=CHECK_RESULT_TTL_S, failure_ttl=CHECK_RESULT_TTL_S)


def queued_job_ids(queue: Queue) -> set[str]:
    return set(queue.get_job_ids())


def check_time_limit_s(rules: dict | None) -> float:
    """The time limit of a check's run: the challenge's own (heldout.challenges.code), at most CHECK_TIME_LIMIT_S."""
    return min(code_limits(rules).timeout_s, CHECK_TIME_LIMIT_S)


def wait_for_check(job, rules: dict | None) -> dict | None:  # noqa: ANN001
    """The finished check job's answer (``VisibleRun.to_dict()``), or None if it did not finish in time (it is
    then cancelled). A job that failed or was stopped answers as a visible run that broke on our side."""
    deadline = time.monotonic() + check_time_limit_s(rules) + CHECK_WAIT_MARGIN_S
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == "finished":
            return job.return_value(refresh=True)
        if status in ("failed", "stopped", "canceled"):
            return {"passed": False, "status": SubmissionStatus.ERROR.value,
                    "message": "The visible run broke on our side, not yours.", "logs": "", "details": {},
                    "error_detail": None}
        time.sleep(CHECK_POLL_S)
    try:
        job.cancel()
    except Exception:  # noqa: BLE001 - already taken or gone: either way nobody waits for it any more
        pass
    return None
