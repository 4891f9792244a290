""""Check my file" for code and policies: the visible run of a submission, alone, as a short job on a worker.

The web host has no sandbox: it stores the upload, queues :func:`check_code`
at the front of the scoring queue (workers take it before any scoring job) and waits for
its answer (``runner.queue.wait_for_check``). The job performs exactly the visible run
of a real submission (``execute.visible_code_run`` or
``reinforcement.visible_policy_run``), with the time limit cut to
``CHECK_TIME_LIMIT_S``, and returns what it showed as plain JSON values. No
submission row, no quota: nothing is stored but the upload, which the web
host deletes once answered.

What it proves: the code starts, reads the public example data, and (code)
writes a ``submission.csv`` the checker accepts for the example's rows, or
(policies) plays the public episodes without breaking the protocol. What it
cannot: that it finishes within the real time limit, or behaves on the hidden
data as on the example.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from heldout.db import session_scope
from heldout.models import Challenge
from heldout.runner.claims import run_data_keys
from heldout.runner.context import current_context
from heldout.runner.execute import code_limits, visible_code_run
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.queue import CHECK_TIME_LIMIT_S, check_time_limit_s
from heldout.runner.reinforcement import visible_policy_run
from heldout.runner.sandbox.base import Limits, SandboxUnavailable
from heldout.runner.visible import VisibleRun

log = logging.getLogger(__name__)

def check_limits(rules: dict) -> Limits:
    """The challenge's own limits, with at most ``CHECK_TIME_LIMIT_S`` of time (the web host waits that long)."""
    return replace(code_limits(rules), timeout_s=check_time_limit_s(rules))


def run_visible(sandbox, storage, task: ScoringTask, *, limits: Limits | None = None,
                labels: dict | None = None) -> VisibleRun:  # noqa: ANN001
    """The visible run of ``task``'s upload: the same call a real submission's job makes first."""
    if task.scoring_spec.get("task_type") == "reinforcement":
        return visible_policy_run(sandbox, storage, task, limits=limits, labels=labels)
    return visible_code_run(sandbox, storage, task, limits=limits, labels=labels)


def check_code(challenge_id: int, file_key: str, filename: str, check_id: str) -> dict:
    """The RQ job: the visible run of an uploaded file, as ``VisibleRun.to_dict()``."""
    context = current_context()
    with session_scope(context.sessions) as session:
        challenge = session.get(Challenge, challenge_id)
        if challenge is None:
            return VisibleRun.broke(Outcome.platform_error("the challenge is gone")).to_dict()
        data_keys, visible_keys = run_data_keys(session, challenge)
        task = ScoringTask(
            submission_id=0, run_token=check_id, kind="code", file_key=file_key, filename=filename,
            challenge_id=challenge.id, challenge_version=challenge.version,
            scoring_spec=dict(challenge.scoring_spec), solution_key=challenge.solution_key,
            rules=dict(challenge.rules or {}), data_keys=data_keys, visible_data_keys=visible_keys)
    started = time.monotonic()
    try:
        visible = run_visible(context.sandbox, context.storage, task, limits=check_limits(task.rules),
                              labels={"heldout.check": check_id})
    except SandboxUnavailable as exc:
        log.warning("check %s: no sandbox: %s", check_id, exc)
        visible = VisibleRun.broke(Outcome.platform_error(f"sandbox unavailable: {exc}"))
    log.info("check %s of challenge %s: %s in %.2fs", check_id, challenge_id,
             "passed" if visible.failure is None else visible.failure.status.value, time.monotonic() - started)
    return visible.to_dict()


__all__ = ["check_code", "check_limits", "run_visible", "CHECK_TIME_LIMIT_S"]
