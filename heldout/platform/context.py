"""What a request works with: the app's service clients, this request's database session, who is calling.

The factory (``heldout.platform.app``) makes the service clients and hangs them
on the app; the views and the request hooks reach them through the accessors
here, so that nothing but the entry points imports the factory.

A caller is either a logged-in browser (``me``, via Flask-Login) or an API
client presenting a Heldout token, sent as a Bearer token or as the password of
HTTP basic auth (``api_user``). Basic auth is how the Kaggle client sends
``KAGGLE_USERNAME``/``KAGGLE_KEY``; the username must then be the token
owner's. A token that is sent but wrong is refused even where no token is
needed, so a typo never passes silently for an anonymous call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from rq import Queue
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from heldout.config import Settings
from heldout.models import User
from heldout.platform.services import accounts
from heldout.platform.services.errors import ServiceError
from heldout.storage import Storage


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


def services() -> Services:
    return current_app.extensions["heldout"]


def db() -> Session:
    """This request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = services().sessions()
    return g.db


def close_db(_exc) -> None:  # noqa: ANN001
    session = g.pop("db", None)
    if session is not None:
        session.close()


# -- the logged-in browser ----------------------------------------------------------------------------------------

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
    return current_user.user if current_user.is_authenticated else None


# -- the API token ------------------------------------------------------------------------------------------------

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
