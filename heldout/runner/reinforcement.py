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

This evaluation happens twice (see ``runner.visible``): the visible run plays
the public episodes only, and the participant reads their policy's own output
there (capped), never the evaluator's; the hidden run then plays every
episode, and nothing the policy prints there is kept. A policy stopped by a
limit fails with that limit's message; a protocol failure (late, invalid,
exited) with the evaluator's message, reduced in the hidden run to what
quotes nothing the policy sent.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from heldout.challenges.code import POLICY_ENTRYPOINT, entrypoint_of, unpack_code
from heldout.models import SandboxLimit, SubmissionStatus
from heldout.runner.execute import code_limits, interpret_scorer, limit_message, stage_data
from heldout.runner.outcome import Outcome, ScoringTask
from heldout.runner.sandbox.base import SCORER, Limits, Mount, RunRequest, RunResult, read_json_result
from heldout.runner.visible import (
    VisibleRun,
    hidden_limit,
    hidden_rejection,
    join_logs,
    last_line,
    with_visible_run,
)
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
    """The visible run over the public episodes, then (if it passed) the hidden run over every episode."""
    visible = visible_policy_run(sandbox, storage, task)
    if visible.failure is not None:  # the visible run did not pass
        return visible.failure
    return with_visible_run(hidden_policy_run(sandbox, storage, task), visible)


