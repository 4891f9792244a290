"""Reinforcement-learning submissions, scored by an evaluator the policy cannot reach.

The policy runs in one sandbox, the evaluator (environment, seeds, scorer) in
another; they share two named pipes and nothing else. Every cheat below
either has no effect on the score or fails the submission. Real Docker (and
bubblewrap for the baseline); skipped without them, failed under
HELDOUT_TEST_STRICT=1.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import tempfile
import textwrap
import time
import uuid
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest

from heldout.challenges.bundle import load_bundle
from heldout.challenges.environments import make_environment
from heldout.challenges.environments.cartpole import run_episode
from heldout.models import SubmissionStatus
from heldout.runner.checks import check_limits, run_visible
from heldout.runner.outcome import ScoringTask
from heldout.runner.reinforcement import judge, run_reinforcement
from heldout.runner.sandbox.base import Limits, RunResult
from heldout.storage import LocalStorage

BUNDLE = Path(__file__).resolve().parents[2] / "challenges" / "cartpole-balance"
BASELINE = (BUNDLE / "policy.py").read_text()


# -- the challenge and its submissions ----------------------------------------------------------------

@pytest.fixture(scope="module")
def cartpole():
    with load_bundle(BUNDLE) as bundle:
        rows = list(csv.DictReader(io.StringIO(bundle.solution.path.read_text())))
        return {
            "spec": bundle.spec.to_dict(),
            "rules": {"code": asdict(bundle.rules.code), "environment": asdict(bundle.environment),
                      "runtime_keys": {}},
            "rows": rows,
            "score_range": (bundle.baseline.score_min, bundle.baseline.score_max),
        }


def few_episodes(rows: list[dict]) -> list[dict]:
    """Three Public and three Private episodes: enough to tell a changed score, quick to play."""
    public = [r for r in rows if r["Usage"] == "Public"][:3]
    private = [r for r in rows if r["Usage"] == "Private"][:3]
    return public + private


def solution_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["episode", "seed", "Usage"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def baseline_scores(rows: list[dict], params: dict) -> tuple[float, float]:
    """(public, private) mean return of the shipped baseline, played in-process: the score to expect."""
    spec = importlib.util.spec_from_file_location("baseline_policy", BUNDLE / "policy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    env = make_environment("cartpole", params)

    def mean(usage):
        returns = [run_episode(env, module.act, int(r["seed"])) for r in rows if r["Usage"] == usage]
        return sum(returns) / len(returns)

    return mean("Public"), mean("Private")


class Submitter:
    """Stores a solution and an upload; builds the ScoringTask the worker would claim."""

    def __init__(self, root: Path, cartpole: dict):
        self.storage = LocalStorage(root / "storage")
        self.cartpole = cartpole
        self.submission_ids: list[int] = []

    def task(self, source: str | bytes, *, filename: str = "policy.py", rows: list[dict] | None = None,
             code: dict | None = None, environment: dict | None = None) -> ScoringTask:
        submission_id = uuid.uuid4().int % 10**9  # unique label: this test's containers can be found
        self.submission_ids.append(submission_id)
        rows = rows if rows is not None else few_episodes(self.cartpole["rows"])
        solution_key, file_key = f"solutions/{submission_id}.csv", f"uploads/{submission_id}/{filename}"
        self._put(solution_key, solution_text(rows).encode())
        self._put(file_key, source.encode() if isinstance(source, str) else source)
        self._put("files/cartpole.py", (BUNDLE / "cartpole.py").read_bytes())
        rules = dict(self.cartpole["rules"])
        rules["code"] = {**rules["code"], **(code or {})}
        rules["environment"] = {**rules["environment"], **(environment or {})}
        return ScoringTask(submission_id=submission_id, run_token="t", kind="code", file_key=file_key,
                           filename=filename, challenge_id=1, challenge_version=1,
                           scoring_spec=dict(self.cartpole["spec"]), solution_key=solution_key, rules=rules,
                           data_keys={"cartpole.py": "files/cartpole.py"},
                           visible_data_keys={"cartpole.py": "files/cartpole.py"})

    def _put(self, key: str, data: bytes) -> None:
        path = self.storage.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _containers_of(submission_id: int) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=heldout.submission={submission_id}"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.split()


def _rl_temp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("heldout-rl-*")}


@pytest.fixture
def submitter(tmp_path, cartpole):
    """Submissions of one test; afterwards neither their containers nor their temp dirs may remain.

    Scoped to this test's own submission ids rather than every heldout.sandbox
    container: other runs may share the Docker daemon, and their containers
    are none of this test's business.
    """
    before = _rl_temp_dirs()
    sub = Submitter(tmp_path, cartpole)
    yield sub
    left = [cid for sid in sub.submission_ids for cid in _containers_of(sid)]
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, timeout=60)
    assert not left, f"sandbox containers left behind: {left}"
    assert _rl_temp_dirs() <= before, "run_reinforcement left temp dirs behind"


# Marked, so that `-m "not docker"` (a run without the Docker lock) leaves the Docker half out.
@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "bubblewrap"])
def any_sandbox(request):
    return request.getfixturevalue("docker_sandbox" if request.param == "docker" else "bwrap_sandbox")


def assert_baseline_score(outcome, rows, cartpole):
    assert outcome.status == SubmissionStatus.SCORED, (outcome.error, outcome.internal_error, outcome.logs)
    public, private = baseline_scores(rows, cartpole["rules"]["environment"]["params"])
    assert outcome.public_score == pytest.approx(public)
    assert outcome.private_score == pytest.approx(private)


def policy(body: str) -> str:
    """A policy module: ``body`` (the mischief), then the baseline's own act()."""
    return body + "\n" + BASELINE


