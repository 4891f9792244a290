"""Workers announce themselves in the database, beat, count their jobs once, and sign off on a clean stop."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import delete, select

from heldout.config import ConfigError, Settings
from heldout.db import make_engine, make_session_factory
from heldout.models import SubmissionStatus, Worker, utcnow
from heldout.runner import claims, registry
from heldout.runner.context import configure
from heldout.runner.jobs import score_submission
from heldout.runner.queue import enqueue_scoring, scoring_queue
from heldout.runner.sandbox.bubblewrap_backend import BubblewrapSandbox
from heldout.runner.sandbox.docker_backend import DockerSandbox
from heldout.runner.worker import ScoringWorker, run_worker
from tests.conftest import REDIS_URL
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.fakes import ScriptedSandbox, scored, scripted_context


@pytest.fixture
def context(settings, sessions, fake_redis):
    ctx = scripted_context(settings, sessions, fake_redis)
    configure(ctx)
    yield ctx
    ctx.worker_name = None


def _submit(session, context) -> int:
    user = make_user(session)
    submission = make_submission(session, make_team(session, make_challenge(session), user), user)
    session.commit()
    path = context.storage.local_path(submission.file_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,y\n1,2\n")
    return submission.id


def _worker(sessions, name) -> Worker | None:
    with sessions() as s:
        return s.scalar(select(Worker).where(Worker.name == name))


def _registered(context, name="worker-a", heartbeat_s=10) -> registry.WorkerIdentity:
    identity = registry.identify(name, "scripted", heartbeat_s=heartbeat_s)
    with context.sessions() as s:
        registry.register(s, identity)
        s.commit()
    context.worker_name = name
    return identity


# --- the worker's life -------------------------------------------------------------------------------------------

def test_a_worker_announces_itself_scores_and_signs_off_on_a_clean_stop(context, session):
    context.sandbox.script = [scored(0.25)]
    sid = _submit(session, context)
    enqueue_scoring(scoring_queue(context.redis), sid, 1)
    before = utcnow()

    run_worker(context, burst=True, name="worker-a")

    row = _worker(context.sessions, "worker-a")
    assert (row.hostname, row.pid, row.sandbox_backend) == (socket.gethostname(), os.getpid(), "scripted")
    assert row.version == registry.heldout_version() and row.version != ""
    assert row.heartbeat_s == context.settings.worker_heartbeat_s == 10
    assert before <= row.started_at <= row.last_heartbeat_at
    assert row.stopped_at is not None and row.stopped_at >= row.started_at
    assert (row.jobs_done, row.jobs_errored, row.current_submission_id) == (1, 0, None)


def test_a_restart_under_the_same_name_starts_the_row_afresh(context, session):
    run_worker(context, burst=True, name="worker-a")
    first = _worker(context.sessions, "worker-a")
    with context.sessions() as s:
        s.execute(Worker.__table__.update().values(jobs_done=7, jobs_errored=2))
        s.commit()
    context.sandbox = ScriptedSandbox(name="bubblewrap")

    run_worker(context, burst=True, name="worker-a")

    with context.sessions() as s:
        rows = s.scalars(select(Worker)).all()
    assert len(rows) == 1
    again = rows[0]
    assert again.id == first.id and again.started_at > first.started_at
    assert (again.sandbox_backend, again.jobs_done, again.jobs_errored) == ("bubblewrap", 0, 0)


def test_unnamed_workers_get_a_row_each(context):
    run_worker(context, burst=True)
    run_worker(context, burst=True)
    with context.sessions() as s:
        names = s.scalars(select(Worker.name)).all()
    assert len(set(names)) == 2 and all(len(n) == 32 for n in names)


def test_a_worker_that_cannot_build_its_sandbox_still_announces_itself(context, monkeypatch):
    context.sandbox = None
    monkeypatch.setattr("heldout.runner.sandbox.get_sandbox",
                        lambda *a, **kw: (_ for _ in ()).throw(RuntimeError("no daemon")))

    run_worker(context, burst=True, name="worker-a")

    assert _worker(context.sessions, "worker-a").sandbox_backend == "auto (unavailable)"


# --- heartbeats ------------------------------------------------------------------------------------------------

def test_a_heartbeat_moves_last_heartbeat_at_and_only_that(context):
    identity = _registered(context)
    later = utcnow() + timedelta(seconds=30)
    with context.sessions() as s:
        assert registry.heartbeat(s, identity, now=later) is True
        s.commit()
    row = _worker(context.sessions, "worker-a")
    assert row.last_heartbeat_at == later and row.started_at < later and row.stopped_at is None


def test_the_heartbeat_thread_beats_and_re_announces_a_vanished_row(context):
    identity = _registered(context, heartbeat_s=1)
    started = _worker(context.sessions, "worker-a").last_heartbeat_at
    thread = registry.HeartbeatThread(context.sessions, identity, interval_s=0.05)
    thread.start()
    try:
        _wait_for(lambda: _worker(context.sessions, "worker-a").last_heartbeat_at > started)
        with context.sessions() as s:
            s.execute(delete(Worker))
            s.commit()
        _wait_for(lambda: _worker(context.sessions, "worker-a") is not None)
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert _worker(context.sessions, "worker-a").pid == os.getpid()


def test_another_process_of_the_same_name_is_not_marked_stopped_by_this_one(context):
    ours = _registered(context)
    theirs = registry.WorkerIdentity(**{**ours.__dict__, "pid": ours.pid + 1})
    with context.sessions() as s:
        registry.register(s, theirs)  # took the name over
        assert registry.heartbeat(s, ours) is False
        registry.mark_stopped(s, ours)
        s.commit()
    row = _worker(context.sessions, "worker-a")
    assert row.pid == theirs.pid and row.stopped_at is None


def _wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- jobs ------------------------------------------------------------------------------------------------------

class WatchingSandbox(ScriptedSandbox):
    """Reads the worker's row while the run is under way."""

    def __init__(self, sessions, **kw):
        super().__init__(**kw)
        self.sessions = sessions
        self.seen = []

    def run(self, request):
        self.seen.append(_worker(self.sessions, "worker-a").current_submission_id)
        return super().run(request)


