"""The JSON API (``/api/v1``), token-authenticated. Errors are JSON with a stable code.

Every error body is ``{"code", "message", "field"?, "details"?}``; the codes
and their statuses are listed in the OpenAPI document (``/api/v1/openapi.json``)
and in the README. A token is sent as ``Authorization: Bearer <token>`` (or as
the password of HTTP basic auth, which is how the Kaggle client sends it).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from heldout.leaderboard.released import released_public_scores
from heldout.platform.api_errors import answer_in_native_shape
from heldout.platform.context import api_user, db, services
from heldout.platform.openapi import openapi_document
from heldout.platform.services import (
    archives,
    catalog,
    challenge_pages,
    checks,
    finals,
    grades,
    leaderboards,
    practice,
    roster,
    submissions,
    teams,
    validation,
    writeups,
)
from heldout.platform.services.challenge_search import MAX_PER_PAGE, ChallengeFilters, paginate, search_challenges
from heldout.platform.services.errors import ServiceError, UploadTooLarge
from heldout.platform.services.uploads import size_limit
from heldout.platform.views.downloads import send_stored
from heldout.platform.views.groups import grades_response, invite_link, roster_bytes
from heldout.platform.views.serialize import (
    challenge_card_json,
    challenge_detail_json,
    check_json,
    private_board_json,
    public_board_json,
    roadmap_json,
    submission_json,
    team_json,
    validation_json,
    writeups_json,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
answer_in_native_shape(bp)

# Routes that take a file: rate-limited as submissions (see heldout.platform.ratelimit).
SUBMIT_ENDPOINTS = ["api.submit", "api.check"]
# Multipart framing and the message field around the file itself.
MULTIPART_SLACK = 64 * 1024


# -- request parsing ---------------------------------------------------------------------------------------------

def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ServiceError(f"'{name}' must be a whole number, not {raw[:40]!r}.", field=name) from None


def _bool_arg(name: str) -> bool:
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ServiceError(f"'{name}' must be true or false, not {raw[:40]!r}.", field=name)


def _uploaded_file(challenge):  # noqa: ANN001, ANN202
    """The multipart 'file', read no further than the challenge's limit allows."""
    limit = size_limit(challenge, services().settings.max_upload_bytes)
    request.max_content_length = limit + MULTIPART_SLACK
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise UploadTooLarge(limit) from None
    if upload is None:
        raise ServiceError("Send the file as the multipart field 'file'.", field="file")
    return upload, limit


def _submission_url(submission_id: int) -> str:
    return url_for("api.show_submission", submission_id=submission_id, _external=True)


def _with_urls(body: dict) -> dict:
    """The submission's API address (``url``) and its web page (``html_url``), as GitHub's API names them."""
    body["url"] = _submission_url(body["id"])
    body["html_url"] = url_for("submissions.show", submission_id=body["id"], _external=True)
    return body


# -- routes ------------------------------------------------------------------------------------------------------

@bp.before_request
def _authenticate() -> None:
    # A token that is sent is checked on every route, public ones included.
    api_user(required=False)


@bp.get("/openapi.json")
def openapi():  # noqa: ANN201
    return jsonify(openapi_document(server_url=request.host_url.rstrip("/") + bp.url_prefix))


@bp.get("/me")
def whoami():  # noqa: ANN201
    user = api_user(required=True)
    return jsonify({"username": user.username, "is_admin": user.is_admin, "is_organizer": user.is_organizer})


@bp.get("/practice")
def practice_roadmap():  # noqa: ANN201
    """The roadmap's topics in order with their challenges; with a token, the caller's progress on each."""
    roadmap = practice.roadmap(db(), api_user(required=False))
    return jsonify(roadmap_json(roadmap, challenge_url=lambda slug: url_for("api.show_challenge", slug=slug,
                                                                            _external=True)))


