"""``GET /healthz``: which database, queue and sandbox this instance uses, and whether each answers."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from heldout.platform.context import services
from heldout.runner.health import describe_sandbox

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    svc = services()
    checks = {}
    try:
        with svc.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": svc.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        checks["database"] = {"ok": False, "backend": svc.engine.dialect.name, "error": str(exc).splitlines()[0]}
    try:
        svc.redis.ping()
        checks["queue"] = {"ok": True, "backend": "embedded" if svc.settings.embedded_queue else "redis",
                           "queued": svc.queue.count}
    except Exception as exc:  # noqa: BLE001
        checks["queue"] = {"ok": False, "backend": "redis", "error": str(exc).splitlines()[0]}
    if svc.settings.embedded_queue:
        checks["sandbox"] = describe_sandbox(svc.settings)
    else:
        # With Redis, separate `heldout worker` processes score and check their own sandbox (`heldout health`);
        # the web server needs no Docker engine (docker/compose.yaml gives it none), so none is asked here.
        checks["sandbox"] = {"ok": True, "backend": "workers",
                             "note": "scored by heldout worker processes; each checks its sandbox: heldout health"}
    ok = all(c.get("ok") for c in checks.values())
    return jsonify({"ok": ok, **checks}), (200 if ok else 503)
