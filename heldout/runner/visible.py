"""What a learner may learn of a code run: all of the visible run, and of the hidden run only what we decide.

A code (or policy) submission runs twice, as in Kaggle's code competitions:

* the **visible run**: the same code on the public example data (the bundle's
  ``rules.code.example_data``; for reinforcement learning, the public episodes
  only). Its logs, its traceback and the checker's full message are the
  learner's to read, since everything it saw was public. It comes first: if it
  fails, the hidden run is skipped and the learner sees why.
* the **hidden run**: the same code on the hidden data, in fresh sandboxes. Not
  one byte the code wrote there reaches the learner or is stored: not its
  stdout or stderr, not a traceback, not a value quoted from its output file.
  The learner learns its status, the limit it hit, that it exited with an
  error (not which status: ``sys.exit(n)`` is the code's choice, so it could
  spell a hidden value), or the checker's verdict on the file it wrote (the
  message as it is when it quotes nothing from the file, else a fixed sentence;
  with an expected column and the lines either way).

"Check my file" performs the visible run alone (``heldout.runner.checks``), so a
check reports exactly what the first half of a real submission would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from heldout.models import SandboxLimit
from heldout.runner.outcome import Outcome
from heldout.runner.sandbox.base import Limits, RunResult, describe_limit

# How many characters of the visible run's last log line a failure message quotes.
LAST_LINE_CHARS = 300


@dataclass
class VisibleRun:
    """How the visible run ended. ``failure`` is the submission's outcome when it failed (or broke on our side);
    None when it passed, and the hidden run may follow."""

    message: str
    logs: str = ""
    failure: Outcome | None = None
    run_s: float | None = None
    peak_memory_bytes: int | None = None
    exit_code: int | None = None
    details: dict = field(default_factory=dict)  # what it produced: {"rows": 40} or {"episodes": 5}

    @property
    def passed(self) -> bool:
        return self.failure is None

    @classmethod
    def failed(cls, message: str, result: RunResult | None = None, *, error_detail: dict | None = None) -> "VisibleRun":
        """The learner's failure, with everything ``result`` (the participant's run, if there was one) printed,
        and the limit that stopped it, if one did."""
        logs = join_logs(result) if result is not None else ""
        extra: dict[str, Any] = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes,
                                     exit_code=result.exit_code) if result is not None else {}
        limit = SandboxLimit.of(result.limit_hit) if result is not None else None
        return cls(message=message, logs=logs, failure=Outcome.failed(message, error_detail=error_detail, logs=logs,
                                                                       limit_hit=limit, **extra), **extra)

    @classmethod
    def broke(cls, outcome: Outcome, logs: str = "") -> "VisibleRun":
        """A platform error during the visible run: not the learner's fault (the job retries it)."""
        outcome.logs = logs
        return cls(message="The visible run broke on our side, not yours.", logs=logs, failure=outcome,
                   run_s=outcome.run_s, peak_memory_bytes=outcome.peak_memory_bytes, exit_code=outcome.exit_code)

    def to_dict(self) -> dict:
        """Plain JSON values (the check job's return value)."""
        failure = self.failure
        return {"passed": self.passed, "message": self.message, "logs": self.logs, "run_s": self.run_s,
                "peak_memory_bytes": self.peak_memory_bytes, "exit_code": self.exit_code, "details": self.details,
                "status": failure.status.value if failure is not None else None,
                "error_detail": failure.error_detail if failure is not None else None}


def with_visible_run(hidden: Outcome, visible: VisibleRun) -> Outcome:
    """The submission's outcome: the hidden run's verdict, with the visible run's logs and both runs' costs."""
    hidden.logs = visible.logs
    hidden.run_s = (hidden.run_s or 0.0) + (visible.run_s or 0.0)
    peaks = [p for p in (hidden.peak_memory_bytes, visible.peak_memory_bytes) if p]
    hidden.peak_memory_bytes = max(peaks) if peaks else None
    return hidden


def join_logs(result: RunResult) -> str:
    return "\n".join(part for part in (result.stdout, result.stderr) if part)


def last_line(result: RunResult) -> str:
    """The last non-empty line the run wrote (stderr first): a traceback's last line names the error."""
    for text in (result.stderr, result.stdout):
        lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
        if lines:
            line = lines[-1]
            return line if len(line) <= LAST_LINE_CHARS else line[:LAST_LINE_CHARS - 3] + "..."
    return ""


# -- the hidden run: fixed categories only ---------------------------------------------------------------

def hidden_limit(result: RunResult, limits: Limits) -> str:
    """The limit that stopped a hidden run, in our words only (``describe_limit``; never ``result.message``)."""
    return describe_limit(cast(str, result.limit_hit), limits)  # called when a limit was hit


def hidden_rejection(detail: dict, expected_columns: list[str]) -> tuple[str, dict]:
    """The checker's verdict on a file written in the hidden run: (text, error_detail) safe to show.

    A message that quotes nothing from the file is kept; one that may quote a
    value, a header or an id (``quotes_input``, true unless the checker said
    otherwise) is replaced by where the problem is. A column is named only when
    it is one the challenge expects (a header the code wrote could carry data).
    """
    column = detail.get("column") if detail.get("column") in expected_columns else None
    rows = [int(r) for r in (detail.get("rows") or []) if isinstance(r, int) and not isinstance(r, bool)][:10]
    if detail.get("quotes_input") is False:
        message = str(detail.get("message") or "invalid submission")
    else:
        message = ("it is not in the expected format (the checker's own message would quote what your code wrote "
                   "from the hidden data, so it is not shown: your visible run's file passed, so compare what your "
                   "code writes for the example and for other rows)")
    where = []
    if column is not None:
        where.append(f"column '{column}'")
    if rows:
        where.append("line" + ("s " if len(rows) > 1 else " ") + ", ".join(map(str, rows)))
    text = message + (f" ({'; '.join(where)})" if where else "")
    return text, {"message": message, "column": column, "rows": rows, "text": text, "quotes_input": False}


__all__ = ["VisibleRun", "with_visible_run", "hidden_limit", "hidden_rejection", "join_logs", "last_line"]
