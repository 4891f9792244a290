"""The scoring job's state machine, with a scripted sandbox: no container needed."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.models import Submission, SubmissionStatus, TeamBestScore, utcnow
from heldout.runner import claims
from heldout.runner.context import configure
from heldout.runner.jobs import score_submission
from heldout.runner.outcome import Outcome
from heldout.runner.queue import scoring_queue
from heldout.runner.reconciler import reconcile
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.fakes import rejected, scored, scripted_context


@pytest.fixture
def context(settings, sessions, fake_redis):
    ctx = scripted_context(settings, sessions, fake_redis)
    configure(ctx)
    return ctx


@pytest.fixture
def entry(session):
    user = make_user(session)
    challenge = make_challenge(session)
    team = make_team(session, challenge, user)
    session.commit()
    return user, challenge, team


def _submit(session, context, entry, **extra):
    user, _challenge, team = entry
    submission = make_submission(session, team, user, **extra)
    session.commit()
    path = context.storage.local_path(submission.file_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,y\n1,2\n")
    return submission.id


def _get(sessions, submission_id):
    with sessions() as s:
        return s.get(Submission, submission_id)


def test_a_queued_submission_is_scored_and_reaches_the_leaderboard(context, session, entry):
    context.sandbox.script = [scored(0.25, 0.3)]
    sid = _submit(session, context, entry)
    assert score_submission(sid) == "scored"
    row = _get(context.sessions, sid)
    assert row.status == SubmissionStatus.SCORED
    assert (row.public_score, row.private_score) == (0.25, 0.3)
    assert row.public_ci_low == pytest.approx(0.15)
    assert (row.private_ci_low, row.private_ci_high) == (pytest.approx(0.1), pytest.approx(0.5))
    assert row.queue_wait_s is not None and row.run_s is not None
    with context.sessions() as s:
        best = s.scalar(select(TeamBestScore))
    assert best.submission_id == sid and best.public_score == 0.25 and best.entries == 1


def test_the_scorers_public_diagnostics_are_kept_and_an_oversized_one_is_dropped(context, session, entry):
    diagnostics = {"rows": 10, "confusion": {"labels": ["a", "b"], "matrix": [[5, 0], [1, 4]]}}
    oversized = {"rows": 10, "confusion": {"labels": ["x" * 300_000, "b"], "matrix": [[5, 0], [1, 4]]}}
    context.sandbox.script = [(0, {**scored(0.9)[1], "diagnostics": diagnostics}),
                              (0, {**scored(0.9)[1], "diagnostics": oversized})]
    first, second = _submit(session, context, entry), _submit(session, context, entry)
    assert score_submission(first) == "scored" and score_submission(second) == "scored"
    assert _get(context.sessions, first).diagnostics == diagnostics
    assert _get(context.sessions, second).diagnostics is None


def test_running_the_job_twice_scores_once(context, session, entry):
    context.sandbox.script = [scored(0.25), scored(0.99)]
    sid = _submit(session, context, entry)
    assert score_submission(sid) == "scored"
    assert score_submission(sid) == "skipped"
    assert len(context.sandbox.requests) == 1
    assert _get(context.sessions, sid).public_score == 0.25


def test_a_stale_worker_cannot_overwrite_a_newer_run(context, session, entry):
    sid = _submit(session, context, entry)
    with context.sessions() as s:
        stale = claims.claim_submission(s, sid)
        s.commit()
    with context.sessions() as s:  # the reconciler gives it to another worker
        claims.requeue(s, sid, from_statuses=(SubmissionStatus.RUNNING,))
        s.commit()
    context.sandbox.script = [scored(0.1)]
    assert score_submission(sid) == "scored"
    with context.sessions() as s:
        assert claims.record_outcome(s, stale, Outcome(status=SubmissionStatus.SCORED, public_score=9.0,
                                                       private_score=9.0)) is False
        s.commit()
    assert _get(context.sessions, sid).public_score == 0.1


def test_a_bad_file_fails_with_the_learners_message(context, session, entry):
    context.sandbox.script = [rejected("3 ids are missing", column="id", rows=[2, 3, 4])]
    sid = _submit(session, context, entry)
    assert score_submission(sid) == "failed"
    row = _get(context.sessions, sid)
    assert row.status == SubmissionStatus.FAILED
    assert "3 ids are missing" in row.error and row.error_detail["rows"] == [2, 3, 4]
    assert row.public_score is None


def test_a_crashing_scorer_is_a_platform_error_that_is_retried(context, session, entry):
    context.sandbox.script = [(1, None)]
    sid = _submit(session, context, entry)
    assert score_submission(sid) == "error"
    row = _get(context.sessions, sid)
    assert row.status == SubmissionStatus.ERROR and row.error is None and "boom" in row.internal_error
    assert row.retry_at is not None
    queue = scoring_queue(context.redis)
    report = reconcile(context.sessions, queue, now=row.retry_at + timedelta(seconds=1))
    assert report.retried_errors == 1
    assert _get(context.sessions, sid).status == SubmissionStatus.QUEUED
    context.sandbox.script = [scored(0.5)]
    assert score_submission(sid) == "scored"


def test_no_sandbox_means_error_not_failure(context, session, entry):
    context.sandbox.unavailable = "Docker daemon is not running"
    sid = _submit(session, context, entry)
    assert score_submission(sid) == "error"
    row = _get(context.sessions, sid)
    assert "Docker daemon is not running" in row.internal_error and row.error is None


def test_the_reconciler_requeues_what_redis_lost(context, session, entry):
    sid = _submit(session, context, entry)
    queue = scoring_queue(context.redis)
    assert queue.count == 0  # the enqueue never happened (or Redis was flushed)
    assert reconcile(context.sessions, queue).enqueued == 1
    assert reconcile(context.sessions, queue).enqueued == 0  # already queued: not doubled
    assert queue.count == 1


def test_the_reconciler_rescues_a_submission_stuck_running(context, session, entry):
    sid = _submit(session, context, entry)
    with context.sessions() as s:
        claims.claim_submission(s, sid, now=utcnow() - timedelta(hours=1))
        s.commit()
    queue = scoring_queue(context.redis)
    report = reconcile(context.sessions, queue, running_deadline_s=600)
    assert report.recovered_running == 1
    row = _get(context.sessions, sid)
    assert row.status == SubmissionStatus.QUEUED and row.attempts == 2


def test_the_reconciler_rescues_a_job_whose_worker_died_before_claiming_it(context, session, entry):
    """A worker took the job from Redis (RQ lists it as started for the job's whole timeout) and died before
    its first step, the claim: the row is still queued. Once the deadline passes it gets a new attempt."""
    from rq import SimpleWorker

    from heldout.runner.queue import enqueue_scoring, job_id_for

    sid = _submit(session, context, entry)
    queue = scoring_queue(context.redis)
    enqueue_scoring(queue, sid, 1)
    worker = SimpleWorker([queue], connection=context.redis)
    job, _queue = worker.dequeue_job_and_maintain_ttl(timeout=None)
    worker.prepare_execution(job)  # ...and the worker is gone
    assert queue.count == 0 and job.id in queue.started_job_registry.get_job_ids()
    # A worker that is merely about to claim it is left alone.
    assert reconcile(context.sessions, queue, running_deadline_s=60).enqueued == 0
    later = utcnow() + timedelta(seconds=61)
    report = reconcile(context.sessions, queue, running_deadline_s=60, now=later)
    assert report.recovered_running == 1 and report.enqueued == 1
    row = _get(context.sessions, sid)
    assert row.status == SubmissionStatus.QUEUED and row.attempts == 2
    assert queue.get_job_ids() == [job_id_for(sid, 2)]
    # The dead worker's job, should it run after all, finds the row not its own... or claims it first and the
    # new one finds nothing to do: one run either way.
    context.sandbox.script = [scored(0.25, 0.3)]
    assert score_submission(sid) == "scored"
    assert score_submission(sid) == "skipped"


def test_the_best_score_follows_the_direction_and_ties_go_to_the_earlier(context, session, entry):
    _user, challenge, _team = entry
    context.sandbox.script = [scored(0.5), scored(0.4), scored(0.4)]
    ids = [_submit(session, context, entry) for _ in range(3)]
    for sid in ids:
        score_submission(sid)
    with context.sessions() as s:
        best = s.get(TeamBestScore, (challenge.id, entry[2].id))
    assert best.submission_id == ids[1] and best.entries == 3


def test_a_long_run_whose_worker_renews_its_lease_is_left_alone(context, session, entry):
    sid = _submit(session, context, entry)
    started = utcnow() - timedelta(hours=1)
    with context.sessions() as s:
        task = claims.claim_submission(s, sid, now=started)
        s.commit()
    with context.sessions() as s:
        assert claims.renew_lease(s, task, now=utcnow() - timedelta(seconds=10))
        s.commit()
    queue = scoring_queue(context.redis)
    assert reconcile(context.sessions, queue, running_deadline_s=60).recovered_running == 0
    assert _get(context.sessions, sid).status == SubmissionStatus.RUNNING


def test_a_run_that_lost_its_submission_cannot_renew_the_lease(context, session, entry):
    sid = _submit(session, context, entry)
    with context.sessions() as s:
        stale = claims.claim_submission(s, sid)
        s.commit()
    with context.sessions() as s:
        claims.requeue(s, sid, from_statuses=(SubmissionStatus.RUNNING,))
        s.commit()
    with context.sessions() as s:
        assert claims.renew_lease(s, stale) is False
