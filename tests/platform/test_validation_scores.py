"""Validation versus leaderboard on the site and the API: the score a learner gives, checked, charted, compared."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from heldout.models import Submission, User, utcnow
from tests.factories import T0, make_challenge, make_scored, make_team
from tests.helpers import csrf_token, make_learner


@pytest.fixture
def database_url(sqlite_only):  # plain reads and one insert: the database is beside the point
    return sqlite_only


@pytest.fixture
def svc(app):
    return app.extensions["heldout"]


@pytest.fixture
def challenge(svc):
    with svc.sessions() as s:
        made = make_challenge(s, "house-prices", title="House prices", greater_is_better=True, metric="r2",
                              display_precision=4)
        s.commit()
        return made.slug


def post_form(client, slug, **fields):
    token = csrf_token(client, f"/c/{slug}")
    return client.post(f"/c/{slug}/submit", data={"csrf_token": token, "file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv"),
                                                  **fields}, content_type="multipart/form-data")


def stored_files(settings):
    return [p for p in settings.data_dir.rglob("*.upload")]


def test_the_form_stores_a_validation_score_and_how_it_was_found(client, auth, svc, challenge):
    auth.register()
    response = post_form(client, challenge, validation_score="0.431", validation_note=" 5-fold CV ")
    assert response.status_code == 302
    assert "0.4310 (5-fold CV)" in client.get(response.location).get_data(as_text=True)
    with svc.sessions() as s:
        row = s.scalar(select(Submission))
        assert (row.validation_score, row.validation_note) == (0.431, "5-fold CV")
    page = client.get(f"/c/{challenge}").get_data(as_text=True)
    assert 'name="validation_score"' in page and 'name="validation_note"' in page
    assert "0.4310<br><small>5-fold CV</small>" in page


BAD = [
    ({"validation_score": "abc"}, "validation_score", "validation_score must be a number such as 0.431, not 'abc'."),
    ({"validation_score": "NaN"}, "validation_score", "must be a finite number"),
    ({"validation_score": "inf"}, "validation_score", "must be a finite number"),
    ({"validation_score": "0.5", "validation_note": "a\nb"}, "validation_note", "must be one line"),
    ({"validation_score": "0.5", "validation_note": "x" * 200}, "validation_note", "at most 120 characters"),
    ({"validation_note": "5-fold CV"}, "validation_note", "give the validation_score with it"),
]


@pytest.mark.parametrize("fields, field, says", BAD)
def test_a_bad_validation_input_is_refused_on_the_page_and_nothing_is_stored(client, auth, svc, settings, challenge,
                                                                            fields, field, says):
    auth.register()
    page = client.get(f"/c/{challenge}")
    assert page.status_code == 200
    response = post_form(client, challenge, **fields)
    assert response.status_code == 302 and response.location.endswith("#submit")
    assert says.replace("'", "&#39;") in client.get(response.location).get_data(as_text=True)
    xhr = client.post(f"/c/{challenge}/submit", headers={"Accept": "application/json"}, content_type="multipart/form-data",
                      data={"csrf_token": csrf_token(client, f"/c/{challenge}"),
                            "file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv"), **fields})
    assert xhr.status_code == 400 and xhr.get_json()["field"] == field and says in xhr.get_json()["message"]
    with svc.sessions() as s:
        assert s.scalar(select(func.count(Submission.id))) == 0
    assert stored_files(settings) == []


@pytest.mark.parametrize("fields, field, says", BAD[:2] + BAD[3:4])
def test_the_api_refuses_a_bad_validation_input_naming_the_field(client, svc, challenge, fields, field, says):
    ada = make_learner(svc, "ada")
    response = client.post(f"/api/v1/challenges/{challenge}/submissions", headers=ada.bearer,
                           data={"file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv"), **fields},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid" and response.get_json()["field"] == field
    with svc.sessions() as s:
        assert s.scalar(select(func.count(Submission.id))) == 0


def test_the_api_takes_a_validation_score_and_gives_it_back(client, svc, challenge):
    ada = make_learner(svc, "ada")
    made = client.post(f"/api/v1/challenges/{challenge}/submissions", headers=ada.bearer,
                       data={"file": (io.BytesIO(b"id,y\n1,2\n"), "p.csv"), "validation_score": "-1.5e-2",
                             "validation_note": "time split"}, content_type="multipart/form-data").get_json()
    assert (made["validation_score"], made["validation_note"]) == (-0.015, "time split")
    listed = client.get(f"/api/v1/challenges/{challenge}/submissions", headers=ada.bearer).get_json()
    assert listed["submissions"][0]["validation_score"] == -0.015


# -- the comparison ---------------------------------------------------------------------------------------------

def team_with_history(svc, slug, rows, *, username="ada", **challenge_fields):
    """A challenge whose learner made ``rows`` (validation, public, private) in that order; their token."""
    learner = make_learner(svc, username)
    with svc.sessions() as s:
        challenge = make_challenge(s, slug, greater_is_better=True, metric="r2", **challenge_fields)
        user = s.scalar(select(User).where(User.username == username))
        team = make_team(s, challenge, user)
        ids = [make_scored(s, team, user, public, private, at=T0 + timedelta(minutes=i), validation_score=validation,
                           validation_note="5-fold CV").id
               for i, (validation, public, private) in enumerate(rows)]
        s.commit()
    return learner, ids


ROWS = [(0.80, 0.7012, 0.70), (0.79, 0.7049, 0.69), (0.85, 0.7300, 0.74), (0.83, 0.7400, 0.72)]


def test_a_classic_board_compares_validation_with_the_exact_public_scores(client, svc):
    ada, ids = team_with_history(svc, "classic", ROWS)
    body = client.get("/api/v1/challenges/classic/validation", headers=ada.bearer).get_json()
    assert body["board_mode"] == "classic" and body["public_shown"] and body["board_note"] is None
    assert [p["public"] for p in body["points"]] == [0.7012, 0.7049, 0.73, 0.74]
    assert body["public_up_validation_down"] == [ids[1], ids[3]] and body["public_correlation"] == 0.6
    assert body["private"] is None and all("private" not in p for p in body["points"])


def test_a_rounded_board_compares_with_the_rounded_scores_it_shows_and_says_so(client, svc, auth):
    ada, ids = team_with_history(svc, "rounded", ROWS, leaderboard_mode="rounded",
                                 rules={"leaderboard": {"mode": "rounded", "digits": 2}})
    body = client.get("/api/v1/challenges/rounded/validation", headers=ada.bearer).get_json()
    assert [p["public"] for p in body["points"]] == [0.70, 0.70, 0.73, 0.74]  # never 0.7012
    # #2 is no public improvement once rounded; only #4 is flagged.
    assert body["public_up_validation_down"] == [ids[3]] and body["precision"] == 2
    assert "rounded to 2 decimals" in body["board_note"]
    assert body["public_correlation"] == pytest.approx(3.5 / 22.5 ** 0.5)  # ranks (2, 1, 4, 3) against (1.5, 1.5, 3, 4)
    auth.login(username="ada", password="correct horse")
    page = client.get("/c/rounded").get_data(as_text=True)
    section = page[page.index('id="validation"'):page.index("</section>", page.index('id="validation"'))]
    assert "This board is rounded" in section and "0.7012" not in page and "0.7049" not in page
    assert 'data-chart="validation"' in section and "Spearman correlation of 0.74" in section


def test_a_ladder_board_shows_no_public_score_per_submission_and_says_so_at_the_chart(client, svc, auth):
    ada, _ = team_with_history(svc, "laddered", ROWS, leaderboard_mode="ladder",
                               rules={"leaderboard": {"mode": "ladder", "step": 0.01}})
    body = client.get("/api/v1/challenges/laddered/validation", headers=ada.bearer).get_json()
    assert body["public_shown"] is False and {p["public"] for p in body["points"]} == {None}
    assert body["public_correlation"] is None and body["public_up_validation_down"] == []
    auth.login(username="ada", password="correct horse")
    page = client.get("/c/laddered").get_data(as_text=True)
    section = page[page.index('id="validation"'):page.index("</section>", page.index('id="validation"'))]
    assert "This board is a ladder: it shows no public score per submission" in section
    assert "0.7012" not in section and "in the order you made them" in section


def test_after_the_close_private_scores_join_and_the_closer_ranking_is_named(client, svc, auth):
    ada, _ = team_with_history(svc, "closed", ROWS, ends_at=utcnow() - timedelta(days=1))
    body = client.get("/api/v1/challenges/closed/validation", headers=ada.bearer).get_json()
    assert [p["private"] for p in body["points"]] == [0.70, 0.69, 0.74, 0.72]
    assert body["private"] == {"validation_correlation": 1.0, "public_correlation": 0.6, "pairs": 4,
                               "closer": "validation"}
    auth.login(username="ada", password="correct horse")
    page = client.get("/c/closed").get_data(as_text=True)
    assert "your validation was closer to the private order than the public board" in page


def test_a_late_submission_is_compared_like_the_others_and_marked_late(client, svc):
    ada, ids = team_with_history(svc, "late-one", ROWS, ends_at=T0 + timedelta(minutes=2, seconds=30))
    with svc.sessions() as s:
        for row in s.scalars(select(Submission).where(Submission.id.in_(ids[3:]))):
            row.late = True
        s.commit()
    body = client.get("/api/v1/challenges/late-one/validation", headers=ada.bearer).get_json()
    assert [p["late"] for p in body["points"]] == [False, False, False, True]
    assert body["public_up_validation_down"] == [ids[1], ids[3]] and body["private"]["pairs"] == 4


def test_a_learner_without_a_team_gets_an_empty_comparison_and_nobody_sees_anothers(client, svc):
    team_with_history(svc, "theirs", ROWS)
    grace = make_learner(svc, "grace")
    body = client.get("/api/v1/challenges/theirs/validation", headers=grace.bearer).get_json()
    assert body["team"] is False and body["points"] == []
    assert client.get("/api/v1/challenges/theirs/validation").status_code == 401


def test_without_any_validation_score_the_page_says_how_to_give_one(client, svc, auth):
    team_with_history(svc, "plain", [(None, 0.5, None), (None, 0.6, None)])
    auth.login(username="ada", password="correct horse")
    page = client.get("/c/plain").get_data(as_text=True)
    assert "scored submissions carries a validation score yet" in page
    assert 'data-chart="validation"' not in page
