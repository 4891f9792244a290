"""Register, log in, log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from heldout.platform.context import LoginUser, db
from heldout.platform.services import accounts
from heldout.platform.services.errors import ServiceError

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("challenges.index")


@bp.route("/register", methods=["GET", "POST"])
def register():  # noqa: ANN201
    error = None
    if request.method == "POST":
        try:
            user = accounts.create_user(db(), request.form.get("username", ""), request.form.get("password", ""),
                                        email=request.form.get("email") or None)
        except ServiceError as exc:
            error = exc
        else:
            login_user(LoginUser(user))
            flash(f"Welcome, {user.username}!")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/register.html", error=error, form=request.form), (400 if error else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    error = None
    if request.method == "POST":
        user = accounts.authenticate(db(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = "Wrong username or password."
        else:
            login_user(LoginUser(user), remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, form=request.form), (400 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("challenges.index"))
