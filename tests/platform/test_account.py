"""The account page: challenges entered with best ranks, changing the password, API tokens."""

from __future__ import annotations

import re

from sqlalchemy import select

from heldout.leaderboard.best import refresh_team_best
from heldout.models import ApiToken, SubmissionStatus, User
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.platform.conftest import csrf_token


def _services(app):
    return app.extensions["heldout"]


def test_the_account_page_needs_a_login(client):
    assert client.get("/account").status_code == 302


def test_the_profile_lists_challenges_entered_with_best_score_and_rank(client, auth, app):
    auth.register("ada")
    with _services(app).sessions() as s:
        ada = s.scalar(select(User).where(User.username == "ada"))
        challenge = make_challenge(s, "houses", title="House prices", display_precision=3)
        teams = [make_team(s, challenge, ada, name="ada-team")] + [
            make_team(s, challenge, make_user(s), name=f"rival{i}") for i in range(3)]
        # Lower is better: ada's best (0.3) is beaten by one rival (0.2) only.
        for team, scores in zip(teams, ([0.9, 0.3], [0.2], [0.5], [0.3]), strict=True):
            for score in scores:
                make_submission(s, team, ada, status=SubmissionStatus.SCORED, public_score=score)
            refresh_team_best(s, challenge.id, team.id)
        make_challenge(s, "not-entered", title="Not entered")
        s.commit()
    page = client.get("/account").get_data(as_text=True)
    # Ties go to the earlier entry: ada's 0.3 came before rival2's 0.3.
    assert re.search(r"House prices</a></td>\s*<td>ada-team</td><td class=\"num\">2</td>\s*"
                     r"<td class=\"num\">0.300</td>\s*<td class=\"num\">2 of 4</td>", page)
    assert "Not entered" not in page


def _change(client, old, new, confirm=None):
    return client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account"), "old_password": old, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def test_changing_the_password(client, auth):
    auth.register("ada", "correct horse")
    assert _change(client, "correct horse", "battery staple").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert auth.login("ada", "correct horse").status_code == 400
    assert auth.login("ada", "battery staple").status_code == 302


def test_password_errors_name_the_field(client, auth):
    auth.register("ada", "correct horse")
    wrong = _change(client, "not it", "battery staple")
    assert wrong.status_code == 400 and 'aria-describedby="old_password-error"' in wrong.get_data(as_text=True)
    short = _change(client, "correct horse", "short")
    assert short.status_code == 400 and 'aria-describedby="new_password-error"' in short.get_data(as_text=True)
    differ = _change(client, "correct horse", "battery staple", confirm="battery stable")
    assert differ.status_code == 400 and "The two new passwords differ." in differ.get_data(as_text=True)
    assert auth.login("ada", "correct horse").status_code == 302


def test_a_token_is_shown_once_works_for_the_api_and_can_be_revoked(client, auth, app):
    auth.register("ada")
    response = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account"), "name": "laptop"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" readonly value="(hld_[^"]+)"', response.get_data(as_text=True)).group(1)
    assert token not in client.get("/account").get_data(as_text=True)
    with _services(app).sessions() as s:
        assert s.scalar(select(ApiToken.token_hash)) != token  # only a hash is kept
        token_id = s.scalar(select(ApiToken.id))

    api = app.test_client()
    assert api.get("/api/v1/submissions/999", headers={"Authorization": f"Bearer {token}"}).status_code == 404

    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert "revoked" in client.get("/account").get_data(as_text=True)
    assert api.get("/api/v1/submissions/999", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_someone_elses_token_cannot_be_revoked(client, auth, app):
    with _services(app).sessions() as s:
        s.add(ApiToken(user_id=make_user(s, "grace").id, name="grace's", token_hash="f" * 64))
        s.commit()
        token_id = s.scalar(select(ApiToken.id))
    auth.register("ada")
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 404
