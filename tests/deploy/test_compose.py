"""docker/compose.yaml brought up for real: what an operator does after reading the README, over HTTP.

The stack runs with the offline stand-ins of docker/offline/ (no registry here) and the sandbox image this
checkout needs; everything else is the compose file as shipped. Phase timings are printed at the end of the run
(tests/conftest.py); the issue's budget for all of it is five minutes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import require

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
PROJECT = "heldout-deploy-test"
LONG_RUNNING = ("postgres", "redis", "web", "worker")
ONE_SHOT = ("migrate", "sandbox-image")
# Short enough for a test, as an operator in a hurry might set them: a dead worker's job is re-queued within
# DEADLINE_S + RECONCILE_S.
DEADLINE_S, RECONCILE_S = 8, 3
# A code submission that is still running when its worker is killed.
SLOW_PREDICT = "import time\ntime.sleep(12)\n" + (ROOT / "challenges" / "diabetes-code" / "predict.py").read_text()


def compose_cli() -> list[str] | None:
    for cli in (["docker", "compose"], ["docker-compose"]):
        try:
            if subprocess.run([*cli, "version"], capture_output=True, timeout=30).returncode == 0:
                return cli
        except FileNotFoundError:
            continue
    return None


# This run's phases, (name, seconds): attached to the test's report, printed at the end of the run (tests/conftest.py).
TIMINGS: list[tuple[str, float]] = []


@contextmanager
def phase(name: str):
    started = time.monotonic()
    yield
    TIMINGS.append((name, time.monotonic() - started))


class Stack:
    """One compose project, driven as an operator would, with its variables in the environment."""

    def __init__(self, cli: list[str], variables: dict[str, str], env_file: Path):
        self.cli, self.variables, self.env_file = cli, variables, env_file
        self.url = f"http://127.0.0.1:{variables['HELDOUT_WEB_PORT']}"

    def compose(self, *args: str, timeout: float = 300, check: bool = True,
                input: str | None = None) -> subprocess.CompletedProcess:  # noqa: A002
        env = {**os.environ, **self.variables}
        done = subprocess.run([*self.cli, "--env-file", str(self.env_file), "-p", PROJECT, "-f", str(COMPOSE_FILE),
                               *args], env=env, capture_output=True, text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                                 f"{done.stderr[-3000:]}\n{self.logs()}")
        return done

    def containers(self) -> list[dict]:
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
                             capture_output=True, text=True, check=True).stdout.split()
        if not ids:
            return []
        return json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True,
                                         check=True).stdout)

    def logs(self) -> str:
        done = subprocess.run([*self.cli, "-p", PROJECT, "-f", str(COMPOSE_FILE), "logs", "--no-color", "--tail",
                               "40"], env={**os.environ, **self.variables}, capture_output=True, text=True)
        return done.stdout[-8000:]

    def wait_healthy(self, workers: int, timeout: float = 180) -> None:
        """Every long-running container healthy (`workers` of them workers), every one-shot exited 0."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            states = {}
            for c in self.containers():
                service = c["Config"]["Labels"]["com.docker.compose.service"]
                state = c["State"]
                if service in ONE_SHOT:
                    status = "done" if state["Status"] == "exited" and state["ExitCode"] == 0 else state["Status"]
                    if state["Status"] == "exited" and state["ExitCode"] != 0:
                        raise AssertionError(f"{service} exited {state['ExitCode']}:\n{self.logs()}")
                else:
                    status = (state.get("Health") or {}).get("Status", "no health check")
                states.setdefault(service, []).append(status)
            ready = (all(states.get(s) == ["done"] for s in ONE_SHOT)
                     and all(states.get(s) == ["healthy"] for s in ("postgres", "redis", "web"))
                     and states.get("worker") == ["healthy"] * workers)
            if ready:
                return
            others_ready = all(states.get(s) == ["healthy"] for s in ("postgres", "redis", "web"))
            if others_ready and len(states.get("worker", [])) != workers and time.monotonic() - started > 60:
                raise AssertionError(f"{len(states.get('worker', []))} worker container(s), not {workers}: {states}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout:.0f} s: {states}\n{self.logs()}")
            time.sleep(1)

    def sql(self, query: str) -> list[list[str]]:
        out = self.compose("exec", "-T", "postgres", "psql", "-U", "heldout", "-d", "heldout", "-tAF", "|",
                           "-c", query).stdout
        return [line.split("|") for line in out.splitlines() if line]

    def heldout(self, script: str, *volumes: str, **env: str) -> str:
        """Shell commands in a one-off app container (the README's `docker compose run --rm migrate ...`)."""
        args = ["run", "--rm", "-T", "--no-deps", "--entrypoint", "sh"]
        for name, value in env.items():
            args += ["-e", f"{name}={value}"]
        for volume in volumes:
            args += ["-v", volume]
        return self.compose(*args, "migrate", "-c", script).stdout


