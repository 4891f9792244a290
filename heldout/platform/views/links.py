"""Links to pages that other parts of the site may or may not provide.

Templates ask ``optional_url('/c/<>/team', slug)``: the URL when some view
serves that path (whatever its endpoint or variable names), else None, so a
page shows the link or form only when the route exists.
"""

from __future__ import annotations

import re

from flask import current_app, url_for

_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def optional_url(pattern: str, *values: object, method: str = "GET") -> str | None:
    for rule in current_app.url_map.iter_rules():
        if method in (rule.methods or ()) and _VARIABLE.sub("<>", rule.rule) == pattern:
            names = _VARIABLE.findall(rule.rule)
            return url_for(rule.endpoint, **dict(zip(names, values, strict=False)))
    return None
