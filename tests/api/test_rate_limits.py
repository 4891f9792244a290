"""Rate limits on logging in, token use and submitting: 429 with Retry-After, counted in the app's Redis."""

from __future__ import annotations

import io

import pytest

from tests.api.conftest import SLUG
from tests.bundles import perfect_predictions
from tests.platform.conftest import csrf_token


@pytest.fixture
def database_url(sqlite_only):
    # Limits are counted in Redis, not the database: one database is enough.
    return sqlite_only


def _limits(app, **limits):
    app.config["HELDOUT_RATE_LIMITS"] = limits


def _check(client, learner, data: bytes):
    return client.post(f"/api/v1/challenges/{SLUG}/check", headers=learner.bearer,
                       content_type="multipart/form-data", data={"file": (io.BytesIO(data), "preds.csv")})


def test_submitting_too_often_is_answered_429_with_retry_after(app, client, tiny, ada):
    _limits(app, submit="2 per minute")
    assert [_check(client, ada, perfect_predictions(tiny)).status_code for _ in range(2)] == [200, 200]
    refused = _check(client, ada, perfect_predictions(tiny))
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "rate_limited" and "Too many submissions" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert body["details"]["retry_after"] == int(refused.headers["Retry-After"])
    # Reading is not submitting: other routes still answer.
    assert client.get(f"/api/v1/challenges/{SLUG}", headers=ada.bearer).status_code == 200


def test_each_token_has_one_budget_across_routes(app, client, tiny, ada, grace):
    _limits(app, token="3 per minute")
    paths = ["/api/v1/me", "/api/v1/challenges", f"/api/v1/challenges/{SLUG}", "/api/v1/me"]
    assert [client.get(path, headers=ada.bearer).status_code for path in paths] == [200, 200, 200, 429]
    assert client.get("/api/v1/me", headers=grace.bearer).status_code == 200
    # Anonymous reads are not token use.
    assert client.get("/api/v1/challenges").status_code == 200


def test_guessing_tokens_is_slowed_down_per_address(app, client, ada):
    _limits(app, bad_token="3 per minute")
    wrong = {"Authorization": "Bearer hld_guess"}
    assert [client.get("/api/v1/me", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
    blocked = client.get("/api/v1/me", headers=ada.bearer)
    assert blocked.status_code == 429 and "wrong API token" in blocked.get_json()["message"]


def test_failed_logins_are_limited_per_address(app, client, ada):
    _limits(app, login="2 per minute")

    def login(password):
        return client.post("/login", data={"username": "ada", "password": password,
                                           "csrf_token": csrf_token(client, "/login")})

    assert [login("wrong password").status_code for _ in range(2)] == [400, 400]
    refused = login("correct horse")
    assert refused.status_code == 429 and "Too many failed logins" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_good_login_does_not_count(app, client, ada):
    _limits(app, login="1 per minute")
    for _ in range(3):
        response = client.post("/login", data={"username": "ada", "password": "correct horse",
                                               "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 302


def test_the_kaggle_methods_answer_429_in_kaggles_shape(app, client, tiny, ada):
    _limits(app, token="1 per minute")
    call = "/api/v1/competitions.CompetitionApiService/ListCompetitions"
    assert client.post(call, json={}, headers=ada.basic).status_code == 200
    refused = client.post(call, json={}, headers=ada.basic)
    assert refused.status_code == 429 and refused.get_json()["code"] == 429
    assert refused.get_json()["reason"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1


def test_the_counts_live_in_the_apps_redis(app, client, svc, ada):
    client.get("/api/v1/me", headers=ada.bearer)
    assert any(b"heldout-rate" in key for key in svc.redis.keys())
