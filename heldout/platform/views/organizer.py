"""Organizer pages: upload a bundle (validation report first), preview, publish, edit the timeline
and limits, rescore, download every submission, read why submissions failed."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required

from heldout.platform.context import db, me, services
from heldout.platform.services import extensions, organizer, writeups
from heldout.platform.services.errors import Forbidden, NotFound, ServiceError, UploadTooLarge

bp = Blueprint("organizer", __name__, url_prefix="/organizer")


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):  # noqa: ANN202
    return render_template("error.html", title="Organizers only", message=exc.message), 403


@bp.errorhandler(NotFound)
def _not_found(_exc: NotFound):  # noqa: ANN202
    # The same page as any unknown address: whether someone else's challenge exists is not told.
    return render_template("error.html", title="Not found", message="There is nothing here."), 404


@bp.before_request
@login_required
def _organizers_only() -> None:
    # The list and the upload are an organizer account's; a challenge's own pages are for whoever manages it
    # (get_managed_challenge), which includes a study group's lead for the group's challenges.
    if request.endpoint in ("organizer.index", "organizer.upload"):
        organizer.require_organizer(me())


def _index(*, status: int = 200, error: ServiceError | None = None):  # noqa: ANN202
    return render_template("organizer/index.html", challenges=organizer.managed_challenges(db(), me()),
                           error=error), status


@bp.get("")
def index():  # noqa: ANN201
    return _index()


@bp.post("/upload")
def upload():  # noqa: ANN201
    upload = request.files.get("bundle")
    svc = services()
    try:
        if upload is None or not upload.filename:
            raise ServiceError("Choose a bundle .zip to upload.", field="bundle")
        result = organizer.upload_bundle(db(), svc.storage, svc.queue, me(), stream=upload.stream,
                                         filename=upload.filename, max_bytes=svc.settings.max_upload_bytes)
    except ServiceError as exc:
        return _index(status=413 if isinstance(exc, UploadTooLarge) else 400, error=exc)
    flash(f"Bundle {result.challenge_slug}: {result.action}. "
          + ("It is a draft: preview it, then publish." if result.action == "created" else "")
          + (" Its baseline is being run in the sandbox; see the baseline check below."
             if result.baseline_queued else ""))
    return redirect(url_for("organizer.manage", slug=result.challenge_slug))


def _manage(slug: str, *, status: int = 200, error: ServiceError | None = None, form=None):  # noqa: ANN001, ANN202
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    group = organizer.owning_group(db(), challenge)
    return render_template("organizer/manage.html", challenge=challenge, error=error, group=group,
                           extensions=extensions.extensions_of(db(), challenge) if group else [],
                           members=extensions.members_to_extend(db(), challenge) if group else [],
                           form=form or organizer.SettingsForm.of(challenge),
                           baseline=organizer.baseline_status(challenge),
                           failures=organizer.failed_submissions(db(), challenge)), status


@bp.get("/c/<slug>")
def manage(slug: str):  # noqa: ANN201
    return _manage(slug)


@bp.post("/c/<slug>/publish")
def publish(slug: str):  # noqa: ANN201
    try:
        organizer.publish(db(), organizer.get_managed_challenge(db(), me(), slug))
    except ServiceError as exc:
        return _manage(slug, status=exc.status, error=exc)
    flash("Published: learners can see it now.")
    return redirect(url_for("organizer.manage", slug=slug))


@bp.post("/c/<slug>/baseline")
def check_baseline(slug: str):  # noqa: ANN201
    organizer.request_baseline_check(db(), services().queue, organizer.get_managed_challenge(db(), me(), slug))
    flash("The baseline check is queued: reload this page to see its scores.")
    return redirect(url_for("organizer.manage", slug=slug) + "#baseline")


@bp.post("/c/<slug>/settings")
def settings(slug: str):  # noqa: ANN201
    form = organizer.SettingsForm(**{name: request.form.get(name, "") for name in
                                     ("starts_at", "ends_at", "team_merge_deadline", "daily_limit",
                                                  "max_team_size", "late_submissions")})
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    try:
        organizer.update_settings(db(), challenge, form)
    except ServiceError as exc:
        return _manage(slug, status=400, error=exc, form=form)
    flash("Timeline and limits saved.")
    return redirect(url_for("organizer.manage", slug=slug))


@bp.post("/c/<slug>/writeup")
def writeup(slug: str):  # noqa: ANN201
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    try:
        writeups.set_organizer_writeup(db(), challenge, request.form.get("writeup_md", ""))
    except ServiceError as exc:
        return _manage(slug, status=400, error=exc)
    flash("Write-up saved: it is shown once the private leaderboard is revealed."
          if challenge.writeup_md else "Write-up removed.")
    return redirect(url_for("organizer.manage", slug=slug) + "#writeup")


@bp.post("/c/<slug>/rescore")
def rescore(slug: str):  # noqa: ANN201
    count = organizer.rescore(db(), services().queue, organizer.get_managed_challenge(db(), me(), slug))
    flash(f"{count} submission{'s' if count != 1 else ''} queued for rescoring.")
    return redirect(url_for("organizer.manage", slug=slug))


@bp.get("/c/<slug>/submissions.zip")
def download_submissions(slug: str):  # noqa: ANN201
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    chunks = organizer.submissions_archive(db(), services().storage, challenge)
    return Response(chunks, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{challenge.slug}-submissions.zip"'})


@bp.post("/c/<slug>/extensions")
def grant_extension(slug: str):  # noqa: ANN201
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    try:
        granted = extensions.grant_extension(db(), me(), challenge, request.form.get("member", ""),
                                             request.form.get("extension_end", ""))
    except ServiceError as exc:
        db().rollback()
        return _manage(slug, status=exc.status, error=exc)
    flash(f"{granted.username}'s submissions now count until {granted.ends_at:%Y-%m-%d %H:%M} UTC.")
    return redirect(url_for("organizer.manage", slug=slug) + "#extensions")


@bp.post("/c/<slug>/extensions/<int:user_id>/remove")
def revoke_extension(slug: str, user_id: int):  # noqa: ANN201
    challenge = organizer.get_managed_challenge(db(), me(), slug)
    try:
        extensions.revoke_extension(db(), me(), challenge, user_id)
    except ServiceError as exc:
        return _manage(slug, status=exc.status, error=exc)
    flash("The extension is taken back: the challenge's end applies to that member again.")
    return redirect(url_for("organizer.manage", slug=slug) + "#extensions")
