"""What one scoring run produced, as plain data (no ORM objects cross the sandbox wait)."""

from __future__ import annotations

from dataclasses import dataclass, field

from heldout.models import SandboxLimit, SubmissionStatus


@dataclass(frozen=True)
class ScoringTask:
    """Everything a run needs, copied out of the database before the sandbox starts."""

    submission_id: int
    run_token: str
    kind: str
    file_key: str
    filename: str
    challenge_id: int
    challenge_version: int
    scoring_spec: dict
    solution_key: str
    rules: dict
    data_keys: dict[str, str] = field(default_factory=dict)  # the hidden run's /data
    visible_data_keys: dict[str, str] = field(default_factory=dict)  # the visible run's /data: learner downloads
    attempt: int = 1  # which run of the submission this is (retries and rescores count)
    queue_wait_s: float | None = None  # from entering the queue to this claim


@dataclass
class Outcome:
    status: SubmissionStatus
    public_score: float | None = None
    private_score: float | None = None
    public_ci: tuple[float, float] | None = None
    # Never shown before the reveal, like the private score: the grades' tie bands use it.
    private_ci: tuple[float, float] | None = None
    error: str | None = None
    error_detail: dict | None = None
    internal_error: str | None = None
    limit_hit: SandboxLimit | None = None  # the sandbox limit that stopped the participant's run
    logs: str | None = None
    run_s: float | None = None
    peak_memory_bytes: int | None = None
    exit_code: int | None = None
    timings: dict = field(default_factory=dict)
    diagnostics: dict | None = None  # public split only

    @classmethod
    def failed(cls, message: str, **extra) -> "Outcome":
        return cls(status=SubmissionStatus.FAILED, error=message, **extra)

    @classmethod
    def platform_error(cls, message: str, **extra) -> "Outcome":
        return cls(status=SubmissionStatus.ERROR, internal_error=message, **extra)
