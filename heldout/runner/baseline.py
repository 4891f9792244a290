"""Check a bundle's baseline: run it in the sandbox, score what it produced, compare with its stated range.

One code path for ``heldout challenges validate --run-baseline`` (a bundle on disk, run at once),
the organizer's upload (a stored challenge, run by a worker as a job: see ``jobs.check_baseline``)
and the shipped bundles' tests:

* a **predictions** bundle's baseline script runs with the learner's downloads in its working
  folder (``heldout.challenges.baseline_host``) and must write ``submission.csv`` there; that file
  is scored by the trusted scorer in a fresh sandbox, as an uploaded submission is;
* a **code** or **reinforcement-learning** bundle's baseline is run exactly as a submitted
  entry point would be (:func:`heldout.runner.run.run_task`).

The baseline is the organizer's own code, so its output is theirs to read: a baseline that fails
comes back with its log. A score outside ``baseline.score`` is a problem naming that field, the
score and the range.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from heldout.challenges.bundle import rules_of_bundle
from heldout.challenges.bundle_schema import YAML_NAME
from heldout.challenges.errors import BundleError
from heldout.models import SubmissionStatus
from heldout.runner.baseline_checks import ERROR, FAILED, PASSED, BaselineReport, BaselineTask
from heldout.runner.execute import code_limits, limit_message, score_predictions
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.run import run_task
from heldout.runner.sandbox.base import Mount, RunRequest, SandboxUnavailable

# A predictions bundle states no limits of its own for its baseline: these match a code challenge's defaults.
PREDICTIONS_BASELINE_LIMITS = code_limits({})
MAX_LOG_CHARS = 20_000


def check_baseline(sandbox, storage, task: BaselineTask) -> BaselineReport:  # noqa: ANN001
    """Run the baseline and judge its scores (an ``error`` report when no sandbox could run it)."""
    try:
        if task.kind == "code" or task.scoring_spec.get("task_type") == "reinforcement":
            outcome = run_task(sandbox, storage, _as_submission(task))
        else:
            outcome = _run_predictions_baseline(sandbox, storage, task)
    except SandboxUnavailable as exc:
        return unavailable(task, exc)
    return judge(task, outcome)


def judge(task: BaselineTask, outcome: Outcome) -> BaselineReport:
    report = BaselineReport(state=PASSED, score_min=task.score_min, score_max=task.score_max,
                            public_score=outcome.public_score, private_score=outcome.private_score,
                            logs=_tail(outcome.logs or ""), run_s=outcome.run_s)
    if outcome.status == SubmissionStatus.ERROR:
        report.state = ERROR
        report.errors.append(BundleError(f"the baseline could not be run on the platform's side: "
                                         f"{outcome.internal_error}"))
    elif outcome.status == SubmissionStatus.FAILED:
        report.state = FAILED
        report.errors.append(BundleError(f"the baseline did not produce a score: {outcome.error}",
                                         task.script_name, "baseline.script"))
    else:
        for split, score in (("public", outcome.public_score), ("private", outcome.private_score)):
            if score is not None and not task.score_min <= score <= task.score_max:
                report.state = FAILED
                report.errors.append(BundleError(
                    f"the baseline scored {score:.6g} on the {split} split, outside the stated range "
                    f"{task.score_min:g} to {task.score_max:g}", YAML_NAME, "baseline.score"))
    return report


def unavailable(task: BaselineTask, exc: SandboxUnavailable) -> BaselineReport:
    return BaselineReport(state=ERROR, score_min=task.score_min, score_max=task.score_max,
                          errors=[BundleError(f"no sandbox could run the baseline: {exc}")])


def _as_submission(task: BaselineTask) -> ScoringTask:
    """The baseline's entry point as a submission of it would be run (no row: id 0)."""
    return ScoringTask(submission_id=0, run_token="baseline", kind=task.kind, file_key=task.script_key,
                       filename=task.script_name, challenge_id=0, challenge_version=0,
                       scoring_spec=task.scoring_spec, solution_key=task.solution_key, rules=task.rules,
                       data_keys=task.data_keys, visible_data_keys=task.visible_data_keys)


