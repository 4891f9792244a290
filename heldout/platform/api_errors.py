"""How the JSON API (``/api/``) answers an error: the one place that turns an exception into a JSON body.

Two shapes, one per client. The native API (``views/api.py``) answers
``{"code", "message", "field"?, "details"?}`` with a stable code; the Kaggle
client's routes (``views/kaggle.py``) answer Kaggle's ``{"code": <HTTP status>,
"message", "reason"}``, with Heldout's code as ``reason``, because the client
compares ``code`` with the status. Anything a route did not answer itself (a
wrong method, a malformed request, a missing page, a crash) is still JSON under
``/api/``, and an HTML page elsewhere.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from heldout.models import utcnow
from heldout.platform.ratelimit import retry_after_s, retry_message
from heldout.platform.services.errors import ServiceError
from heldout.platform.services.membership import utc_day_start

API_PREFIX = "/api/"
# The native API's routes (views/api.py); the Kaggle client's share it.
NATIVE_PREFIX = "/api/v1/"
# A status that says more than the service error's own, for clients that only look at the status.
_STATUS_BY_CODE = {"not_scored": 409}


def error_response(status: int, code: str, message: str, *, field: str | None = None, details=None,  # noqa: ANN001
                   headers: dict | None = None) -> tuple[Response, int, dict]:
    """The native API's error body."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return jsonify(body), status, headers or {}


def kaggle_error(status: int, message: str, reason: str, field: str | None = None,
                 headers: dict | None = None) -> tuple[Response, int, dict]:
    """Kaggle's error body: the status as ``code``, Heldout's code as ``reason``."""
    body = {"code": status, "message": message, "reason": reason}
    if field:
        body["field"] = field
    return jsonify(body), status, headers or {}


def answer_in_native_shape(bp: Blueprint) -> None:
    """Errors raised by ``bp``'s routes answer in the native API's shape."""
    bp.register_error_handler(ServiceError, _native_service_error)
    bp.register_error_handler(RateLimitExceeded, _native_rate_limited)


def answer_in_kaggle_shape(bp: Blueprint) -> None:
    """Errors raised by ``bp``'s routes, and anything else that goes wrong in them, answer in Kaggle's shape."""
    bp.register_error_handler(ServiceError, _kaggle_service_error)
    bp.register_error_handler(RateLimitExceeded, _kaggle_rate_limited)
    bp.register_error_handler(HTTPException, _kaggle_http_error)


def init_app(app: Flask, *, max_upload_bytes: int) -> None:
    """What no route answered: JSON under ``/api/`` (the native shape), an HTML page elsewhere."""

    @app.errorhandler(404)
    def _not_found(_error):  # noqa: ANN001, ANN202
        if request.path.startswith(API_PREFIX):
            return {"code": "not_found", "message": "Not found."}, 404
        return render_template("error.html", title="Not found", message="There is nothing here."), 404

    @app.errorhandler(413)
    def _too_large(_error):  # noqa: ANN001, ANN202
        message = f"The upload is larger than the limit of {max_upload_bytes:,} bytes."
        if request.path.startswith(API_PREFIX):
            return {"code": "too_large", "message": message, "field": "file"}, 413
        return render_template("error.html", title="Too large", message=message), 413

    app.register_error_handler(HTTPException, _native_http_error)


# -- the native API -----------------------------------------------------------------------------------------------

def _native_service_error(exc: ServiceError):  # noqa: ANN202
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="heldout"'
    if exc.code == "daily_limit":
        headers["Retry-After"] = str(_seconds_to_next_utc_day())
    return jsonify(exc.to_dict()), _STATUS_BY_CODE.get(exc.code, exc.status), headers


def _native_rate_limited(exc: RateLimitExceeded):  # noqa: ANN202
    retry = retry_after_s()
    return error_response(429, "rate_limited", retry_message(exc, retry),
                          details={"retry_after": retry}, headers={"Retry-After": str(retry)})


def _native_http_error(exc: HTTPException):  # noqa: ANN202
    # Anything the routes did not answer (a wrong method, a malformed request, a crash) is still JSON here.
    if not request.path.startswith(NATIVE_PREFIX):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    return error_response(exc.code or 500, code, exc.description or exc.name)


# -- the Kaggle client's routes -----------------------------------------------------------------------------------

# The Kaggle client prints our message alone except on 401 (its sign-in help instead), 403, 404 and 429, where it
# adds a hint of its own ("You have been rate limited. Wait a little while before retrying." on 429). A used-up day
# is no rate limit: Kaggle itself answers it with 400, and so do we, so the client prints our limit and reset time.
_KAGGLE_STATUS_BY_CODE = {"daily_limit": 400}


def _kaggle_service_error(exc: ServiceError):  # noqa: ANN202
    return kaggle_error(_KAGGLE_STATUS_BY_CODE.get(exc.code, exc.status), exc.message, exc.code, exc.field)


def _kaggle_rate_limited(exc: RateLimitExceeded):  # noqa: ANN202
    retry = retry_after_s()
    return kaggle_error(429, retry_message(exc, retry), "rate_limited",
                        headers={"Retry-After": str(retry)})


def _kaggle_http_error(exc: HTTPException):  # noqa: ANN202
    # Even a crash must answer in Kaggle's shape: the client compares "code" with 400.
    return kaggle_error(exc.code or 500, exc.description or exc.name, (exc.name or "error").lower().replace(" ", "_"))


def _seconds_to_next_utc_day() -> int:
    now = utcnow()
    return max(1, int((utc_day_start(now) + timedelta(days=1) - now).total_seconds()))