def wait_for(submit_url: str, token: str, submission_id: int, statuses=("scored", "failed", "error"),
             timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(f"{submit_url}/api/v1/submissions/{submission_id}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"submission {submission_id} still {body['status']} after {timeout:.0f} s")
        time.sleep(0.5)


def submit(url: str, token: str, slug: str, filename: str, content: bytes) -> int:
    response = requests.post(f"{url}/api/v1/challenges/{slug}/submissions",
                             headers={"Authorization": f"Bearer {token}"},
                             files={"file": (filename, content)}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def stack(tmp_path):
    cli = compose_cli()
    require(cli is not None, "no docker compose (apt-get install docker-compose)")
    require(shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True)
            .returncode == 0, "no Docker engine")
    from heldout.runner.sandbox import image as sandbox_image

    sandbox_tag = sandbox_image.expected_image_tag()
    require(sandbox_image.image_exists(sandbox_tag), f"sandbox image {sandbox_tag} missing: run "
                                                     "python -m heldout.runner.sandbox.image build")
    with phase("stand-in images (docker/offline/build.py; cached by their recipe's hash)"):
        built = subprocess.run([sys.executable, str(ROOT / "docker" / "offline" / "build.py")],
                               capture_output=True, text=True, timeout=900)
    require(built.returncode == 0, f"docker/offline/build.py failed: {built.stdout[-2000:]}{built.stderr[-2000:]}")
    images = dict(line.split("=", 1) for line in built.stdout.split())
    # The data directory: a real host path, the same in every container, owned by the containers' uid.
    host_dir = Path(tempfile.mkdtemp(prefix="heldout-compose-", dir="/var/tmp"))
    os.chown(host_dir, 10000, 10000)
    host_dir.chmod(0o750)
    env_file = tmp_path / "compose.env"  # instead of docker/.env, which may hold an operator's real settings
    env_file.write_text("")
    variables = {
        **images,
        "HELDOUT_SECRET_KEY": secrets.token_hex(32), "POSTGRES_PASSWORD": secrets.token_hex(12),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid), "HELDOUT_METRICS_TOKEN": secrets.token_hex(16),
        "HELDOUT_SANDBOX_IMAGE": sandbox_tag, "HELDOUT_HOST_DIR": str(host_dir),
        "HELDOUT_WEB_PORT": str(free_port()), "HELDOUT_RUNNING_DEADLINE_S": str(DEADLINE_S),
        "HELDOUT_RECONCILE_INTERVAL_S": str(RECONCILE_S),
    }
    stack = Stack(cli, variables, env_file)
    stack.compose("down", "-v", "--remove-orphans", check=False)  # a run killed earlier
    try:
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "-t", "5", check=False)
        # Sandboxes of the worker killed mid-run stop by themselves (EOF on their stdin) but are not compose's:
        # remove them, as a worker starting on this engine would (the Docker lock keeps other tests away).
        left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"], capture_output=True,
                              text=True).stdout.split()
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True)
        shutil.rmtree(host_dir, ignore_errors=True)


