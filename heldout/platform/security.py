"""Response headers that limit what an injected string could do, on every response.

The Content-Security-Policy allows scripts and styles only from this site's own
files: no inline ``<script>``, no ``onerror=`` attributes, no ``javascript:``
URLs, no ``style=`` attributes. So even a string that escaped escaping and
sanitising could not run. Every script lives under ``static/js``.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # Organizers' Markdown may show images from elsewhere; the charting library draws on canvas.
    "img-src 'self' https: data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