@bp.get("/challenges")
def list_challenges():  # noqa: ANN201
    args = request.args
    if args.get("phase") == "":
        raise ServiceError("'phase' must be one of active, upcoming or closed.", field="phase")
    filters = ChallengeFilters(search=args.get("search"), tag=args.get("tag"), difficulty=args.get("difficulty"),
                               task_type=args.get("task_type"), phase=args.get("phase"))
    page = search_challenges(db(), api_user(required=False), filters, page=_int_arg("page", 1),
                             per_page=_int_arg("per_page", 20))
    return jsonify({"challenges": [challenge_card_json(card) for card in page.items], "page": page.page,
                    "per_page": page.per_page, "total": page.total, "next_page": page.next_page})


@bp.get("/challenges/<slug>")
def show_challenge(slug: str):  # noqa: ANN201
    user = api_user(required=False)
    challenge = catalog.get_challenge(db(), user, slug)
    page = challenge_pages.challenge_page(db(), services().storage, challenge, user)
    return jsonify(challenge_detail_json(
        page, file_url=lambda name: url_for("api.download_file", slug=slug, name=name, _external=True)))


@bp.get("/challenges/<slug>/files/<path:name>")
def download_file(slug: str, name: str):  # noqa: ANN201
    challenge = catalog.get_challenge(db(), api_user(required=False), slug)
    row = catalog.get_file(db(), challenge, name)
    # conditional=True answers Range requests with 206, so interrupted downloads resume.
    return send_stored(services().storage, row.storage_key, download_name=row.name, etag=row.sha256, max_age=0)


@bp.get("/challenges/<slug>/files.zip")
def download_archive(slug: str):  # noqa: ANN201
    challenge = catalog.get_challenge(db(), api_user(required=False), slug)
    key = archives.data_archive(services().storage, challenge)
    return send_stored(services().storage, key, download_name=f"{slug}.zip", etag=challenge.content_hash[:32],
                       max_age=0)


@bp.get("/challenges/<slug>/leaderboard")
def leaderboard(slug: str):  # noqa: ANN201
    user = api_user(required=False)
    challenge = catalog.get_challenge(db(), user, slug)
    page, per_page, group = _int_arg("page", 1), _int_arg("per_page", 100), request.args.get("group") or None
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ServiceError(f"Ask for 1 to {MAX_PER_PAGE} rows per page.", field="per_page")
    private = _bool_arg("private")
    board = leaderboards.board_page(db(), challenge, user, private=private, group=group, page=page, per_page=per_page)
    shape = private_board_json if private else public_board_json
    return jsonify({"challenge": slug, "group": group, **shape(board)})


