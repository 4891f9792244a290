"""The baseline check of a stored challenge: asked for by the organizer's upload, run by a worker, shown on
the organizer's page, required before publishing.

Why a job and not the upload request itself: a code baseline may use its challenge's whole time limit
(600 s by default) and a reinforcement-learning one plays every episode, while a web request should
answer in seconds, and in production the web hosts have no sandbox at all (the workers do). So the
upload stores the draft, marks its check ``pending`` and queues it; the worker runs
:func:`heldout.runner.baseline.check_baseline` (the same code as ``heldout challenges validate
--run-baseline``) and records the report. Each state change is one conditional ``UPDATE`` that says why
it is safe, as in :mod:`heldout.runner.claims`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from heldout.challenges.errors import BundleError
from heldout.models import Challenge, ChallengeFile
from heldout.runner.claims import run_data_keys

PENDING, PASSED, FAILED, ERROR = "pending", "passed", "failed", "error"


@dataclass(frozen=True)
class BaselineTask:
    """What a baseline check needs, as plain values and storage keys (no ORM object, no bundle)."""

    slug: str
    kind: str                   # "predictions" | "code"
    scoring_spec: dict          # what the scorer receives; its task_type says "reinforcement"
    rules: dict                 # code limits, entry point, environment: as a submission's run reads them
    solution_key: str
    script_key: str
    script_name: str
    score_min: float
    score_max: float
    file_keys: dict[str, str] = field(default_factory=dict)  # the learner's downloads, by name
    data_keys: dict[str, str] = field(default_factory=dict)  # what a code run mounts at /data, by name
    visible_data_keys: dict[str, str] = field(default_factory=dict)  # the same for its visible run


@dataclass
class BaselineReport:
    """How the check ended: ``passed``, ``failed`` (the bundle's fault) or ``error`` (the platform's)."""

    state: str
    score_min: float
    score_max: float
    public_score: float | None = None
    private_score: float | None = None
    errors: list[BundleError] = field(default_factory=list)
    logs: str = ""
    run_s: float | None = None

    @property
    def passed(self) -> bool:
        return self.state == PASSED

    def to_dict(self) -> dict:
        """Plain JSON values, for a JSON column."""
        out = asdict(self)
        out["errors"] = [{"message": e.message, "file": e.file, "field": e.field, "row": e.row} for e in self.errors]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "BaselineReport":
        values = dict(data)
        values["errors"] = [BundleError(**e) for e in values.get("errors") or []]
        return cls(**values)


def task_of_challenge(session: Session, challenge: Challenge) -> BaselineTask | None:
    """The check of the challenge's current bundle; None when it declares no baseline."""
    declared = (challenge.rules or {}).get("baseline")
    if not declared:
        return None
    files = {f.name: f.storage_key
             for f in session.scalars(select(ChallengeFile).where(ChallengeFile.challenge_id == challenge.id))}
    data_keys, visible_keys = run_data_keys(session, challenge)
    return BaselineTask(
        slug=challenge.slug, kind=challenge.kind.value, scoring_spec=dict(challenge.scoring_spec),
        rules=dict(challenge.rules or {}), solution_key=challenge.solution_key,
        script_key=declared.get("key") or "", script_name=declared["script"],
        score_min=float(declared["score_min"]), score_max=float(declared["score_max"]),
        file_keys=files, data_keys=data_keys, visible_data_keys=visible_keys)


def mark_pending(session: Session, challenge: Challenge) -> bool:
    """Ask for a check of the current bundle; False when it declares no baseline. The caller commits, then
    queues the job (a job that finds no pending row of this bundle does nothing)."""
    if not (challenge.rules or {}).get("baseline"):
        return False
    challenge.baseline_state, challenge.baseline_report = PENDING, None
    return True


def record_report(session: Session, challenge_id: int, content_hash: str, report: BaselineReport) -> bool:
    """Store a finished check, unless the bundle changed since it was asked for (then it is about an old
    bundle and the new one's own check is on its way); returns whether it was stored."""
    result = session.execute(
        update(Challenge)
        .where(Challenge.id == challenge_id, Challenge.content_hash == content_hash,
               Challenge.baseline_state == PENDING)
        .values(baseline_state=report.state, baseline_report=report.to_dict())
        .execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def unrunnable(task: BaselineTask, why: str) -> BaselineReport:
    return BaselineReport(state=ERROR, score_min=task.score_min, score_max=task.score_max,
                          errors=[BundleError(why)])


def report_of(challenge: Challenge) -> BaselineReport | None:
    return BaselineReport.from_dict(challenge.baseline_report) if challenge.baseline_report else None


def publish_refusal(challenge: Challenge) -> str | None:
    """Why the challenge may not be published yet, or None. A bundle that declares a baseline is published
    only once its check passed; one that declares none has nothing to check."""
    if not (challenge.rules or {}).get("baseline"):
        return None
    state = challenge.baseline_state
    if state == PASSED:
        return None
    if state == PENDING:
        return "The baseline check is still running: publish once it has passed."
    if state is None:
        return "The baseline has not been checked: run the check, and publish once it has passed."
    if state == ERROR:
        return "The baseline could not be run on the platform's side: run the check again."
    return "The baseline check did not pass: fix the bundle and upload it again."
