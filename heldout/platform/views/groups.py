"""Study groups: create, join by link, manage members, publish the group's own challenges."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from heldout.platform.context import db, me, services
from heldout.platform.services import groups
from heldout.platform.services.errors import NotFound, ServiceError

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
    return render_template("groups/show.html", group=view)


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
def publish(slug: str):  # noqa: ANN201
    upload = request.files.get("bundle")
    if upload is None or not upload.filename:
        flash("Choose a challenge bundle (.zip) to upload.", "error")
        return redirect(url_for("groups.show", slug=slug))
    svc = services()
    with tempfile.TemporaryDirectory(prefix="heldout-bundle-") as tmp:
        path = Path(tmp) / "bundle.zip"
        upload.save(path)
        return _lead_action(slug, lambda: groups.publish_group_challenge(db(), svc.storage, svc.queue, me(), slug,
                                                                         path), "Published the challenge to the group.")
