"""Late submissions through every door: the native API's JSON carries ``late`` and ``would_have_placed``, the Kaggle
API marks them in its lists, the unmodified kaggle CLI submits them, and the `heldout` client lists them as late.

The tiny challenge is closed after ada (public 0.5, private 2.0) and grace (0.25, 3.0) were scored in time;
lower is better (RMSE).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from kagglesdk.competitions.types.competition_api_service import ApiListSubmissionsResponse
from sqlalchemy import select

from heldout.models import Challenge, Submission, SubmissionStatus, utcnow
from tests.api.conftest import SLUG
from tests.api.test_api import _scored, _submit
from tests.api.test_kaggle_api import _call
from tests.api.test_kaggle_api import _submit as _kaggle_submit
from tests.bundles import perfect_predictions
from tests.helpers import make_learner

KAGGLE = str(Path(sys.executable).with_name("kaggle"))


@pytest.fixture
def database_url(sqlite_only):
    # The doors are what is tested here (the boards' rules are in tests/leaderboard/test_late.py): one database.
    return sqlite_only


@pytest.fixture
def closed(client, svc, tiny, ada, grace):
    """Both learners scored in time, then the challenge closed a minute ago; returns their submission ids."""
    ids = _scored(client, svc, tiny, (ada, 0.5, 2.0), (grace, 0.25, 3.0))
    _set(svc, ends_at=utcnow() - timedelta(minutes=1))
    return dict(zip(("ada", "grace"), ids))


def _set(svc, **values):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        for name, value in values.items():
            setattr(challenge, name, value)
        s.commit()


def _score(svc, submission_id, public, private):
    """Record a late submission's scores as the worker does (a late one changes no board row)."""
    with svc.sessions() as s:
        row = s.get(Submission, submission_id)
        row.status, row.public_score, row.private_score = SubmissionStatus.SCORED, public, private
        s.commit()


def test_a_late_submission_carries_late_and_where_it_would_have_placed(client, svc, tiny, ada, grace, closed):
    board_before = client.get(f"/api/v1/challenges/{SLUG}/leaderboard", headers=ada.bearer).get_json()
    lo = make_learner(svc, "lovelace")
    made = _submit(client, lo, perfect_predictions(tiny), message="after the bell")
    assert made.status_code == 202 and made.get_json()["late"] is True
    assert made.get_json()["would_have_placed"] is None  # not scored yet
    # Public 0.25 ties grace (who got there first); private 2.5 falls between ada's 2.0 and grace's 3.0.
    _score(svc, made.get_json()["id"], 0.25, 2.5)

    shown = client.get(f"/api/v1/submissions/{made.get_json()['id']}", headers=lo.bearer).get_json()
    assert shown["late"] is True and shown["public_score"] == 0.25 and shown["private_score"] == 2.5
    assert shown["would_have_placed"] == {"public": 2, "private": 2, "of": 3}
    assert shown["standing"] is None and shown["selected_final"] is False
    listed = client.get(f"/api/v1/challenges/{SLUG}/submissions", headers=lo.bearer).get_json()["submissions"]
    assert [(s["late"], s["would_have_placed"]) for s in listed] == [(True, {"public": 2, "private": 2, "of": 3})]
    in_time = client.get(f"/api/v1/submissions/{closed['ada']}", headers=ada.bearer).get_json()
    assert in_time["late"] is False and in_time["would_have_placed"] is None

    # Nothing moved: the board, its team count, the private board.
    assert client.get(f"/api/v1/challenges/{SLUG}/leaderboard", headers=ada.bearer).get_json() == board_before
    assert client.get(f"/api/v1/challenges/{SLUG}", headers=ada.bearer).get_json()["team_count"] == 2
    private = client.get(f"/api/v1/challenges/{SLUG}/leaderboard?private=true", headers=ada.bearer).get_json()
    assert [(r["rank"], r["team"]) for r in private["leaderboard"]] == [(1, "ada"), (2, "grace")]
    # And it cannot be a final.
    assert client.put(f"/api/v1/submissions/{made.get_json()['id']}/final", headers=lo.bearer).status_code == 403


