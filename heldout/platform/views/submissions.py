"""Submit a file, follow its status, list a team's submissions.

The submit form posts normally, or by XHR (to show upload progress) asking for
JSON; both go through the same view and the same service call.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.released import released_public_scores
from heldout.models import Challenge
from heldout.platform.context import db, me, services
from heldout.platform.services import catalog, checks, leaderboards, submissions
from heldout.platform.services.errors import NotFound, ServiceError
from heldout.platform.views.serialize import submission_json

bp = Blueprint("submissions", __name__)

# The file check runs code in a sandbox: it counts against the upload rate limit (see heldout.platform.ratelimit).
RATE_LIMITED_ENDPOINTS = ["submissions.check"]

# A runaway print loop can write megabytes; the page shows the end, where the error usually is.
LOG_CHARS_SHOWN = 20_000


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _challenge_or_404(slug: str) -> Challenge:
    try:
        return catalog.get_challenge(db(), me(), slug)
    except NotFound:
        abort(404)


def _upload_limit(challenge: Challenge) -> int:
    return int(challenge.scoring_spec.get("max_bytes") or services().settings.max_upload_bytes)


@bp.post("/c/<slug>/submit")
@login_required
def submit(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    upload = request.files.get("file")
    svc = services()
    try:
        if upload is None or not upload.filename:
            raise ServiceError("Choose a file to submit.", field="file")
        submission = submissions.create_submission(
            db(), svc.storage, svc.queue, challenge=challenge, user=me(), stream=upload.stream,
            filename=upload.filename, message=request.form.get("message", ""),
            validation_score=request.form.get("validation_score"),
            validation_note=request.form.get("validation_note"), max_bytes=_upload_limit(challenge))
    except ServiceError as exc:
        if _wants_json():
            return jsonify(exc.to_dict()), exc.status
        flash(exc.message, "error")
        return redirect(url_for("challenges.show", slug=slug) + "#submit")
    url = url_for("submissions.show", submission_id=submission.id)
    if _wants_json():
        return jsonify({"id": submission.id, "url": url}), 201, {"Location": url}
    return redirect(url)


@bp.post("/c/<slug>/check")
@login_required
def check(slug: str):  # noqa: ANN201
    """The dry run: read the file as the scorer would (code: its visible run), say what is wrong; no score,
    no quota used."""
    challenge = _challenge_or_404(slug)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ServiceError("Choose a file to check.", field="file")
        result = checks.check_submission(services().storage, challenge, stream=upload.stream,
                                         filename=upload.filename, max_bytes=_upload_limit(challenge),
                                         queue=services().queue)
    except ServiceError as exc:
        if _wants_json():
            return jsonify(exc.to_dict()), exc.status
        return render_template("submissions/check.html", challenge=challenge, error=exc), exc.status
    if _wants_json():
        return jsonify({"ok": True, "message": result.message, "rows": result.rows, "columns": result.columns,
                        "logs": result.logs})
    return render_template("submissions/check.html", challenge=challenge, result=result)


def _own_submission_or_404(submission_id: int):  # noqa: ANN202
    try:
        return submissions.get_submission(db(), me(), submission_id)
    except NotFound:
        abort(404)


@bp.get("/submissions/<int:submission_id>")
@login_required
def show(submission_id: int):  # noqa: ANN201
    submission = _own_submission_or_404(submission_id)
    stand, board_page = leaderboards.where_you_stand(db(), submission)
    placed = leaderboards.late_placings(db(), [submission]).get(submission.id)
    board_url = url_for("challenges.leaderboard", slug=submission.challenge.slug,
                        page=board_page if board_page and board_page > 1 else None, _anchor="my-team")
    return render_template("submissions/show.html", submission=submission, challenge=submission.challenge,
                           standing=stand, board_url=board_url, placed=placed,
                           writeups_url=url_for("challenges.show", slug=submission.challenge.slug, _anchor="writeups")
                           if placed is not None and leaderboards.private_visible(submission.challenge) else None,
                           mode=BoardMode.of(submission.challenge),
                           position=submissions.queue_position(db(), submission),
                           private_visible=leaderboards.private_visible(submission.challenge),
                           diagnostics=submissions.visible_diagnostics(submission),
                           diagnostics_note=submissions.diagnostics_note(submission),
                           public_score=released_public_scores(db(), [submission])[submission.id],
                           shows_interval=BoardMode.of(submission.challenge).shows_interval,
                           log_chars=LOG_CHARS_SHOWN)


@bp.get("/submissions/<int:submission_id>/status")
@login_required
def status(submission_id: int):  # noqa: ANN201
    submission = _own_submission_or_404(submission_id)
    return jsonify(submission_json(submission, position=submissions.queue_position(db(), submission),
                                   with_standing=True))