# -- the honest policy ---------------------------------------------------------------------------------

def test_the_shipped_baseline_scores_within_its_stated_range(any_sandbox, submitter, cartpole):
    rows = cartpole["rows"]
    outcome = run_reinforcement(any_sandbox, submitter.storage, submitter.task(BASELINE, rows=rows))
    assert_baseline_score(outcome, rows, cartpole)
    low, high = cartpole["score_range"]
    assert low <= outcome.public_score <= high and low <= outcome.private_score <= high
    assert outcome.public_ci and outcome.public_ci[0] <= outcome.public_score <= outcome.public_ci[1]


@pytest.mark.docker
def test_a_zipped_policy_imports_its_own_helpers_and_sees_the_runtime_data(participant_sandbox, submitter, cartpole):
    """Under runc, and with the policy under gVisor beside an evaluator under runc (their pipes cross runtimes)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        # A zip holds the entrypoint named by the challenge (policy.py here) at its top level.
        zf.writestr("policy.py", "import os\nfrom helpers import act\n"
                                  "print('data:', sorted(os.listdir(os.environ['HELDOUT_DATA_DIR'])))\n")
        zf.writestr("helpers.py", BASELINE)
    task = submitter.task(archive.getvalue(), filename="policy.zip")
    outcome = run_reinforcement(participant_sandbox, submitter.storage, task)
    assert_baseline_score(outcome, few_episodes(cartpole["rows"]), cartpole)
    assert "data: ['cartpole.py']" in outcome.logs


@pytest.mark.docker
def test_it_works_beside_a_prestarted_pool(docker_sandbox, submitter, cartpole):
    from heldout.runner.sandbox.pool import PrestartedPool

    with PrestartedPool(docker_sandbox, size=1) as pool:
        outcome = run_reinforcement(pool, submitter.storage, submitter.task(BASELINE))
    assert_baseline_score(outcome, few_episodes(cartpole["rows"]), cartpole)


# -- cheats that change nothing ------------------------------------------------------------------------

FORGER = textwrap.dedent("""
    import json, os
    fake = {"ok": True, "public_score": 1e9, "private_score": 1e9, "public_ci": [1e9, 1e9],
            "public_rows": 3, "private_rows": 3}
    for path in ("/output/score.json", "/tmp/score.json", "/pipes/score.json", "/output/returns.csv"):
        try:
            with open(path, "w") as fh:
                fh.write(json.dumps(fake) if path.endswith(".json") else "episode,return\\n0,1e9\\n")
        except OSError as exc:
            print("cannot write", path, exc)
    for path in ("/pipes/to_policy", "/pipes/from_policy"):
        for attempt in (lambda: os.replace("/tmp/score.json", path), lambda: os.unlink(path),
                        lambda: os.chmod(path, 0o600)):
            try:
                attempt()
                print("TAMPERED", path)
            except OSError as exc:
                print("cannot tamper with", path, exc)
