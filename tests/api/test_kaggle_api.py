"""The Kaggle client's methods, one request at a time, read back with the Kaggle SDK's own types:
what the unmodified client parses, and the errors it prints."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from kagglesdk.competitions.types.competition_api_service import (
    ApiCreateSubmissionResponse,
    ApiGetLeaderboardResponse,
    ApiListCompetitionsResponse,
    ApiListDataFilesResponse,
    ApiListSubmissionsResponse,
    ApiStartSubmissionUploadResponse,
    ApiSubmissionLimits,
)
from kagglesdk.competitions.types.submission_status import SubmissionStatus
from sqlalchemy import select

from heldout.models import Challenge, ChallengeExtension, User, utcnow
from tests.api.conftest import SLUG
from tests.bundles import perfect_predictions

SERVICE = "/api/v1/competitions.CompetitionApiService"


def _call(client, learner, method: str, body: dict | None = None):
    return client.post(f"{SERVICE}/{method}", json=body or {}, headers=learner.basic)


def _path(url: str) -> str:
    return urlsplit(url).path


def _submit(client, learner, data: bytes, name: str = "preds.csv", message: str = "via kaggle"):
    start = _call(client, learner, "StartSubmissionUpload",
                  {"competitionName": SLUG, "fileName": name, "contentLength": len(data)})
    assert start.status_code == 200, start.get_json()
    upload = ApiStartSubmissionUploadResponse.from_dict(start.get_json())
    # The client PUTs without credentials: the URL's token is the credential.
    put = client.put(_path(upload.create_url), data=data)
    assert put.status_code == 200, put.get_json()
    return _call(client, learner, "CreateSubmission", {"competitionName": SLUG, "blobFileTokens": upload.token,
                                                       "submissionDescription": message})


def test_competitions_are_listed_in_kaggles_shape(client, tiny, ada):
    response = _call(client, ada, "ListCompetitions", {"group": "COMPETITION_LIST_TAB_EVERYTHING", "page": 1,
                                                       "pageSize": 20, "search": ""})
    listed = ApiListCompetitionsResponse.from_dict(response.get_json())
    assert [c.ref for c in listed.competitions] == [SLUG]
    assert listed.competitions[0].user_has_entered is False and listed.competitions[0].evaluation_metric == "rmse"
    assert listed.next_page_token == ""


def test_data_files_are_listed_and_download_through_redirects(client, tiny, ada):
    listed = _call(client, ada, "ListDataFiles", {"competitionName": SLUG})
    files = ApiListDataFilesResponse.from_dict(listed.get_json())
    assert sorted((f.name, f.total_bytes) for f in files.files) == sorted(
        (name, (tiny / name).stat().st_size) for name in ("sample_submission.csv", "test.csv", "train.csv"))

    everything = _call(client, ada, "DownloadDataFiles", {"competitionName": SLUG})
    assert everything.status_code == 302 and everything.location.endswith(f"/challenges/{SLUG}/files.zip")
    archive = client.get(_path(everything.location), headers=ada.basic)
    assert archive.status_code == 200 and "Content-Length" in archive.headers
    with zipfile.ZipFile(io.BytesIO(archive.data)) as z:
        assert z.read("train.csv") == (tiny / "train.csv").read_bytes()

    one = _call(client, ada, "DownloadDataFile", {"competitionName": SLUG, "fileName": "test.csv"})
    assert one.status_code == 302 and client.get(_path(one.location)).data == (tiny / "test.csv").read_bytes()


def test_a_submission_takes_upload_then_create_and_is_listed(client, tiny, ada):
    created = ApiCreateSubmissionResponse.from_dict(_submit(client, ada, perfect_predictions(tiny)).get_json())
    assert created.ref > 0 and "Successfully submitted to Tiny regression" in created.message

    listed = ApiListSubmissionsResponse.from_dict(_call(client, ada, "ListSubmissions",
                                                        {"competitionName": SLUG}).get_json())
    [submission] = listed.submissions
    assert submission.ref == created.ref and submission.description == "via kaggle"
    assert submission.status == SubmissionStatus.PENDING and submission.file_name == "preds.csv"
    limits = ApiSubmissionLimits.from_dict(_call(client, ada, "GetSubmissionLimits",
                                                 {"competitionName": SLUG}).get_json())
    assert (limits.num_today, limits.num_allowed_now, limits.num_total) == (1, 4, 1)


def test_the_leaderboard_reads_as_kaggles(client, svc, tiny, ada):
    from heldout.leaderboard.best import refresh_team_best
    from heldout.models import Submission
    from heldout.models import SubmissionStatus as Status

    ref = _submit(client, ada, perfect_predictions(tiny)).get_json()["ref"]
    with svc.sessions() as s:
        row = s.get(Submission, ref)
        row.status, row.public_score = Status.SCORED, 0.125
        s.flush()
        refresh_team_best(s, row.challenge_id, row.team_id)
        s.commit()
        team_id = row.team_id
    board = ApiGetLeaderboardResponse.from_dict(_call(client, ada, "GetLeaderboard",
                                                      {"competitionName": SLUG}).get_json())
    # Each row carries the team's real id, as Kaggle's does (the client prints it as teamId).
    assert [(b.team_id, b.team_name, b.score) for b in board.submissions] == [(team_id, "ada", "0.12500")]


def test_the_leaderboard_leaves_the_hosts_submissions_out(client, svc, tiny, ada, grace):
    from heldout.leaderboard.best import refresh_team_best
    from heldout.models import Submission, User
    from heldout.models import SubmissionStatus as Status

    with svc.sessions() as s:
        s.scalar(select(User).where(User.username == "ada")).is_admin = True
        s.commit()
    for learner, score in ((ada, 0.0), (grace, 0.5)):
        ref = _submit(client, learner, perfect_predictions(tiny)).get_json()["ref"]
        with svc.sessions() as s:
            row = s.get(Submission, ref)
            row.status, row.public_score = Status.SCORED, score
            s.flush()
            refresh_team_best(s, row.challenge_id, row.team_id)
            s.commit()
    board = ApiGetLeaderboardResponse.from_dict(_call(client, grace, "GetLeaderboard",
                                                      {"competitionName": SLUG}).get_json())
    assert [(b.team_name, b.score) for b in board.submissions] == [("grace", "0.50000")]
    # `kaggle competitions leaderboard --download`: the whole public board, zipped, without the host either.
    download = _call(client, grace, "DownloadLeaderboard", {"competitionName": SLUG})
    assert download.status_code == 200 and download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert archive.namelist() == [f"{SLUG}-publicleaderboard.csv"]
        rows = archive.read(f"{SLUG}-publicleaderboard.csv").decode().splitlines()
    assert rows[0] == "TeamId,TeamName,SubmissionDate,Score"
    assert [row.split(",")[1::2] for row in rows[1:]] == [["grace", "0.50000"]]
    mine = ApiListSubmissionsResponse.from_dict(_call(client, ada, "ListSubmissions",
                                                      {"competitionName": SLUG}).get_json())
    assert [s.public_score for s in mine.submissions] == ["0.00000"]  # the host still sees their own score
    [competition] = ApiListCompetitionsResponse.from_dict(_call(client, ada, "ListCompetitions", {}).get_json()) \
        .competitions
    assert competition.team_count == 1


def test_the_downloaded_board_neutralizes_a_team_name_a_spreadsheet_would_run(client, svc, tiny, ada):
    from heldout.leaderboard.best import refresh_team_best
    from heldout.models import Submission, Team
    from heldout.models import SubmissionStatus as Status

    ref = _submit(client, ada, perfect_predictions(tiny)).get_json()["ref"]
    with svc.sessions() as s:
        row = s.get(Submission, ref)
        row.status, row.public_score = Status.SCORED, 0.5
        s.get(Team, row.team_id).name = '=HYPERLINK("http://evil","x")'
        s.flush()
        refresh_team_best(s, row.challenge_id, row.team_id)
        s.commit()
    download = _call(client, ada, "DownloadLeaderboard", {"competitionName": SLUG})
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        text = archive.read(f"{SLUG}-publicleaderboard.csv").decode()
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["TeamName"] == "'=HYPERLINK(\"http://evil\",\"x\")"


def test_an_upload_token_works_only_for_its_owner(client, tiny, ada, grace):
    start = _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"}).get_json()
    client.put(_path(start["createUrl"]), data=perfect_predictions(tiny))
    stolen = _call(client, grace, "CreateSubmission", {"competitionName": SLUG, "blobFileTokens": start["token"]})
    assert stolen.status_code == 404 and stolen.get_json()["code"] == 404
    forged = client.put(_path(start["createUrl"]) + "x", data=b"id,y\n")
    assert forged.status_code == 404


# --- the documented errors, as the client prints them --------------------------------------------------------

def test_a_wrong_key_is_401_so_the_client_prints_its_sign_in_help(client, tiny, ada):
    from tests.api.conftest import Learner

    response = _call(client, Learner("ada", "hld_wrong"), "ListCompetitions")
    assert response.status_code == 401
    assert response.get_json()["code"] == 401 and response.get_json()["reason"] == "invalid_token"


def test_an_unknown_competition_is_404_with_a_message(client, ada):
    response = _call(client, ada, "ListDataFiles", {"competitionName": "nope"})
    assert response.status_code == 404 and response.get_json() == {
        "code": 404, "message": "No challenge 'nope'.", "reason": "not_found"}


def test_an_oversize_file_is_refused_before_and_while_uploading(client, svc, tiny, ada):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        challenge.scoring_spec = {**challenge.scoring_spec, "max_bytes": 1000}
        s.commit()
    declared = _call(client, ada, "StartSubmissionUpload",
                     {"competitionName": SLUG, "fileName": "p.csv", "contentLength": 5000})
    assert declared.status_code == 413
    assert declared.get_json()["message"] == "The file is larger than this challenge's limit of 1,000 bytes."
    start = _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"}).get_json()
    streamed = client.put(_path(start["createUrl"]), data=b"x" * 5000)
    assert streamed.status_code == 413 and streamed.get_json()["reason"] == "too_large"


@pytest.mark.parametrize("change, code, reason", [
    ({"ends_at": utcnow() - timedelta(days=1), "late_submissions": False}, 403, "closed"),
    ({"starts_at": utcnow() + timedelta(days=1)}, 403, "not_open"),
])
def test_a_closed_window_is_refused_before_the_upload(client, svc, tiny, ada, change, code, reason):
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        for name, value in change.items():
            setattr(challenge, name, value)
        s.commit()
    response = _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"})
    assert response.status_code == code and response.get_json()["reason"] == reason
    assert "for submissions at" in response.get_json()["message"]


def test_a_member_on_an_extension_sees_their_own_deadline_and_may_still_submit(client, svc, tiny, ada, grace):
    extended = utcnow() + timedelta(days=1)
    with svc.sessions() as s:
        challenge = s.scalar(select(Challenge).where(Challenge.slug == SLUG))
        challenge.ends_at, challenge.late_submissions, challenge.extended_until = \
            utcnow() - timedelta(days=1), False, extended
        ada_id = s.scalar(select(User.id).where(User.username == "ada"))
        s.add(ChallengeExtension(challenge_id=challenge.id, user_id=ada_id, ends_at=extended))
        s.commit()
    for learner, disabled in ((ada, False), (grace, True)):
        listed = _call(client, learner, "ListCompetitions", {"page": 1, "pageSize": 20}).get_json()["competitions"]
        one = _call(client, learner, "GetCompetition", {"competitionName": SLUG}).get_json()
        for competition in (listed[0], one):
            assert competition["submissionsDisabled"] is disabled
            assert competition["deadline"].startswith(extended.strftime("%Y-%m-%dT%H:%M") if learner is ada
                                                      else (extended - timedelta(days=2)).strftime("%Y-%m-%d"))
    assert _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"}).status_code \
        == 200
    assert _call(client, grace, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"}).status_code \
        == 403


def test_over_quota_is_400_with_the_limit_and_the_reset_time(client, svc, tiny, ada):
    # 400, as Kaggle answers a used-up day: on 429 the kaggle CLI prints its own "You have been rate limited.
    # Wait a little while before retrying." under the message, and would retry some calls all day long.
    with svc.sessions() as s:
        s.scalar(select(Challenge).where(Challenge.slug == SLUG)).daily_limit = 1
        s.commit()
    reserved_early = ApiStartSubmissionUploadResponse.from_dict(
        _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"}).get_json())
    client.put(_path(reserved_early.create_url), data=perfect_predictions(tiny))
    assert _submit(client, ada, perfect_predictions(tiny)).status_code == 200
    # Refused when the upload is reserved (the file is not sent for nothing), and when it is submitted.
    at_start = _call(client, ada, "StartSubmissionUpload", {"competitionName": SLUG, "fileName": "p.csv"})
    at_create = _call(client, ada, "CreateSubmission", {"competitionName": SLUG,
                                                        "blobFileTokens": reserved_early.token})
    for over in (at_start, at_create):
        assert over.status_code == 400 and over.get_json()["reason"] == "daily_limit"
        assert re.fullmatch(r"Your team has used all 1 submissions for today; the count resets at 00:00 UTC on "
                            r"\d{4}-\d\d-\d\d, in \d+ (hours?|minutes?|seconds?)( \d+ minutes?)?\.",
                            over.get_json()["message"])


def test_a_heldout_token_works_as_kaggle_api_token(client, ada):
    active = client.post("/api/v1/security.OAuthService/IntrospectToken", json={"token": ada.token},
                         headers=ada.bearer).get_json()
    assert active == {"active": True, "username": "ada", "userId": active["userId"], "clientId": "heldout"}
    assert client.post("/api/v1/security.OAuthService/IntrospectToken",
                       json={"token": "nope"}).get_json() == {"active": False}
    assert _call(client, ada, "ListCompetitions").status_code == 200
    assert client.post(f"{SERVICE}/ListCompetitions", json={}, headers=ada.bearer).status_code == 200


def test_a_body_that_is_not_an_object_names_the_field(client, ada):
    response = client.post(f"{SERVICE}/ListCompetitions", data="[1, 2]", content_type="application/json",
                           headers=ada.basic)
    assert response.status_code == 400 and response.get_json()["field"] == "body"


def test_even_a_crash_answers_in_kaggles_shape(app, client, ada, monkeypatch):
    from heldout.platform.services import challenge_search

    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, not with the test's traceback
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(challenge_search, "challenge_cards", broken)
    response = _call(client, ada, "ListCompetitions")
    assert response.status_code == 500 and response.get_json()["code"] == 500
