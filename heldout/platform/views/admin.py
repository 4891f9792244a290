"""Admin pages: the scoring workers, as they announced themselves. To anyone but an admin they do not exist."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from heldout.platform.context import db, me
from heldout.platform.services import workers
from heldout.platform.services.errors import NotFound

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.errorhandler(NotFound)
def _not_found(_exc: NotFound):  # noqa: ANN202
    # The same page as any unknown address, for learners and anonymous visitors alike.
    return render_template("error.html", title="Not found", message="There is nothing here."), 404


@bp.before_request
def _admins_only() -> None:
    workers.require_admin(me())


@bp.get("/workers", endpoint="workers")
def workers_page():  # noqa: ANN201
    listing = workers.list_workers(db(), include_silent=request.args.get("all") == "1")
    return render_template("admin/workers.html", listing=listing,
                           stale_after=workers.STALE_AFTER_MISSED_BEATS)
