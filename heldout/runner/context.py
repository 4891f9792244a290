"""What a job needs to run: settings, a session factory, storage, a sandbox.

A worker process configures one ``RunnerContext`` at start-up; a job looks it up
by calling ``current_context()``. Jobs take ids only, so nothing else travels
through Redis.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from heldout.config import Settings
from heldout.db import make_engine, make_session_factory
from heldout.storage import Storage, make_storage


@dataclass
class RunnerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    storage: Storage
    # A Redis client (or a fakeredis one, with the embedded queue); None where no job is enqueued.
    redis: Any = None
    # The RQ worker's name, set by run_worker: the scoring job updates that worker's row (heldout.runner.registry).
    worker_name: str | None = None
    _sandbox: object | None = field(default=None, repr=False)
    _scorer: object | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, redis=None) -> "RunnerContext":  # noqa: ANN001
        engine = make_engine(settings.database_url)
        return cls(settings=settings, sessions=make_session_factory(engine),
                   storage=make_storage(settings), redis=redis)

    @property
    def sandbox(self):  # noqa: ANN201
        # Made on first use: building a Docker client at import or start-up would
        # make every test and every web process need a daemon.
        if self._sandbox is None:
            from heldout.runner.sandbox.runtimes import sandbox_for

            self._sandbox = sandbox_for(self.settings, pool_size=self.settings.sandbox_pool_size)
        return self._sandbox

    @sandbox.setter
    def sandbox(self, value) -> None:  # noqa: ANN001
        self._sandbox = value

    @property
    def scorer(self):  # noqa: ANN201
        """The warm scorer of prediction files (``HELDOUT_SCORER=warm`` on the Docker backend), else None:
        a fresh single-use container per file. Never used for participants' code."""
        if self._scorer is None and self.settings.scorer == "warm":
            # With HELDOUT_SANDBOX_RUNTIME apart from the scorer's (runtimes.RuntimeSplit), the scorer's own.
            sandbox = getattr(self.sandbox, "scorer", self.sandbox)
            backend = getattr(sandbox, "backend", sandbox)  # a PrestartedPool wraps its DockerSandbox
            if getattr(backend, "name", None) == "docker" and hasattr(backend, "create"):
                from heldout.runner.sandbox.warm import WarmScorer, storage_roots

                self._scorer = WarmScorer(backend, storage_roots(self.storage))
        return self._scorer

    @scorer.setter
    def scorer(self, value) -> None:  # noqa: ANN001
        self._scorer = value

    def close(self) -> None:
        """Stop what the sandbox keeps running (a prestarted pool's idle containers, the warm scorer)."""
        for running in (self._scorer, self._sandbox):
            close = getattr(running, "close", None)
            if close is not None:
                close()


_lock = threading.Lock()
_current: RunnerContext | None = None


def configure(context: RunnerContext) -> RunnerContext:
    global _current
    with _lock:
        _current = context
    return context


def current_context() -> RunnerContext:
    global _current
    with _lock:
        if _current is None:
            _current = RunnerContext.from_settings(Settings.from_env())
        return _current
