"""Score a reinforcement-learning submission: the policy and the evaluator in two sandboxes.

The policy must not be able to change its own score, so it never shares a
process, a file system or a PID namespace with anything that counts:

* the **policy sandbox** runs the participant's code
  (``python -m heldout.challenges.policy_host``) with the submission at
  ``/submission`` and the challenge's runtime files at ``/data``, read-only,
  and no solution anywhere;
* the **evaluator sandbox** runs Heldout's code only
  (``python -m heldout.challenges.evaluate``) with the spec, the environment
  and the solution (the episode seeds) read-only; it plays the episodes and
  writes ``score.json``, the scorer's contract (see ``execute.interpret_scorer``).

The two run at the same time, each a plain ``sandbox.run`` on its own thread,
and meet only through two named pipes in a host directory mounted read-only
into both: ``to_policy`` (observations) and ``from_policy`` (actions). The
kernel lets a FIFO be opened for writing through a read-only mount (its
read-only check covers regular files, directories and symlinks), while
nothing can be created, renamed or removed there (and in Docker the
directory is not even the sandbox user's). So all the policy can do is send
actions: it cannot see the seeds, reach the evaluator's ``/output``, or
signal its processes (another PID namespace).

If the policy's sandbox cannot start at all, the evaluator waits
``STARTUP_TIMEOUT_S`` for it before giving up; the exception from the
policy's run is then raised, as from any sandbox run.

The participant sees their policy's own output (capped) as logs, never the
evaluator's. A policy stopped by a limit fails with that limit's message; a
protocol failure (late, invalid, exited) with the evaluator's message.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from heldout.models import SubmissionStatus
from heldout.runner.execute import code_limits, interpret_scorer, limit_message, unpack_code
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.sandbox.base import Limits, Mount, RunRequest, RunResult, read_json_result
from heldout.storage import Storage

PIPES = "/pipes"
TO_POLICY = f"{PIPES}/to_policy"
FROM_POLICY = f"{PIPES}/from_policy"
# How long the policy may take to connect, and then again to load and say it is ready.
STARTUP_TIMEOUT_S = 60.0
# The evaluator outlives the policy's own limit by the connection wait and this margin, so
# that a slow policy ends with the policy's time limit, never with the evaluator's.
EVALUATOR_MARGIN_S = 30.0
EVALUATOR_LIMITS = Limits(memory_bytes=1 << 30, cpus=1.0, pids=64)


def run_reinforcement(sandbox, storage: Storage, task: ScoringTask) -> Outcome:  # noqa: ANN001
    """Play the submitted policy over the solution's seeded episodes; score its mean return."""
    environment = (task.rules or {}).get("environment")
    if not environment or not environment.get("name"):
        return Outcome.platform_error("reinforcement challenge without rules['environment']")
    workdir = Path(tempfile.mkdtemp(prefix="heldout-rl-"))
    try:
        code_dir, data_dir, input_dir, output_dir = (workdir / name for name in ("code", "data", "input", "output"))
        for folder in (code_dir, data_dir, input_dir, output_dir):
            folder.mkdir()
        entrypoint = ((task.rules or {}).get("code") or {}).get("entrypoint") or "policy.py"
        failure, policy_file = _unpack_policy(storage.local_file(task.file_key), task.filename, code_dir, entrypoint)
        if failure:
            return Outcome.failed(failure)
        _stage_data(storage, task.data_keys, data_dir)
        pipes = _make_pipes(workdir / "pipes")
        spec_path, environment_path = input_dir / "spec.json", input_dir / "environment.json"
        spec_path.write_text(json.dumps(task.scoring_spec))
        environment_path.write_text(json.dumps(environment))

        policy_limits = code_limits(task.rules)
        labels = {"heldout.submission": str(task.submission_id)}
        policy_request = RunRequest(
            # -P: the working directory (the submission) does not come first on sys.path, so a file of the
            # submission named like a module the host imports cannot replace it; policy_host adds the
            # submission's folder itself once connected, for the policy's own helper modules.
            argv=["python3", "-P", "-m", "heldout.challenges.policy_host", "--input", TO_POLICY,
                  "--output", FROM_POLICY, "--connect-timeout", f"{STARTUP_TIMEOUT_S:g}",
                  f"/submission/{policy_file}"],
            workdir="/submission", env={"HELDOUT_DATA_DIR": "/data"},
            mounts=[Mount(code_dir, "/submission"), Mount(data_dir, "/data"), Mount(pipes, PIPES)],
            limits=policy_limits, labels={**labels, "heldout.stage": "policy"},
        )
        evaluator_limits = replace(EVALUATOR_LIMITS,
                                   timeout_s=policy_limits.timeout_s + STARTUP_TIMEOUT_S + EVALUATOR_MARGIN_S)
        evaluator_request = RunRequest(
            argv=["python3", "-m", "heldout.challenges.evaluate", "--spec", "/input/spec.json",
                  "--solution", "/input/solution.csv", "--environment", "/input/environment.json",
                  "--to-policy", TO_POLICY, "--from-policy", FROM_POLICY, "--out", "/output/score.json",
                  "--startup-timeout", f"{STARTUP_TIMEOUT_S:g}"],
            mounts=[Mount(spec_path, "/input/spec.json"), Mount(environment_path, "/input/environment.json"),
                    Mount(storage.local_file(task.solution_key), "/input/solution.csv"), Mount(pipes, PIPES)],
            limits=evaluator_limits, output_dir=output_dir, labels={**labels, "heldout.stage": "evaluate"},
        )
        policy, evaluator = _run_together(sandbox, policy_request, evaluator_request)
        payload = read_json_result(output_dir / "score.json")
        return judge(policy, evaluator, payload, policy_limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def judge(policy: RunResult, evaluator: RunResult, payload: dict | None, policy_limits: Limits) -> Outcome:
    """One outcome from the two runs: the evaluator's score, or why there is none."""
    details = dict(logs=_logs(policy), peak_memory_bytes=policy.peak_memory_bytes, exit_code=policy.exit_code,
                   run_s=max(policy.duration_s or 0.0, evaluator.duration_s or 0.0))
    evaluated = evaluator.exit_code == 0 and evaluator.limit_hit is None and bool(payload and payload.get("ok"))
    if evaluated:
        # Every episode was played: how the policy's sandbox ended afterwards cannot matter.
        return replace(interpret_scorer(evaluator, payload), **details)
    if policy.limit_hit:
        # The evaluator only saw a policy that went quiet or away; the limit is the real reason.
        where = _submission_error_text(evaluator, payload)
        return Outcome.failed("Your policy was stopped: " + limit_message(policy, policy_limits)
                              + (f" ({where})" if where else "") + ".", **details)
    if evaluator.limit_hit:
        return Outcome.platform_error(f"the evaluator was stopped: {evaluator.message or evaluator.limit_hit}; "
                                      f"stderr: {(evaluator.stderr or '')[-2000:]}", **details)
    outcome = interpret_scorer(evaluator, payload)
    if outcome.status == SubmissionStatus.ERROR:
        outcome.internal_error = f"evaluator: {outcome.internal_error}"
    return replace(outcome, **details)


def _submission_error_text(evaluator: RunResult, payload: dict | None) -> str | None:
    if evaluator.exit_code == 2 and payload and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("text") or payload["error"].get("message") or "") or None
    return None


