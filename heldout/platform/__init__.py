"""The Flask site and JSON API. ``gunicorn "heldout.platform:create_app()"`` serves it.

``create_app`` is looked up on first use, so importing a module of this package
(a view, a service) never imports the factory, which imports every view.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:  # noqa: ANN401
    if name == "create_app":
        from heldout.platform.app import create_app

        return create_app
    raise AttributeError(f"module 'heldout.platform' has no attribute {name!r}")
