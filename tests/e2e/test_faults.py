"""Nothing is lost or scored twice when a worker dies or Redis forgets its queue (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from sqlalchemy import select

from heldout.db import make_engine, make_session_factory
from heldout.models import Submission, SubmissionStatus, TeamBestScore
from tests.bundles import COPY_SAMPLE_PREDICT, perfect_predictions, write_code_bundle, write_tiny_bundle
from tests.e2e.test_end_to_end import Stack, _wait_for, stack  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e


def _submit_via_api(stack: Stack, base_api, token: str, slug: str, filename: str, content: bytes) -> int:  # noqa: ANN001
    import requests

    response = requests.post(f"{base_api}/challenges/{slug}/submissions", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (filename, content)}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _stopped_sandboxes() -> list[str]:
    found = []
    for status in ("exited", "created", "dead"):
        found += subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox", "--filter",
                                 f"status={status}"], capture_output=True, text=True).stdout.split()
    return found


def _rows(database_url: str):
    engine = make_engine(database_url)
    with make_session_factory(engine)() as s:
        rows = {x.id: x for x in s.scalars(select(Submission))}
        bests = list(s.scalars(select(TeamBestScore)))
    engine.dispose()
    return rows, bests


def _serve(stack: Stack) -> str:
    import requests

    from tests.e2e.test_end_to_end import _free_port

    port = _free_port()
    stack.start("web", "serve", "--port", str(port), "--workers", "1")

    def healthy():  # noqa: ANN202
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    _wait_for(healthy, 30, "the server", stack)
    return f"http://127.0.0.1:{port}/api/v1"


def _user_token(stack: Stack) -> str:
    stack.run("users", "create", "ada", input="correct horse\n")
    return stack.run("tokens", "create", "ada").strip()


def _slow_code_submission(stack: Stack, tmp_path, *, seconds: float) -> int:  # noqa: ANN001
    """A served code challenge and one queued submission whose predict.py takes ``seconds``."""
    stack.run("db", "upgrade")
    stack.run("challenges", "load", str(write_code_bundle(tmp_path / "code")))
    token = _user_token(stack)
    api = _serve(stack)
    slow = f"import time; time.sleep({seconds})\n" + COPY_SAMPLE_PREDICT
    return _submit_via_api(stack, api, token, "tiny-code", "predict.py", slow.encode())


def test_a_worker_killed_mid_job_is_recovered_and_scores_once(stack, tmp_path):  # noqa: F811
    stack.env.update(HELDOUT_RUNNING_DEADLINE_S="3", HELDOUT_RECONCILE_INTERVAL_S="1")
    sid = _slow_code_submission(stack, tmp_path, seconds=4)
    worker = stack.start("worker-1", "worker", "--name", "doomed")
    _wait_for(lambda: _rows(stack.env["HELDOUT_DATABASE_URL"])[0][sid].status == SubmissionStatus.RUNNING,
              60, "the job to start", stack)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    # Its sandbox notices the dead worker and stops by itself.
    _wait_for(lambda: not subprocess.run(["docker", "ps", "-q", "--filter", "label=heldout.sandbox"],
                                         capture_output=True, text=True).stdout.strip(), 60,
              "the orphaned sandbox to stop", stack)
    stack.start("worker-2", "worker", "--name", "rescuer")
    _wait_for(lambda: _rows(stack.env["HELDOUT_DATABASE_URL"])[0][sid].status == SubmissionStatus.SCORED,
              90, "the rescued submission to be scored", stack)
    rows, bests = _rows(stack.env["HELDOUT_DATABASE_URL"])
    assert rows[sid].attempts == 2
    assert len(bests) == 1 and bests[0].entries == 1
    # The dead worker's sandboxes stop by themselves and the living worker's clean-up removes them;
    # once the workers stop, nothing is left at all.
    _wait_for(lambda: not _stopped_sandboxes(), 90, "the dead worker's sandboxes to be removed", stack)
    stack.stop()
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                              capture_output=True, text=True).stdout.strip()


def test_a_flushed_redis_loses_no_submission(stack, tmp_path, real_redis):  # noqa: F811
    bundle = write_tiny_bundle(tmp_path / "bundle")
    stack.run("db", "upgrade")
    stack.run("challenges", "load", str(bundle))
    token = _user_token(stack)
    api = _serve(stack)
    ids = [_submit_via_api(stack, api, token, "tiny-regression", f"p{i}.csv", perfect_predictions(bundle))
           for i in range(3)]
    real_redis.flushdb()  # the queue is gone; the database still says "queued"
    stack.start("worker", "worker")
    _wait_for(lambda: all(r.status == SubmissionStatus.SCORED
                          for r in _rows(stack.env["HELDOUT_DATABASE_URL"])[0].values()),
              90, "every submission to be scored", stack)
    rows, bests = _rows(stack.env["HELDOUT_DATABASE_URL"])
    assert sorted(rows) == sorted(ids)
    assert all(r.attempts == 1 for r in rows.values())
    assert bests[0].entries == 3


def test_a_docker_daemon_lost_mid_job_is_an_error_that_is_retried(stack, tmp_path):  # noqa: F811
    from tests.e2e.docker_proxy import DockerRelay

    relay = DockerRelay(tmp_path / "docker.sock")
    relay.start()
    stack.env.update(DOCKER_HOST=relay.docker_host, HELDOUT_RECONCILE_INTERVAL_S="1", HELDOUT_SANDBOX_POOL_SIZE="0")
    sid = _slow_code_submission(stack, tmp_path, seconds=3)
    stack.start("worker", "worker")
    database = stack.env["HELDOUT_DATABASE_URL"]
    _wait_for(lambda: _rows(database)[0][sid].status == SubmissionStatus.RUNNING, 60, "the job to start", stack)
    relay.cut()
    errored = _wait_for(lambda: _rows(database)[0][sid] if _rows(database)[0][sid].status == SubmissionStatus.ERROR
                        else None, 60, "the submission to end in error", stack)
    assert errored.error is None and errored.internal_error  # the platform's fault, not the learner's
    assert errored.retry_at is not None
    relay.start()
    scored = _wait_for(lambda: _rows(database)[0][sid] if _rows(database)[0][sid].status == SubmissionStatus.SCORED
                       else None, 90, "the retried submission to be scored", stack)
    assert scored.attempts == 2 and scored.public_score == pytest.approx(0.1, abs=0.05)
    # The sandbox orphaned when the daemon went away is removed by the worker's periodic clean-up.
    _wait_for(lambda: not subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                                         capture_output=True, text=True).stdout.strip(), 90,
              "the orphaned sandbox to be removed", stack)
    stack.stop()
    assert not subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                              capture_output=True, text=True).stdout.strip()