def test_the_worker_shows_the_submission_it_runs_until_the_run_is_over(context, session):
    _registered(context)
    context.sandbox = WatchingSandbox(context.sessions, script=[scored(0.3)])
    sid = _submit(session, context)
    assert score_submission(sid) == "scored"
    assert context.sandbox.seen == [sid]
    assert _worker(context.sessions, "worker-a").current_submission_id is None


def test_a_job_that_runs_twice_is_counted_once(context, session):
    _registered(context)
    context.sandbox.script = [scored(0.25), scored(0.99)]
    sid = _submit(session, context)
    assert score_submission(sid) == "scored"
    assert score_submission(sid) == "skipped"
    row = _worker(context.sessions, "worker-a")
    assert (row.jobs_done, row.jobs_errored, row.current_submission_id) == (1, 0, None)


def test_the_same_job_enqueued_twice_through_rq_is_counted_once(context, session):
    context.sandbox.script = [scored(0.25), scored(0.99)]
    sid = _submit(session, context)
    queue = scoring_queue(context.redis)
    queue.enqueue("heldout.runner.jobs.score_submission", sid, job_id="first")
    queue.enqueue("heldout.runner.jobs.score_submission", sid, job_id="second")

    run_worker(context, burst=True, name="worker-a")

    assert len(context.sandbox.requests) == 1
    assert _worker(context.sessions, "worker-a").jobs_done == 1


def test_a_run_whose_result_is_discarded_counts_nothing(context, session):
    _registered(context)
    sid = _submit(session, context)

    def taken_over_mid_run(request):
        with context.sessions() as s:  # the reconciler gave the submission to another worker meanwhile
            claims.requeue(s, sid, from_statuses=(SubmissionStatus.RUNNING,))
            s.commit()
        return ScriptedSandbox.run(context.sandbox, request)

    context.sandbox.run = taken_over_mid_run
    assert score_submission(sid) == "discarded"
    row = _worker(context.sessions, "worker-a")
    assert (row.jobs_done, row.jobs_errored, row.current_submission_id) == (0, 0, None)