""")

SNOOPER = textwrap.dedent("""
    import os, sys
    # What only the solution holds, spelled so that this file itself does not contain it.
    SECRETS = ["seed," + "Usage"] + [s[::-1] for s in {reversed_seeds!r}]
    def snoop():
        for path in ("/input/solution.csv", "/input/spec.json", "/input/environment.json", "/solution.csv",
                     "/output/score.json", "/proc/1/environ", "/proc/1/root/input/solution.csv"):
            try:
                print("FOUND", path, open(path).read()[:100])
            except OSError:
                pass
        for top in ("/", "/tmp", "/submission", "/data", "/pipes", "/opt", "/etc", "/var", "/home", "/root"):
            for folder, dirs, files in os.walk(top):
                dirs[:] = [d for d in dirs if os.path.join(folder, d) not in
                           ("/proc", "/sys", "/usr", "/dev", sys.prefix, sys.base_prefix)]  # big, and public
                for name in files:
                    path = os.path.join(folder, name)
                    try:  # regular files only: opening one of the pipes would only block the snooper
                        if (os.path.isfile(path) and os.path.getsize(path) < 1 << 20
                                and any(s in open(path, errors="replace").read() for s in SECRETS)):
                            print("FOUND", path)
                    except OSError:
                        pass
    snoop()
""")

NOISY = textwrap.dedent("""
    import os, sys
    print('{"ok": true, "public_score": 1e9}')
    os.write(1, b'{"ready": true}\\n{"action": 1}\\n' * 100)
    sys.stderr.write("{\\"action\\": 7}\\n")
""")

KILLER = textwrap.dedent("""
    import os, signal
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
        for target in (-1, 1):
            try:
                os.kill(target, sig)
            except OSError as exc:
                print("cannot signal", target, exc)
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as exc:
                print("cannot kill", pid, exc)
""")


@pytest.mark.parametrize("mischief", [FORGER, SNOOPER, NOISY, KILLER],
                         ids=["forges-a-score", "snoops-for-the-solution", "prints-protocol-junk", "kills-processes"])
def test_a_cheat_that_cannot_reach_the_evaluator_leaves_the_score_unchanged(any_sandbox, submitter, cartpole,
                                                                           mischief):
    rows = few_episodes(cartpole["rows"])
    reversed_seeds = [r["seed"][::-1] for r in rows if r["Usage"] == "Private"]
    task = submitter.task(policy(mischief.replace("{reversed_seeds!r}", repr(reversed_seeds))), rows=rows)
    outcome = run_reinforcement(any_sandbox, submitter.storage, task)
    assert_baseline_score(outcome, rows, cartpole)
    assert "FOUND" not in outcome.logs and "TAMPERED" not in outcome.logs


# -- cheats and accidents that fail ------------------------------------------------------------------------

FORGED_ANSWER = textwrap.dedent("""
    import json
    # Speak for the host, straight into the answer pipe: the evaluator only ever reads actions there.
    with open("/pipes/from_policy", "w") as pipe:
        pipe.write(json.dumps({"ready": True}) + "\\n")
        pipe.write(json.dumps({"ok": True, "public_score": 1e9, "return": 1e9}) + "\\n")
