"""The words for what a learner submits, so that no page says ``predict.py`` where the bundle runs something else."""

from __future__ import annotations

from dataclasses import dataclass

from heldout.models import Challenge, SubmissionKind


@dataclass(frozen=True)
class SubmissionFormat:
    """What a learner submits: a predictions CSV, or code whose entry point the bundle names.

    Code challenges run ``entrypoint`` (``predict.py`` unless the bundle says
    otherwise); reinforcement-learning ones load it as a policy defining ``act()``.
    Every page, the API and the client describe a submission with these words.
    """

    kind: str
    entrypoint: str | None = None
    reinforcement: bool = False

    @property
    def upload_label(self) -> str:
        if self.entrypoint is None:
            return "Your predictions (CSV, optionally gzipped)"
        defines = " defining act()" if self.reinforcement else ""
        return f"Your {self.entrypoint}{defines}, or a .zip with {self.entrypoint}"

    @property
    def what(self) -> str:
        """The thing to upload, after a verb: "a policy.py defining act(), or a .zip with policy.py"."""
        if self.entrypoint is None:
            return "a predictions CSV"
        defines = " defining act()" if self.reinforcement else ""
        return f"a {self.entrypoint} file{defines}, or a .zip with {self.entrypoint}"

    @property
    def summary(self) -> str:
        """One sentence for the API and the client: what to upload."""
        if self.entrypoint is None:
            return "A predictions CSV (optionally gzipped) with a header row and one row per test id."
        if self.reinforcement:
            return (f"A {self.entrypoint} defining act(observation) -> action (and optionally reset()), "
                    f"or a .zip holding {self.entrypoint}; it plays the evaluation episodes in a sandbox.")
        return (f"A {self.entrypoint}, or a .zip holding {self.entrypoint}, that reads /data and writes "
                "/output/submission.csv in a sandbox.")


def submission_format(challenge: Challenge) -> SubmissionFormat:
    if challenge.kind != SubmissionKind.CODE:
        return SubmissionFormat(kind=challenge.kind.value)
    reinforcement = (challenge.scoring_spec or {}).get("task_type") == "reinforcement"
    named = ((challenge.rules or {}).get("code") or {}).get("entrypoint")
    return SubmissionFormat(kind=challenge.kind.value, reinforcement=reinforcement,
                            entrypoint=named or ("policy.py" if reinforcement else "predict.py"))