@bp.get("/challenges/<slug>/team")
def team(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    return jsonify(team_json(teams.team_view(db(), catalog.get_challenge(db(), user, slug), user)))


@bp.put("/challenges/<slug>/team/writeup")
def set_team_writeup(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    challenge = catalog.get_challenge(db(), user, slug)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("writeup"), str):
        raise ServiceError("Send a JSON object with the write-up's Markdown as 'writeup' (empty removes it).",
                           field="writeup")
    writeups.set_team_writeup(db(), challenge, user, body["writeup"])
    return jsonify(team_json(teams.team_view(db(), challenge, user)))


@bp.get("/challenges/<slug>/writeups")
def show_writeups(slug: str):  # noqa: ANN201
    user = api_user(required=False)
    challenge = catalog.get_challenge(db(), user, slug)
    return jsonify({"challenge": slug, **writeups_json(writeups.writeups(db(), challenge, user))})


@bp.post("/challenges/<slug>/submissions")
def submit(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    challenge = catalog.get_challenge(db(), user, slug)
    upload, limit = _uploaded_file(challenge)
    svc = services()
    submission = submissions.create_submission(
        db(), svc.storage, svc.queue, challenge=challenge, user=user, stream=upload.stream,
        filename=upload.filename or "submission.csv", message=request.form.get("message", ""),
        validation_score=request.form.get("validation_score"),
        validation_note=request.form.get("validation_note"), max_bytes=limit)
    body = _with_urls(submission_json(submission, position=submissions.queue_position(db(), submission)))
    return jsonify(body), 202, {"Location": body["url"]}


@bp.post("/challenges/<slug>/check")
def check(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    challenge = catalog.get_challenge(db(), user, slug)
    upload, limit = _uploaded_file(challenge)
    try:
        result = checks.check_submission(services().storage, challenge, stream=upload.stream,
                                         filename=upload.filename or "submission.csv", max_bytes=limit,
                                         queue=services().queue)
    except checks.InvalidSubmission as exc:
        # The dry run worked; its verdict is "no". That is an answer, not an error of the request.
        return jsonify({"ok": False, "message": exc.message, "details": exc.details or {}})
    return jsonify(check_json(result))


@bp.get("/challenges/<slug>/submissions")
def list_submissions(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    challenge = catalog.get_challenge(db(), user, slug)
    page = paginate(submissions.team_submissions(db(), challenge, user), _int_arg("page", 1),
                    _int_arg("per_page", 50))
    released = released_public_scores(db(), page.items)
    placings = leaderboards.late_placings(db(), page.items)
    return jsonify({"challenge": slug, "remaining_today": submissions.remaining_today(db(), challenge, user),
                    "submissions": [_with_urls(submission_json(s, released=released, placings=placings))
                                    for s in page.items],
                    "page": page.page, "per_page": page.per_page, "total": page.total, "next_page": page.next_page})


@bp.get("/challenges/<slug>/validation")
def team_validation(slug: str):  # noqa: ANN201
    """Your team's validation scores against its public (and, once revealed, private) scores."""
    user = api_user(required=True)
    challenge = catalog.get_challenge(db(), user, slug)
    return jsonify(validation_json(validation.validation_view(db(), challenge, user), challenge))


@bp.get("/submissions/<int(max=2147483647):submission_id>")
def show_submission(submission_id: int):  # noqa: ANN201
    submission = submissions.get_submission(db(), api_user(required=True), submission_id)
    return jsonify(_with_urls(submission_json(submission, position=submissions.queue_position(db(), submission),
                                              with_standing=True)))


@bp.get("/submissions/<int(max=2147483647):submission_id>/logs")
def submission_logs(submission_id: int):  # noqa: ANN201
    submission = submissions.get_submission(db(), api_user(required=True), submission_id)
    body = {"id": submission.id, "challenge": submission.challenge.slug, "status": submission.status.value,
            "logs": submissions.learner_logs(submission)}
    body["html_url"] = url_for("submissions.show", submission_id=submission.id, _external=True)
    return jsonify(body)


@bp.route("/submissions/<int(max=2147483647):submission_id>/final", methods=["PUT", "DELETE"])
def select_final(submission_id: int):  # noqa: ANN201
    """PUT selects the submission as one of the team's finals; DELETE unselects it."""
    submission = finals.set_final(db(), api_user(required=True), submission_id, request.method == "PUT")
    return jsonify(_with_urls(submission_json(submission)))


# -- study groups ----------------------------------------------------------------------------------------------

@bp.post("/groups/<slug>/roster")
def import_roster(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    request.max_content_length = roster.MAX_ROSTER_BYTES + MULTIPART_SLACK
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise UploadTooLarge(roster.MAX_ROSTER_BYTES, what="roster", limit_name="the roster limit") from None
    if upload is None:
        raise ServiceError("Send the roster CSV as the multipart field 'file'.", field="file")
    result = roster.import_roster(db(), user, slug, roster_bytes(upload))
    return jsonify({"group": slug, "added": result.added, "invited": result.invited, "unchanged": result.unchanged,
                    "roster_url": url_for("api.export_roster", slug=slug, _external=True)})


@bp.get("/groups/<slug>/roster.csv")
def export_roster(slug: str):  # noqa: ANN201
    user = api_user(required=True)
    view = roster.roster_view(db(), user, slug)
    return Response(roster.roster_csv(view, invite_link), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{view.group_slug}-roster.csv"'})


@bp.get("/groups/<slug>/challenges/<challenge>/grades.csv")
def grades_csv(slug: str, challenge: str):  # noqa: ANN201
    user = api_user(required=True)
    return grades_response(grades.grade_sheet(db(), user, slug, challenge))