""")

SLEEPER = textwrap.dedent("""
    import time
    steps = [0]
    def act(observation):
        steps[0] += 1
        if steps[0] > 3:
            time.sleep(60)
        return 0
""")

QUITTER = textwrap.dedent("""
    import sys
    steps = [0]
    def act(observation):
        steps[0] += 1
        if steps[0] > 5:
            sys.exit(0)
        return 0
""")

HOG = textwrap.dedent("""
    def act(observation):
        hoard = bytearray(b"x") * (1 << 30)
        return 0
""")

SLOWPOKE = textwrap.dedent("""
    import time
    def act(observation):
        time.sleep(0.05)
        return 1 if observation[2] + 0.5 * observation[3] > 0 else 0
""")


@pytest.mark.parametrize("source, options, words", [
    (policy(FORGED_ANSWER), {}, "policy answered action None at episode 0 step 0"),
    (SLEEPER, {"environment": {"step_timeout_s": 0.5}}, "policy did not answer within 0.5 s at episode 0 step 3"),
    (QUITTER, {}, "policy exited at episode 0 step 5"),
    (HOG, {"code": {"memory_mb": 128}}, "Your policy was stopped in the visible run: memory limit of 128 MiB exceeded"),
    (SLOWPOKE, {"code": {"time_limit_s": 2}}, "Your policy was stopped in the visible run: time limit of 2 s exceeded"),
    ("def act(observation):\n    return 2\n", {}, "policy answered action 2 at episode 0 step 0"),
    ("import torch\n", {}, "policy exited while starting"),
], ids=["forges-answers", "sleeps-past-the-step-timeout", "exits-early", "exceeds-memory", "exceeds-time",
        "invalid-action", "crashes-on-import"])
def test_a_policy_that_breaks_the_rules_fails_with_a_message(any_sandbox, submitter, source, options, words):
    started = time.monotonic()
    outcome = run_reinforcement(any_sandbox, submitter.storage, submitter.task(source, **options))
    assert outcome.status == SubmissionStatus.FAILED, (outcome, outcome.logs)
    assert words in outcome.error
    assert outcome.public_score is None and outcome.private_score is None
    # The policy's sandbox ends with the evaluation, not at its 300 s time limit.
    assert time.monotonic() - started < 20


# Prints every observation it is shown, as the evaluator sent it.
PRINTER = textwrap.dedent("""
    import json
    def act(observation):
        print("OBS", json.dumps(observation))
        return 1 if observation[2] > 0 else 0
