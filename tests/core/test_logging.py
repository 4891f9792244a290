"""Log lines: text or one JSON object per line, carrying the submission, job and worker they are about."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from heldout.config import ConfigError, Settings
from heldout.logs import configure_logging, log_context
from heldout.models import SubmissionStatus, utcnow
from heldout.runner.queue import enqueue_scoring, job_id_for, scoring_queue
from heldout.runner.reconciler import reconcile
from heldout.runner.worker import run_worker
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.fakes import ScriptedSandbox, scored, scripted_context


@pytest.fixture
def log_output():
    """What Heldout logs, as configured by `heldout serve` / `heldout worker`; returns a reader of the lines."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level

    def configure(log_format: str):
        configure_logging(log_format, stream=stream)
        return lambda: stream.getvalue().splitlines()

    yield configure
    for handler in list(root.handlers):
        if getattr(handler, "_heldout", False):
            root.removeHandler(handler)
    root.setLevel(level)


def json_lines(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_a_json_line_has_the_time_level_logger_and_message(log_output):
    read = log_output("json")
    logging.getLogger("heldout.example").warning("disk %s%% full", 91, extra={"mount": "/data"})
    (line,) = json_lines(read())
    assert line["level"] == "WARNING" and line["logger"] == "heldout.example"
    assert line["message"] == "disk 91% full" and line["mount"] == "/data"
    assert line["timestamp"].endswith("Z") and line["timestamp"][:4].isdigit()


def test_a_json_line_keeps_its_traceback_in_one_object(log_output):
    read = log_output("json")
    try:
        raise RuntimeError("scorer crashed")
    except RuntimeError:
        logging.getLogger("heldout.example").exception("job failed")
    (line,) = json_lines(read())
    assert "RuntimeError: scorer crashed" in line["exception"]


def test_fields_bound_by_a_context_reach_every_line_inside_it_and_no_further(log_output):
    read = log_output("json")
    log = logging.getLogger("heldout.example")
    with log_context(submission_id=7, job_id="score-submission-7-1"):
        log.info("inside")
        with log_context(challenge_id=3):
            log.info("nested")
    log.info("outside")
    inside, nested, outside = json_lines(read())
    assert (inside["submission_id"], inside["job_id"]) == (7, "score-submission-7-1")
    assert "challenge_id" not in inside
    assert (nested["submission_id"], nested["challenge_id"]) == (7, 3)
    assert "submission_id" not in outside and "job_id" not in outside


def test_a_text_line_ends_with_its_context(log_output):
    read = log_output("text")
    with log_context(submission_id=7, job_id="score-submission-7-1"):
        logging.getLogger("heldout.example").info("started")
    (line,) = read()
    assert line.endswith("INFO heldout.example: started [job_id=score-submission-7-1 submission_id=7]")


# --- the worker's lines ---------------------------------------------------------------------------------------

@pytest.fixture
def context(settings, sessions, fake_redis):
    return scripted_context(settings, sessions, fake_redis)


def submit(session, context) -> tuple[int, int]:
    user = make_user(session)
    challenge = make_challenge(session)
    submission = make_submission(session, make_team(session, challenge, user), user)
    session.commit()
    path = context.storage.local_path(submission.file_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,y\n1,2\n")
    return submission.id, challenge.id


def test_a_job_run_by_the_worker_logs_its_start_and_finish_with_the_submission_job_and_worker(
        log_output, session, context):
    read = log_output("json")
    context.sandbox.script = [scored(0.25)]
    sid, challenge_id = submit(session, context)
    enqueue_scoring(scoring_queue(context.redis), sid, 1)

    run_worker(context, burst=True, name="worker-a")

    lines = [line for line in json_lines(read()) if line["logger"] == "heldout.runner.jobs"]
    started = next(line for line in lines if "started" in line["message"])
    finished = next(line for line in lines if line.get("status") == "scored")
    for line in (started, finished):
        assert line["submission_id"] == sid
        assert line["job_id"] == job_id_for(sid, 1)
        assert line["challenge_id"] == challenge_id
        assert line["worker"] == "worker-a"
    assert started["attempt"] == 1 and started["queue_wait_s"] >= 0
    assert finished["run_s"] == pytest.approx(0.01) and finished["queue_wait_s"] == started["queue_wait_s"]
    assert finished["message"].startswith(f"submission {sid} scored in ")


@pytest.mark.parametrize("script, unavailable, status, reason", [
    ([(None, None, "time")], None, "failed", "timeout"),
    ([(137, None, "memory")], None, "failed", "memory"),
    ([], "the Docker daemon does not answer", "error", "sandbox_unavailable"),
    ([(1, None)], None, "error", "platform_error"),
])
def test_a_failed_run_logs_its_reason(log_output, session, context, script, unavailable, status, reason):
    read = log_output("json")
    context.sandbox = ScriptedSandbox(script=list(script), unavailable=unavailable)
    sid, _challenge_id = submit(session, context)
    enqueue_scoring(scoring_queue(context.redis), sid, 1)

    run_worker(context, burst=True, name="worker-a")

    failure, finished = [line for line in json_lines(read()) if line.get("reason")]
    assert failure["message"].startswith(f"submission {sid} {status}: {reason}: ")
    assert failure["level"] == ("WARNING" if status == "error" else "INFO")
    assert finished["message"].startswith(f"submission {sid} {status} in ")
    for line in (failure, finished):
        assert (line["status"], line["reason"]) == (status, reason)
        assert line["submission_id"] == sid and line["job_id"] == job_id_for(sid, 1)


def test_the_reconciler_logs_each_submission_it_requeues(log_output, session, context):
    read = log_output("json")
    user = make_user(session)
    team = make_team(session, make_challenge(session), user)
    lost = make_submission(session, team, user, status=SubmissionStatus.RUNNING,
                           started_at=utcnow() - timedelta(minutes=10)).id
    retried = make_submission(session, team, user, status=SubmissionStatus.ERROR,
                              retry_at=utcnow() - timedelta(seconds=1)).id
    session.commit()

    reconcile(context.sessions, scoring_queue(context.redis), running_deadline_s=60)

    requeued = {line["submission_id"]: line for line in json_lines(read()) if "requeue_reason" in line}
    assert requeued[lost]["requeue_reason"] == "lease_expired" and requeued[lost]["level"] == "WARNING"
    assert requeued[retried]["requeue_reason"] == "retry_error"
    assert requeued[lost]["attempt"] == requeued[retried]["attempt"] == 2


# --- configuration ---------------------------------------------------------------------------------------------

def test_production_logs_json_and_development_logs_text(tmp_path):
    base = {"HELDOUT_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).log_format == "text"
    assert Settings.from_env({**base, "HELDOUT_PRODUCTION": "1", "HELDOUT_SECRET_KEY": "k"}).log_format == "json"
    assert Settings.from_env({**base, "HELDOUT_LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({**base, "HELDOUT_PRODUCTION": "1", "HELDOUT_SECRET_KEY": "k",
                              "HELDOUT_LOG_FORMAT": "text"}).log_format == "text"


def test_a_malformed_log_format_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"HELDOUT_LOG_FORMAT='xml' is not one of json, text"):
        Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_LOG_FORMAT": "xml"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    env.update(HELDOUT_DATA_DIR=str(tmp_path / "data"), HELDOUT_LOG_FORMAT="xml")
    done = subprocess.run([sys.executable, "-m", "heldout.cli", "worker"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == ["heldout: HELDOUT_LOG_FORMAT='xml' is not one of json, text"]
