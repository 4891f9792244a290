"""A running job's lease: renewed while the sandbox runs, so the reconciler can tell a slow run from a dead worker."""

from __future__ import annotations

import contextvars
import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from heldout.db import session_scope
from heldout.runner.claims import renew_lease
from heldout.runner.outcome import ScoringTask

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews ``task``'s lease every ``interval_s`` on a background thread, each time in a short session."""

    def __init__(self, sessions: sessionmaker[Session], task: ScoringTask, interval_s: float):
        self.sessions = sessions
        self.task = task
        self.interval_s = interval_s
        self._stopped = threading.Event()
        # Run in a copy of the job's context, so its log lines carry the job's fields (heldout.logs).
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                        name=f"lease-{task.submission_id}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                with session_scope(self.sessions) as session:
                    if not renew_lease(session, self.task):
                        return  # another run owns the submission now; its result will be discarded
            except Exception as exc:  # noqa: BLE001 - a missed renewal is retried; only many in a row matter
                log.warning("submission %s: could not renew its lease: %s", self.task.submission_id, exc)