def visible_policy_run(sandbox, storage: Storage, task: ScoringTask, *, limits: Limits | None = None,
                       labels: dict | None = None) -> VisibleRun:  # noqa: ANN001
    """Play the public episodes only; everything the policy printed is the learner's to read."""
    policy_limits = limits or code_limits(task.rules)
    with tempfile.TemporaryDirectory(prefix="heldout-rl-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        (workdir / "input").mkdir()
        public = workdir / "input" / "public_episodes.csv"
        episodes = _public_episodes(storage.local_file(task.solution_key), task.scoring_spec, public)
        if episodes == 0:
            return VisibleRun(message="This challenge has no public episodes: the visible run has nothing to play.")
        played = _play(sandbox, storage, task, workdir, public, task.visible_data_keys, policy_limits,
                       "visible", labels)
    if isinstance(played, Outcome):
        return VisibleRun.failed(cast(str, played.error)) if played.status == SubmissionStatus.FAILED \
            else VisibleRun.broke(played)
    policy, evaluator, payload = played
    logs = join_logs(policy)
    if evaluator.exit_code == 0 and evaluator.limit_hit is None and bool(payload and payload.get("ok")):
        return VisibleRun(message=f"Your policy played the {episodes} public episodes to the end "
                                  f"({policy.duration_s:.1f} s).", logs=logs, run_s=policy.duration_s,
                          peak_memory_bytes=policy.peak_memory_bytes, exit_code=policy.exit_code,
                          details={"episodes": episodes})
    where = _submission_error_text(evaluator, payload)
    if policy.limit_hit:
        return VisibleRun.failed("Your policy was stopped in the visible run: " + limit_message(policy, policy_limits)
                                 + (f" ({where})" if where else "") + ".", policy)
    if where is not None:
        line = last_line(policy)
        return VisibleRun.failed(f"Your policy failed in the visible run: {where}" + (f" ({line})" if line else "")
                                 + ".", policy, error_detail=payload["error"])  # type: ignore[index]  # where is set
    return VisibleRun.broke(_evaluator_broke(evaluator, payload, policy), logs)


def hidden_policy_run(sandbox, storage: Storage, task: ScoringTask) -> Outcome:  # noqa: ANN001
    """Play every episode; nothing the policy printed is kept (a private episode's observations stay hidden)."""
    policy_limits = code_limits(task.rules)
    with tempfile.TemporaryDirectory(prefix="heldout-rl-", ignore_cleanup_errors=True) as tmp:
        (Path(tmp) / "input").mkdir()
        played = _play(sandbox, storage, task, Path(tmp), storage.local_file(task.solution_key), task.data_keys,
                       policy_limits, "policy", None)
    if isinstance(played, Outcome):
        return played
    return judge(*played, policy_limits)


def _play(sandbox, storage: Storage, task: ScoringTask, workdir: Path, solution: Path, data_keys: dict[str, str],
          policy_limits: Limits, stage: str,
          labels: dict | None) -> Outcome | tuple[RunResult, RunResult, dict | None]:  # noqa: ANN001
    """(policy run, evaluator run, score.json) of one evaluation over ``solution``'s episodes; or an Outcome
    when the submission or the challenge is unusable."""
    environment = (task.rules or {}).get("environment")
    if not environment or not environment.get("name"):
        return Outcome.platform_error("reinforcement challenge without rules['environment']")
    code_dir, data_dir, input_dir, output_dir = (workdir / name for name in ("code", "data", "input", "output"))
    for folder in (code_dir, data_dir, output_dir):
        folder.mkdir()
    entrypoint = entrypoint_of(task.rules, POLICY_ENTRYPOINT)
    failure = unpack_code(storage.local_file(task.file_key), task.filename, code_dir, entrypoint=entrypoint)
    if failure:
        return Outcome.failed(failure)
    stage_data(storage, data_keys, data_dir)
    pipes = _make_pipes(workdir / "pipes")
    spec_path, environment_path = input_dir / "spec.json", input_dir / "environment.json"
    spec_path.write_text(json.dumps(task.scoring_spec))
    environment_path.write_text(json.dumps(environment))
    labels = {"heldout.submission": str(task.submission_id), **(labels or {})}
    policy_request = RunRequest(
        # -P: the working directory (the submission) does not come first on sys.path, so a file of the
        # submission named like a module the host imports cannot replace it; policy_host adds the
        # submission's folder itself once connected, for the policy's own helper modules.
        argv=["python3", "-P", "-m", "heldout.challenges.policy_host", "--input", TO_POLICY,
              "--output", FROM_POLICY, "--connect-timeout", f"{STARTUP_TIMEOUT_S:g}",
              f"/submission/{entrypoint}"],
        workdir="/submission", env={"HELDOUT_DATA_DIR": "/data"},
        mounts=[Mount(code_dir, "/submission"), Mount(data_dir, "/data"), Mount(pipes, PIPES, fifos=True)],
        limits=policy_limits, labels={**labels, "heldout.stage": stage},
    )
    evaluator_limits = replace(EVALUATOR_LIMITS,
                               timeout_s=policy_limits.timeout_s + STARTUP_TIMEOUT_S + EVALUATOR_MARGIN_S)
    evaluator_request = RunRequest(
        argv=["python3", "-m", "heldout.challenges.evaluate", "--spec", "/input/spec.json",
              "--solution", "/input/solution.csv", "--environment", "/input/environment.json",
              "--to-policy", TO_POLICY, "--from-policy", FROM_POLICY, "--out", "/output/score.json",
              "--startup-timeout", f"{STARTUP_TIMEOUT_S:g}"],
        mounts=[Mount(spec_path, "/input/spec.json"), Mount(environment_path, "/input/environment.json"),
                Mount(solution, "/input/solution.csv"), Mount(pipes, PIPES, fifos=True)],
        limits=evaluator_limits, output_dir=output_dir, labels={**labels, "heldout.stage": f"{stage}-evaluate"},
        role=SCORER,
    )
    policy, evaluator = _run_together(sandbox, policy_request, evaluator_request)
    return policy, evaluator, read_json_result(output_dir / "score.json")


def _public_episodes(solution: Path, scoring_spec: dict, target: Path) -> int:
    """Write the solution's Public rows (the organizer's file, read here as trusted) to ``target``; how many."""
    usage = scoring_spec.get("usage_column") or "Usage"
    with open(solution, newline="", encoding="utf-8") as source, open(target, "w", newline="",
                                                                       encoding="utf-8") as out:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [], lineterminator="\n")
        writer.writeheader()
        count = 0
        for row in reader:
            if (row.get(usage) or "").strip().casefold() == "public":
                writer.writerow(row)
                count += 1
    return count