def _run_together(sandbox, policy: RunRequest, evaluator: RunRequest) -> tuple[RunResult, RunResult]:  # noqa: ANN001
    """Run both requests at once; wait for both, even when one of them raises, then raise."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="heldout-rl") as pool:
        policy_run = pool.submit(sandbox.run, policy)
        evaluator_run = pool.submit(sandbox.run, evaluator)
        # Leaving the block waits for both: the temp dirs are removed only once no sandbox mounts them.
    return policy_run.result(), evaluator_run.result()


def _unpack_policy(upload: Path, filename: str, code_dir: Path, entrypoint: str) -> tuple[str | None, str]:
    """(message for the participant or None, the policy's file name below ``code_dir``)."""
    return unpack_code(upload, filename, code_dir, entrypoint=entrypoint), entrypoint


def _stage_data(storage: Storage, data_keys: dict[str, str], data_dir: Path) -> None:
    for name, key in data_keys.items():
        target, source = data_dir / name, storage.local_file(key)
        try:
            target.hardlink_to(source)  # free, and read-only through the mount anyway
        except OSError:
            shutil.copyfile(source, target)


def _make_pipes(folder: Path) -> Path:
    """The FIFO directory shared by both sandboxes: nobody in a sandbox may add or replace anything there."""
    folder.mkdir()
    for name in (TO_POLICY, FROM_POLICY):
        fifo = folder / Path(name).name
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)  # the sandbox user is not the owner; mkfifo's mode is also cut by the umask
    os.chmod(folder, 0o755)  # traversable, not writable, by the sandbox user (and mounted read-only)
    return folder


def _logs(result: RunResult) -> str:
    return "\n".join(part for part in (result.stdout, result.stderr) if part)


__all__ = ["run_reinforcement", "judge"]
