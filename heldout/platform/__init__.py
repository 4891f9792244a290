"""The Flask site and JSON API. ``gunicorn "heldout.platform:create_app()"`` serves it."""

from heldout.platform.app import create_app

__all__ = ["create_app"]
