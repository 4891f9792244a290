"""Why a run failed, in a few coarse words: for log lines and the ``/metrics`` failure counts.

Nothing stores a reason: it is read from what a finished submission keeps.
``error`` is the platform's fault (``internal_error`` says what broke; the
jobs word a missing sandbox ``sandbox unavailable: ...``); ``failed`` is the
participant's, and the sandbox limit that stopped their run, if one did, is
stored with the outcome (``Submission.limit_hit``, a :class:`SandboxLimit`),
never recovered from the words of a message. The same table drives the Python
function and the SQL expression, so a log line and a scrape always agree.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func
from sqlalchemy.sql.elements import ColumnElement

from heldout.models import SandboxLimit, Submission, SubmissionStatus

# The reason a participant's failure is counted under, by the limit that stopped it.
LIMIT_REASONS: dict[SandboxLimit, str] = {
    SandboxLimit.TIME: "timeout",
    SandboxLimit.MEMORY: "memory",
    SandboxLimit.PIDS: "resource_limit",
    SandboxLimit.FILE_SIZE: "resource_limit",
    SandboxLimit.DISK: "resource_limit",
    SandboxLimit.OUTPUT: "resource_limit",
}
SANDBOX_UNAVAILABLE = "sandbox unavailable"  # how jobs.py words a platform error with no sandbox
FAILURE_REASONS = ("timeout", "memory", "resource_limit", "participant_error", "sandbox_unavailable",
                   "platform_error")


def failure_reason(status: SubmissionStatus | str, limit_hit: SandboxLimit | str | None,
                   internal_error: str | None) -> str | None:
    """The coarse reason of a failed or errored run; None for any other status."""
    status = SubmissionStatus(status)
    if status == SubmissionStatus.ERROR:
        if (internal_error or "").lower().startswith(SANDBOX_UNAVAILABLE):
            return "sandbox_unavailable"
        return "platform_error"
    if status != SubmissionStatus.FAILED:
        return None
    return LIMIT_REASONS[SandboxLimit(limit_hit)] if limit_hit else "participant_error"


def failure_reason_sql() -> ColumnElement[str]:
    """``failure_reason`` as a SQL expression over ``submissions`` (for rows in status failed or error)."""
    internal = func.lower(func.coalesce(Submission.internal_error, ""))
    is_error = Submission.status == SubmissionStatus.ERROR
    whens = [
        (and_(is_error, internal.like(SANDBOX_UNAVAILABLE + "%")), "sandbox_unavailable"),
        (is_error, "platform_error"),
        *((Submission.limit_hit == limit, reason) for limit, reason in LIMIT_REASONS.items()),
    ]
    return case(*whens, else_="participant_error")
