"""The whole path with real parts: `heldout serve` (gunicorn) and `heldout worker` as processes,
real Redis, the Docker sandbox; a learner registers, uploads a CSV through the page, and the
score appears on the leaderboard."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.bundles import perfect_predictions, write_tiny_bundle
from tests.conftest import REDIS_URL, require

pytestmark = pytest.mark.e2e
HELDOUT = [sys.executable, "-m", "heldout.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _docker_ready() -> str | None:
    """None when the Docker sandbox can run this tree's image (building it on an existing base)."""
    from heldout.runner.sandbox import SandboxUnavailable, get_sandbox
    from heldout.runner.sandbox import image as img

    try:
        get_sandbox("docker").check()
    except SandboxUnavailable as exc:
        try:
            if img.image_exists(img.base_image_tag()):
                img.build_image(log=lambda _line: None)
                get_sandbox("docker").check()
                return None
        except Exception:  # noqa: BLE001 - report the original problem
            pass
        return str(exc)
    return None


class Stack:
    """Server and worker processes sharing one environment; stopped and reaped at the end."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def run(self, *args: str, input: str | None = None) -> str:
        done = subprocess.run(HELDOUT + list(args), env=self.env, capture_output=True, text=True, input=input,
                              timeout=120)
        assert done.returncode == 0, f"heldout {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")
        proc = subprocess.Popen(HELDOUT + list(args), env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.log_dir.glob("*.log"))


@pytest.fixture
def stack(tmp_path, real_redis, postgres_url):
    problem = _docker_ready()
    require(problem is None, f"the Docker sandbox is not ready: {problem}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    env.update(HELDOUT_DATA_DIR=str(tmp_path / "data"), HELDOUT_DATABASE_URL=postgres_url,
               HELDOUT_REDIS_URL=REDIS_URL, HELDOUT_SANDBOX="docker", HELDOUT_SECRET_KEY="e2e-secret")
    stack = Stack(env, tmp_path)
    yield stack
    stack.stop()


def wait_until(predicate, timeout: float, what: str, logs):  # noqa: ANN001, ANN202
    """``predicate()``'s first truthy value; after ``timeout`` seconds, fail with ``logs()`` (the processes' output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs()}")


def _wait_for(predicate, timeout: float, what: str, stack: Stack):  # noqa: ANN001, ANN202
    return wait_until(predicate, timeout, what, stack.logs)


def test_a_csv_uploaded_through_the_page_is_scored_and_ranked(stack, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "bundle")
    stack.run("db", "upgrade")
    assert "created" in stack.run("challenges", "load", str(bundle))
    assert "unchanged" in stack.run("challenges", "load", str(bundle))
    port = _free_port()
    stack.start("web", "serve", "--port", str(port), "--workers", "1")
    stack.start("worker", "worker", "--name", f"e2e-{port}")
    base = f"http://127.0.0.1:{port}"

    def healthy():  # noqa: ANN202
        try:
            return requests.get(f"{base}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    _wait_for(healthy, 30, "the server's /healthz", stack)
    web = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(f"{base}/register").text).group(1)
    web.post(f"{base}/register", data={"username": "ada", "password": "correct horse", "csrf_token": token})
    page = web.get(f"{base}/c/tiny-regression").text
    assert "train.csv" in page
    assert web.get(f"{base}/c/tiny-regression/files/train.csv").text.startswith("id,x,y")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = web.post(f"{base}/c/tiny-regression/submit", data={"csrf_token": token, "message": "perfect"},
                        files={"file": ("preds.csv", perfect_predictions(bundle), "text/csv")})
    match = re.search(r"/submissions/(\d+)", response.url)
    assert match, response.text[:2000]
    status_url = f"{base}/submissions/{match.group(1)}/status"

    def finished():  # noqa: ANN202
        body = web.get(status_url).json()
        return body if body["status"] in ("scored", "failed", "error") else None

    body = _wait_for(finished, 60, "the submission to be scored", stack)
    assert body["status"] == "scored", body
    assert body["public_score"] == pytest.approx(0.0, abs=1e-9)
    assert "private_score" not in body
    # The scorer in the sandbox summarised the 20 public rows' residuals: a perfect fit has none.
    residuals = body["diagnostics"]["residuals"]
    assert body["diagnostics"]["rows"] == 20
    assert sum(b["rows"] for b in residuals["bins"]) == 20
    assert residuals["mean_residual"] == pytest.approx(0.0, abs=1e-9)
    board = web.get(f"{base}/c/tiny-regression/leaderboard").text
    # Rank 1, ada's team, marked as the viewer's own.
    assert re.search(r">1</td>\s*<td>ada <small class=\"mine-mark\">\(your team\)</small></td>", board), board
