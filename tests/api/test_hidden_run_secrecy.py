"""What a code submission prints in its hidden run never reaches the learner: not through the submission's
page, its API JSON, the Kaggle-compatible API or the `heldout` client, and it is not stored either. The
visible run, on the public example data, is the learner's to read.

One real submission, scored by a real worker job in a real (bubblewrap) sandbox."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from heldout.models import Submission, SubmissionStatus
from heldout.platform.services.publishing import load_challenge
from heldout.runner.context import RunnerContext, configure
from heldout.runner.execute import HIDDEN_EXIT_MESSAGE
from heldout.runner.jobs import score_submission
from tests.bundles import LEAKING_PREDICT, assert_no_hidden_row, write_code_bundle
from tests.platform.conftest import csrf_token

SLUG = "tiny-code"
KAGGLE = "/api/v1/competitions.CompetitionApiService"


@pytest.fixture
def database_url(sqlite_only):
    return sqlite_only


@pytest.fixture
def code_bundle(svc, tmp_path):
    bundle = write_code_bundle(tmp_path / "code")
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, bundle)
    return bundle


@pytest.fixture
def scored_by_a_worker(svc, fake_redis, bwrap_sandbox):
    """Run the scoring job for a submission id, as a worker with a bubblewrap sandbox would."""
    context = RunnerContext.from_settings(svc.settings, redis=fake_redis)
    context.sandbox = bwrap_sandbox
    configure(context)
    yield score_submission
    context.close()
    context.sessions.kw["bind"].dispose()


def _worker_scoring_what_arrives(svc, score_submission):
    """A worker's loop on a thread: each queued submission is scored for real (the client meanwhile waits)."""
    stop, scored = threading.Event(), []

    def work() -> None:
        while not stop.wait(0.05):
            with svc.sessions() as s:
                queued = s.scalars(select(Submission.id).where(Submission.status == SubmissionStatus.QUEUED)).all()
            scored.extend((submission_id, score_submission(submission_id)) for submission_id in queued)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return stop, thread, scored


def test_the_hidden_run_of_a_leaking_predict_py_reaches_no_page_api_or_client(
        app, svc, ada, code_bundle, scored_by_a_worker, heldout, tmp_path):
    # It prints every hidden row (stdout and stderr), then raises an exception whose message is a hidden row.
    predict = tmp_path / "predict.py"
    predict.write_text(LEAKING_PREDICT)
    stop, worker, scored = _worker_scoring_what_arrives(svc, scored_by_a_worker)
    try:
        waited = heldout("submit", SLUG, str(predict), "--wait", "--timeout", "60")
    finally:
        stop.set()
        worker.join(timeout=60)
    [(submission_id, status)] = scored
    assert status == "failed" and waited[0] == 1, waited

    client = app.test_client()
    client.post("/login", data={"username": ada.username, "password": "correct horse",
                                "csrf_token": csrf_token(client)})
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    api = client.get(f"/api/v1/submissions/{submission_id}", headers=ada.bearer).get_data(as_text=True)
    api_logs = client.get(f"/api/v1/submissions/{submission_id}/logs", headers=ada.bearer).get_data(as_text=True)
    listing = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer).get_data(as_text=True)
    kaggle_list = client.post(f"{KAGGLE}/ListSubmissions", json={"competitionName": SLUG},
                              headers=ada.basic).get_data(as_text=True)
    kaggle_one = client.post(f"{KAGGLE}/GetSubmission", json={"ref": submission_id},
                             headers=ada.basic).get_data(as_text=True)
    clients = [waited, *(heldout("submissions", SLUG, *fmt) for fmt in ((), ("--json",))),
               *(heldout("logs", str(submission_id), *fmt) for fmt in ((), ("--json",)))]
    with svc.sessions() as s:
        row = s.get(Submission, submission_id)
        stored = [row.logs, row.error, row.error_detail, row.internal_error, row.diagnostics]

    hidden_rows = (code_bundle / "hidden" / "test.csv").read_text().splitlines()[1:]
    assert_no_hidden_row(hidden_rows, page, api, api_logs, listing, kaggle_list, kaggle_one,
                         *(text for _, out, err in clients for text in (out, err)), *stored)
    assert HIDDEN_EXIT_MESSAGE in page and HIDDEN_EXIT_MESSAGE in api and HIDDEN_EXIT_MESSAGE in waited[2]
    # The visible run's logs are the learner's (page, API and `heldout logs`): the example's rows, printed
    # by the same code.
    example_rows = (code_bundle / "example_test.csv").read_text().splitlines()[1:]
    logs_out = clients[3][1]
    assert all(f"ROW {row}" in page and f"ROW {row}" in logs_out for row in example_rows)
