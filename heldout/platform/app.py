"""The app factory: service clients are made here and hung on the app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Flask, g, render_template, request
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from rq import Queue
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from heldout.config import Settings
from heldout.db import make_engine, make_session_factory
from heldout.leaderboard.modes import BoardMode
from heldout.models import User
from heldout.platform.markdown import render_markdown
from heldout.runner.queue import connect_redis, scoring_queue
from heldout.storage import Storage, make_storage


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    redis: Redis
    queue: Queue


csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."


def create_app(settings: Settings | None = None, *, redis: Redis | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if redis is None:
        redis = connect_redis(settings.redis_url)
    services = Services(settings=settings, engine=engine, sessions=make_session_factory(engine),
                        storage=make_storage(settings), redis=redis, queue=scoring_queue(redis))
    app.extensions["heldout"] = services

    from heldout.platform import metrics

    metrics.init_app(app)  # first, so that requests refused by the hooks below are timed too
    csrf.init_app(app)
    login_manager.init_app(app)

    from heldout.platform.views import api, auth, challenges, health, submissions

    app.register_blueprint(auth.bp)
    app.register_blueprint(challenges.bp)
    app.register_blueprint(submissions.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)

    from heldout.platform import security
    from heldout.platform.views import account, organizer

    app.register_blueprint(account.bp)
    app.register_blueprint(organizer.bp)
    security.init_app(app)

    from heldout.platform import ratelimit
    from heldout.platform.views import kaggle

    app.register_blueprint(kaggle.bp)
    csrf.exempt(kaggle.bp)
    limiter = ratelimit.init_rate_limits(app, redis)
    ratelimit.limit_login(app, limiter, "auth.login")
    for blueprint in (api.bp, kaggle.bp):
        ratelimit.limit_token_use(limiter, blueprint)
    ratelimit.limit_submissions(app, limiter, api.SUBMIT_ENDPOINTS + kaggle.SUBMIT_ENDPOINTS)

    from heldout.platform.views import metrics as metrics_view

    # A scraper's GETs: no form to protect, and a scraper must never be throttled.
    app.register_blueprint(metrics_view.bp)
    csrf.exempt(metrics_view.bp)
    limiter.exempt(metrics_view.bp)

    from heldout.platform.views import groups, teams

    app.register_blueprint(teams.bp)
    app.register_blueprint(groups.bp)

    from heldout.platform.views import admin

    app.register_blueprint(admin.bp)

    app.teardown_appcontext(_close_db)
    app.jinja_env.filters["utc"] = _format_utc
    app.jinja_env.filters["score"] = _format_score
    app.jinja_env.filters["filesize"] = _format_size
    app.jinja_env.filters["markdown"] = render_markdown
    # Decimals a challenge's board prints its public scores with (fewer on rounded and ladder boards).
    app.jinja_env.filters["board_precision"] = lambda challenge: BoardMode.of(challenge).precision

    @app.errorhandler(404)
    def not_found(_error):  # noqa: ANN001, ANN202
        if request.path.startswith("/api/"):
            return {"code": "not_found", "message": "Not found."}, 404
        return render_template("error.html", title="Not found", message="There is nothing here."), 404

    @app.errorhandler(413)
    def too_large(_error):  # noqa: ANN001, ANN202
        message = f"The upload is larger than the limit of {settings.max_upload_bytes:,} bytes."
        if request.path.startswith("/api/"):
            return {"code": "too_large", "message": message, "field": "file"}, 413
        return render_template("error.html", title="Too large", message=message), 413

    return app


def services() -> Services:
    from flask import current_app

    return current_app.extensions["heldout"]


def db() -> Session:
    """This request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = services().sessions()
    return g.db


def _close_db(_exc) -> None:  # noqa: ANN001
    session = g.pop("db", None)
    if session is not None:
        session.close()


class LoginUser(UserMixin):
    """Flask-Login's view of a user; the model itself stays free of Flask."""

    def __init__(self, user: User):
        self.user = user
        self.id = user.id

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.user, name)


@login_manager.user_loader
def _load_user(user_id: str) -> LoginUser | None:
    user = db().get(User, int(user_id))
    return LoginUser(user) if user is not None else None


def me() -> User | None:
    """The logged-in user's model, or None."""
    from flask_login import current_user

    return current_user.user if current_user.is_authenticated else None


def _format_utc(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _format_score(value: float | None, precision: int = 5) -> str:
    if value is None:
        return "—"
    return f"{value:.{precision}f}"


def _format_size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