def test_participant_failures_are_jobs_done_and_platform_errors_are_counted_apart(context, session):
    _registered(context)
    context.sandbox.script = [(2, {"ok": False, "error": {"message": "bad file", "rows": []}}), (1, None)]
    assert score_submission(_submit(session, context)) == "failed"
    assert score_submission(_submit(session, context)) == "error"
    row = _worker(context.sessions, "worker-a")
    assert (row.jobs_done, row.jobs_errored) == (1, 1)


def test_a_crashing_job_is_counted_as_a_platform_error(context, session):
    _registered(context)

    def crash(request):
        raise RuntimeError("the host ran out of disk")

    context.sandbox.run = crash
    sid = _submit(session, context)
    with pytest.raises(RuntimeError):
        score_submission(sid)
    row = _worker(context.sessions, "worker-a")
    assert (row.jobs_done, row.jobs_errored, row.current_submission_id) == (0, 1, None)


def test_a_job_outside_a_registered_worker_touches_no_row(context, session):
    context.sandbox.script = [scored(0.25)]
    assert score_submission(_submit(session, context)) == "scored"
    with context.sessions() as s:
        assert s.scalars(select(Worker)).all() == []


# --- what the sandbox says about itself, and the setting --------------------------------------------------------

def test_the_sandbox_label_names_the_backend_and_a_non_default_docker_runtime():
    class Pool:  # a prestarted pool wraps its DockerSandbox
        name = "docker"

        def __init__(self, backend):
            self.backend = backend

    assert registry.sandbox_label(DockerSandbox()) == "docker"
    assert registry.sandbox_label(DockerSandbox(runtime="runsc")) == "docker+runsc"
    assert registry.sandbox_label(Pool(DockerSandbox(runtime="runsc"))) == "docker+runsc"
    assert registry.sandbox_label(BubblewrapSandbox()) == "bubblewrap"


