"""The native JSON API as a program uses it: find a challenge, download its data, check and submit a file,
follow the submission, read the leaderboard; and every refusal is JSON naming its code and field."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from heldout.models import Challenge, Submission, SubmissionStatus, utcnow
from heldout.runner.queue import scoring_queue
from tests.api.conftest import SLUG
from tests.bundles import perfect_predictions
from tests.factories import make_challenge


SHIPPED = Path(__file__).resolve().parents[2] / "challenges"


def _submit(client, learner, data: bytes, *, slug=SLUG, name="preds.csv", message="first try", path="submissions"):
    return client.post(f"/api/v1/challenges/{slug}/{path}", headers=learner.bearer,
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name), "message": message})


def _change_challenge(svc, **values):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        for name, value in values.items():
            setattr(challenge, name, value)
        s.commit()


# --- finding challenges ------------------------------------------------------------------------------------

def test_challenges_are_listed_with_filters_and_pages(client, svc, tiny):
    with svc.sessions() as s:
        for i in range(3):
            make_challenge(s, f"extra-{i}", title=f"Extra {i}", tags=["vision"], difficulty="advanced")
        s.commit()
    everything = client.get("/api/v1/challenges").get_json()
    assert everything["total"] == 4 and everything["next_page"] is None
    assert {c["slug"] for c in everything["challenges"]} == {SLUG, "extra-0", "extra-1", "extra-2"}

    first = client.get("/api/v1/challenges?per_page=2&page=1").get_json()
    second = client.get("/api/v1/challenges?per_page=2&page=2").get_json()
    assert first["next_page"] == 2 and second["next_page"] is None
    assert len({c["slug"] for c in first["challenges"] + second["challenges"]}) == 4

    assert [c["slug"] for c in client.get("/api/v1/challenges?tag=regression").get_json()["challenges"]] == [SLUG]
    assert client.get("/api/v1/challenges?search=tiny+predict").get_json()["total"] == 1
    assert client.get("/api/v1/challenges?difficulty=advanced").get_json()["total"] == 3
    assert client.get("/api/v1/challenges?phase=active").get_json()["total"] == 4


def test_bad_list_parameters_name_the_parameter(client):
    for query, field in (("page=x", "page"), ("page=0", "page"), ("per_page=1000", "per_page"),
                         ("phase=soon", "phase"), ("phase=", "phase")):
        response = client.get(f"/api/v1/challenges?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["code"] == "invalid" and response.get_json()["field"] == field


def test_a_challenge_shows_rules_metric_timeline_and_files(client, tiny, ada):
    body = client.get(f"/api/v1/challenges/{SLUG}", headers=ada.bearer).get_json()
    assert body["metric"] == "rmse" and body["greater_is_better"] is False
    assert body["rules"]["daily_limit"] == 5 and body["rules"]["kind"] == "predictions"
    assert body["rules"]["max_submission_bytes"] == 20 * 1024 * 1024
    assert body["timeline"] == {"starts_at": None, "ends_at": None, "phase": "active", "private_revealed": False}
    assert body["submission_columns"] == ["id", "y"]
    assert body["remaining_today"] == 5
    train = next(f for f in body["files"] if f["name"] == "train.csv")
    assert train["sha256"] == hashlib.sha256((tiny / "train.csv").read_bytes()).hexdigest()
    assert train["url"].endswith(f"/api/v1/challenges/{SLUG}/files/train.csv")


def test_an_unknown_challenge_is_a_json_404(client):
    response = client.get("/api/v1/challenges/nope")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


# --- downloads ---------------------------------------------------------------------------------------------

def test_a_file_downloads_with_its_length_and_resumes_from_a_range(client, tiny):
    content = (tiny / "train.csv").read_bytes()
    whole = client.get(f"/api/v1/challenges/{SLUG}/files/train.csv")
    assert whole.status_code == 200 and whole.data == content
    assert int(whole.headers["Content-Length"]) == len(content) and whole.headers["Accept-Ranges"] == "bytes"
    rest = client.get(f"/api/v1/challenges/{SLUG}/files/train.csv", headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.data == content[100:]
    assert int(rest.headers["Content-Length"]) == len(content) - 100
    assert client.get(f"/api/v1/challenges/{SLUG}/files/solution.csv").status_code == 404


def test_all_files_download_as_one_zip(client, tiny):
    response = client.get(f"/api/v1/challenges/{SLUG}/files.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert sorted(archive.namelist()) == ["sample_submission.csv", "test.csv", "train.csv"]
        assert archive.read("test.csv") == (tiny / "test.csv").read_bytes()
    assert client.get(f"/api/v1/challenges/{SLUG}/files.zip").data == response.data


# --- tokens ------------------------------------------------------------------------------------------------

def test_routes_that_act_for_you_need_a_token(client, tiny):
    for method, path in (("get", "/api/v1/me"), ("get", f"/api/v1/challenges/{SLUG}/submissions"),
                         ("post", f"/api/v1/challenges/{SLUG}/submissions"), ("get", "/api/v1/submissions/1")):
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.get_json()["code"] == "missing_token" and response.get_json()["field"] == "Authorization"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_is_refused_even_where_none_is_needed(client, tiny, ada):
    response = client.get("/api/v1/challenges", headers={"Authorization": "Bearer hld_wrong"})
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"
    assert client.get("/api/v1/me", headers=ada.bearer).get_json()["username"] == "ada"


def test_basic_auth_takes_the_token_as_password_for_its_own_user_only(client, ada, grace):
    assert client.get("/api/v1/me", headers=ada.basic).get_json()["username"] == "ada"
    forged = grace.basic["Authorization"]
    mixed = client.get("/api/v1/me", headers={"Authorization": forged.replace(
        forged.split()[1], __import__("base64").b64encode(f"ada:{grace.token}".encode()).decode())})
    assert mixed.status_code == 401 and mixed.get_json()["code"] == "invalid_token"


def test_a_revoked_token_stops_working(client, svc, ada):
    from heldout.models import ApiToken

    with svc.sessions() as s:
        for row in s.scalars(select(ApiToken)):
            row.revoked_at = utcnow()
        s.commit()
    assert client.get("/api/v1/me", headers=ada.bearer).get_json()["code"] == "invalid_token"


# --- submitting --------------------------------------------------------------------------------------------

def test_a_submission_is_accepted_with_its_url_and_queued(client, svc, tiny, ada):
    response = _submit(client, ada, perfect_predictions(tiny))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["message"] == "first try" and body["queue_position"] == 1
    assert response.headers["Location"] == body["url"] and body["url"].endswith(f"/api/v1/submissions/{body['id']}")
    assert body["html_url"].endswith(f"/submissions/{body['id']}") and "/api/" not in body["html_url"]
    assert "private_score" not in body
    assert scoring_queue(svc.redis).count == 1

    shown = client.get(body["url"], headers=ada.bearer).get_json()
    assert shown["id"] == body["id"] and shown["filename"] == "preds.csv"
    listed = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer).get_json()
    assert [s["id"] for s in listed["submissions"]] == [body["id"]] and listed["remaining_today"] == 4


def test_another_teams_submission_is_not_found(client, tiny, ada, grace):
    url = _submit(client, ada, perfect_predictions(tiny)).get_json()["url"]
    for path in (url, url + "/logs"):
        response = client.get(path, headers=grace.bearer)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_a_submissions_logs_are_what_its_team_may_read(client, svc, tiny, ada):
    body = _submit(client, ada, perfect_predictions(tiny)).get_json()
    logs = client.get(body["url"] + "/logs", headers=ada.bearer).get_json()
    assert logs == {"id": body["id"], "challenge": SLUG, "status": "queued", "logs": None,
                    "html_url": body["html_url"]}
    with svc.sessions() as s:
        s.get(Submission, body["id"]).logs = "fitting...\ndone\n"
        s.commit()
    assert client.get(body["url"] + "/logs", headers=ada.bearer).get_json()["logs"] == "fitting...\ndone\n"
    assert client.get(body["url"] + "/logs").status_code == 401


def test_a_submission_without_a_file_names_the_field(client, tiny, ada):
    response = client.post(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer,
                           content_type="multipart/form-data", data={"message": "no file"})
    assert response.status_code == 400 and response.get_json()["field"] == "file"


def test_an_oversize_file_is_refused_while_streaming(client, svc, tiny, ada):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        challenge.scoring_spec = {**challenge.scoring_spec, "max_bytes": 1000}
        s.commit()
    big = perfect_predictions(tiny) * 3
    for path in ("submissions", "check"):
        response = _submit(client, ada, big, path=path)
        assert response.status_code == 413, path
        assert response.get_json() == {"code": "too_large", "field": "file",
                                       "message": "The file is larger than this challenge's limit of 1,000 bytes."}
    # Declared far beyond the limit: refused before the body is read at all.
    huge = _submit(client, ada, b"x" * 200_000)
    assert huge.status_code == 413 and huge.get_json()["code"] == "too_large"
    with svc.sessions() as s:
        assert s.scalars(select(Submission)).all() == []


def test_closed_and_unopened_challenges_say_when(client, svc, tiny, ada):
    _change_challenge(svc, ends_at=utcnow() - timedelta(days=1), late_submissions=False)
    closed = _submit(client, ada, perfect_predictions(tiny))
    assert closed.status_code == 403 and closed.get_json()["code"] == "closed"
    assert "closed for submissions at" in closed.get_json()["message"]
    assert "does not take late submissions" in closed.get_json()["message"]
    _change_challenge(svc, ends_at=None, starts_at=utcnow() + timedelta(days=1))
    early = _submit(client, ada, perfect_predictions(tiny))
    assert early.status_code == 403 and early.get_json()["code"] == "not_open"


def test_the_daily_limit_answers_429_with_when_it_resets(client, svc, tiny, ada):
    _change_challenge(svc, daily_limit=2)
    for _ in range(2):
        assert _submit(client, ada, perfect_predictions(tiny)).status_code == 202
    over = _submit(client, ada, perfect_predictions(tiny))
    assert over.status_code == 429 and over.get_json()["code"] == "daily_limit"
    assert 0 < int(over.headers["Retry-After"]) <= 86400


# --- the dry run -------------------------------------------------------------------------------------------

def test_the_dry_run_accepts_a_good_file_without_using_quota(client, svc, tiny, ada):
    response = _submit(client, ada, perfect_predictions(tiny), path="check")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["rows"] == 40 and body["columns"] == ["id", "y"]
    with svc.sessions() as s:
        assert s.scalars(select(Submission)).all() == []
    listed = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer).get_json()
    assert listed["remaining_today"] == 5


def test_the_dry_run_names_the_column_and_rows_at_fault(client, tiny, ada):
    broken = perfect_predictions(tiny).replace(b"\n41,", b"\n41,oops", 1)
    response = _submit(client, ada, broken, path="check")
    # The check ran; its verdict is "no": an answer, not an error.
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False and "oops" in body["message"]
    assert body["details"] == {"column": "y", "rows": [3]}
    missing = _submit(client, ada, b"id,y\n40,1.0\n", path="check").get_json()
    assert missing["ok"] is False and "missing" in missing["message"].lower()


def test_the_dry_run_never_shows_solution_values(client, tiny, ada):
    solution_values = {line.split(",")[1] for line in (tiny / "solution.csv").read_text().splitlines()[1:]}
    shuffled = b"id,y\n" + b"".join(f"{i},abc\n".encode() for i in range(40, 80))
    text = _submit(client, ada, shuffled, path="check").get_data(as_text=True)
    assert not any(value in text for value in solution_values)


# --- leaderboards, teams and final submissions -----------------------------------------------------------

def _scored(client, svc, tiny, *scores_by_learner):
    """Submit for each (learner, public, private) and record those scores as the worker would."""
    from heldout.leaderboard.best import refresh_team_best

    ids = []
    for learner, public, private in scores_by_learner:
        submission_id = _submit(client, learner, perfect_predictions(tiny)).get_json()["id"]
        with svc.sessions() as s:
            row = s.get(Submission, submission_id)
            row.status, row.public_score, row.private_score = SubmissionStatus.SCORED, public, private
            s.flush()
            refresh_team_best(s, row.challenge_id, row.team_id)
            s.commit()
        ids.append(submission_id)
    return ids


def test_the_public_leaderboard_ranks_teams_and_private_scores_wait_for_the_reveal(client, svc, tiny, ada, grace):
    ids = _scored(client, svc, tiny, (ada, 0.5, 2.0), (grace, 0.25, 3.0))
    board = client.get(f"/api/v1/challenges/{SLUG}/leaderboard", headers=ada.bearer).get_json()
    assert [(r["rank"], r["team"], r["score"], r["is_mine"]) for r in board["leaderboard"]] == [
        (1, "grace", 0.25, False), (2, "ada", 0.5, True)]
    assert board["board"] == "public" and board["next_page"] is None

    hidden = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?private=true")
    assert hidden.status_code == 403 and hidden.get_json()["code"] == "private_hidden"
    assert "private_score" not in client.get(f"/api/v1/submissions/{ids[0]}", headers=ada.bearer).get_json()

    _change_challenge(svc, private_revealed=True)
    private = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?private=true").get_json()
    assert [(r["rank"], r["team"], r["score"], r["shake_up"]) for r in private["leaderboard"]] == [
        (1, "ada", 2.0, 1), (2, "grace", 3.0, -1)]
    assert client.get(f"/api/v1/submissions/{ids[0]}", headers=ada.bearer).get_json()["private_score"] == 2.0


def test_a_group_leaderboard_shows_only_its_members_to_members(client, svc, tiny, ada, grace):
    from heldout.models import GroupMembership, StudyGroup, User

    _scored(client, svc, tiny, (ada, 0.5, 1.0), (grace, 0.25, 1.0))
    with svc.sessions() as s:
        lead = s.scalar(select(User).where(User.username == "ada"))
        group = StudyGroup(name="Tuesday study", slug="tuesday", lead_id=lead.id, invite_code="code")
        s.add(group)
        s.flush()
        s.add(GroupMembership(group_id=group.id, user_id=lead.id))
        s.commit()
    board = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?group=tuesday", headers=ada.bearer).get_json()
    assert [(r["rank"], r["group_rank"], r["team"]) for r in board["leaderboard"]] == [(2, 1, "ada")]
    outsider = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?group=tuesday", headers=grace.bearer)
    assert outsider.status_code == 404 and outsider.get_json()["field"] == "group"


def test_a_hosts_submission_says_host_and_is_on_no_board(client, svc, tiny, ada, grace):
    from heldout.models import User

    with svc.sessions() as s:
        organizer = s.scalar(select(User).where(User.username == "ada"))
        s.scalar(select(Challenge).where(Challenge.slug == SLUG)).created_by_id = organizer.id
        s.commit()
    host_id, learner_id = _scored(client, svc, tiny, (ada, 0.0, 0.0), (grace, 0.5, 0.7))
    assert client.get(f"/api/v1/submissions/{host_id}", headers=ada.bearer).get_json()["host"] is True
    assert client.get(f"/api/v1/submissions/{learner_id}", headers=grace.bearer).get_json()["host"] is False
    listed = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=ada.bearer).get_json()
    assert [(x["id"], x["host"]) for x in listed["submissions"]] == [(host_id, True)]

    board = client.get(f"/api/v1/challenges/{SLUG}/leaderboard", headers=ada.bearer).get_json()
    assert [(r["rank"], r["team"]) for r in board["leaderboard"]] == [(1, "grace")] and board["total"] == 1
    _change_challenge(svc, private_revealed=True)
    private = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?private=true").get_json()
    assert [(r["rank"], r["team"], r["public_rank"], r["shake_up"]) for r in private["leaderboard"]] == [
        (1, "grace", 1, 0)]
    assert client.get(f"/api/v1/challenges/{SLUG}/team", headers=ada.bearer).get_json()["host"] is True


def test_my_team_shows_members_quota_and_finals(client, svc, tiny, ada):
    [submission_id] = _scored(client, svc, tiny, (ada, 0.5, 1.0))
    team = client.get(f"/api/v1/challenges/{SLUG}/team", headers=ada.bearer).get_json()
    assert team["name"] == "ada" and [m["username"] for m in team["members"]] == ["ada"]
    assert team["remaining_today"] == 4
    assert team["finals"]["automatic"] is True
    assert [(c["submission_id"], c["counts"]) for c in team["finals"]["candidates"]] == [(submission_id, True)]


def test_a_final_submission_is_selected_and_unselected(client, svc, tiny, ada, grace):
    [scored] = _scored(client, svc, tiny, (ada, 0.5, 1.0))
    selected = client.put(f"/api/v1/submissions/{scored}/final", headers=ada.bearer)
    assert selected.status_code == 200 and selected.get_json()["selected_final"] is True
    finals = client.get(f"/api/v1/challenges/{SLUG}/team", headers=ada.bearer).get_json()["finals"]
    assert finals["selected"] == 1 and finals["automatic"] is False
    unselected = client.delete(f"/api/v1/submissions/{scored}/final", headers=ada.bearer)
    assert unselected.status_code == 200 and unselected.get_json()["selected_final"] is False

    queued = _submit(client, ada, perfect_predictions(tiny)).get_json()["id"]
    unscored = client.put(f"/api/v1/submissions/{queued}/final", headers=ada.bearer)
    assert unscored.status_code == 409 and unscored.get_json()["code"] == "not_scored"
    assert client.put(f"/api/v1/submissions/{scored}/final", headers=grace.bearer).status_code == 404
    _change_challenge(svc, ends_at=utcnow() - timedelta(minutes=1))
    closed = client.put(f"/api/v1/submissions/{scored}/final", headers=ada.bearer)
    assert closed.status_code == 403 and closed.get_json()["code"] == "closed"


# --- errors in general -------------------------------------------------------------------------------------

def test_a_wrong_method_is_a_json_error(client):
    response = client.delete("/api/v1/challenges")
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"


def test_the_openapi_document_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        # Flask's "<int(max=9):submission_id>" is OpenAPI's "{submission_id}".
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"


def test_even_a_crash_is_a_json_error(app, client, monkeypatch):
    from heldout.platform.services import challenge_search

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, not with the test's traceback
    monkeypatch.setattr(challenge_search, "challenge_cards", broken)
    response = client.get("/api/v1/challenges")
    assert response.status_code == 500 and response.get_json()["code"] == "internal_server_error"


def test_each_challenge_says_what_to_submit_in_the_words_of_its_entry_point(client, svc, tmp_path, tiny, ada):
    from heldout.platform.services.publishing import load_challenge
    from tests.bundles import write_code_bundle

    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, write_code_bundle(tmp_path / "code-bundle"))
        load_challenge(s, svc.storage, None, SHIPPED / "cartpole-balance")
    words = {slug: client.get(f"/api/v1/challenges/{slug}").get_json()
             for slug in (SLUG, "tiny-code", "cartpole-balance")}
    assert [words[slug]["entrypoint"] for slug in words] == [None, "predict.py", "policy.py"]
    assert words[SLUG]["what_to_submit"].startswith("A predictions CSV")
    assert words["tiny-code"]["what_to_submit"].startswith("A predict.py, or a .zip holding predict.py")
    policy = words["cartpole-balance"]["what_to_submit"]
    assert policy.startswith("A policy.py defining act(observation) -> action") and "predict.py" not in policy

    def check(data: bytes, name: str) -> dict:
        return _submit(client, ada, data, slug="cartpole-balance", name=name, path="check").get_json()

    assert check(b"id,y\n", "preds.csv")["message"] == \
        "This is a code challenge: submit a policy.py file defining act(), or a .zip with policy.py."
    refused = _submit(client, ada, b"id,y\n", slug="cartpole-balance", name="preds.csv")
    assert refused.status_code == 400 and "submit a policy.py file defining act()" in refused.get_json()["message"]

