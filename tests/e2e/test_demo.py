"""`heldout demo` — what `make run` starts — scores a submission on the embedded queue."""

from __future__ import annotations

import os
import re

import pytest
import requests

from tests.bundles import perfect_predictions, write_tiny_bundle
from tests.conftest import require
from tests.e2e.test_end_to_end import Stack, _docker_ready, _free_port, _wait_for

pytestmark = pytest.mark.e2e


def test_the_demo_serves_the_challenges_and_scores_on_the_embedded_queue(tmp_path):
    problem = _docker_ready()
    require(problem is None, f"the Docker sandbox is not ready: {problem}")
    bundle = write_tiny_bundle(tmp_path / "challenges" / "tiny-regression")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    env.update(HELDOUT_DATA_DIR=str(tmp_path / "instance"))
    stack = Stack(env, tmp_path)
    port = _free_port()
    try:
        stack.start("demo", "demo", "--port", str(port), "--challenges", str(tmp_path / "challenges"))
        base = f"http://127.0.0.1:{port}"

        def up():  # noqa: ANN202
            try:
                return requests.get(f"{base}/healthz", timeout=10).json()
            except (requests.RequestException, ValueError):
                return None

        health = _wait_for(up, 60, "the demo to answer", stack)
        assert health["queue"]["backend"] == "embedded" and health["database"]["backend"] == "sqlite"
        assert health["sandbox"]["backend"] == "docker"
        web = requests.Session()
        page = web.get(f"{base}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        web.post(f"{base}/login", data={"username": "learner", "password": "learner-password", "csrf_token": token})
        page = web.get(f"{base}/c/tiny-regression").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = web.post(f"{base}/c/tiny-regression/submit", data={"csrf_token": token},
                            files={"file": ("p.csv", perfect_predictions(bundle), "text/csv")})
        status_url = re.sub(r"/submissions/(\d+).*", r"/submissions/\1/status", response.url)

        def finished():  # noqa: ANN202
            body = web.get(status_url).json()
            return body if body["status"] in ("scored", "failed", "error") else None

        body = _wait_for(finished, 60, "the demo to score the submission", stack)
        assert body["status"] == "scored", body
    finally:
        stack.stop()
    assert "Heldout is serving on" in (tmp_path / "demo.log").read_text()
