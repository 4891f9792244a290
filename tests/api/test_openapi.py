"""Schemathesis against the live app: every operation of the OpenAPI document, called with a token and
fed both valid and invalid input, answers only what the document says (statuses, content types, headers,
bodies) and never a server error.

Each operation is its own test, driven through schemathesis's Hypothesis strategies (its pytest loader
does not run on pytest 9). Path parameters are narrowed to one real value and one unknown one, so half
the calls reach a real challenge, file and submission.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection

from heldout.leaderboard.best import refresh_team_best
from heldout.models import Submission, SubmissionStatus
from heldout.platform.openapi import openapi_document
from tests.api.conftest import SLUG, make_learner
from tests.bundles import perfect_predictions

PATH_VALUES = {"slug": [SLUG, "no-such-challenge"], "name": ["train.csv", "solution.csv"],
               "submission_id": [1, 999]}
EXAMPLES_PER_MODE = 5

DOCUMENT = openapi_document("http://localhost/api/v1")
OPERATIONS = [(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item]


def _document_for_tests() -> dict:
    document = openapi_document("http://localhost/api/v1")
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in PATH_VALUES:
                    parameter["schema"] = {"enum": PATH_VALUES[parameter["name"]]}
    return document


@pytest.fixture
def database_url(sqlite_only):
    # The document is what is tested here: one database is enough (the other tests cover both).
    return sqlite_only


@pytest.fixture
def token(app, svc, tiny) -> str:
    app.config["HELDOUT_RATE_LIMITS"] = dict.fromkeys(("login", "bad_token", "token", "submit"), "100000 per minute")
    learner = make_learner(svc, "ada")
    response = app.test_client().post(f"/api/v1/challenges/{SLUG}/submissions", headers=learner.bearer,
                                      data={"file": (io.BytesIO(perfect_predictions(tiny)), "preds.csv")},
                                      content_type="multipart/form-data")
    assert response.status_code == 202 and response.get_json()["id"] == 1
    with svc.sessions() as s:
        submission = s.get(Submission, 1)
        submission.status, submission.public_score, submission.private_score = SubmissionStatus.SCORED, 0.5, 0.75
        s.flush()
        refresh_team_best(s, submission.challenge_id, submission.team_id)
        s.commit()
    return learner.token


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_operation_keeps_to_the_openapi_document(method, path, app, token):
    schema = schemathesis.openapi.from_dict(_document_for_tests())
    schema.app = app
    operation = schema[path][method]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    # Multipart sends every field as text, so a "number" where the document says string arrives as a string
    # that is a perfectly good message: no server could reject it, and that check does not apply.
    excluded = [negative_data_rejection] if "multipart/form-data" in str(DOCUMENT["paths"][path]) else []

    @given(case=cases)
    @settings(max_examples=2 * EXAMPLES_PER_MODE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)

    call()
