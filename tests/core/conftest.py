"""The migration tests' database: empty, on SQLite and on PostgreSQL, upgraded by each test to the revision it
starts from (helpers in tests/core/migrations.py)."""

import uuid

import pytest
from sqlalchemy import create_engine, text

from heldout.db import make_engine
from tests.conftest import POSTGRES_ADMIN_URL, require


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):  # noqa: ANN201
    if request.param == "sqlite":
        yield make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except Exception as exc:  # noqa: BLE001
        require(False, f"PostgreSQL is not reachable: {exc}")
    name = f"heldout_migration_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()