def _run_predictions_baseline(sandbox, storage, task: BaselineTask) -> Outcome:  # noqa: ANN001
    workdir = Path(tempfile.mkdtemp(prefix="heldout-baseline-"))
    try:
        script_dir, data_dir, output_dir = workdir / "script", workdir / "data", workdir / "output"
        for folder in (script_dir, data_dir, output_dir):
            folder.mkdir()
        _place(storage, task.script_key, script_dir / task.script_name)
        for name, key in task.file_keys.items():
            _place(storage, key, data_dir / name)
        limits = PREDICTIONS_BASELINE_LIMITS
        result = sandbox.run(RunRequest(
            argv=["python3", "-m", "heldout.challenges.baseline_host", "--data", "/data", "--workdir", "/output",
                  f"/baseline/{task.script_name}"],
            mounts=[Mount(script_dir, "/baseline"), Mount(data_dir, "/data")], limits=limits,
            output_dir=output_dir, labels={"heldout.submission": "0", "heldout.stage": "baseline"},
        ))
        logs = "\n".join(part for part in (result.stdout, result.stderr) if part)
        base = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes,
                    exit_code=result.exit_code, logs=logs)
        if result.limit_hit:
            return Outcome.failed("it was stopped: " + limit_message(result, limits), **base)
        if result.exit_code != 0:
            return Outcome.failed(f"it exited with status {result.exit_code}; its output is below", **base)
        produced = output_dir / "submission.csv"
        if not produced.is_file():
            return Outcome.failed("it finished but wrote no submission.csv in its working folder",
                                  **base)
        scored = score_predictions(sandbox, storage, _as_submission(task), submission_path=produced,
                                   labels={"heldout.stage": "baseline-score"})
        scored.logs = logs
        scored.run_s = (scored.run_s or 0) + (result.duration_s or 0)
        if scored.status == SubmissionStatus.FAILED:
            scored.error = "the submission.csv it wrote was rejected: " + (scored.error or "")
        return scored
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _place(storage, key: str, target: Path) -> None:  # noqa: ANN001
    source = storage.local_file(key)
    try:
        target.hardlink_to(source)  # free, and read-only through the mount anyway
    except OSError:
        shutil.copyfile(source, target)


def _tail(logs: str) -> str:
    return logs if len(logs) <= MAX_LOG_CHARS else "…\n" + logs[-MAX_LOG_CHARS:]


class BundleFiles:
    """A bundle on disk seen as read-only storage: each key is a file's path, for :func:`task_of_bundle`.

    A file the sandbox's user could not read (mode 0600 in the organizer's folder) is copied once
    into a private temporary folder with mode 0644, as storage keeps its files."""

    def __init__(self, paths: dict[str, Path]):
        self.paths = {key: Path(path).resolve() for key, path in paths.items()}
        self._copies: Path | None = None

    def local_file(self, key: str) -> Path:
        path = self.paths[key]
        if path.stat().st_mode & stat.S_IROTH:
            return path
        if self._copies is None:
            self._copies = Path(tempfile.mkdtemp(prefix="heldout-baseline-files-"))
        copy = self._copies / key.replace("/", "_")
        if not copy.exists():
            shutil.copyfile(path, copy)
            os.chmod(copy, 0o644)
        return copy

    def exists(self, key: str) -> bool:
        return key in self.paths

    def close(self) -> None:
        if self._copies is not None:
            shutil.rmtree(self._copies, ignore_errors=True)
            self._copies = None


def task_of_bundle(bundle) -> tuple[BaselineTask, BundleFiles]:  # noqa: ANN001
    """The check of a loaded :class:`~heldout.challenges.bundle.Bundle` that declares a baseline, and its files."""
    paths: dict[str, Path] = {"solution": bundle.solution.path, "baseline": bundle.baseline.script.path}
    file_keys: dict[str, str] = {}
    data_keys: dict[str, str] = {}
    visible_keys: dict[str, str] = {}
    for prefix, files, keys in (("files", bundle.files, file_keys), ("runtime", bundle.runtime_files, data_keys),
                                ("example", bundle.example_files, visible_keys)):
        for f in files:
            keys[f.name] = f"{prefix}/{f.name}"
            paths[keys[f.name]] = f.path
    # As runner.claims.run_data_keys: no runtime files, the downloads.
    data_keys = data_keys or dict(file_keys)
    visible_keys = visible_keys or dict(file_keys)
    task = BaselineTask(
        slug=bundle.slug, kind=bundle.kind, scoring_spec=bundle.spec.to_dict(), rules=rules_of_bundle(bundle),
        solution_key="solution", script_key="baseline", script_name=bundle.baseline.script.name,
        score_min=bundle.baseline.score_min, score_max=bundle.baseline.score_max,
        file_keys=file_keys, data_keys=data_keys, visible_data_keys=visible_keys)
    return task, BundleFiles(paths)


def check_bundle_baseline(sandbox, bundle) -> BaselineReport:  # noqa: ANN001
    """:func:`check_baseline` for a bundle on disk (the CLI and the shipped bundles' tests)."""
    task, files = task_of_bundle(bundle)
    try:
        return check_baseline(sandbox, files, task)
    finally:
        files.close()
