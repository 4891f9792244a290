"""Who is calling the API: a Heldout token, sent as a Bearer token or as the password of HTTP basic auth.

Basic auth is how the Kaggle client sends ``KAGGLE_USERNAME``/``KAGGLE_KEY``;
the username must then be the token owner's. A token that is sent but wrong
is refused even where no token is needed, so a typo never passes silently for
an anonymous call.
"""

from __future__ import annotations

import hashlib

from flask import g, request

from heldout.models import User
from heldout.platform.app import db
from heldout.platform.services import accounts
from heldout.platform.services.errors import ServiceError


class Unauthorized(ServiceError):
    status = 401
    code = "invalid_token"


def presented_token() -> tuple[str | None, str] | None:
    """(basic-auth username or None, token) from the Authorization header, or None when there is none."""
    auth = request.authorization
    if auth is None:
        return None
    if auth.type == "bearer" and auth.token:
        return None, auth.token.strip()
    if auth.type == "basic" and auth.password:
        return auth.username or "", auth.password.strip()
    return None


def credential_key() -> str | None:
    """A stable, non-secret name for the presented token (what rate limits count by)."""
    presented = presented_token()
    return hashlib.sha256(presented[1].encode()).hexdigest()[:32] if presented else None


def api_user(*, required: bool) -> User | None:
    """The token's user; None when no token was sent and none is required. Raises Unauthorized otherwise."""
    if "api_user" in g:
        user = g.api_user
    else:
        presented = presented_token()
        user = None
        if presented is not None:
            username, token = presented
            user = accounts.user_for_token(db(), token)
            if user is None or (username is not None and username.casefold() != user.username.casefold()):
                raise Unauthorized("The API token is wrong or revoked; create a new one on your account page "
                                   "or with 'heldout tokens create'.", field="Authorization")
        g.api_user = user
    if user is None and required:
        raise Unauthorized("Send your API token as 'Authorization: Bearer <token>'.", field="Authorization",
                           code="missing_token")
    return user