def test_the_heartbeat_interval_is_read_from_the_environment(tmp_path):
    base = {"HELDOUT_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).worker_heartbeat_s == 10
    assert Settings.from_env({**base, "HELDOUT_WORKER_HEARTBEAT_S": "3"}).worker_heartbeat_s == 3
    for bad, message in (("soon", "is not a whole number"), ("0", "must be positive"), ("-5", "must be positive")):
        with pytest.raises(ConfigError, match=message) as info:
            Settings.from_env({**base, "HELDOUT_WORKER_HEARTBEAT_S": bad})
        assert "HELDOUT_WORKER_HEARTBEAT_S" in str(info.value) and "\n" not in str(info.value)


# --- a hung worker: `heldout health` fails for it ----------------------------------------------------------------

def test_the_health_check_finds_only_this_hosts_workers_that_stopped_beating_while_alive(context):
    now = utcnow()
    # (name, host, pid, seconds since its last beat, stopped cleanly); each beats every 10 s.
    fleet = [("fresh", "here", 4001, 5, False), ("hung", "here", 4002, 31, False), ("dead", "here", 4003, 31, False),
             ("elsewhere", "there", 4004, 31, False), ("stopped", "here", 4005, 31, True)]
    with context.sessions() as s:
        for name, host, pid, ago, stopped in fleet:
            identity = registry.WorkerIdentity(name, host, pid, "scripted", "0", heartbeat_s=10)
            registry.register(s, identity, now=now - timedelta(seconds=ago))
            if stopped:
                registry.mark_stopped(s, identity, now=now - timedelta(seconds=ago))
        s.commit()
        alive = {4001, 4002, 4004, 4005}
        hung = registry.hung_workers(s, "here", now=now, alive=lambda pid: pid in alive)
        # 31 s is more than three beats; "dead" has no process left, "elsewhere" is another host's business.
        assert [w.name for w in hung] == ["hung"]
        assert registry.hung_workers(s, "here", now=now - timedelta(seconds=2), alive=lambda pid: True) == []


def test_heldout_health_fails_for_a_worker_stopped_by_sigstop_and_passes_once_it_runs_again(
        tmp_path, postgres_url, real_redis, bwrap_sandbox, heldout_cli):
    settings = dict(HELDOUT_DATA_DIR=str(tmp_path / "data"), HELDOUT_DATABASE_URL=postgres_url,
                    HELDOUT_REDIS_URL=REDIS_URL, HELDOUT_SANDBOX="bubblewrap", HELDOUT_WORKER_HEARTBEAT_S="1",
                    HELDOUT_SECRET_KEY="x")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}, **settings}

    def health() -> subprocess.CompletedProcess:  # run here, on the worker's host, as a health check would
        return heldout_cli("health", **settings)

    def wait_for(check, what: str, timeout_s: float = 60):  # noqa: ANN001, ANN202
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if result := check():
                return result
            time.sleep(0.3)
        pytest.fail(f"timed out waiting for {what}; worker log:\n{(tmp_path / 'worker.log').read_text()[-3000:]}")

    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "heldout.cli", "worker", "--name", "sleepy"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    try:
        wait_for(lambda: _worker(sessions, "sleepy"), "the worker to announce itself")
        ok = health()
        assert ok.returncode == 0, ok.stderr
        worker.send_signal(signal.SIGSTOP)
        hung = wait_for(lambda: (done := health()).returncode == 1 and done, "heldout health to call it hung")
        assert "Traceback" not in hung.stderr, hung.stderr
        (line,) = [line for line in hung.stderr.splitlines() if line.startswith("heldout:")]
        assert line.startswith(f"heldout: worker sleepy (pid {worker.pid}) is hung: its last heartbeat was ")
        assert "(it beats every 1 s) though its process is alive" in line
        worker.send_signal(signal.SIGCONT)
        wait_for(lambda: health().returncode == 0, "heldout health to pass once the worker beats again")
        # A worker that died is not hung: its process is gone (the reconciler re-queues what it held).
        worker.kill()
        worker.wait(timeout=30)
        time.sleep(3.5)
        assert _worker(sessions, "sleepy").stopped_at is None
        assert health().returncode == 0
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGCONT)
            worker.kill()
            worker.wait(timeout=30)
        engine.dispose()


def test_stopping_waits_at_most_a_second_for_rqs_pub_sub_thread_even_one_left_waiting_a_minute(real_redis):
    pubsub = real_redis.pubsub()
    pubsub.subscribe(**{"heldout-test-commands": lambda message: None})
    thread = pubsub.run_in_thread(sleep_time=60, daemon=True)
    time.sleep(0.3)
    pubsub.unsubscribe()  # the race RQ loses: the thread reads the reply, then waits 60 s for a subscription
    time.sleep(0.5)
    worker = ScoringWorker([Queue("heldout-test", connection=real_redis)], connection=real_redis)
    worker.pubsub, worker.pubsub_thread = pubsub, thread
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 3


def test_a_worker_told_to_stop_stops_within_seconds_and_signs_off(tmp_path, postgres_url, real_redis, bwrap_sandbox):
    """SIGTERM, as systemd and compose stop a worker: it stops at once, not after RQ's minute-long wait for its
    pub/sub thread (redis-py 8's stop() waits for that thread: runner.worker.ScoringWorker)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")},
           "HELDOUT_DATA_DIR": str(tmp_path / "data"), "HELDOUT_DATABASE_URL": postgres_url,
           "HELDOUT_REDIS_URL": REDIS_URL, "HELDOUT_SANDBOX": "bubblewrap", "HELDOUT_SECRET_KEY": "x"}
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "heldout.cli", "worker", "--name", "prompt"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while _worker(sessions, "prompt") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # RQ subscribes to its channel once it starts working the queue
        worker.send_signal(signal.SIGTERM)
        started = time.monotonic()
        worker.wait(timeout=70)
        took = time.monotonic() - started
        assert took < 5, f"the worker took {took:.1f} s to stop:\n{(tmp_path / 'worker.log').read_text()[-3000:]}"
        assert worker.returncode == 0 and _worker(sessions, "prompt").stopped_at is not None
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
        engine.dispose()