""")


def first_observations(rows: list[dict], usage: str, params: dict) -> list[str]:
    env = make_environment("cartpole", params)
    return [json.dumps(env.reset(int(r["seed"]))) for r in rows if r["Usage"] == usage]


def test_a_policy_shows_its_public_episodes_and_never_a_private_one(bwrap_sandbox, submitter, cartpole):
    rows = few_episodes(cartpole["rows"])
    outcome = run_reinforcement(bwrap_sandbox, submitter.storage, submitter.task(PRINTER, rows=rows))
    assert outcome.status == SubmissionStatus.SCORED, (outcome.error, outcome.internal_error)
    params = cartpole["rules"]["environment"]["params"]
    assert all(f"OBS {obs}" in outcome.logs for obs in first_observations(rows, "Public", params))
    assert not any(obs in outcome.logs for obs in first_observations(rows, "Private", params))


@pytest.mark.parametrize("source", ["print('loading')\ndef decide(observation):\n    return 0\n",
                                    "def act(observation):\n    return {'left': 0}[observation]\n"],
                         ids=["without act()", "crashing in act()"])
def test_check_my_file_reports_what_the_visible_run_of_a_real_submission_reports(bwrap_sandbox, submitter, source):
    task = submitter.task(source)
    checked = run_visible(bwrap_sandbox, submitter.storage, task, limits=check_limits(task.rules))
    submitted = run_reinforcement(bwrap_sandbox, submitter.storage, task)
    assert submitted.status == SubmissionStatus.FAILED and not checked.passed
    assert (checked.message, checked.logs) == (submitted.error, submitted.logs)
    assert "in the visible run" in checked.message and checked.logs


@pytest.mark.docker
def test_the_participant_sees_their_policy_logs_and_never_the_evaluators(docker_sandbox, submitter):
    source = "import sys\nprint('hello from the policy')\ndef act(o):\n    raise ValueError('boom')\n"
    outcome = run_reinforcement(docker_sandbox, submitter.storage, submitter.task(source))
    assert outcome.status == SubmissionStatus.FAILED
    assert "hello from the policy" in outcome.logs and "ValueError: boom" in outcome.logs
    assert "heldout/challenges/evaluate" not in outcome.logs and "seed" not in outcome.logs


# -- combining the two runs, without containers --------------------------------------------------------------

LIMITS = Limits(timeout_s=300, memory_bytes=1 << 30)


def _run(exit_code, **extra) -> RunResult:
    return RunResult(exit_code=exit_code, stdout=extra.pop("stdout", ""), stderr=extra.pop("stderr", ""),
                     duration_s=1.0, **extra)


SCORED = {"ok": True, "public_score": 42.0, "private_score": 40.0, "public_ci": [38.0, 46.0],
          "public_rows": 3, "private_rows": 3}
PROTOCOL_ERROR = {"ok": False, "error": {"message": "policy exited at episode 2 step 9", "column": None,
                                         "rows": [], "text": "policy exited at episode 2 step 9",
                                         "quotes_input": False}}


def test_judge_scores_a_finished_evaluation_whatever_the_policy_did_afterwards():
    outcome = judge(_run(None, timed_out=True, limit_hit="time", stderr="late"), _run(0), SCORED, LIMITS)
    assert outcome.status == SubmissionStatus.SCORED and outcome.public_score == 42.0
    assert outcome.logs is None  # the hidden run's output is never kept


def test_judge_names_the_limit_that_stopped_the_policy():
    policy = _run(137, limit_hit="memory", oom_killed=True, message="memory limit of 1024 MiB exceeded")
    outcome = judge(policy, _run(2), PROTOCOL_ERROR, LIMITS)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == ("Your policy was stopped in the hidden run: memory limit of 1024 MiB exceeded "
                             "(policy exited at episode 2 step 9).")


def test_judge_passes_on_a_protocol_error_that_quotes_nothing_the_policy_sent():
    outcome = judge(_run(0, stderr="Traceback ..."), _run(2), PROTOCOL_ERROR, LIMITS)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == ("Your policy failed in the hidden run, after its visible run passed: "
                             "policy exited at episode 2 step 9.")
    assert outcome.logs is None


def test_judge_does_not_repeat_what_the_policy_sent_in_the_hidden_run():
    quoting = {"ok": False, "error": {"message": "policy answered action [0.01, -0.2] at episode 4 step 0; "
                                                 "valid actions: 0, 1", "column": None, "rows": [],
                                      "text": "policy answered action [0.01, -0.2] ...", "quotes_input": True}}
    outcome = judge(_run(0, stdout="[0.01, -0.2]"), _run(2), quoting, LIMITS)
    assert outcome.status == SubmissionStatus.FAILED and "0.01" not in outcome.error
    assert "0.01" not in str(outcome.error_detail) and outcome.logs is None


@pytest.mark.parametrize("evaluator, payload", [
    (_run(1, stderr="KeyError: 'seed' in /input/solution.csv"), {"ok": False, "internal": True}),
    (_run(None, timed_out=True, limit_hit="time", stderr="KeyError: 'seed'"), None),
    (_run(0), None),
])
def test_judge_keeps_evaluator_failures_internal(evaluator, payload):
    outcome = judge(_run(0, stdout="policy says hi"), evaluator, payload, LIMITS)
    assert outcome.status == SubmissionStatus.ERROR and outcome.error is None
    assert outcome.logs is None
    if evaluator.stderr:
        assert "KeyError" in outcome.internal_error
