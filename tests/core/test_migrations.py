from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from heldout.db import make_engine
from heldout.migrate import pending
from heldout.models import Base


def test_migrations_build_exactly_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_migrated_database_has_nothing_pending(database_url):
    engine = make_engine(database_url)
    assert pending(engine) is False
    engine.dispose()
