"""Why a run failed, in a few coarse words: for log lines and the ``/metrics`` failure counts.

Nothing stores a reason: it is read from what a finished submission already
keeps. ``error`` is the platform's fault (``internal_error`` says what broke);
``failed`` is the participant's, and a resource limit that stopped their run is
named in ``error`` by the sentences of ``sandbox.base.LIMIT_MESSAGES``. The
same table drives the Python function and the SQL expression, so a log line
and a scrape always agree.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func
from sqlalchemy.sql.elements import ColumnElement

from heldout.models import Submission, SubmissionStatus

# A participant's failure whose message contains one of these (lower-cased) was stopped by that limit.
LIMIT_REASONS: tuple[tuple[str, str], ...] = (
    ("timeout", "time limit of "),
    ("memory", "memory limit of "),
    ("resource_limit", "process limit of "),
    ("resource_limit", "file size limit of "),
    ("resource_limit", "writable space exhausted"),
    ("resource_limit", " to stdout/stderr"),
)
SANDBOX_UNAVAILABLE = "sandbox unavailable"  # how jobs.py words a platform error with no sandbox
FAILURE_REASONS = ("timeout", "memory", "resource_limit", "participant_error", "sandbox_unavailable",
                   "platform_error")


def failure_reason(status: SubmissionStatus | str, error: str | None, internal_error: str | None) -> str | None:
    """The coarse reason of a failed or errored run; None for any other status."""
    status = SubmissionStatus(status)
    if status == SubmissionStatus.ERROR:
        if (internal_error or "").lower().startswith(SANDBOX_UNAVAILABLE):
            return "sandbox_unavailable"
        return "platform_error"
    if status != SubmissionStatus.FAILED:
        return None
    message = (error or "").lower()
    for reason, phrase in LIMIT_REASONS:
        if phrase in message:
            return reason
    return "participant_error"


def failure_reason_sql() -> ColumnElement[str]:
    """``failure_reason`` as a SQL expression over ``submissions`` (for rows in status failed or error)."""
    error = func.lower(func.coalesce(Submission.error, ""))
    internal = func.lower(func.coalesce(Submission.internal_error, ""))
    is_error = Submission.status == SubmissionStatus.ERROR
    whens = [
        (and_(is_error, internal.like(SANDBOX_UNAVAILABLE + "%")), "sandbox_unavailable"),
        (is_error, "platform_error"),
        *((error.like(f"%{phrase}%"), reason) for reason, phrase in LIMIT_REASONS),
    ]
    return case(*whens, else_="participant_error")
