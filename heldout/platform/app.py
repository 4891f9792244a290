"""The app factory: service clients are made here and hung on the app."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask
from redis import Redis

from heldout.config import Settings
from heldout.db import make_engine, make_session_factory
from heldout.leaderboard.modes import BoardMode
from heldout.models import LeaderboardMode
from heldout.platform.context import Services, close_db, csrf, login_manager
from heldout.platform.markdown import render_learner_markdown, render_markdown
from heldout.runner.queue import connect_redis, scoring_queue
from heldout.storage import make_storage


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
    if settings.trusted_proxies:
        _trust_proxies(app, settings.trusted_proxies)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if redis is None:
        redis = connect_redis(settings.redis_url)
    services = Services(settings=settings, engine=engine, sessions=make_session_factory(engine),
                        storage=make_storage(settings), redis=redis, queue=scoring_queue(redis))
    app.extensions["heldout"] = services

    from heldout.platform import api_errors, metrics

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
    ratelimit.limit_submissions(app, limiter, api.SUBMIT_ENDPOINTS + kaggle.SUBMIT_ENDPOINTS
                                + submissions.RATE_LIMITED_ENDPOINTS)

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

    api_errors.init_app(app, max_upload_bytes=settings.max_upload_bytes)
    app.teardown_appcontext(close_db)
    app.jinja_env.filters["utc"] = _format_utc
    app.jinja_env.filters["score"] = _format_score
    app.jinja_env.filters["filesize"] = _format_size
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["learner_markdown"] = render_learner_markdown
    # Decimals a challenge's board prints its public scores with (fewer on rounded and ladder boards).
    app.jinja_env.filters["board_precision"] = lambda challenge: BoardMode.of(challenge).precision
    # Templates compare a board's mode with the Enum's members, never with a bare string.
    app.jinja_env.globals["LeaderboardMode"] = LeaderboardMode

    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Believe the last ``hops`` entries of X-Forwarded-For and X-Forwarded-Proto: the address each proxy saw.

    Werkzeug's ProxyFix rewrites the request's REMOTE_ADDR in place, so rate limits (per address), the
    access log (gunicorn reads REMOTE_ADDR after the response) and /metrics' loopback rule all see the real
    client. Host, port and prefix are left alone: proxies commonly pass Host through instead of adding
    X-Forwarded-Host, and a client could then choose the value believed. Without HELDOUT_TRUSTED_PROXIES
    nothing here runs, so a client's forged X-Forwarded-For changes nothing.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


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
