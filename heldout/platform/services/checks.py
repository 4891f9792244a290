"""The dry run: would this file be accepted? Answered at once, on the web host, using none of the day's quota.

Only Heldout's own, trusted reading code runs here, over the learner's bytes:
the same ``read_submission`` the sandboxed scorer uses, so a file that passes
here is read the same way there. The solution contributes its ids alone (the
row set to match); nothing is scored, so no answer leaks through a dry run.
A code submission is unpacked and compiled, never run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from heldout.challenges.errors import BundleError, SubmissionError
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.validation import read_solution, read_submission
from heldout.models import Challenge, SubmissionKind
from heldout.platform.services.errors import ServiceError, Unavailable
from heldout.runner.execute import entrypoint_of, unpack_code
from heldout.storage import Storage

CHUNK = 1024 * 1024


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


def check_submission(storage: Storage, challenge: Challenge, *, stream: BinaryIO, filename: str,
                     max_bytes: int) -> CheckResult:
    """Check a file as a submission to ``challenge``; raises InvalidSubmission saying what to fix."""
    filename = (filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:255]
    if not filename:
        raise ServiceError("Choose a file to check.", field="file")
    data = _read_limited(stream, max_bytes)
    if not data:
        raise InvalidSubmission("The file is empty.", field="file")
    if challenge.kind == SubmissionKind.CODE:
        return _check_code(challenge, data, filename)
    return _check_predictions(storage, challenge, data, filename)


def _read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    parts, total = [], 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise ServiceError(f"The file is larger than this challenge's limit of {max_bytes:,} bytes.",
                               field="file", code="too_large")
        parts.append(chunk)
    return b"".join(parts)


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


def _check_code(challenge: Challenge, data: bytes, filename: str) -> CheckResult:
    entrypoint = entrypoint_of(challenge.rules)
    if not filename.lower().endswith((".py", ".zip")):
        raise InvalidSubmission(f"This is a code challenge: submit a {entrypoint} file or a .zip with {entrypoint}.",
                                field="file")
    with tempfile.TemporaryDirectory(prefix="heldout-check-") as tmp:
        upload, code_dir = Path(tmp) / "upload", Path(tmp) / "code"
        upload.write_bytes(data)
        code_dir.mkdir()
        # The runner's own unpacking: the same rules (safe paths, no links, size) and the same messages.
        problem = unpack_code(upload, filename, code_dir, entrypoint=entrypoint)
        if problem:
            raise InvalidSubmission(problem, field="file")
        try:
            compile((code_dir / entrypoint).read_bytes(), entrypoint, "exec")
        except (SyntaxError, ValueError) as exc:
            line = f" on line {exc.lineno}" if getattr(exc, "lineno", None) else ""
            raise InvalidSubmission(f"{entrypoint} does not compile{line}: {getattr(exc, 'msg', exc)}",
                                    field="file") from None
    return CheckResult(filename, challenge.kind.value, len(data),
                       message=f"{entrypoint} compiles; it is run, and its output checked, when you submit.")
