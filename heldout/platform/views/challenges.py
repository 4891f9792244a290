"""Challenge list, challenge page, data downloads, leaderboard, and the page's chart data."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from heldout.platform.context import db, me, services
from heldout.platform.services import catalog, challenge_pages, charts, leaderboards, organizer, practice, writeups
from heldout.platform.services.challenge_search import ChallengeFilters, search_challenges
from heldout.platform.services.errors import NotFound, ServiceError
from heldout.platform.views.downloads import send_stored
from heldout.platform.views.links import optional_url
from heldout.platform.views.serialize import validation_json

bp = Blueprint("challenges", __name__)
bp.add_app_template_global(optional_url)

PER_PAGE = 30


@bp.get("/")
def index():  # noqa: ANN201
    args = request.args
    filters = ChallengeFilters(search=args.get("q") or None, tag=args.get("tag") or None,
                               difficulty=args.get("difficulty") or None, phase=args.get("phase") or None)
    try:
        page = search_challenges(db(), me(), filters, page=args.get("page", 1, type=int), per_page=PER_PAGE)
    except ServiceError as exc:
        return render_template("error.html", title="Cannot list challenges", message=exc.message), 400
    return render_template("challenges/index.html", page=page, filters=filters)


def _challenge_or_404(slug: str):  # noqa: ANN202
    try:
        return catalog.get_challenge(db(), me(), slug)
    except NotFound:
        abort(404)


@bp.get("/practice")
def practice_roadmap():  # noqa: ANN201
    return render_template("challenges/practice.html", roadmap=practice.roadmap(db(), me()))


@bp.get("/favicon.ico")
def favicon():  # noqa: ANN201
    # Pages name the SVG icon; this answers browsers and tools that ask for the old default path.
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/c/<slug>")
def show(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    page = challenge_pages.challenge_page(db(), services().storage, challenge, me())
    board = leaderboards.leaderboard_summary(db(), challenge, me())
    return render_template(
        "challenges/show.html", challenge=challenge, page=page, manageable=organizer.manages(db(), me(), challenge),
        leaderboard=board, writeups=writeups.writeups(db(), challenge, me()) if board.private_visible else None,
        validation_chart=validation_json(page.validation, challenge) if page.validation is not None else None,
    )


@bp.get("/c/<slug>/leaderboard")
def leaderboard(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    args = request.args
    try:
        board = leaderboards.leaderboard_page(db(), challenge, me(), board=args.get("board"),
                                              group=args.get("group") or None, page=args.get("page"))
    except NotFound:
        abort(404)
    except ServiceError as exc:
        return render_template("error.html", title="Cannot show this leaderboard", message=exc.message), exc.status
    return render_template("challenges/leaderboard.html", challenge=challenge, leaderboard=board)


@bp.get("/c/<slug>/charts/history.json")
def history_chart(slug: str):  # noqa: ANN201
    return jsonify(charts.score_history(db(), _challenge_or_404(slug), me()))


@bp.get("/c/<slug>/charts/shakeup.json")
def shakeup_chart(slug: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        return jsonify(charts.shakeup(db(), challenge, me()))
    except ServiceError as exc:
        return jsonify(exc.to_dict()), exc.status


@bp.get("/c/<slug>/files/<path:name>")
def download(slug: str, name: str):  # noqa: ANN201
    challenge = _challenge_or_404(slug)
    try:
        row = catalog.get_file(db(), challenge, name)
    except NotFound:
        abort(404)
    return send_stored(services().storage, row.storage_key, download_name=row.name, etag=row.sha256)
