"""Run one submission through the sandbox and say what happened. No database here.

Predictions: one container runs Heldout's trusted scorer with the submission
and the solution mounted read-only.

Code: two containers. Stage 1 runs the participant's code with the challenge's
public data read-only and no solution anywhere; it writes ``submission.csv``.
Stage 2, a fresh container, scores that file. The participant sees stage-1 logs
(capped), never stage 2's.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from heldout.models import SubmissionStatus
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.sandbox.base import (
    Limits,
    Mount,
    RunRequest,
    SandboxUnavailable,
    describe_limit,
    read_json_result,
)
from heldout.storage import Storage

MAX_DIAGNOSTICS_CHARS = 200_000
SCORER_LIMITS = Limits(timeout_s=120, memory_bytes=2 << 30, cpus=1.0, pids=64)


def limit_message(result, limits: Limits) -> str:  # noqa: ANN001
    """The sentence a participant reads when a limit ended their run."""
    return result.message or describe_limit(result.limit_hit, limits)


def score_predictions(sandbox, storage: Storage, task: ScoringTask, submission_path: Path | None = None,
                      labels: dict | None = None) -> Outcome:  # noqa: ANN001
    """Score a predictions file (the upload, or stage 1's output) in a fresh scoring container."""
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
        )
        result = sandbox.run(request)
        payload = read_json_result(workdir / "output" / "score.json")
        return interpret_scorer(result, payload)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def interpret_scorer(result, payload: dict | None) -> Outcome:  # noqa: ANN001
    base = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes, exit_code=result.exit_code)
    if result.exit_code == 0 and payload and payload.get("ok"):
        ci = payload.get("public_ci")
        return Outcome(status=SubmissionStatus.SCORED, public_score=_score(payload.get("public_score")),
                       private_score=_score(payload.get("private_score")),
                       public_ci=(float(ci[0]), float(ci[1])) if ci else None,
                       timings=payload.get("timings") or {}, diagnostics=_diagnostics(payload), **base)
    if result.exit_code == 2 and payload and isinstance(payload.get("error"), dict):
        detail = payload["error"]
        return Outcome.failed(str(detail.get("text") or detail.get("message")), error_detail=detail, **base)
    if result.limit_hit:
        return Outcome.failed("Scoring stopped because the submission was too large to score: "
                              + limit_message(result, SCORER_LIMITS) + ".", **base)
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
    """Stage 1 (participant code, no solution), then stage 2 (trusted scorer) on what it wrote."""
    workdir = Path(tempfile.mkdtemp(prefix="heldout-code-"))
    try:
        code_dir = workdir / "code"
        data_dir = workdir / "data"
        output_dir = workdir / "output"
        for d in (code_dir, data_dir, output_dir):
            d.mkdir()
        entrypoint = entrypoint_of(task.rules)
        failure = unpack_code(storage.local_file(task.file_key), task.filename, code_dir, entrypoint=entrypoint)
        if failure:
            return Outcome.failed(failure)
        for name, key in task.data_keys.items():
            # Hard links are free and keep the data read-only through the mount; copies are the fallback.
            target, source = data_dir / name, storage.local_file(key)
            try:
                target.hardlink_to(source)
            except OSError:
                shutil.copyfile(source, target)
        limits = code_limits(task.rules)
        result = sandbox.run(RunRequest(
            argv=["python3", entrypoint], workdir="/submission",
            env={"HELDOUT_DATA_DIR": "/data", "HELDOUT_OUTPUT_DIR": "/output"},
            mounts=[Mount(code_dir, "/submission"), Mount(data_dir, "/data")],
            limits=limits, output_dir=output_dir,
            labels={"heldout.submission": str(task.submission_id), "heldout.stage": "participant"},
        ))
        logs = _join_logs(result.stdout, result.stderr)
        base = dict(run_s=result.duration_s, peak_memory_bytes=result.peak_memory_bytes,
                    exit_code=result.exit_code, logs=logs)
        if result.limit_hit:
            return Outcome.failed("Your code was stopped: " + limit_message(result, limits) + ".", **base)
        if result.exit_code != 0:
            return Outcome.failed(f"Your code exited with status {result.exit_code}; see the logs.", **base)
        produced = output_dir / "submission.csv"
        if not produced.is_file():
            return Outcome.failed("Your code finished but did not write /output/submission.csv.", **base)
        scored = score_predictions(sandbox, storage, task, submission_path=produced)
        scored.logs = logs
        scored.run_s = (scored.run_s or 0) + (result.duration_s or 0)
        scored.peak_memory_bytes = result.peak_memory_bytes
        if scored.status == SubmissionStatus.FAILED:
            scored.error = "The submission.csv your code wrote was rejected: " + (scored.error or "")
        return scored
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def code_limits(rules: dict) -> Limits:
    code = (rules or {}).get("code") or {}
    return Limits(
        timeout_s=float(code.get("time_limit_s", 600)),
        memory_bytes=int(code.get("memory_mb", 1024)) * 1024 * 1024,
        cpus=float(code.get("cpus", 1.0)),
        pids=int(code.get("pids", 64)),
    )


def entrypoint_of(rules: dict) -> str:
    return ((rules or {}).get("code") or {}).get("entrypoint") or "predict.py"


def unpack_code(upload: Path, filename: str, target: Path, *, entrypoint: str = "predict.py") -> str | None:
    """Put a ``.py`` file or a zip into ``target``; returns a message for the participant if it is unusable."""
    if filename.lower().endswith(".py"):
        shutil.copyfile(upload, target / entrypoint)
        return None
    if not zipfile.is_zipfile(upload):
        return f"A code submission must be a {entrypoint} file or a .zip containing {entrypoint}."
    total = 0
    with zipfile.ZipFile(upload) as archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith("/") or ".." in Path(name).parts:
                return f"The zip contains an unsafe path: {name!r}."
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                return f"The zip contains a symbolic link: {name!r}."
            total += info.file_size
            if total > 512 * 1024 * 1024:
                return "The zip unpacks to more than 512 MB."
        archive.extractall(target)
    if not (target / entrypoint).is_file():
        return f"The zip has no {entrypoint} at its top level."
    return None


def _join_logs(stdout: str, stderr: str) -> str:
    parts = []
    if stdout:
        parts.append(stdout)
    if stderr:
        parts.append(stderr)
    return "\n".join(parts)


__all__ = ["score_predictions", "run_code", "interpret_scorer", "SandboxUnavailable"]
