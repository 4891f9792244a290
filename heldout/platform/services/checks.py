"""The dry run: would this file be accepted? Using none of the day's quota; nothing is scored.

Predictions are answered at once, on the web host: only Heldout's own, trusted
reading code runs here, over the learner's bytes, the same ``read_submission``
the sandboxed scorer uses, so a file that passes here is read the same way
there. The solution contributes its ids alone (the row set to match); nothing
is scored, so no answer leaks through a dry run.

Code and policies are never run here: a worker performs the visible run of a
real submission (``heldout.runner.checks``), with a 30-second limit, while the
request waits, and the answer is what that run showed (its message and logs).
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO

from redis.exceptions import RedisError

from heldout.challenges.errors import BundleError, SubmissionError
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.upload import TooLarge, clean_filename, read_bounded
from heldout.challenges.validation import read_solution, read_submission
from heldout.models import Challenge, SubmissionKind
from heldout.platform.services.errors import ServiceError, Unavailable, UploadTooLarge
from heldout.platform.services.submission_format import submission_format
from heldout.runner.queue import enqueue_check, wait_for_check
from heldout.storage import Storage


class InvalidSubmission(ServiceError):
    status = 422
    code = "invalid_submission"


@dataclass(frozen=True)
class CheckResult:
    filename: str
    kind: str
    size: int
    rows: int | None = None
    columns: list[str] = field(default_factory=list)
    message: str = ""
    logs: str | None = None  # code: what the visible run printed
    ran: bool = False  # code: the file was run (the visible run), not only read


def check_submission(storage: Storage, challenge: Challenge, *, stream: BinaryIO, filename: str,
                     max_bytes: int, queue=None) -> CheckResult:  # noqa: ANN001
    """Check a file as a submission to ``challenge``; raises InvalidSubmission saying what to fix.

    ``queue``: the scoring queue, where a code challenge's check is queued (at its front)."""
    filename = clean_filename(filename)
    if not filename:
        raise ServiceError("Choose a file to check.", field="file")
    try:
        data = read_bounded(stream, max_bytes)
    except TooLarge:
        raise UploadTooLarge(max_bytes) from None
    if not data:
        raise InvalidSubmission("The file is empty.", field="file")
    if challenge.kind == SubmissionKind.CODE:
        return _check_code(storage, challenge, data, filename, queue)
    return _check_predictions(storage, challenge, data, filename)


def _check_predictions(storage: Storage, challenge: Challenge, data: bytes, filename: str) -> CheckResult:
    spec = ScoringSpec.from_dict(challenge.scoring_spec)
    try:
        solution = read_solution(storage.local_file(challenge.solution_key), spec)
    except (BundleError, OSError):
        # The organizer's problem, and its text may quote the solution: say nothing more.
        raise Unavailable("This challenge's answer key cannot be read; its organizers must fix it.") from None
    try:
        submission = read_submission(data, spec, solution.ids)
    except SubmissionError as exc:
        raise InvalidSubmission(str(exc), field="file",
                                details={"column": exc.column, "rows": exc.rows}) from None
    columns = [spec.id_column, *spec.target_columns]
    message = f"{len(submission)} rows with the columns {', '.join(columns)}: this file would be scored."
    return CheckResult(filename, challenge.kind.value, len(data), rows=len(submission), columns=columns,
                       message=message)


def _check_code(storage: Storage, challenge: Challenge, data: bytes, filename: str, queue) -> CheckResult:  # noqa: ANN001
    """The visible run of a real submission, on a worker (runner.checks), with a short time limit."""
    if not filename.lower().endswith((".py", ".zip")):
        raise InvalidSubmission(f"This is a code challenge: submit {submission_format(challenge).what}.", field="file")
    if queue is None:
        raise Unavailable("Checking code needs a scoring worker, and none is configured here.")
    check_id = secrets.token_hex(12)
    key = f"checks/{check_id}/upload" + (".zip" if filename.lower().endswith(".zip") else ".py")
    storage.save_stream(key, io.BytesIO(data))
    try:
        job = enqueue_check(queue, check_id, challenge.id, key, filename)
        answer = wait_for_check(job, challenge.rules)
    except RedisError:
        raise Unavailable("The check could not be queued; try again in a minute.") from None
    finally:
        storage.delete(key)
    if answer is None:
        raise Unavailable("No scoring worker took the check in time: they are busy or stopped. Try again in a "
                          "few minutes; submitting still works.")
    logs = answer.get("logs") or ""
    if answer.get("passed"):
        details = answer.get("details") or {}
        return CheckResult(filename, challenge.kind.value, len(data), rows=details.get("rows"),
                           message=answer.get("message") or "", logs=logs, ran=True)
    if answer.get("status") != "failed":
        raise Unavailable("The check broke on our side, not yours; try again in a few minutes.")
    detail = answer.get("error_detail") or {}
    raise InvalidSubmission(answer.get("message") or "The visible run failed.", field="file",
                            details={"column": detail.get("column"), "rows": detail.get("rows") or [], "logs": logs})
