"""The scoring workers as the database knows them (heldout.runner.registry), for admins.

A worker is *alive* while it beats, *stale* once it has missed three of its own
heartbeats (it was killed, or its host or network is gone: the reconciler will
re-queue what it held), and *stopped* after a clean shutdown. Workers silent for
more than a day are left out unless asked for: every unnamed restart adds a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.models import User, Worker, utcnow
from heldout.platform.services.errors import NotFound
from heldout.runner.registry import STALE_AFTER_MISSED_BEATS

SILENT_CUTOFF = timedelta(days=1)
STATES = ("alive", "stale", "stopped")


def require_admin(user: User | None) -> None:
    """Admins only; to anyone else the page does not exist."""
    if user is None or not user.is_admin:
        raise NotFound("There is nothing here.")


def worker_state(worker: Worker, now: datetime) -> str:
    if worker.stopped_at is not None:
        return "stopped"
    if now - worker.last_heartbeat_at > timedelta(seconds=STALE_AFTER_MISSED_BEATS * worker.heartbeat_s):
        return "stale"
    return "alive"


def ago(seconds: float) -> str:
    """A short, rounded-down age: ``4 s ago``, ``3 min ago``, ``5 h ago``, ``2 d ago``."""
    seconds = max(0, int(seconds))
    for unit, size, below in (("s", 1, 120), ("min", 60, 120 * 60), ("h", 3600, 48 * 3600)):
        if seconds < below:
            return f"{seconds // size} {unit} ago"
    return f"{seconds // 86400} d ago"


@dataclass(frozen=True)
class WorkerRow:
    name: str
    hostname: str
    pid: int
    sandbox_backend: str
    version: str
    heartbeat_s: int
    started_at: datetime
    last_heartbeat_at: datetime
    stopped_at: datetime | None
    jobs_done: int
    jobs_errored: int
    current_submission_id: int | None
    state: str
    heartbeat_age_s: float

    @property
    def heartbeat_ago(self) -> str:
        return ago(self.heartbeat_age_s)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "hostname": self.hostname, "pid": self.pid, "sandbox": self.sandbox_backend,
            "version": self.version, "state": self.state, "heartbeat_s": self.heartbeat_s,
            "started_at": self.started_at.isoformat(), "last_heartbeat_at": self.last_heartbeat_at.isoformat(),
            "heartbeat_age_s": round(self.heartbeat_age_s, 1),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "jobs_done": self.jobs_done, "jobs_errored": self.jobs_errored,
            "current_submission_id": self.current_submission_id,
        }


@dataclass(frozen=True)
class WorkerList:
    workers: list[WorkerRow]
    hidden: int  # silent for more than SILENT_CUTOFF and left out
    now: datetime

    def count(self, state: str) -> int:
        return sum(1 for w in self.workers if w.state == state)


def list_workers(session: Session, *, now: datetime | None = None, include_silent: bool = False) -> WorkerList:
    """Alive workers first, then stale, then stopped; by name within each."""
    now = now or utcnow()
    query = select(Worker)
    hidden = 0
    if not include_silent:
        cutoff = now - SILENT_CUTOFF
        query = query.where(Worker.last_heartbeat_at >= cutoff)
        hidden = session.scalar(select(func.count(Worker.id)).where(Worker.last_heartbeat_at < cutoff)) or 0
    rows = [_row(worker, now) for worker in session.scalars(query)]
    rows.sort(key=lambda r: (STATES.index(r.state), r.name))
    return WorkerList(workers=rows, hidden=hidden, now=now)


def _row(worker: Worker, now: datetime) -> WorkerRow:
    return WorkerRow(
        name=worker.name, hostname=worker.hostname, pid=worker.pid, sandbox_backend=worker.sandbox_backend,
        version=worker.version, heartbeat_s=worker.heartbeat_s, started_at=worker.started_at,
        last_heartbeat_at=worker.last_heartbeat_at, stopped_at=worker.stopped_at, jobs_done=worker.jobs_done,
        jobs_errored=worker.jobs_errored, current_submission_id=worker.current_submission_id,
        state=worker_state(worker, now), heartbeat_age_s=(now - worker.last_heartbeat_at).total_seconds(),
    )
