"""Run one submission through the sandbox and say what happened. No database here.

Predictions: one container runs Heldout's trusted scorer with the submission
and the solution mounted read-only.

Code: a visible run, then a hidden run (see ``runner.visible`` for what the
learner sees of each). Stage 1 runs the participant's code with the challenge's
data read-only and no solution anywhere; it writes ``submission.csv``. In the
visible run that data is public and the file is checked against the example's
ids; in the hidden run it is the hidden test set, and stage 2, a fresh
container, scores the file. The participant sees the visible run's logs
(capped), never the hidden run's, nor stage 2's.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from heldout.challenges.code import code_limits as challenge_code_limits
from heldout.challenges.code import entrypoint_of, unpack_code
from heldout.challenges.errors import BundleError, SubmissionError
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.validation import read_submission, read_test_ids
from heldout.models import SandboxLimit, SubmissionStatus
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.sandbox.base import (
    Limits,
    SCORER,
    Mount,
    RunRequest,
    SandboxUnavailable,
    describe_limit,
    read_json_result,
)
from heldout.runner.sandbox.warm import ScoreFiles, WarmSandboxLost
from heldout.runner.visible import VisibleRun, hidden_limit, hidden_rejection, join_logs, last_line, with_visible_run
from heldout.storage import Storage

MAX_DIAGNOSTICS_CHARS = 200_000
SCORER_LIMITS = Limits(timeout_s=120, memory_bytes=2 << 30, cpus=1.0, pids=64)
HIDDEN_EXIT_MESSAGE = ("Your code exited with an error (a non-zero exit status) in the hidden run, after its visible "
                       "run passed. Neither the status nor what it printed there is shown: it ran on the hidden test "
                       "set.")


def limit_message(result, limits: Limits) -> str:  # noqa: ANN001
    """The sentence a participant reads when a limit ended their run."""
    return result.message or describe_limit(result.limit_hit, limits)


def score_predictions(sandbox, storage: Storage, task: ScoringTask, submission_path: Path | None = None,
                      labels: dict | None = None, scorer=None) -> Outcome:  # noqa: ANN001
    """Score a predictions file (the upload, or stage 1's output) in a fresh scoring container, or in the warm
    scorer's sandbox when one is given and can see the files (runner.sandbox.warm)."""
    if scorer is not None:
        warm = _score_warm(scorer, storage, task, submission_path)
        if warm is not None:
            return warm
    workdir = Path(tempfile.mkdtemp(prefix="heldout-score-"))
    try:
        (workdir / "input").mkdir()
        (workdir / "output").mkdir()
        spec_path = workdir / "input" / "spec.json"
        spec_path.write_text(json.dumps(task.scoring_spec))
        submission = submission_path or storage.local_file(task.file_key)
        request = RunRequest(
            argv=["python3", "-m", "heldout.challenges", "score", "--spec", "/input/spec.json",
                  "--submission", "/input/submission", "--solution", "/input/solution.csv",
                  "--out", "/output/score.json"],
            mounts=[Mount(spec_path, "/input/spec.json"), Mount(Path(submission), "/input/submission"),
                    Mount(storage.local_file(task.solution_key), "/input/solution.csv")],
            limits=SCORER_LIMITS, output_dir=workdir / "output",
            labels={"heldout.submission": str(task.submission_id), "heldout.stage": "score", **(labels or {})},
            role=SCORER,
        )
        result = sandbox.run(request)
        payload = read_json_result(workdir / "output" / "score.json")
        return interpret_scorer(result, payload)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _score_warm(scorer, storage: Storage, task: ScoringTask, submission_path: Path | None) -> Outcome | None:  # noqa: ANN001
    files = ScoreFiles(spec=task.scoring_spec, submission=Path(submission_path or storage.local_file(task.file_key)),
                       solution=storage.local_file(task.solution_key))
    try:
        scored = scorer.score(files, SCORER_LIMITS)
    except WarmSandboxLost as exc:
        # Not the file's fault as far as anyone knows: a platform error, which is retried (claims.record_outcome).
        return Outcome.platform_error(str(exc))
    return None if scored is None else interpret_scorer(scored.run, scored.payload)


def interpret_scorer(result, payload: dict | None) -> Outcome:  # noqa: ANN001
    base = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes, exit_code=result.exit_code)
    if result.exit_code == 0 and payload and payload.get("ok"):
        ci, private_ci = payload.get("public_ci"), payload.get("private_ci")
        return Outcome(status=SubmissionStatus.SCORED, public_score=_score(payload.get("public_score")),
                       private_score=_score(payload.get("private_score")),
                       public_ci=(float(ci[0]), float(ci[1])) if ci else None,
                       private_ci=(float(private_ci[0]), float(private_ci[1])) if private_ci else None,
                       timings=payload.get("timings") or {}, diagnostics=_diagnostics(payload), **base)
    if result.exit_code == 2 and payload and isinstance(payload.get("error"), dict):
        detail = payload["error"]
        return Outcome.failed(str(detail.get("text") or detail.get("message")), error_detail=detail, **base)
    if result.limit_hit:
        return Outcome.failed("Scoring stopped because the submission was too large to score: "
                              + limit_message(result, SCORER_LIMITS) + ".", limit_hit=SandboxLimit.of(result.limit_hit),
                              **base)
    return Outcome.platform_error(
        f"scorer exited with {result.exit_code}: {(result.stderr or '')[-2000:]}", **base)


