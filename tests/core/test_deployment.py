"""The production deployment files: docker/compose.yaml, the app image and the systemd units.

No registry is reachable in CI, so the stack itself is never brought up here. What is checked for real: the
compose file is valid for Docker Compose (`docker compose config` / Debian's `docker-compose config`) and has
the promised properties, every command in it and in the units parses with the real `heldout` parser, every
HELDOUT_* variable is one Settings.from_env reads and the values given are accepted by it, `heldout health`
answers as a container health check needs, and every path a worker hands the Docker engine as a bind-mount
source lies under the data directory or TMPDIR (which is what lets a containerised worker drive the host's
engine, see docker/compose.yaml).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from heldout import commands
from heldout.cli import build_parser
from heldout.config import Settings
from tests.conftest import REDIS_URL, require

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
SYSTEMD = DOCKER / "systemd"
APP_DOCKERFILE = DOCKER / "app" / "Dockerfile"
HELDOUT = [sys.executable, "-m", "heldout.cli"]

LONG_RUNNING = ("postgres", "redis", "web", "worker")
ONE_SHOT = ("migrate", "sandbox-image")
APP_SERVICES = ("migrate", "web", "worker")
# Read by Settings.from_env once the work on storage backends lands; until then it may be missing from
# heldout/config.py. Drop a name from here when config.py has it.
PENDING_SETTINGS = {"HELDOUT_STORAGE"}
# Variables of the compose file itself, never passed to the app (docker/compose.yaml's header).
COMPOSE_ONLY = {"HELDOUT_POSTGRES_IMAGE", "HELDOUT_REDIS_IMAGE", "HELDOUT_APP_BASE", "HELDOUT_HOST_DIR",
                "HELDOUT_WEB_PORT"}
# What compose interpolates from docker/.env; dummy values for the checks below.
COMPOSE_VARS = {"HELDOUT_SECRET_KEY": "s3cret", "POSTGRES_PASSWORD": "pg-pass", "DOCKER_GID": "4242",
                "HELDOUT_METRICS_TOKEN": ""}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose: dict) -> dict:
    return compose["services"]


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, enough for this file."""
    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg or ""
    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}", one, value)


def heldout_argv(service: dict) -> list[str]:
    """The arguments the app image's entrypoint passes to `heldout`."""
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def parse(argv: list[str]):  # noqa: ANN201
    return build_parser().parse_args(argv)


def service_env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(str(v), COMPOSE_VARS) for k, v in env.items()}


def mounts(service: dict) -> list[tuple[str, str]]:
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out.append((volume["source"], volume["target"]))
        else:
            source, target = interpolate(volume, COMPOSE_VARS).split(":")[:2]
            out.append((source, target))
    return out


# --- compose -------------------------------------------------------------------------------------------------

def test_every_long_running_service_has_a_health_check_and_a_restart_policy(compose):
    svc = services(compose)
    assert set(svc) == set(LONG_RUNNING) | set(ONE_SHOT)
    for name in LONG_RUNNING:
        test = svc[name].get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
        assert svc[name].get("restart") in ("always", "unless-stopped"), name
    for name in ONE_SHOT:
        assert svc[name].get("restart") == "no", name
    assert svc["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert svc["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]


