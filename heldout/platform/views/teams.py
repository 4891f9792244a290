"""A user's team in a challenge: name it, invite by link, accept, leave; pick final submissions; reveal."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from heldout.platform.context import db, me
from heldout.platform.services import catalog, finals, leaderboards, teams, writeups
from heldout.platform.services.errors import NotFound, ServiceError

bp = Blueprint("teams", __name__)


def _challenge_or_404(slug: str):  # noqa: ANN202
    try:
        return catalog.get_challenge(db(), me(), slug)
    except NotFound:
        abort(404)


def _back(fallback: str) -> str:
    # Only same-site paths: the form says where it came from, but it must not send anyone elsewhere.
    target = request.form.get("next")
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return fallback


@bp.get("/c/<slug>/team")
@login_required
def show(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    return render_template("teams/show.html", challenge=challenge, team=teams.team_view(db(), challenge, me()))


@bp.post("/c/<slug>/team")
@login_required
def save(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        team = teams.create_or_rename_team(db(), challenge, me(), request.form.get("name", ""))
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Your team is now called {team.name}.")
    return redirect(url_for("teams.show", slug=slug))


@bp.post("/c/<slug>/team/writeup")
@login_required
def save_writeup(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        team = writeups.set_team_writeup(db(), challenge, me(), request.form.get("writeup", ""))
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("Your team's write-up is saved: others read it once the private leaderboard is revealed."
              if team.writeup_md else "Your team's write-up is removed.")
    return redirect(url_for("teams.show", slug=slug) + "#writeup")


@bp.post("/c/<slug>/team/invite")
@login_required
def rotate_invite(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        teams.rotate_team_invite(db(), challenge, me())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("Made a new invite link; the old one no longer works.")
    return redirect(url_for("teams.show", slug=slug))


@bp.post("/c/<slug>/team/leave")
@login_required
def leave(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        teams.leave_team(db(), challenge, me())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("You left the team.")
    return redirect(url_for("teams.show", slug=slug))


@bp.route("/teams/join/<code>", methods=["GET", "POST"])
@login_required
def join(code: str):  # noqa: ANN201
    try:
        invite = teams.invitation(db(), me(), code)
    except NotFound:
        abort(404)
    if request.method == "POST":
        try:
            team = teams.accept_invite(db(), me(), code)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(f"You are now in {team.name}.")
            return redirect(url_for("teams.show", slug=invite.challenge_slug))
    return render_template("teams/join.html", invite=invite, code=code)


@bp.post("/submissions/<int:submission_id>/final")
@login_required
def select_final(submission_id: int):  # noqa: ANN201
    try:
        submission = finals.set_final(db(), me(), submission_id, request.form.get("selected"))
    except NotFound:
        abort(404)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(_back(url_for("challenges.index")))
    flash(f"Submission {submission.id} is {'now' if submission.selected_final else 'no longer'} a final submission.")
    return redirect(_back(url_for("submissions.show", submission_id=submission.id)))


@bp.post("/c/<slug>/leaderboard/reveal")
@login_required
def reveal(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        leaderboards.reveal_private(db(), challenge, me())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash("The private leaderboard is now public.")
    return redirect(url_for("challenges.leaderboard", slug=slug))