def test_the_kaggle_api_takes_a_late_submission_and_lists_it_as_late(client, svc, tiny, ada, grace, closed):
    created = _kaggle_submit(client, ada, perfect_predictions(tiny), message="one more idea")
    assert created.status_code == 200, created.get_json()
    listed = ApiListSubmissionsResponse.from_dict(
        _call(client, ada, "ListSubmissions", {"competitionName": SLUG}).get_json())
    assert [s.description for s in listed.submissions] == ["[late] one more idea", "first try"]
    competition = _call(client, ada, "ListCompetitions").get_json()["competitions"][0]
    assert competition["submissionsDisabled"] is False
    rules = client.get(f"/api/v1/challenges/{SLUG}", headers=ada.bearer).get_json()["rules"]
    assert rules["late_submissions"] is True and "would have placed" in rules["late"]
    _set(svc, late_submissions=False)
    refused = _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"})
    assert refused.status_code == 403 and "does not take late submissions" in refused.get_json()["message"]
    assert _call(client, ada, "ListCompetitions").get_json()["competitions"][0]["submissionsDisabled"] is True


def test_the_unmodified_kaggle_cli_submits_late(server, svc, tiny, ada, grace, closed, tmp_path):
    (tmp_path / "preds.csv").write_bytes(perfect_predictions(tiny))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HELDOUT_", "KAGGLE_")) and k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.update(HOME=str(tmp_path), KAGGLE_USERNAME="grace", KAGGLE_KEY=grace.token, KAGGLE_API_ENVIRONMENT="LOCALHOST",
               HTTP_PROXY=server.replace("localhost", "127.0.0.1"), NO_PROXY="", no_proxy="")

    def kaggle(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([KAGGLE, "competitions", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)

    submitted = kaggle("submit", "-c", SLUG, "-f", str(tmp_path / "preds.csv"), "-m", "late via kaggle")
    assert submitted.returncode == 0 and "Successfully submitted" in submitted.stdout, \
        submitted.stdout + submitted.stderr
    listed = kaggle("submissions", "-c", SLUG)
    assert "[late] late via kaggle" in listed.stdout, listed.stdout + listed.stderr
    with svc.sessions() as s:
        assert s.scalars(select(Submission.late).order_by(Submission.id)).all() == [False, False, True]
    _set(svc, late_submissions=False)
    refused = kaggle("submit", "-c", SLUG, "-f", str(tmp_path / "preds.csv"), "-m", "too late")
    assert refused.returncode == 1 and "does not take late submissions" in refused.stderr + refused.stdout


def test_the_heldout_client_submits_late_and_lists_it_as_late(heldout, svc, tiny, ada, grace, closed, tmp_path):
    preds = tmp_path / "preds.csv"
    preds.write_bytes(perfect_predictions(tiny))
    status, out, err = heldout("submit", SLUG, str(preds), "-m", "late from the client")
    assert status == 0 and "late submission (never ranked)" in out and "queued" in err
    late_id = int(err.split("submission ")[1].split()[0])
    _score(svc, late_id, 0.1, 1.0)
    status, out, _ = heldout("submissions", SLUG, "--csv")
    rows = [line.split(",") for line in out.strip().splitlines()]
    late_column = rows[0].index("late")
    assert [r[late_column] for r in rows[1:]] == ["True", "False"]
    status, out, _ = heldout("submissions", SLUG)
    assert status == 0 and " late " in out
    _set(svc, late_submissions=False)
    status, _, err = heldout("submit", SLUG, str(preds))
    assert status == 1 and "does not take late submissions" in err


def test_the_client_says_where_a_late_submission_would_have_placed_in_words():
    from heldout.client.output import describe_placing

    assert describe_placing({"public": 2, "private": 1, "of": 31}) == [
        "late: never ranked; it would have placed 1st on the private leaderboard and 2nd on the public leaderboard, "
        "of 31 teams"]
    assert describe_placing({"public": 12, "private": None, "of": 12}) == [
        "late: never ranked; it would have placed 12th on the public leaderboard, of 12 teams"]
