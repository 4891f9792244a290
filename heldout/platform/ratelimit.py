"""Rate limits on logging in, token use and submitting, counted in the app's Redis by Flask-Limiter.

Each app gets its own limiter over its own Redis connection (a fakeredis with
the embedded queue), so every gunicorn worker shares one count. Limits are
read from ``app.config["HELDOUT_RATE_LIMITS"]`` at request time, so a
deployment or a test can change them without code. A breach is answered with
429 and ``Retry-After`` (seconds); each blueprint renders the body its clients
expect. Should Redis be unreachable, requests go through unlimited rather
than fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from redis import Redis

from heldout.platform.context import credential_key
from heldout.platform.services.submissions import wait_in_words

DEFAULT_LIMITS = {
    # Failed password logins, per client address.
    "login": "10 per minute",
    # Requests refused for a wrong or missing token, per client address: guessing tokens is slow.
    "bad_token": "30 per minute",
    # Requests made with one token.
    "token": "600 per minute",
    # Submissions, dry runs and upload reservations made with one token (the web form's file check: per address).
    "submit": "60 per hour",
}


def limit_for(name: str) -> Callable[[], str]:
    return lambda: current_app.config.get("HELDOUT_RATE_LIMITS", {}).get(name, DEFAULT_LIMITS[name])


def client_address() -> str:
    return request.remote_addr or "unknown"


def init_rate_limits(app: Flask, redis: Redis) -> Limiter:
    limiter = Limiter(key_func=client_address, storage_uri="redis://",
                      storage_options={"connection_pool": redis.connection_pool},
                      strategy="fixed-window", key_prefix="heldout-rate", swallow_errors=True)
    limiter.init_app(app)
    app.extensions["heldout_rate_limits"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests_page)
    return limiter


def limit_login(app: Flask, limiter: Limiter, endpoint: str) -> None:
    """Count failed logins at ``endpoint`` (a wrong password answers 400)."""
    app.view_functions[endpoint] = limiter.limit(
        limit_for("login"), methods=["POST"], deduct_when=lambda response: response.status_code >= 400,
        error_message="Too many failed logins from your address.",
    )(app.view_functions[endpoint])


def limit_token_use(limiter: Limiter, blueprint) -> None:  # noqa: ANN001
    """Limit every request to ``blueprint`` per token, and refused tokens per address."""
    # Shared limits: one count across every route (and both blueprints), not one per route.
    limiter.shared_limit(limit_for("token"), scope="token", key_func=lambda: credential_key() or client_address(),
                         exempt_when=lambda: credential_key() is None,
                         error_message="Too many requests with this API token.")(blueprint)
    limiter.shared_limit(limit_for("bad_token"), scope="bad-token",
                         deduct_when=lambda response: response.status_code == 401,
                         error_message="Too many requests with a wrong API token from your address.")(blueprint)


def limit_submissions(app: Flask, limiter: Limiter, endpoints: list[str]) -> None:
    """Limit the endpoints that take a file, per token, on top of the blueprint's limits."""
    for endpoint in endpoints:
        app.view_functions[endpoint] = limiter.shared_limit(
            limit_for("submit"), scope="submit", key_func=lambda: credential_key() or client_address(),
            override_defaults=False,
            error_message="Too many submissions with this API token.",
        )(app.view_functions[endpoint])


def retry_after_s() -> int:
    """Seconds until the limit this request broke lets it through again."""
    limiter: Limiter = current_app.extensions["heldout_rate_limits"]
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)


def retry_message(exc: RateLimitExceeded, retry_s: int) -> str:
    return f"{exc.description} Try again in {wait_in_words(retry_s)}."


def _too_many_requests_page(exc: RateLimitExceeded):  # noqa: ANN202
    retry = retry_after_s()
    message = retry_message(exc, retry)
    return render_template("error.html", title="Too many requests", message=message), 429, {"Retry-After": str(retry)}
