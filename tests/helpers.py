"""What many tests need: an app on a test configuration, a learner holding an API token, a page's CSRF token.

The fixtures built on these (``app``, ``client``) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import base64
import re

from heldout.platform import create_app
from heldout.platform.services.accounts import create_token, create_user


def make_app(settings, redis):  # noqa: ANN001, ANN201
    """The app in testing mode."""
    app = create_app(settings, redis=redis)
    app.config.update(TESTING=True)
    return app


class Learner:
    """A user and one API token, with the headers each interface sends it in."""

    def __init__(self, username: str, token: str):
        self.username = username
        self.token = token

    @property
    def bearer(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def basic(self) -> dict:
        raw = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}


def make_learner(svc, username: str) -> Learner:  # noqa: ANN001
    """A new user ``username`` (password "correct horse") with one API token."""
    with svc.sessions() as s:
        user = create_user(s, username, "correct horse")
        return Learner(username, create_token(s, user, "tests"))


def csrf_token(client, path: str = "/login") -> str:  # noqa: ANN001
    """The CSRF token of the form on ``path``."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
