"""The scoring worker: an RQ ``SimpleWorker`` (stopping promptly: ``ScoringWorker``) plus the reconciler.

``SimpleWorker`` runs jobs in its own process instead of forking one per job:
the job spends its time waiting on a sandbox that enforces the real limits, and
skipping the fork saves latency on every submission. A worker that dies is
restarted by its supervisor; the reconciler re-queues what it held.
"""

from __future__ import annotations

import logging
import threading
import uuid

from rq import SimpleWorker

from heldout.db import session_scope
from heldout.logs import bind, bound_fields, unbind
from heldout.runner import registry
from heldout.runner.context import RunnerContext, configure
from heldout.runner.queue import scoring_queue
from heldout.runner.reconciler import reconcile

log = logging.getLogger(__name__)


class ScoringWorker(SimpleWorker):
    """RQ's ``SimpleWorker``, stopping within a second of SIGTERM.

    On its way out RQ unsubscribes from its command channel and then stops the pub/sub thread with redis-py's
    ``stop()``, which since redis-py 8 waits for that thread; a thread that read the unsubscribe's reply before
    being told to stop is by then waiting up to a minute for a subscription. A worker slow to stop is killed by
    systemd or compose, leaving its prestarted sandboxes behind. The thread is a daemon: waiting a second is
    enough."""

    def unsubscribe(self) -> None:
        thread = self.pubsub_thread
        if not thread:
            return
        self.pubsub.unsubscribe()
        try:
            thread.stop(timeout=1.0)
        except TypeError:  # redis-py before 8: stop() takes no timeout, and does not wait
            thread.stop()
        if not thread.is_alive():  # closing the connection under a reading thread would only make it complain
            self.pubsub.close()


class ReconcilerThread(threading.Thread):
    """Runs the reconciler every ``interval_s`` until stopped."""

    def __init__(self, context: RunnerContext, interval_s: float):
        super().__init__(name="heldout-reconciler", daemon=True)
        self.context = context
        self.interval_s = interval_s
        self.stopped = threading.Event()
        self.log_fields = bound_fields()  # the worker's name, for this thread's log lines

    def run(self) -> None:
        bind(**self.log_fields)
        while not self.stopped.wait(self.interval_s):
            # Results stream out while a sandbox runs, so a stopped one is garbage; the age only spares
            # one that another worker has created but not yet started.
            _clean_leftover_sandboxes(self.context, max_age_s=30)
            try:
                reconcile(self.context.sessions, scoring_queue(self.context.redis),
                          running_deadline_s=self.context.settings.running_deadline_s)
            except Exception:  # noqa: BLE001 - a failed pass is retried at the next interval
                log.exception("reconciler pass failed")


def run_worker(context: RunnerContext, *, burst: bool = False, reconcile_every_s: float | None = None,
               name: str | None = None) -> None:
    """Work the scoring queue (on the calling thread: RQ installs signal handlers)."""
    name = name or uuid.uuid4().hex  # what RQ would pick; known here so every log line can carry it
    log_binding = bind(worker=name)
    configure(context)
    context.worker_name = name  # the scoring job keeps this worker's row up to date
    queue = scoring_queue(context.redis)
    # Spares containers another worker on this daemon has just created and not yet started.
    _clean_leftover_sandboxes(context, max_age_s=30)
    reconcile(context.sessions, queue, running_deadline_s=context.settings.running_deadline_s)
    identity = _announce(context, name)
    heart = registry.HeartbeatThread(context.sessions, identity, context.settings.worker_heartbeat_s)
    heart.start()
    thread = None
    if not burst:
        thread = ReconcilerThread(context, reconcile_every_s or context.settings.reconcile_interval_s)
        thread.start()
    try:
        # One queue: checks (runner.checks) are put at its front, scoring jobs at its back.
        ScoringWorker([queue], connection=context.redis, name=name).work(
            burst=burst, logging_level="WARNING", with_scheduler=False)
    finally:
        if thread is not None:
            thread.stopped.set()
        heart.stop()
        registry.sign_off(context.sessions, identity)
        context.close()
        unbind(log_binding)


def _announce(context: RunnerContext, name: str) -> registry.WorkerIdentity:
    """Register this worker in the database (the admins' workers page), with what its sandbox is."""
    try:
        backend = registry.sandbox_label(context.sandbox)
    except Exception:  # noqa: BLE001 - no sandbox yet: say which was asked for; the first job reports why
        backend = f"{context.settings.sandbox} (unavailable)"
    identity = registry.identify(name, backend, heartbeat_s=context.settings.worker_heartbeat_s)
    with session_scope(context.sessions) as session:
        registry.register(session, identity)
    return identity


def _clean_leftover_sandboxes(context: RunnerContext, max_age_s: float = 0.0) -> None:
    try:
        cleanup = getattr(context.sandbox, "cleanup_leftovers", None)
        if cleanup is not None:
            cleanup(max_age_s)
    except Exception as exc:  # noqa: BLE001 - a worker without a sandbox still reports it on the first job
        log.warning("could not check for leftover sandboxes: %s", exc)
