"""``GET /metrics``: Prometheus' text format, for a scraper with the token or on this host (platform/metrics.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from heldout.platform import metrics
from heldout.platform.context import services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    svc = services()
    refusal = metrics.scrape_refusal(svc.settings)
    if refusal == 404:
        abort(404)  # no token configured and not from this host: as if there were nothing here
    if refusal is not None:
        return Response("Send the metrics token as 'Authorization: Bearer <token>'.\n", status=refusal,
                        mimetype="text/plain")
    return Response(metrics.render(svc.sessions, svc.queue), headers={"Content-Type": metrics.CONTENT_TYPE})