def _diagnostics(payload: dict) -> dict | None:
    # Written by our own scorer, but a page renders it: keep only a dict of sane size.
    value = payload.get("diagnostics")
    if not isinstance(value, dict) or len(json.dumps(value)) > MAX_DIAGNOSTICS_CHARS:
        return None
    return value


def _score(value) -> float | None:  # noqa: ANN001
    # A split with no rows has no score (null); everything else is a finite float.
    return None if value is None else float(value)


def run_code(sandbox, storage: Storage, task: ScoringTask) -> Outcome:  # noqa: ANN001
    """A code submission: the visible run, then (if it passed) the hidden run (see runner.visible)."""
    visible = visible_code_run(sandbox, storage, task)
    if visible.failure is not None:  # the visible run did not pass
        return visible.failure
    return with_visible_run(hidden_code_run(sandbox, storage, task), visible)


def visible_code_run(sandbox, storage: Storage, task: ScoringTask, *, limits: Limits | None = None,
                     labels: dict | None = None) -> VisibleRun:  # noqa: ANN001
    """Stage 1 on the public example data; its output is checked against the example's ids, in this process
    (Heldout's own reader over the learner's bytes, as the web host's file check does). All of it is shown."""
    limits = limits or code_limits(task.rules)
    with tempfile.TemporaryDirectory(prefix="heldout-visible-", ignore_cleanup_errors=True) as tmp:
        unusable = _stage_code(storage, task, Path(tmp), task.visible_data_keys)
        if unusable:
            return VisibleRun.failed(unusable)
        result = sandbox.run(_participant_request(task, Path(tmp), limits, "visible", labels))
        if result.limit_hit:
            return VisibleRun.failed("Your code was stopped in the visible run: " + limit_message(result, limits)
                                     + ".", result)
        if result.exit_code != 0:
            line = last_line(result)
            return VisibleRun.failed(f"Your code exited with status {result.exit_code} in the visible run"
                                     + (f": {line}" if line else "; see its logs") + ".", result)
        produced = Path(tmp) / "output" / "submission.csv"
        if not produced.is_file():
            return VisibleRun.failed("Your code finished the visible run but did not write "
                                     "/output/submission.csv.", result)
        try:
            rows = _check_visible_output(storage, task, produced, Path(tmp) / "data")
        except SubmissionError as exc:
            return VisibleRun.failed("The submission.csv your code wrote in the visible run was rejected: "
                                     f"{exc}", result, error_detail=exc.to_dict())
        except BundleError as exc:
            return VisibleRun.broke(Outcome.platform_error(f"the visible run's example data: {exc}"),
                                    join_logs(result))
    return VisibleRun(message=f"Your code ran on the public example data in {result.duration_s:.1f} s and wrote a "
                              f"valid submission.csv ({rows} rows).", logs=join_logs(result),
                      run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes,
                      exit_code=result.exit_code, details={"rows": rows})


