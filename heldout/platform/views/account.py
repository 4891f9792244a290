"""The account page: profile (challenges entered, best ranks), password, API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from heldout.platform.context import db, me
from heldout.platform.services import accounts, profile
from heldout.platform.services.errors import NotFound, ServiceError

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(*, status: int = 200, error: ServiceError | None = None, new_token: str | None = None):  # noqa: ANN202
    body = render_template("account/show.html", page=profile.account_page(db(), me()), error=error,
                           new_token=new_token)
    # A page showing a fresh token must not linger in any cache.
    return body, status, {"Cache-Control": "no-store"}


@bp.get("")
@login_required
def show():  # noqa: ANN201
    return _page()


@bp.post("/password")
@login_required
def change_password():  # noqa: ANN201
    form = request.form
    try:
        if form.get("new_password", "") != form.get("confirm_password", ""):
            raise ServiceError("The two new passwords differ.", field="confirm_password")
        accounts.change_password(db(), me(), form.get("old_password", ""), form.get("new_password", ""))
    except ServiceError as exc:
        return _page(status=400, error=exc)
    flash("Your password is changed.")
    return redirect(url_for("account.show"))


@bp.post("/tokens")
@login_required
def create_token():  # noqa: ANN201
    # Rendered, not redirected: the token is shown exactly once and never stored, not even in the session.
    return _page(status=201, new_token=accounts.create_token(db(), me(), request.form.get("name", "").strip()))


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # noqa: ANN201
    try:
        accounts.revoke_token(db(), me(), token_id)
    except NotFound:
        abort(404)
    flash("The token is revoked; programs using it can no longer sign in.")
    return redirect(url_for("account.show") + "#tokens")
