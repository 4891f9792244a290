"""The learner's path through the site: register, find a challenge, submit, see the submission."""

import io
from datetime import timedelta

from sqlalchemy import select

from heldout.models import GroupMembership, StudyGroup, Submission, SubmissionStatus, utcnow
from heldout.runner.queue import scoring_queue
from tests.factories import make_challenge, make_user
from tests.platform.conftest import csrf_token


def _challenge(app, **extra):
    with app.extensions["heldout"].sessions() as s:
        challenge = make_challenge(s, "house-prices", title="House prices", **extra)
        s.commit()
        return challenge.id


def test_registering_logs_the_learner_in(client, auth):
    response = auth.register()
    assert response.status_code == 302
    assert "ada" in client.get("/").get_data(as_text=True)


def test_registration_errors_name_the_field(client, auth):
    response = auth.register(username="a", password="short")
    assert response.status_code == 400
    assert "Usernames are 3–40" in response.get_data(as_text=True)


def test_a_wrong_password_is_refused(client, auth):
    auth.register()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = auth.login(password="wrong password")
    assert response.status_code == 400 and "Wrong username or password" in response.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(client):
    response = client.post("/register", data={"username": "mallory", "password": "whatever123"})
    assert response.status_code == 400


def test_the_challenge_list_and_page_show_a_published_challenge(client, app):
    _challenge(app)
    assert "House prices" in client.get("/").get_data(as_text=True)
    page = client.get("/c/house-prices").get_data(as_text=True)
    assert "rmse" in page and "Public leaderboard" in page


def test_a_submission_is_stored_queued_and_enqueued(client, app, auth):
    _challenge(app)
    auth.register()
    token = csrf_token(client, "/c/house-prices")
    response = client.post("/c/house-prices/submit", data={
        "csrf_token": token, "message": "first try", "file": (io.BytesIO(b"id,y\n1,2.5\n"), "preds.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and "/submissions/" in response.location
    services = app.extensions["heldout"]
    with services.sessions() as s:
        submission = s.scalar(select(Submission))
        assert submission.status == SubmissionStatus.QUEUED and submission.message == "first try"
        assert services.storage.open(submission.file_key).read() == b"id,y\n1,2.5\n"
    assert scoring_queue(services.redis).count == 1
    detail = client.get(response.location).get_data(as_text=True)
    assert "queued" in detail
    status = client.get(response.location + "/status").get_json()
    assert status["status"] == "queued" and "private_score" not in status


def test_the_daily_limit_stops_the_sixth_submission(client, app, auth):
    _challenge(app)
    auth.register()
    for i in range(6):
        token = csrf_token(client, "/c/house-prices")
        response = client.post("/c/house-prices/submit", data={
            "csrf_token": token, "file": (io.BytesIO(b"id,y\n1,2\n"), f"p{i}.csv")},
            content_type="multipart/form-data", follow_redirects=True)
    assert "used all 5 submissions for today" in response.get_data(as_text=True)
    with app.extensions["heldout"].sessions() as s:
        assert len(s.scalars(select(Submission)).all()) == 5


def test_a_closed_challenge_without_late_submissions_says_when_it_closed_and_why(client, app, auth):
    _challenge(app, ends_at=utcnow() - timedelta(days=1), late_submissions=False)
    auth.register()
    token = csrf_token(client, "/c/house-prices")
    response = client.post("/c/house-prices/submit", data={
        "csrf_token": token, "file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "closed for submissions at" in response.get_data(as_text=True)
    assert "does not take late submissions" in response.get_data(as_text=True)


def test_an_empty_file_is_refused(client, app, auth):
    _challenge(app)
    auth.register()
    token = csrf_token(client, "/c/house-prices")
    response = client.post("/c/house-prices/submit", data={
        "csrf_token": token, "file": (io.BytesIO(b""), "p.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "The file is empty" in response.get_data(as_text=True)


def test_another_teams_submission_is_not_found(client, app, auth):
    _challenge(app)
    auth.register("ada")
    token = csrf_token(client, "/c/house-prices")
    location = client.post("/c/house-prices/submit", data={
        "csrf_token": token, "file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv")},
        content_type="multipart/form-data").location
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.register("grace")
    assert client.get(location).status_code == 404
    assert client.get(location + "/status").status_code == 404


def test_a_group_challenge_is_invisible_to_non_members(client, app, auth):
    with app.extensions["heldout"].sessions() as s:
        lead = make_user(s, "lead")
        group = StudyGroup(name="Study", slug="study", lead_id=lead.id, invite_code="abc")
        s.add(group)
        s.flush()
        s.add(GroupMembership(group_id=group.id, user_id=lead.id))
        make_challenge(s, "secret-challenge", title="Secret challenge", group_id=group.id)
        s.commit()
    auth.register("outsider")
    assert "Secret challenge" not in client.get("/").get_data(as_text=True)
    assert client.get("/c/secret-challenge").status_code == 404
    assert client.get("/api/v1/challenges/secret-challenge").status_code == 404


def test_healthz_names_each_backend(client):
    body = client.get("/healthz").get_json()
    assert body["database"]["ok"] is True and body["queue"]["backend"] == "embedded"
    assert "backend" in body["sandbox"]


def test_every_page_names_the_sites_icon(client):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/").get_data(as_text=True)
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    old_default = client.get("/favicon.ico")
    assert old_default.status_code == 301 and old_default.location.endswith("/static/favicon.svg")