def test_the_compose_stack_scores_loses_nothing_and_keeps_its_data(stack, request):
    request.node.user_properties.append(("phase_timings", ("docker compose stack", TIMINGS)))
    with phase("build the app image (docker/app/Dockerfile, BASE = the python stand-in; layers cached)"):
        stack.compose("build", "migrate", timeout=900)
    with phase("up, until every health check passes"):
        stack.compose("up", "-d", "--no-build")
        stack.wait_healthy(workers=2)

    with phase("create an admin and a learner, load two practice challenges"):
        password = secrets.token_hex(8)
        out = stack.heldout(
            "heldout users create admin --admin && heldout users create learner"
            " && heldout challenges load /challenges/penguin-species /challenges/diabetes-code"
            " && heldout tokens create learner",
            f"{ROOT / 'challenges'}:/challenges:ro", HELDOUT_NEW_PASSWORD=password)
        token = out.split()[-1]
        assert "created user admin (admin)" in out
        me = requests.get(f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["username"] == "learner"

    with phase("score a prediction and a code submission over HTTP"):
        sample = (ROOT / "challenges" / "penguin-species" / "sample_submission.csv").read_bytes()
        predictions = submit(stack.url, token, "penguin-species", "sample_submission.csv", sample)
        code = submit(stack.url, token, "diabetes-code", "predict.py",
                      (ROOT / "challenges" / "diabetes-code" / "predict.py").read_bytes())
        for submission_id in (predictions, code):
            body = wait_for(stack.url, token, submission_id)
            assert body["status"] == "scored", body
            assert body["public_score"] is not None

    with phase("scale to 3 workers, kill the one running a job: re-queued once, scored once"):
        stack.compose("up", "-d", "--no-build", "--scale", "worker=3")
        stack.wait_healthy(workers=3)
        slow = submit(stack.url, token, "diabetes-code", "predict.py", SLOW_PREDICT.encode())
        wait_for(stack.url, token, slow, statuses=("running",), timeout=60)
        deadline = time.monotonic() + 30
        while not (holder := stack.sql(f"SELECT hostname FROM workers WHERE current_submission_id = {slow}")):
            assert time.monotonic() < deadline, "no worker says it runs the slow submission"
            time.sleep(0.5)
        (victim,) = [c for c in stack.containers() if c["Config"]["Hostname"] == holder[0][0]]
        os.kill(victim["State"]["Pid"], 9)  # the worker's container dies as on a crash, its job mid-run
        body = wait_for(stack.url, token, slow, timeout=DEADLINE_S + RECONCILE_S + 90)
        assert body["status"] == "scored", body
        (attempts,) = stack.sql(f"SELECT attempts FROM submissions WHERE id = {slow}")
        assert attempts == ["2"]  # re-queued once, after its worker died
        # Each outcome recorded once: every worker's count (bumped in the transaction that records an outcome,
        # the dead worker's included) adds up to the three submissions.
        assert stack.sql("SELECT sum(jobs_done) FROM workers") == [["3"]]
        listing = requests.get(f"{stack.url}/api/v1/challenges/diabetes-code/submissions",
                               headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert sorted(s["id"] for s in listing["submissions"]) == sorted([code, slow])

    with phase("/metrics with the token"):
        metrics = requests.get(f"{stack.url}/metrics",
                               headers={"Authorization": f"Bearer {stack.variables['HELDOUT_METRICS_TOKEN']}"},
                               timeout=10)
        assert metrics.status_code == 200 and "heldout_" in metrics.text
        assert requests.get(f"{stack.url}/metrics", timeout=10).status_code in (401, 403, 404)

    with phase("down, then up again: the data is still there"):
        before = {sid: wait_for(stack.url, token, sid) for sid in (predictions, code, slow)}
        stack.compose("down", "-t", "30")
        assert stack.containers() == []
        stack.compose("up", "-d", "--no-build")
        stack.wait_healthy(workers=2)
        for sid, body in before.items():
            after = wait_for(stack.url, token, sid)
            assert (after["status"], after["public_score"]) == (body["status"], body["public_score"])
        files = requests.get(f"{stack.url}/api/v1/challenges/penguin-species/files/train.csv",
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert files.status_code == 200
        assert files.content == (ROOT / "challenges" / "penguin-species" / "train.csv").read_bytes()
