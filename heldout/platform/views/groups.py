"""Study groups: create, join by link, manage members, upload or clone the group's own challenges (drafts that
the lead then previews and publishes on the organizer's page)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.exceptions import RequestEntityTooLarge

from heldout.challenges.upload import TooLarge, read_bounded
from heldout.platform.context import db, me, services
from heldout.platform.services import grades, group_challenges, groups, roster
from heldout.platform.services.errors import Forbidden, NotFound, ServiceError
from heldout.platform.services.organizer import BundleRejected

bp = Blueprint("groups", __name__)


@bp.get("/groups")
@login_required
def index():  # noqa: ANN201
    return render_template("groups/index.html", groups=groups.my_groups(db(), me()))


@bp.post("/groups")
@login_required
def create():  # noqa: ANN201
    try:
        group = groups.create_group(db(), me(), request.form.get("name", ""))
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("groups.index"))
    return redirect(url_for("groups.show", slug=group.slug))


@bp.get("/groups/<slug>")
@login_required
def show(slug: str):  # noqa: ANN201
    try:
        view = groups.group_view(db(), me(), slug)
    except NotFound:
        abort(404)
    sources = group_challenges.clone_sources(db(), me()) if view.is_lead else []
    return render_template("groups/show.html", group=view, clone_sources=sources)


@bp.route("/groups/join/<code>", methods=["GET", "POST"])
@login_required
def join(code: str):  # noqa: ANN201
    try:
        invite = groups.invitation(db(), me(), code)
    except NotFound:
        abort(404)
    if request.method == "POST":
        try:
            group = groups.join_group(db(), me(), code)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Welcome to {group.name}!")
            return redirect(url_for("groups.show", slug=group.slug))
    return render_template("groups/join.html", invite=invite, code=code)


def _lead_action(slug: str, action, done: str):  # noqa: ANN001, ANN202
    try:
        action()
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(done)
    return redirect(url_for("groups.show", slug=slug))


@bp.post("/groups/<slug>/invite")
@login_required
def rotate_invite(slug: str):  # noqa: ANN201
    return _lead_action(slug, lambda: groups.rotate_invite(db(), me(), slug),
                        "Made a new invite link; the old one no longer works.")


@bp.post("/groups/<slug>/members/<int:user_id>/remove")
@login_required
def remove_member(slug: str, user_id: int):  # noqa: ANN201
    return _lead_action(slug, lambda: groups.remove_member(db(), me(), slug, user_id), "Removed the member.")


@bp.post("/groups/<slug>/board-identity")
@login_required
def board_identity(slug: str):  # noqa: ANN201
    chosen = request.form.get("board_identity", "")
    return _lead_action(slug, lambda: groups.set_board_identity(db(), me(), slug, chosen),
                        "Saved how members see each other.")


@bp.post("/groups/<slug>/pseudonym")
@login_required
def pseudonym(slug: str):  # noqa: ANN201
    return _lead_action(slug, lambda: groups.set_pseudonym(db(), me(), slug, request.form.get("pseudonym", "")),
                        "Saved your pseudonym.")


@bp.post("/groups/<slug>/leave")
@login_required
def leave(slug: str):  # noqa: ANN201
    try:
        groups.leave_group(db(), me(), slug)
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("groups.show", slug=slug))
    flash("You left the group.")
    return redirect(url_for("groups.index"))


@bp.post("/groups/<slug>/challenges")
@login_required
def upload_challenge(slug: str):  # noqa: ANN201
    upload = request.files.get("bundle")
    svc = services()
    try:
        if upload is None or not upload.filename:
            raise ServiceError("Choose a challenge bundle (.zip) to upload.", field="bundle")
        result = group_challenges.upload_group_challenge(db(), svc.storage, svc.queue, me(), slug,
                                                         stream=upload.stream, filename=upload.filename,
                                                         max_bytes=svc.settings.max_upload_bytes)
    except NotFound:
        abort(404)
    except BundleRejected as exc:
        flash(exc.message + " " + "; ".join(str(e) for e in exc.errors), "error")
        return redirect(url_for("groups.show", slug=slug))
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("groups.show", slug=slug))
    flash(f"Stored {result.challenge_slug} as a draft of the group ({result.action}): preview it, set its timeline, "
          "then publish it to the members." + (" Its baseline is being run in the sandbox."
                                               if result.baseline_queued else ""))
    return redirect(url_for("organizer.manage", slug=result.challenge_slug))


# -- the roster --------------------------------------------------------------------------------------------------

def roster_bytes(upload) -> bytes:  # noqa: ANN001
    """An uploaded roster file, read no further than a roster may be long."""
    try:
        return read_bounded(upload.stream, roster.MAX_ROSTER_BYTES + 1)
    except TooLarge:
        return b"x" * (roster.MAX_ROSTER_BYTES + 1)  # read_roster says it is too large, as for any other file


def invite_link(code: str) -> str:
    return url_for("groups.personal_invite", code=code, _external=True)


def _roster_page(slug: str, *, result=None, error: ServiceError | None = None, status: int = 200):  # noqa: ANN001, ANN202
    try:
        view = roster.roster_view(db(), me(), slug)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return render_template("groups/roster.html", roster=view, result=result, error=error,
                           invite_link=invite_link), status


@bp.get("/groups/<slug>/roster")
@login_required
def roster_page(slug: str):  # noqa: ANN201
    return _roster_page(slug)


@bp.post("/groups/<slug>/roster")
@login_required
def import_roster(slug: str):  # noqa: ANN201
    try:
        upload = request.files.get("roster")
    except RequestEntityTooLarge:
        upload = None
    if upload is None or not upload.filename:
        return _roster_page(slug, error=ServiceError("Choose a roster file (.csv) to import.", field="roster"),
                            status=400)
    try:
        result = roster.import_roster(db(), me(), slug, roster_bytes(upload))
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except ServiceError as exc:
        return _roster_page(slug, error=exc, status=400)
    return _roster_page(slug, result=result)


@bp.get("/groups/<slug>/roster.csv")
@login_required
def roster_download(slug: str):  # noqa: ANN201
    try:
        view = roster.roster_view(db(), me(), slug)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return Response(roster.roster_csv(view, invite_link), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{view.group_slug}-roster.csv"'})


@bp.route("/groups/invite/<code>", methods=["GET", "POST"])
def personal_invite(code: str):  # noqa: ANN201
    """A roster row's own link: anyone holding it sees whom it is for; only that account can use it."""
    try:
        invite = roster.personal_invite(db(), code)
    except NotFound:
        abort(404)
    user = me()
    error = None
    if request.method == "POST":
        if user is None:
            return redirect(url_for("auth.login", next=request.path))
        try:
            group = roster.accept_personal_invite(db(), user, code)
        except ServiceError as exc:
            error = exc
        else:
            flash(f"Welcome to {group.name}!")
            return redirect(url_for("groups.show", slug=group.slug))
    is_member = user is not None and groups.is_member_of(db(), invite.group_slug, user)
    return render_template("groups/invite.html", invite=invite, code=code, error=error, is_member=is_member), (
        error.status if error else 200)


@bp.get("/groups/<slug>/challenges/<challenge>/grades.csv")
@login_required
def grades_download(slug: str, challenge: str):  # noqa: ANN201
    try:
        sheet = grades.grade_sheet(db(), me(), slug, challenge)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    return grades_response(sheet)


def grades_response(sheet: grades.GradeSheet) -> Response:
    name = f"{sheet.group_slug}-{sheet.challenge_slug}-grades{'-provisional' if sheet.provisional else ''}.csv"
    return Response(grades.grades_csv(sheet), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/groups/<slug>/clone")
@login_required
def clone_challenge(slug: str):  # noqa: ANN201
    form = request.form
    try:
        result = group_challenges.clone_into_group(db(), services().queue, me(), slug, form.get("source", ""),
                                                   slug=form.get("slug", ""), title=form.get("title", ""))
    except NotFound as exc:
        if exc.field == "group":
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("groups.show", slug=slug) + "#challenges")
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("groups.show", slug=slug) + "#challenges")
    flash(f"Cloned into the group as the draft {result.challenge_slug}: set its timeline and limits, preview it, "
          "then publish it to the members.")
    return redirect(url_for("organizer.manage", slug=result.challenge_slug))