def test_the_web_health_check_asks_the_apps_health_endpoint_on_the_port_it_serves(compose):
    web = services(compose)["web"]
    args = parse(heldout_argv(web))
    assert args.handler is commands.serve and args.host == "0.0.0.0"
    check = " ".join(web["healthcheck"]["test"][1:])
    assert f"http://127.0.0.1:{args.port}/healthz" in check
    # Published on loopback only: a TLS reverse proxy on the host faces the internet.
    assert [interpolate(p, COMPOSE_VARS) for p in web["ports"]] == [f"127.0.0.1:{args.port}:{args.port}"]
    # gunicorn's processes pool their HTTP metrics in a directory that must be empty at each start.
    assert service_env(web)["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]


def test_the_worker_health_check_is_the_real_heldout_health_command(compose):
    worker = services(compose)["worker"]
    test = worker["healthcheck"]["test"]
    assert test[:2] == ["CMD", "heldout"]
    assert parse(test[2:]).handler is commands.health
    assert parse(heldout_argv(worker)).handler is commands.worker


def test_only_the_workers_get_the_docker_socket(compose):
    for name, service in services(compose).items():
        sockets = [m for m in mounts(service) if "docker.sock" in m[0] or "docker.sock" in m[1]]
        if name == "worker":
            assert sockets == [("/var/run/docker.sock", "/var/run/docker.sock")]
            (group,) = service["group_add"]
            assert group.startswith("${DOCKER_GID:?")  # the host's docker group: the socket's owner
        else:
            assert not sockets, f"{name} must not reach the Docker engine"
            assert "DOCKER_HOST" not in (service.get("environment") or {})


def test_migrations_run_once_in_the_migrate_service_and_web_and_workers_wait_for_it(compose):
    svc = services(compose)
    assert parse(heldout_argv(svc["migrate"])).handler is commands.db_upgrade
    for name in ("web", "worker"):
        assert svc[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        for dependency in ("postgres", "redis"):
            assert svc[name]["depends_on"][dependency] == {"condition": "service_healthy"}, name
    assert svc["worker"]["depends_on"]["sandbox-image"] == {"condition": "service_completed_successfully"}
    # Nothing else migrates: no other command, and not the image's entrypoint.
    for name in ("web", "worker"):
        assert parse(heldout_argv(svc[name])).handler is not commands.db_upgrade
    assert "upgrade" not in (DOCKER / "app" / "entrypoint.sh").read_text()


def test_the_app_image_runs_heldout_as_a_non_root_user(compose):
    dockerfile = APP_DOCKERFILE.read_text()
    # Any Python base (BASE), the official image by default: the build arg compose passes, unless told otherwise.
    assert re.findall(r"^FROM .*$", dockerfile, re.M) == ["FROM ${BASE}"]
    assert "ARG BASE=python:3.11-slim" in dockerfile
    user = re.search(r"^USER (\S+)", dockerfile, re.M).group(1)
    assert user.split(":")[0] not in ("root", "0")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.M).group(1))
    assert entrypoint == ["heldout-entrypoint"]
    assert "COPY docker/app/entrypoint.sh /usr/local/bin/heldout-entrypoint" in dockerfile
    assert (DOCKER / "app" / "entrypoint.sh").read_text().rstrip().endswith('exec heldout "$@"')
    # The uid the data directory must belong to, as the compose file tells the operator.
    uid = re.search(r"useradd --uid (\d+)", dockerfile).group(1)
    assert f"install -d -o {uid} -g {uid}" in COMPOSE.read_text()
    for name in APP_SERVICES:
        service = services(compose)[name]
        assert service["image"] == "heldout:compose"
        assert service["build"] == {"context": "..", "dockerfile": "docker/app/Dockerfile",
                                    "args": {"BASE": "${HELDOUT_APP_BASE:-python:3.11-slim}"}}


def test_the_sandbox_image_is_built_under_the_tag_the_workers_run(compose):
    svc = services(compose)
    sandbox = svc["sandbox-image"]
    assert sandbox["build"] == {"context": "..", "dockerfile": "docker/sandbox/Dockerfile"}
    env = service_env(svc["worker"])
    assert env["HELDOUT_SANDBOX"] == "docker"
    assert env["HELDOUT_SANDBOX_IMAGE"] == interpolate(sandbox["image"], COMPOSE_VARS) == "heldout-sandbox:compose"
    assert sandbox["network_mode"] == "none"
    # Built from the repository root, the recipe must still copy the scoring code only, never the platform.
    recipe = (DOCKER / "sandbox" / "Dockerfile").read_text()
    copies = [line.split()[1] for line in recipe.splitlines() if line.startswith("COPY ")]
    assert copies == ["heldout/__init__.py", "heldout/challenges/"]


def test_named_volumes_hold_the_database_and_the_files_at_the_same_path_as_on_the_host(compose):
    volumes = compose["volumes"]
    svc = services(compose)
    assert ("postgres-data", "/var/lib/postgresql/data") in mounts(svc["postgres"])
    for service in svc.values():
        for source, _target in mounts(service):
            assert source.startswith("/") or source in volumes, f"undeclared volume {source}"
    data = volumes["heldout-data"]
    host_dir = interpolate(data["driver_opts"]["device"], COMPOSE_VARS)
    assert host_dir == "/var/lib/heldout"
    assert data["driver_opts"]["o"] == "bind"
    for name in APP_SERVICES:
        assert ("heldout-data", host_dir) in mounts(svc[name]), name
        env = service_env(svc[name])
        assert Path(env["HELDOUT_DATA_DIR"]).is_relative_to(host_dir), name
    # The sandbox work directories too: the host's engine bind-mounts them.
    assert Path(service_env(svc["worker"])["TMPDIR"]).is_relative_to(host_dir)
    assert "TMPDIR" in (DOCKER / "app" / "entrypoint.sh").read_text()


