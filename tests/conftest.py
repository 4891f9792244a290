"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, the app, and strict mode.

With HELDOUT_TEST_STRICT=1 (set by .ci/run) a missing Docker engine, Redis or
PostgreSQL fails the test instead of skipping it, and any skip at all fails the
run: a test that is skipped in CI is a test that does not exist.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id
from sqlalchemy import create_engine, text

from heldout.config import Settings
from heldout.db import make_engine, make_session_factory
from heldout.migrate import upgrade
from heldout.models import Base

STRICT = os.environ.get("HELDOUT_TEST_STRICT") == "1"
POSTGRES_ADMIN_URL = os.environ.get("HELDOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _redis_url_of_this_process(url: str) -> str:
    """Each pytest-xdist worker flushes a Redis database of its own: gw0 the configured one, gw1 the one below."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, number = url.rpartition("/")
    if not number.isdigit():
        base, number = url.rstrip("/"), "15"
    return f"{base}/{(int(number) - int(worker[2:])) % 16}"


def _private_temp_dir_of_this_process() -> None:
    """Each pytest-xdist worker gets a temp directory of its own: tests that check they left no temp files
    behind must not see the other worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        path = Path(tempfile.gettempdir()) / f"heldout-tests-{worker}"
        path.mkdir(mode=0o755, exist_ok=True)
        os.environ["TMPDIR"] = str(path)
        tempfile.tempdir = None  # gettempdir() caches its answer: ask again


_private_temp_dir_of_this_process()
REDIS_URL = _redis_url_of_this_process(os.environ.get("HELDOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))


def require(condition: bool, reason: str) -> None:
    """Skip when a service is missing — or fail, in strict mode."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"{reason} (HELDOUT_TEST_STRICT=1: missing services fail the run)", pytrace=False)
    pytest.skip(reason)


_skipped: list[str] = []

# Test modules that start sandbox containers, or servers and workers that do: they run one after another in a
# single pytest-xdist worker, since the sandbox tests remove every container labelled heldout.sandbox.
_DOCKER_DIRECTORIES = ("e2e", "browser", "deploy")
_DOCKER_WORDS = ("docker_sandbox", "DockerSandbox", "PrestartedPool", "pytest.mark.e2e", "pytest.mark.docker",
                 "docker compose", "docker_client", "HELDOUT_SANDBOX=\"docker\"")


def _uses_docker(path: Path, cache: dict[Path, bool] = {}) -> bool:  # noqa: B006 - a per-run cache
    if path not in cache:
        in_directory = path.parent.name in _DOCKER_DIRECTORIES
        cache[path] = in_directory or any(word in path.read_text(errors="replace") for word in _DOCKER_WORDS)
    return cache[path]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    grouping = getattr(config.option, "loadgroup", False)  # set in each pytest-xdist worker by --dist loadgroup
    for item in items:
        if _uses_docker(Path(str(item.path))):
            item.add_marker(pytest.mark.xdist_group("docker"))
            # pytest-xdist 3.8 groups by a "@group" suffix it writes to item._nodeid, which pytest 9.2 no longer
            # reads (a node's id is item._id): without this the Docker tests would run in both processes at once.
            if grouping and hasattr(item, "_id") and not item.nodeid.endswith("@docker"):
                item._id = coerce_node_id(f"{item.nodeid}@docker")


# Phase timings a test attaches as the user property "phase_timings" = (title, [(phase, seconds), ...]): figures,
# never pass/fail, printed at the end of the run. A report's properties reach the process that prints, with or
# without pytest-xdist (tests/deploy/test_compose.py).
_phase_timings: dict[str, tuple[str, list]] = {}


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001
    if report.skipped:
        _skipped.append(report.nodeid)
    for name, value in getattr(report, "user_properties", ()):
        if name == "phase_timings" and value[1]:
            _phase_timings[report.nodeid.split("@")[0]] = (value[0], [tuple(p) for p in value[1]])


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001
    if STRICT and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    for title, phases in _phase_timings.values():
        terminalreporter.write_sep("-", f"{title}: {sum(seconds for _, seconds in phases):.0f} s")
        for phase, seconds in phases:
            terminalreporter.write_line(f"  {seconds:6.1f} s  {phase}")
    if STRICT and _skipped:
        terminalreporter.write_line(f"STRICT: {len(_skipped)} test(s) were skipped; skips fail the run in CI:", red=True)
        for nodeid in _skipped[:20]:
            terminalreporter.write_line(f"  {nodeid}", red=True)


# --- databases -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database_url():  # noqa: ANN201
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        yield None, f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {str(exc).splitlines()[0]}"
        return
    name = f"heldout_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url, None
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
    # DELETE is several times faster than TRUNCATE on the small tables a test leaves behind.
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def database_url_for(kind: str, tmp_path: Path, sqlite_template: Path, postgres_database_url) -> str:  # noqa: ANN001
    """A fresh, migrated database of ``kind`` ("sqlite" or "postgresql"), for fixtures that choose their own."""
    if kind == "sqlite":
        path = tmp_path / "heldout.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url, reason = postgres_database_url
    require(url is not None, reason or "PostgreSQL unavailable")
    _truncate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, sqlite_template, postgres_database_url) -> str:  # noqa: ANN001
    """Each database test runs on both backends."""
    return database_url_for(request.param, tmp_path, sqlite_template, postgres_database_url)


@pytest.fixture
def sqlite_only(tmp_path, sqlite_template) -> str:
    """A SQLite database for modules where the database is beside the point (see their ``database_url``)."""
    return database_url_for("sqlite", tmp_path, sqlite_template, None)


@pytest.fixture
def postgres_url(postgres_database_url) -> str:
    """PostgreSQL only: for end-to-end tests, which run the production configuration."""
    url, reason = postgres_database_url
    require(url is not None, reason or "PostgreSQL unavailable")
    _truncate(url)
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:  # noqa: ANN001
    return Settings.from_env({
        "HELDOUT_DATA_DIR": str(tmp_path / "data"),
        "HELDOUT_DATABASE_URL": database_url,
        "HELDOUT_SECRET_KEY": "test-secret",
    })


@pytest.fixture
def sessions(settings):  # noqa: ANN001, ANN201
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(sessions):  # noqa: ANN001, ANN201
    with sessions() as s:
        yield s


# --- sandbox -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bwrap_sandbox():  # noqa: ANN201
    """A checked bubblewrap sandbox: real limits, no Docker (so no need for the Docker lock)."""
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.bubblewrap_backend import BubblewrapSandbox

    sb = BubblewrapSandbox()
    try:
        sb.check()
    except SandboxUnavailable as exc:
        require(False, str(exc))
    return sb


# --- the heldout command, in this process --------------------------------------------------------------------

@pytest.fixture
def heldout_cli(tmp_path, monkeypatch, capsys):  # noqa: ANN201
    """Runs ``heldout ARGS`` in this process with only these HELDOUT_*/AWS_* variables (and a data directory
    under tmp_path); returns a CompletedProcess: the exit status, stdout and stderr."""
    import logging
    import subprocess

    from heldout.cli import main

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        root = logging.getLogger()
        level = root.level
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith(("HELDOUT_", "AWS_"))]:
                patch.delenv(name)
            for name, value in {"HELDOUT_DATA_DIR": str(tmp_path / "data"), **env}.items():
                patch.setenv(name, value)
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse refusing the arguments
                status = exc.code
            finally:  # main configured logging onto the captured stderr: undo it
                for handler in [h for h in root.handlers if getattr(h, "_heldout", False)]:
                    root.removeHandler(handler)
                root.setLevel(level)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out, err)

    return run


# --- an S3 API server ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):  # noqa: ANN201
    """moto's standalone S3 server on a free loopback port, for the whole run (tests/s3_server.py)."""
    from tests.s3_server import MotoServer

    try:
        server = MotoServer(tmp_path_factory.mktemp("s3") / "moto.log")
    except Exception as exc:  # noqa: BLE001
        yield None, f"moto_server (pip install 'moto[server]') did not start: {exc}"
        return
    try:
        yield server, None
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server):  # noqa: ANN201
    """A fresh bucket on the test S3 server; its S3Settings."""
    from tests.s3_server import new_bucket

    server, reason = s3_server
    require(server is not None, reason or "no S3 server")
    return new_bucket(server.url)


# --- redis ---------------------------------------------------------------------------------------------------

@pytest.fixture
def real_redis():  # noqa: ANN201
    from redis import Redis

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except Exception as exc:  # noqa: BLE001
        require(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def fake_redis():  # noqa: ANN201
    import fakeredis

    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


# --- the app -------------------------------------------------------------------------------------------------

@pytest.fixture
def app(settings, fake_redis):  # noqa: ANN001, ANN201
    """The app on the test settings (both databases, where ``settings`` runs on both) and an in-process Redis."""
    from tests.helpers import make_app

    return make_app(settings, fake_redis)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()