def hidden_code_run(sandbox, storage: Storage, task: ScoringTask) -> Outcome:  # noqa: ANN001
    """Stage 1 on the hidden data (no solution anywhere), then stage 2, the trusted scorer, on what it wrote.

    Nothing the code printed is kept; the outcome says only what runner.visible allows."""
    limits = code_limits(task.rules)
    with tempfile.TemporaryDirectory(prefix="heldout-code-", ignore_cleanup_errors=True) as tmp:
        unusable = _stage_code(storage, task, Path(tmp), task.data_keys)
        if unusable:
            return Outcome.failed(unusable)
        result = sandbox.run(_participant_request(task, Path(tmp), limits, "participant", None))
        base = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes, exit_code=result.exit_code)
        if result.limit_hit:
            return Outcome.failed("Your code was stopped in the hidden run: " + hidden_limit(result, limits) + ".",
                                  limit_hit=SandboxLimit.of(result.limit_hit), **base)
        if result.exit_code != 0:
            # The status itself is the code's choice (sys.exit(n) could spell a hidden value): only the category.
            return Outcome.failed(HIDDEN_EXIT_MESSAGE, **base)
        produced = Path(tmp) / "output" / "submission.csv"
        if not produced.is_file():
            return Outcome.failed("Your code finished the hidden run but did not write /output/submission.csv.",
                                  **base)
        scored = score_predictions(sandbox, storage, task, submission_path=produced)
    scored.run_s = (scored.run_s or 0) + (result.duration_s or 0)
    scored.peak_memory_bytes = result.peak_memory_bytes
    scored.exit_code = result.exit_code
    if scored.status == SubmissionStatus.FAILED:
        if scored.error_detail is not None:  # the checker's verdict, which may quote the file
            expected = [task.scoring_spec.get("id_column"), *(task.scoring_spec.get("target_columns") or [])]
            scored.error, scored.error_detail = hidden_rejection(scored.error_detail, expected)
        scored.error = "The submission.csv your code wrote in the hidden run was rejected: " + (scored.error or "")
    return scored


def _stage_code(storage: Storage, task: ScoringTask, workdir: Path, data_keys: dict[str, str]) -> str | None:
    """Unpack the code and link its /data into ``workdir``; a message for the learner when the upload is unusable."""
    for name in ("code", "data", "output"):
        (workdir / name).mkdir()
    failure = unpack_code(storage.local_file(task.file_key), task.filename, workdir / "code",
                          entrypoint=entrypoint_of(task.rules))
    if failure:
        return failure
    stage_data(storage, data_keys, workdir / "data")
    return None


def _participant_request(task: ScoringTask, workdir: Path, limits: Limits, stage: str,
                         labels: dict | None) -> RunRequest:
    return RunRequest(
        argv=["python3", entrypoint_of(task.rules)], workdir="/submission",
        env={"HELDOUT_DATA_DIR": "/data", "HELDOUT_OUTPUT_DIR": "/output"},
        mounts=[Mount(workdir / "code", "/submission"), Mount(workdir / "data", "/data")],
        limits=limits, output_dir=workdir / "output",
        labels={"heldout.submission": str(task.submission_id), "heldout.stage": stage, **(labels or {})},
    )


def _check_visible_output(storage: Storage, task: ScoringTask, produced: Path, data_dir: Path) -> int:
    """Rows of the visible run's submission.csv, checked like an upload against the example test's ids."""
    spec = ScoringSpec.from_dict(task.scoring_spec)
    mount = (task.rules or {}).get("test_mount")
    ids = None
    if mount and (data_dir / mount).is_file():
        ids = read_test_ids(data_dir / mount, spec, name=mount)
    max_bytes = int((task.rules or {}).get("max_submission_bytes") or spec.max_bytes)
    return len(read_submission(produced, replace(spec, max_bytes=min(spec.max_bytes, max_bytes)), ids))


def stage_data(storage: Storage, data_keys: dict[str, str], data_dir: Path) -> None:
    """Put the files a run sees at /data into ``data_dir`` (read-only through the mount anyway)."""
    for name, key in data_keys.items():
        # Hard links are free; copies are the fallback.
        target, source = data_dir / name, storage.local_file(key)
        try:
            target.hardlink_to(source)
        except OSError:
            shutil.copyfile(source, target)


def code_limits(rules: dict) -> Limits:
    """The sandbox limits of a challenge's code runs: the bundle's (heldout.challenges.code), defaults filled in."""
    return Limits(**asdict(challenge_code_limits(rules)))


__all__ = ["score_predictions", "run_code", "visible_code_run", "hidden_code_run", "interpret_scorer",
           "SandboxUnavailable"]