def test_every_heldout_variable_is_one_settings_reads_and_the_given_values_are_accepted(compose):
    config_source = (ROOT / "heldout" / "config.py").read_text()
    known = set(re.findall(r'"(HELDOUT_[A-Z0-9_]+)"', config_source)) | PENDING_SETTINGS
    files = [COMPOSE, DOCKER / "compose.env.example", SYSTEMD / "heldout.env.example", *SYSTEMD.glob("*.service")]
    for path in files:
        # The compose file's own variables (images, the host directory, the port) are compose's, never the app's.
        text = re.sub(r"\$\{(" + "|".join(COMPOSE_ONLY) + r")\b[^}]*\}", "", path.read_text())
        used = set(re.findall(r"\bHELDOUT_[A-Z0-9_]+", re.sub(r"^\s*#.*$", "", text, flags=re.M)))
        assert used <= known, f"{path.name}: {sorted(used - known)} not read by Settings.from_env"
    for service in services(compose).values():
        assert not set(service.get("environment") or {}) & COMPOSE_ONLY
    for name in APP_SERVICES:
        env = service_env(services(compose)[name])
        settings = Settings.from_env(env)
        assert settings.production and settings.secret_key == "s3cret"
        assert settings.database_url == "postgresql+psycopg://heldout:pg-pass@postgres:5432/heldout"
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.data_dir == Path("/var/lib/heldout/data")
    assert Settings.from_env(service_env(services(compose)["worker"])).sandbox == "docker"
    example = env_file(SYSTEMD / "heldout.env.example")
    assert example["HELDOUT_STORAGE"] == "database" and example["HELDOUT_LOG_FORMAT"] == "json"
    settings = Settings.from_env({**example, "HELDOUT_SECRET_KEY": "s3cret"})
    assert settings.production and settings.redis_url and settings.sandbox == "docker"
    assert service_env(services(compose)["web"])["HELDOUT_LOG_FORMAT"] == "json"


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 timeout=30).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_accepts_the_file_and_requires_the_secrets(tmp_path):
    command = _compose_command()
    require(command is not None, "neither `docker compose` nor `docker-compose` is installed "
                                 "(apt-get install docker-compose)")
    empty = tmp_path / "empty.env"  # never a developer's docker/.env
    empty.write_text("")
    base = [*command, "--env-file", str(empty), "-f", str(COMPOSE)]
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARS}
    done = subprocess.run([*base, "config"], env={**env, **COMPOSE_VARS}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    worker = resolved["services"]["worker"]
    assert [str(g) for g in worker["group_add"]] == [COMPOSE_VARS["DOCKER_GID"]]
    assert worker["environment"]["HELDOUT_SECRET_KEY"] == COMPOSE_VARS["HELDOUT_SECRET_KEY"]
    assert resolved["volumes"]["heldout-data"]["driver_opts"]["device"] == "/var/lib/heldout"
    missing = subprocess.run([*base, "config"], env={**env, **COMPOSE_VARS, "HELDOUT_SECRET_KEY": ""},
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "HELDOUT_SECRET_KEY" in missing.stderr


# --- systemd -------------------------------------------------------------------------------------------------

def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def exec_start(sections: dict) -> object:
    (line,) = sections["Service"]["ExecStart"]
    argv = shlex.split(line)
    assert argv[0] == "/opt/heldout/.venv/bin/heldout"
    return parse(argv[1:])


def test_the_systemd_units_run_real_heldout_commands():
    web = unit(SYSTEMD / "heldout-web.service")
    worker = unit(SYSTEMD / "heldout-worker@.service")
    migrate = unit(SYSTEMD / "heldout-migrate.service")
    assert exec_start(web).handler is commands.serve
    assert exec_start(worker).handler is commands.worker
    assert exec_start(migrate).handler is commands.db_upgrade
    for sections in (web, worker, migrate):
        assert sections["Service"]["EnvironmentFile"] == ["/etc/heldout/heldout.env"]
        assert sections["Service"]["User"] == ["heldout"]
        assert "ExecStartPre" not in sections["Service"]
    for sections in (web, worker):
        assert sections["Service"]["Restart"] == ["always"]
        assert sections["Install"]["WantedBy"] == ["multi-user.target"]
        # Never pulled in by a start: migrations are a deploy step.
        assert not any("heldout-migrate" in value for values in sections["Unit"].values() for value in values)
    assert migrate["Service"]["Type"] == ["oneshot"] and "Install" not in migrate
    assert worker["Service"]["SupplementaryGroups"] == ["docker"]
    assert "SupplementaryGroups" not in web["Service"]
    (runtime,) = web["Service"]["RuntimeDirectory"]
    assert f"PROMETHEUS_MULTIPROC_DIR=/run/{runtime}" in web["Service"]["Environment"]
    tmpdir = dict(item.split("=", 1) for item in worker["Service"]["Environment"])["TMPDIR"]
    state = ["/var/lib/" + d for value in worker["Service"]["StateDirectory"] for d in value.split()]
    assert tmpdir in state
    assert "PrivateTmp" not in worker["Service"]


# --- heldout health and /healthz -----------------------------------------------------------------------------

def run_heldout(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    base.update(HELDOUT_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(HELDOUT + list(args), env=base, capture_output=True, text=True, timeout=120)


def problem(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("heldout:")]
    return line


def test_heldout_health_fails_with_one_line_until_everything_a_worker_needs_answers(tmp_path):
    assert "heldout db upgrade" in problem(run_heldout(tmp_path, "health"))
    assert run_heldout(tmp_path, "db", "upgrade").returncode == 0
    assert "cannot reach Redis" in problem(run_heldout(tmp_path, "health", HELDOUT_REDIS_URL="redis://127.0.0.1:1/0"))
    line = problem(run_heldout(tmp_path, "health", HELDOUT_SANDBOX="docker",
                               HELDOUT_SANDBOX_IMAGE="heldout-sandbox:does-not-exist"))
    assert "no sandbox to score submissions in" in line


def test_heldout_health_passes_when_the_database_and_a_sandbox_answer(tmp_path):
    from heldout.runner.sandbox import SandboxUnavailable, get_sandbox

    try:
        get_sandbox("auto").check()
        reason = None
    except SandboxUnavailable as exc:
        reason = str(exc)
    require(reason is None, f"no sandbox here: {reason}")
    assert run_heldout(tmp_path, "db", "upgrade").returncode == 0
    done = run_heldout(tmp_path, "health")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: sqlite database up to date, embedded queue, ")


def test_heldout_health_checks_that_the_runtime_for_participant_code_is_registered(tmp_path):
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.docker_backend import DockerSandbox

    try:
        DockerSandbox(runtime="runsc").check()
        reason = None
    except SandboxUnavailable as exc:
        reason = str(exc)
    require(reason is None, f"no Docker with gVisor here (.ci/run registers runsc): {reason}")
    assert run_heldout(tmp_path, "db", "upgrade").returncode == 0
    done = run_heldout(tmp_path, "health", HELDOUT_SANDBOX_RUNTIME="runsc")
    assert done.returncode == 0, done.stderr
    assert "docker sandbox (participant code under runsc, the scorer under runc)" in done.stdout
    line = problem(run_heldout(tmp_path, "health", HELDOUT_SANDBOX_RUNTIME="kata"))
    assert line.startswith("heldout: no sandbox to score submissions in: HELDOUT_SANDBOX_RUNTIME=kata: the Docker "
                           "daemon has no runtime 'kata'")


def test_healthz_does_not_ask_a_web_server_with_separate_workers_for_a_sandbox(settings, fake_redis):
    from heldout.platform import create_app

    # The compose web container: Redis, and no Docker engine or image it could reach.
    web = settings.with_(redis_url="redis://redis:6379/0", sandbox="docker",
                         sandbox_image="heldout-sandbox:does-not-exist")
    response = create_app(web, redis=fake_redis).test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["queue"]["backend"] == "redis" and body["sandbox"]["backend"] == "workers"


# --- where a worker's bind mounts come from ------------------------------------------------------------------

class RecordingSandbox:
    """Answers like a sandbox that scored; records each request's mount sources as they are at run time."""

    name = "recording"

    def __init__(self):
        self.sources: list[Path] = []

    def check(self) -> None:
        pass

    def run(self, request):  # noqa: ANN001, ANN201
        from heldout.runner.sandbox.base import RunResult

        for mount in request.mounts:
            assert Path(mount.source).exists(), mount
            self.sources.append(Path(mount.source).resolve())
        if request.labels.get("heldout.stage") in ("participant", "visible"):
            (request.output_dir / "submission.csv").write_text("id,target\n1,0.5\n")
        else:
            (request.output_dir / "score.json").write_text(json.dumps({"ok": True, "public_score": 0.5,
                                                                        "private_score": 0.5}))
        return RunResult(exit_code=0, stdout="", stderr="", duration_s=0.01)


def test_every_bind_mount_source_lies_under_the_data_dir_or_tmpdir(tmp_path, monkeypatch):
    """What docker/compose.yaml relies on: those two paths are the same in the worker container and on the host."""
    from heldout.models import SubmissionStatus
    from heldout.runner.execute import run_code, score_predictions
    from heldout.runner.outcome import ScoringTask
    from heldout.storage import LocalStorage

    data_dir, work_dir = tmp_path / "data", tmp_path / "tmp"
    work_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work_dir))  # what TMPDIR sets
    storage = LocalStorage(Settings.from_env({"HELDOUT_DATA_DIR": str(data_dir),
                                              "HELDOUT_SECRET_KEY": "x"}).storage_dir)
    storage.save_file("solution.csv", _write(tmp_path / "solution.csv", "id,y,Usage\n1,0.5,Public\n"))
    storage.save_file("data/test.csv", _write(tmp_path / "test.csv", "id,x\n1,0.1\n"))
    storage.save_file("uploads/1.csv", _write(tmp_path / "preds.csv", "id,y\n1,0.5\n"))
    storage.save_file("uploads/2.py", _write(tmp_path / "predict.py", "print('hi')\n"))
    sandbox = RecordingSandbox()
    common = dict(run_token="t", challenge_id=1, challenge_version=1, scoring_spec={"metric": "rmse"},
                  solution_key="solution.csv")
    predictions = ScoringTask(submission_id=1, kind="predictions", file_key="uploads/1.csv", filename="preds.csv",
                              rules={}, **common)
    code = ScoringTask(submission_id=2, kind="code", file_key="uploads/2.py", filename="predict.py",
                       rules={"code": {"entrypoint": "predict.py"}, "test_mount": "test.csv"},
                       data_keys={"test.csv": "data/test.csv"}, visible_data_keys={"test.csv": "data/test.csv"},
                       **common)
    assert score_predictions(sandbox, storage, predictions).status == SubmissionStatus.SCORED
    ran = run_code(sandbox, storage, code)
    assert ran.status == SubmissionStatus.SCORED, (ran.error, ran.internal_error)
    assert len(sandbox.sources) == 3 + 2 + 2 + 3  # scorer; visible run; hidden run and its scorer
    roots = (data_dir.resolve(), work_dir.resolve())
    outside = [s for s in sandbox.sources if not any(s.is_relative_to(root) for root in roots)]
    assert not outside, outside


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- the S3 bucket at start-up: one line naming the variable to fix --------------------------------------------

@pytest.fixture
def heldout_here(heldout_cli):  # noqa: ANN201
    assert heldout_cli("db", "upgrade").returncode == 0
    return heldout_cli


def test_a_missing_bucket_is_one_line_naming_heldout_s3_bucket(heldout_here, s3_bucket):
    from tests.s3_server import s3_env

    line = problem(heldout_here("health", **{**s3_env(s3_bucket), "HELDOUT_S3_BUCKET": "heldout-no-such-bucket"}))
    assert "there is no bucket 'heldout-no-such-bucket'" in line and "HELDOUT_S3_BUCKET" in line
    passed = heldout_here("health", **s3_env(s3_bucket))  # the bucket that exists
    assert passed.returncode == 0 and ", s3 storage, " in passed.stdout, passed.stderr


def test_wrong_credentials_are_one_line_naming_the_aws_variables(heldout_here, tmp_path):
    from tests.s3_server import MotoServer, s3_env, s3_settings

    server = MotoServer(tmp_path / "moto-auth.log", authenticated_after=0)  # checks every request's credentials
    try:
        line = problem(heldout_here("health", **s3_env(s3_settings(server.url, "heldout-files",
                                                                     access_key="AKIAWRONG"))))
    finally:
        server.stop()
    assert "refused the credentials" in line and "AWS_ACCESS_KEY_ID" in line and "AWS_SECRET_ACCESS_KEY" in line


def test_an_unreachable_endpoint_is_one_line_naming_heldout_s3_endpoint_url(heldout_here):
    from tests.s3_server import free_port, s3_env, s3_settings

    nowhere = s3_env(s3_settings(f"http://127.0.0.1:{free_port()}", "heldout-files"))
    line = problem(heldout_here("health", **nowhere))
    assert f"cannot reach the S3 endpoint at {nowhere['HELDOUT_S3_ENDPOINT_URL']}" in line
    assert "HELDOUT_S3_ENDPOINT_URL" in line
    # The web server, the worker and loading challenges check it before they start, the same way.
    assert "HELDOUT_S3_ENDPOINT_URL" in problem(heldout_here("serve", "--port", str(free_port()), **nowhere))
    assert "HELDOUT_S3_ENDPOINT_URL" in problem(heldout_here("worker", **nowhere,
                                                             HELDOUT_REDIS_URL=REDIS_URL))