def judge(policy: RunResult, evaluator: RunResult, payload: dict | None, policy_limits: Limits) -> Outcome:
    """The hidden run's outcome from its two sandboxes: the evaluator's score, or why there is none.

    Nothing the policy wrote is kept: its logs are dropped, and a protocol error that quotes what it sent
    is reduced to where it happened (runner.visible.hidden_rejection)."""
    details: dict[str, Any] = dict(peak_memory_bytes=policy.peak_memory_bytes, exit_code=policy.exit_code,
                                   run_s=max(policy.duration_s or 0.0, evaluator.duration_s or 0.0))
    evaluated = evaluator.exit_code == 0 and evaluator.limit_hit is None and bool(payload and payload.get("ok"))
    if evaluated:
        # Every episode was played: how the policy's sandbox ended afterwards cannot matter.
        return replace(interpret_scorer(evaluator, payload), logs=None, **details)
    error = _submission_error(evaluator, payload)
    where, detail = hidden_rejection(error, []) if error is not None else (None, None)
    if policy.limit_hit:
        # The evaluator only saw a policy that went quiet or away; the limit is the real reason.
        return Outcome.failed("Your policy was stopped in the hidden run: " + hidden_limit(policy, policy_limits)
                              + (f" ({where})" if where else "") + ".", limit_hit=SandboxLimit.of(policy.limit_hit),
                              **details)
    if error is not None:
        return Outcome.failed(f"Your policy failed in the hidden run, after its visible run passed: {where}.",
                              error_detail=detail, **details)
    return replace(_evaluator_broke(evaluator, payload, policy), logs=None)


def _evaluator_broke(evaluator: RunResult, payload: dict | None, policy: RunResult) -> Outcome:
    """The evaluator (our code) was stopped or failed: a platform error, its stderr for the operators only."""
    details: dict[str, Any] = dict(peak_memory_bytes=policy.peak_memory_bytes, exit_code=policy.exit_code,
                   run_s=max(policy.duration_s or 0.0, evaluator.duration_s or 0.0))
    if evaluator.limit_hit:
        return Outcome.platform_error(f"the evaluator was stopped: {evaluator.message or evaluator.limit_hit}; "
                                      f"stderr: {(evaluator.stderr or '')[-2000:]}", **details)
    outcome = interpret_scorer(evaluator, payload)
    outcome.internal_error = f"evaluator: {outcome.internal_error}"
    return replace(outcome, **details)


def _submission_error(evaluator: RunResult, payload: dict | None) -> dict | None:
    """The evaluator's verdict on the policy (exit 2), or None."""
    if evaluator.exit_code == 2 and payload and isinstance(payload.get("error"), dict):
        return payload["error"]
    return None


def _submission_error_text(evaluator: RunResult, payload: dict | None) -> str | None:
    error = _submission_error(evaluator, payload)
    if error is None:
        return None
    return str(error.get("text") or error.get("message") or "") or None


def _run_together(sandbox, policy: RunRequest, evaluator: RunRequest) -> tuple[RunResult, RunResult]:  # noqa: ANN001
    """Run both requests at once; wait for both, even when one of them raises, then raise."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="heldout-rl") as pool:
        policy_run = pool.submit(sandbox.run, policy)
        evaluator_run = pool.submit(sandbox.run, evaluator)
        # Leaving the block waits for both: the temp dirs are removed only once no sandbox mounts them.
    return policy_run.result(), evaluator_run.result()


def _make_pipes(folder: Path) -> Path:
    """The FIFO directory shared by both sandboxes: nobody in a sandbox may add or replace anything there."""
    folder.mkdir()
    for name in (TO_POLICY, FROM_POLICY):
        fifo = folder / Path(name).name
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)  # the sandbox user is not the owner; mkfifo's mode is also cut by the umask
    os.chmod(folder, 0o755)  # traversable, not writable, by the sandbox user (and mounted read-only)
    return folder


__all__ = ["run_reinforcement", "visible_policy_run", "hidden_policy_run", "judge"]
