"""Shared fixtures: databases (SQLite and PostgreSQL), Redis, the app, and strict mode.

With HELDOUT_TEST_STRICT=1 (set by .ci/run) a missing Docker engine, Redis or
PostgreSQL fails the test instead of skipping it, and any skip at all fails the
run: a test that is skipped in CI is a test that does not exist.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from heldout.config import Settings
from heldout.db import make_engine, make_session_factory
from heldout.migrate import upgrade
from heldout.models import Base

STRICT = os.environ.get("HELDOUT_TEST_STRICT") == "1"
POSTGRES_ADMIN_URL = os.environ.get("HELDOUT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HELDOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(condition: bool, reason: str) -> None:
    """Skip when a service is missing — or fail, in strict mode."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"{reason} (HELDOUT_TEST_STRICT=1: missing services fail the run)", pytrace=False)
    pytest.skip(reason)


_skipped: list[str] = []


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001
    if STRICT and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
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
