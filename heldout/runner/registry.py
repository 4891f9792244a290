"""The worker registry: each worker announces itself in the ``workers`` table, beats, and signs off.

Workers run on other hosts and reach only PostgreSQL and Redis, so the database is
where the web app learns about them (the admins' workers page). Every write here is
one short UPDATE (or an upsert at start) keyed by the worker's name:

* ``register`` at start: host, pid, sandbox backend, version, heartbeat interval;
  a restart under the same name starts the row afresh.
* ``heartbeat`` every ``HELDOUT_WORKER_HEARTBEAT_S`` from ``HeartbeatThread``.
* ``job_started`` / ``job_finished`` from the scoring job: the submission it runs, and
  its counts, bumped in the transaction that records the outcome, so a job that runs
  twice (or loses its submission to a newer run) counts once.
* ``mark_stopped`` on a clean shutdown.

``hung_workers`` finds this host's workers that stopped beating while their process lives on: ``heldout
health`` fails for them, so a supervisor (compose's health check) restarts the worker.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from heldout.db import session_scope
from heldout.models import SubmissionStatus, Worker, utcnow

log = logging.getLogger(__name__)

# A worker that has missed this many of its own heartbeats is stale (the workers page), or hung if it lives.
STALE_AFTER_MISSED_BEATS = 3


@dataclass(frozen=True)
class WorkerIdentity:
    """What a worker says about itself when it starts."""

    name: str
    hostname: str
    pid: int
    sandbox_backend: str
    version: str
    heartbeat_s: int


def identify(name: str, sandbox_backend: str, *, heartbeat_s: int) -> WorkerIdentity:
    return WorkerIdentity(name=name, hostname=socket.gethostname()[:255], pid=os.getpid(),
                          sandbox_backend=sandbox_backend[:40], version=heldout_version(), heartbeat_s=heartbeat_s)


def sandbox_label(sandbox) -> str:  # noqa: ANN001
    """``docker``, ``docker+runsc`` (a Docker runtime other than the default), ``bubblewrap``, …"""
    name = getattr(sandbox, "name", None) or type(sandbox).__name__
    inner = getattr(sandbox, "backend", sandbox)  # a prestarted pool wraps its DockerSandbox
    runtime = getattr(inner, "runtime", None)
    label = f"{name}+{runtime}" if isinstance(runtime, str) and runtime else str(name)
    return label[:40]


def heldout_version() -> str:
    try:
        return metadata.version("heldout")[:40]
    except metadata.PackageNotFoundError:
        return "unknown"


def register(session: Session, identity: WorkerIdentity, *, now: datetime | None = None) -> None:
    """Insert the worker's row, or start the row of a worker that ran under this name before afresh."""
    now = now or utcnow()
    values = dict(hostname=identity.hostname, pid=identity.pid, sandbox_backend=identity.sandbox_backend,
                  version=identity.version, heartbeat_s=identity.heartbeat_s, started_at=now,
                  last_heartbeat_at=now, stopped_at=None, jobs_done=0, jobs_errored=0, current_submission_id=None)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # not a database Heldout supports; an UPDATE, else an INSERT, is good enough there
        if session.execute(update(Worker).where(Worker.name == identity.name).values(**values)
                           .execution_options(synchronize_session=False)).rowcount == 0:  # type: ignore[attr-defined]
            session.add(Worker(name=identity.name, **values))
            session.flush()
        return
    statement = insert(Worker).values(name=identity.name, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[Worker.name], set_=values))


def heartbeat(session: Session, identity: WorkerIdentity, *, now: datetime | None = None) -> bool:
    """Say this worker is alive; False when its row is gone or was taken by another process of the same name."""
    result = session.execute(
        update(Worker)
        .where(Worker.name == identity.name, Worker.hostname == identity.hostname, Worker.pid == identity.pid)
        .values(last_heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def mark_stopped(session: Session, identity: WorkerIdentity, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(
        update(Worker)
        .where(Worker.name == identity.name, Worker.hostname == identity.hostname, Worker.pid == identity.pid)
        .values(stopped_at=now, last_heartbeat_at=now, current_submission_id=None)
        .execution_options(synchronize_session=False)
    )


def job_started(session: Session, worker_name: str | None, submission_id: int, *,
                now: datetime | None = None) -> None:
    """The worker has claimed ``submission_id`` and runs it now (no-op outside a registered worker)."""
    if worker_name is None:
        return
    session.execute(
        update(Worker).where(Worker.name == worker_name)
        .values(current_submission_id=submission_id, last_heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def job_finished(session: Session, worker_name: str | None, recorded: SubmissionStatus | None, *,
                 now: datetime | None = None) -> None:
    """The run is over: count it by the status it recorded, or not at all when it recorded nothing.

    Call it in the session that recorded the outcome: the count then commits with it, exactly once.
    """
    if worker_name is None:
        return
    done = int(recorded in (SubmissionStatus.SCORED, SubmissionStatus.FAILED))
    errored = int(recorded == SubmissionStatus.ERROR)
    session.execute(
        update(Worker).where(Worker.name == worker_name)
        .values(current_submission_id=None, last_heartbeat_at=now or utcnow(),
                jobs_done=Worker.jobs_done + done, jobs_errored=Worker.jobs_errored + errored)
        .execution_options(synchronize_session=False)
    )


def sign_off(sessions: sessionmaker[Session], identity: WorkerIdentity) -> None:
    """``mark_stopped`` in its own session, on the way out: a failure is logged, never raised."""
    try:
        with session_scope(sessions) as session:
            mark_stopped(session, identity)
    except Exception as exc:  # noqa: BLE001 - the worker is stopping anyway; its row turns stale instead
        log.warning("could not mark worker %s stopped: %s", identity.name, exc)


class HeartbeatThread(threading.Thread):
    """Beats every ``interval_s`` until stopped; re-announces the worker if its row has gone."""

    def __init__(self, sessions: sessionmaker[Session], identity: WorkerIdentity, interval_s: float):
        super().__init__(name="heldout-heartbeat", daemon=True)
        self.sessions = sessions
        self.identity = identity
        self.interval_s = interval_s
        self.stopped = threading.Event()
        self._context = contextvars.copy_context()  # the worker's name, for this thread's log lines

    def run(self) -> None:
        self._context.run(self._beat_until_stopped)

    def _beat_until_stopped(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                with session_scope(self.sessions) as session:
                    if not heartbeat(session, self.identity):
                        log.warning("worker %s: its row was gone or taken; announcing it again", self.identity.name)
                        register(session, self.identity)
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried; only several in a row show
                log.warning("worker %s: heartbeat failed: %s", self.identity.name, exc)

    def stop(self, timeout_s: float = 5.0) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout_s)


def hung_workers(session: Session, hostname: str, *, now: datetime | None = None,
                 alive: Callable[[int], bool] | None = None) -> list[Worker]:
    """The workers on ``hostname`` that have missed three heartbeats while their process is alive: hung
    (stopped, deadlocked, starved), not dead. A dead worker's held submission is the reconciler's business;
    a hung one holds its lease-less job and its slot until something restarts it."""
    now = now or utcnow()
    alive = alive or process_alive
    rows = session.scalars(select(Worker).where(Worker.hostname == hostname[:255], Worker.stopped_at.is_(None)))
    return [worker for worker in rows
            if now - worker.last_heartbeat_at > timedelta(seconds=STALE_AFTER_MISSED_BEATS * worker.heartbeat_s)
            and alive(worker.pid)]


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live heldout process on this host (a zombie, or a pid reused by another program,
    is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask: it exists, that is all we know
    return b"heldout" in cmdline
