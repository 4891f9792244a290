"""Start-up checks: each problem becomes one line that says what is wrong and how to fix it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from heldout.config import Settings


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""


def check_database(engine: Engine, *, require_schema: bool = True) -> None:
    url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - every driver raises its own kind
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"cannot reach the database at {url}: {first} — "
                           "start it or fix HELDOUT_DATABASE_URL") from None
    if require_schema:
        from heldout.migrate import pending

        if pending(engine):
            raise StartupError(f"the database at {url} is not up to date — run: heldout db upgrade")


def check_redis(settings: Settings, connection) -> None:  # noqa: ANN001
    if settings.embedded_queue:
        return
    try:
        connection.ping()
    except Exception as exc:  # noqa: BLE001
        raise StartupError(f"cannot reach Redis at {settings.redis_url}: {exc} — start Redis or fix HELDOUT_REDIS_URL "
                           "(unset it to use the embedded queue)") from None


def check_sandbox(settings: Settings) -> str:
    """The backend that will run submissions, with its Docker runtimes (each one registered with the daemon);
    raises when none is usable."""
    from heldout.runner.sandbox import SandboxUnavailable
    from heldout.runner.sandbox.runtimes import describe_runtimes, sandbox_for

    try:
        sandbox = sandbox_for(settings)
        sandbox.check()
    except SandboxUnavailable as exc:
        reasons = str(exc).removeprefix("no sandbox available: ")
        raise StartupError(f"no sandbox to score submissions in: {reasons}") from None
    return describe_runtimes(sandbox)


def check_storage(storage) -> None:  # noqa: ANN001
    """The files' storage answers (an S3 bucket exists and takes the credentials); one line naming the variable
    to fix, never a traceback."""
    from heldout.storage import StorageUnavailable

    try:
        storage.check()
    except StorageUnavailable as exc:
        raise StartupError(str(exc)) from None
