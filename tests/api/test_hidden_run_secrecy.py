"""What a code submission prints in its hidden run never reaches the learner: not through the submission's
page, its API JSON, the Kaggle-compatible API or the `heldout` client, and it is not stored either. The
visible run, on the public example data, is the learner's to read.

One real submission, scored by a real worker job in a real (bubblewrap) sandbox."""

from __future__ import annotations

import io

import pytest

from heldout.models import Submission
from heldout.platform.services.publishing import load_challenge
from heldout.runner.context import RunnerContext, configure
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


def test_the_hidden_run_of_a_leaking_predict_py_reaches_no_page_api_or_client(
        app, svc, ada, code_bundle, scored_by_a_worker, heldout):
    client = app.test_client()
    response = client.post(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer,
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(LEAKING_PREDICT.encode()), "predict.py")})
    assert response.status_code == 202, response.get_json()
    submission_id = response.get_json()["id"]
    assert scored_by_a_worker(submission_id) == "failed"

    client.post("/login", data={"username": ada.username, "password": "correct horse",
                                "csrf_token": csrf_token(client)})
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    api = client.get(f"/api/v1/submissions/{submission_id}", headers=ada.bearer).get_data(as_text=True)
    listing = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer).get_data(as_text=True)
    kaggle_list = client.post(f"{KAGGLE}/ListSubmissions", json={"competitionName": SLUG},
                              headers=ada.basic).get_data(as_text=True)
    kaggle_one = client.post(f"{KAGGLE}/GetSubmission", json={"ref": submission_id},
                             headers=ada.basic).get_data(as_text=True)
    clients = [heldout("submissions", SLUG, *fmt) for fmt in ((), ("--json",))]
    with svc.sessions() as s:
        row = s.get(Submission, submission_id)
        stored = [row.logs, row.error, row.error_detail, row.internal_error, row.diagnostics]

    hidden_rows = (code_bundle / "hidden" / "test.csv").read_text().splitlines()[1:]
    assert_no_hidden_row(hidden_rows, page, api, listing, kaggle_list, kaggle_one,
                         *(text for _, out, err in clients for text in (out, err)), *stored)
    assert "exited with status 1 in the hidden run" in page and "exited with status 1 in the hidden run" in api
    # The visible run's logs are on the page: the example's rows, printed by the same code.
    example_rows = (code_bundle / "example_test.csv").read_text().splitlines()[1:]
    assert all(f"ROW {row}" in page for row in example_rows)
