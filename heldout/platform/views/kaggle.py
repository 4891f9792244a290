"""The Kaggle client's API, so the unmodified ``kaggle`` command works against Heldout.

The client (kaggle 2.x with kagglesdk) sends ``POST /api/v1/<service>/<Method>``
with a JSON body whose names are camelCase, and authenticates with HTTP basic
auth (Heldout username, API token as the key) or a Bearer token. Each route
here translates one method onto the same services the native API uses and
renders the reply in Kaggle's shapes; none of them decides anything itself.

Kaggle's error body is ``{"code": <HTTP status>, "message": ...}``: the client
prints the message and exits 1 (on 401 it prints its sign-in help). Heldout's
stable error code travels beside it as ``reason``.

A submission takes three calls, as on Kaggle: ``StartSubmissionUpload``
reserves an upload and answers with a URL, the client ``PUT``s the file there
(without credentials: the URL carries a signed token), then ``CreateSubmission``
makes the submission from it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify, redirect, request, url_for

from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.released import released_public_scores
from heldout.models import Challenge, Submission, SubmissionKind, SubmissionStatus, User, utcnow
from heldout.platform.api_errors import answer_in_kaggle_shape
from heldout.platform.context import api_user, db, services
from heldout.platform.services import accounts, catalog, extensions, leaderboards, profile, submissions, uploads
from heldout.platform.services.challenge_pages import takes_submissions
from heldout.platform.services.challenge_search import ChallengeFilters, paginate, search_challenges
from heldout.platform.services.errors import ServiceError
from heldout.platform.services.spreadsheets import spreadsheet_text
from heldout.platform.views.serialize import private_visible

bp = Blueprint("kaggle", __name__, url_prefix="/api/v1")
answer_in_kaggle_shape(bp)

COMPETITIONS = "/competitions.CompetitionApiService"
MAX_ID = 2**31 - 1  # ids beyond this are no one's, and some databases reject them
SUBMIT_ENDPOINTS = ["kaggle.start_submission_upload", "kaggle.create_submission"]
_STATUS = {SubmissionStatus.QUEUED: "PENDING", SubmissionStatus.RUNNING: "PENDING",
           SubmissionStatus.SCORED: "COMPLETE", SubmissionStatus.FAILED: "ERROR", SubmissionStatus.ERROR: "ERROR"}


# -- plumbing ----------------------------------------------------------------------------------------------------

@bp.before_request
def _authenticate() -> None:
    api_user(required=False)


def _body() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        if request.get_data(cache=True):
            raise ServiceError("The request body must be JSON.", field="body")
        return {}
    if not isinstance(body, dict):
        raise ServiceError("The request body must be a JSON object.", field="body")
    return body


def _int(body: dict, name: str, default: int) -> int:
    if name not in body:
        return default
    value = body[name]
    # JSON has one number type: 3.0 is as whole as 3.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ServiceError(f"'{name}' must be a whole number.", field=name)
    return value


def _str(body: dict, name: str) -> str:
    if name not in body:
        return ""
    if not isinstance(body[name], str):
        raise ServiceError(f"'{name}' must be a string.", field=name)
    return body[name]


def _bool(body: dict, name: str) -> bool:
    if name not in body:
        return False
    if not isinstance(body[name], bool):
        raise ServiceError(f"'{name}' must be true or false.", field=name)
    return body[name]


def _id(body: dict, name: str) -> int:
    value = _int(body, name, 0)
    if not 0 <= value <= MAX_ID:
        raise ServiceError(f"'{name}' is not an id.", field=name)
    return value


def _page(body: dict, default_size: int) -> tuple[int, int]:
    # The client pages either by number or by the token we handed out, which is the next page's number.
    token = _str(body, "pageToken")
    if token and not re.fullmatch(r"[1-9][0-9]{0,8}", token):
        raise ServiceError("'pageToken' must be the nextPageToken of an earlier page.", field="pageToken")
    page = _int(body, "page", int(token) if token else 1)
    return page, min(max(_int(body, "pageSize", default_size), 1), 100)


def _competition(body: dict) -> Challenge:
    user = api_user(required=True)
    slug = _str(body, "competitionName").strip()
    if not slug:
        raise ServiceError("Name the competition (-c SLUG).", field="competitionName")
    return catalog.get_challenge(db(), user, slug)


def _date(value: datetime | None) -> str | None:
    # Kaggle's format: naive UTC, milliseconds, a trailing Z.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _score(challenge: Challenge, value: float | None) -> str | None:
    return None if value is None else f"{value:.{BoardMode.of(challenge).precision}f}"


def _competition_json(challenge: Challenge, user: User, *, team_count: int, entry=None) -> dict:  # noqa: ANN001
    # The end that applies to this learner: an extension moves it (services.extensions), a reveal cuts it short.
    ends_at = extensions.counting_end(db(), challenge, user)
    return {
        "id": challenge.id, "ref": challenge.slug, "title": challenge.title, "description": challenge.summary,
        "url": url_for("challenges.show", slug=challenge.slug, _external=True),
        "category": "Practice", "reward": "Knowledge", "organizationName": "Heldout", "hostName": "heldout",
        "deadline": _date(ends_at), "enabledDate": _date(challenge.starts_at),
        "dateCreated": _date(challenge.created_at), "teamCount": team_count,
        "userHasEntered": entry is not None, "userRank": entry.rank if entry is not None else None,
        "maxDailySubmissions": challenge.daily_limit, "maxTeamSize": challenge.max_team_size,
        "evaluationMetric": challenge.metric, "isKernelsSubmissionsOnly": challenge.kind == SubmissionKind.CODE,
        "submissionsDisabled": not takes_submissions(challenge, utcnow(), ends_at),
    }


def _submission_json(submission: Submission, released: dict[int, float | None] | None = None) -> dict:
    challenge = submission.challenge
    if released is None:
        released = released_public_scores(db(), [submission])
    body = {
        "ref": submission.id, "totalBytes": submission.file_size, "date": _date(submission.created_at),
        # The client prints only the fields it knows: "late" leads the description it shows.
        "description": f"[late] {submission.message}".rstrip() if submission.late else submission.message,
        "late": submission.late, "errorDescription": submission.error or "",
        "fileName": submission.filename, "publicScore": _score(challenge, released.get(submission.id)),
        "status": _STATUS[submission.status], "submittedBy": submission.user.username,
        "teamName": submission.team.name,
        "url": url_for("api.show_submission", submission_id=submission.id, _external=True),
    }
    if private_visible(challenge):
        body["privateScore"] = _score(challenge, submission.private_score)
    return body


def _next_token(page) -> str:  # noqa: ANN001
    return str(page.next_page) if page.next_page else ""


# -- competitions.CompetitionApiService ----------------------------------------------------------------------------

@bp.post(COMPETITIONS + "/ListCompetitions")
def list_competitions():  # noqa: ANN201
    body = _body()
    user = api_user(required=True)
    number, size = _page(body, 20)
    page = search_challenges(db(), user, ChallengeFilters(search=_str(body, "search") or None), page=number,
                             per_page=size)
    entries = {entry.challenge.id: entry for entry in profile.entries(db(), user)}
    return jsonify({"competitions": [_competition_json(card.challenge, user, team_count=card.team_count,
                                                       entry=entries.get(card.challenge.id))
                                     for card in page.items],
                    "nextPageToken": _next_token(page)})


@bp.post(COMPETITIONS + "/GetCompetition")
def get_competition():  # noqa: ANN201
    challenge = _competition(_body())
    return jsonify(_competition_json(challenge, api_user(required=True), team_count=0))


@bp.post(COMPETITIONS + "/ListDataFiles")
def list_data_files():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    number, size = _page(body, 20)
    page = paginate(list(challenge.files), number, size)
    return jsonify({"files": [{"ref": f.name, "name": f.name, "totalBytes": f.size,
                               "creationDate": _date(challenge.updated_at),
                               "url": url_for("api.download_file", slug=challenge.slug, name=f.name, _external=True)}
                              for f in page.items],
                    "nextPageToken": _next_token(page)})


@bp.post(COMPETITIONS + "/DownloadDataFiles")
def download_data_files():  # noqa: ANN201
    challenge = _competition(_body())
    # The client follows the redirect with the same credentials and names the file after the URL's extension.
    return redirect(url_for("api.download_archive", slug=challenge.slug, _external=True), 302)


@bp.post(COMPETITIONS + "/DownloadDataFile")
def download_data_file():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    row = catalog.get_file(db(), challenge, _str(body, "fileName"))
    return redirect(url_for("api.download_file", slug=challenge.slug, name=row.name, _external=True), 302)


@bp.post(COMPETITIONS + "/StartSubmissionUpload")
def start_submission_upload():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    user = api_user(required=True)
    svc = services()
    _int(body, "lastModifiedEpochSeconds", 0)
    staged = uploads.start_upload(db(), svc.settings.secret_key, challenge, user, filename=_str(body, "fileName"),
                                  size=_int(body, "contentLength", 0) or None,
                                  server_limit=svc.settings.max_upload_bytes)
    return jsonify({"token": staged.token,
                    "createUrl": url_for("kaggle.receive_upload", token=staged.token, _external=True)})


@bp.put("/kaggle-uploads/<token>")
def receive_upload(token: str):  # noqa: ANN201
    svc = services()
    uploads.receive_upload(db(), svc.storage, svc.settings.secret_key, token, request.stream,
                           server_limit=svc.settings.max_upload_bytes)
    return jsonify({})


@bp.post(COMPETITIONS + "/CreateSubmission")
def create_submission():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    user = api_user(required=True)
    svc = services()
    submission = uploads.submit_upload(
        db(), svc.storage, svc.queue, svc.settings.secret_key, token=_str(body, "blobFileTokens"),
        challenge=challenge, user=user, message=_str(body, "submissionDescription"),
        server_limit=svc.settings.max_upload_bytes)
    return jsonify({"message": f"Successfully submitted to {challenge.title} (submission {submission.id}, queued "
                               f"for scoring)", "ref": submission.id})


@bp.post(COMPETITIONS + "/GetSubmissionLimits")
def get_submission_limits():  # noqa: ANN201
    challenge = _competition(_body())
    user = api_user(required=True)
    remaining = submissions.remaining_today(db(), challenge, user)
    return jsonify({"numToday": challenge.daily_limit - remaining, "numAllowedNow": remaining,
                    "numTotal": len(submissions.team_submissions(db(), challenge, user)), "limitedByTotal": False})


@bp.post(COMPETITIONS + "/ListSubmissions")
def list_submissions():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    user = api_user(required=True)
    number, size = _page(body, 20)
    _str(body, "group"), _str(body, "sortBy")  # accepted for compatibility; newest first is the only order
    page = paginate(submissions.team_submissions(db(), challenge, user), number, size)
    released = released_public_scores(db(), page.items)
    return jsonify({"submissions": [_submission_json(s, released) for s in page.items],
                    "nextPageToken": _next_token(page)})


@bp.post(COMPETITIONS + "/GetSubmission")
def get_submission():  # noqa: ANN201
    user = api_user(required=True)
    return jsonify(_submission_json(submissions.get_submission(db(), user, _id(_body(), "ref"))))


@bp.post(COMPETITIONS + "/GetLeaderboard")
def get_leaderboard():  # noqa: ANN201
    body = _body()
    challenge = _competition(body)
    number, size = _page(body, 20)
    _bool(body, "overridePublic")  # accepted for compatibility; the public leaderboard is what Kaggle shows
    board = leaderboards.board_page(db(), challenge, api_user(required=True), private=False, group=None, page=number,
                                    per_page=size)
    return jsonify({"submissions": [{"teamId": row.team_id, "teamName": row.team,
                                     "submissionDate": _date(row.last_entry_at),
                                     "score": _score(challenge, row.score)} for row in board.rows],
                    "nextPageToken": str(board.page + 1) if board.page < board.pages else ""})


@bp.post(COMPETITIONS + "/DownloadLeaderboard")
def download_leaderboard():  # noqa: ANN201
    """The whole public board as Kaggle's download: ``<slug>.zip`` holding ``<slug>-publicleaderboard.csv``."""
    challenge = _competition(_body())
    board = leaderboards.whole_public_board(db(), challenge, api_user(required=True))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["TeamId", "TeamName", "SubmissionDate", "Score"])
    for row in board.rows:
        # A team names itself; whoever downloads the board opens it in a spreadsheet.
        writer.writerow([row.team_id, spreadsheet_text(row.team),
                         row.last_entry_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if row.last_entry_at else "",
                         _score(challenge, row.score)])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(f"{challenge.slug}-publicleaderboard.csv", text.getvalue())
    return Response(archive.getvalue(), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename={challenge.slug}.zip"})


# -- security.OAuthService: lets KAGGLE_API_TOKEN hold a Heldout token ----------------------------------------------

@bp.post("/security.OAuthService/IntrospectToken")
def introspect_token():  # noqa: ANN201
    body = _body()
    if "token" not in body:
        raise ServiceError("Send the token to look up as 'token'.", field="token")
    user = accounts.user_for_token(db(), _str(body, "token"))
    if user is None:
        return jsonify({"active": False})
    return jsonify({"active": True, "username": user.username, "userId": user.id, "clientId": "heldout"})
