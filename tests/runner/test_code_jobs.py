"""Code submissions through the real path: a visible run on the public example, then a hidden run on the
hidden test set. Hostile code ends `failed` with the limit it hit, and the next submission still scores; what
the code prints in the hidden run never comes back."""

from __future__ import annotations


import pytest

from heldout.challenges.bundle import load_bundle
from heldout.models import SubmissionStatus
from heldout.runner.checks import CHECK_TIME_LIMIT_S, check_limits, run_visible
from heldout.runner.execute import HIDDEN_EXIT_MESSAGE, code_limits, run_code
from heldout.runner.outcome import ScoringTask
from heldout.storage import LocalStorage
from tests.bundles import COPY_SAMPLE_PREDICT, LEAKING_PREDICT, assert_no_hidden_row, write_code_bundle


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """A code challenge's solution and runtime files in storage, as publishing leaves them."""
    root = tmp_path_factory.mktemp("code-challenge")
    storage = LocalStorage(root / "files")
    bundle_root = write_code_bundle(root / "bundle", time_limit=3)
    with load_bundle(bundle_root) as bundle:
        storage.save_file("solution.csv", bundle.solution.path)
        keys, visible = {}, {}
        for f in bundle.runtime_files:
            keys[f.name] = f"runtime/{f.name}"
            storage.save_file(keys[f.name], f.path)
        for f in bundle.example_files:
            visible[f.name] = f"example/{f.name}"
            storage.save_file(visible[f.name], f.path)
        spec = bundle.spec.to_dict()
    rules = {"code": {"entrypoint": "predict.py", "time_limit_s": 3, "memory_mb": 256, "cpus": 1.0},
             "test_mount": "test.csv"}
    hidden_rows = (bundle_root / "hidden" / "test.csv").read_text().splitlines()[1:]
    example_rows = (bundle_root / "example_test.csv").read_text().splitlines()[1:]
    return storage, spec, rules, keys, visible, hidden_rows, example_rows


def task_for(staged, code: str) -> ScoringTask:
    storage, spec, rules, keys, visible = staged[:5]
    key = f"uploads/{abs(hash(code))}.upload"
    path = storage.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
    return ScoringTask(submission_id=1, run_token="t", kind="code", file_key=key, filename="predict.py",
                       challenge_id=1, challenge_version=1, scoring_spec=spec, solution_key="solution.csv",
                       rules=rules, data_keys=keys, visible_data_keys=visible)


def run(staged, sandbox, code: str) -> object:
    return run_code(sandbox, staged[0], task_for(staged, code))


HOSTILE = {
    "sleeps forever": ("import time\nwhile True: time.sleep(1)\n", "time limit"),
    "allocates 10 GB": ("x = bytearray(10 * 1024 ** 3)\n", "memory"),
    "fork-bombs": ("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n", "process"),
    "fills /tmp": ("with open('/tmp/big', 'wb') as f:\n    while True: f.write(b'x' * (1 << 20))\n", ""),
    "opens a socket": ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\n", "exited with status"),
    "reads the solution": ("print(open('/input/solution.csv').read())\n", "exited with status"),
}


@pytest.mark.docker
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_code_fails_with_the_reason_and_the_next_run_scores(staged, participant_sandbox, no_docker_leftovers,
                                                                     name):
    code, reason = HOSTILE[name]
    outcome = run(staged, participant_sandbox, code)
    assert outcome.status == SubmissionStatus.FAILED, (outcome.error, outcome.internal_error)
    if name == "fork-bombs" and getattr(participant_sandbox, "runtime", None) == "runsc":
        # Under gVisor every process also costs gVisor's own memory: the bomb may hit that limit first.
        assert "process" in outcome.error or "memory" in outcome.error, outcome.error
    else:
        assert reason in outcome.error
    assert outcome.public_score is None
    healthy = run(staged, participant_sandbox, COPY_SAMPLE_PREDICT)
    assert healthy.status == SubmissionStatus.SCORED, (healthy.error, healthy.internal_error)


@pytest.mark.docker
def test_code_that_writes_no_submission_is_told_so(staged, docker_sandbox, no_docker_leftovers):
    outcome = run(staged, docker_sandbox, "print('hello')\n")
    assert outcome.status == SubmissionStatus.FAILED
    assert "did not write /output/submission.csv" in outcome.error and "hello" in outcome.logs


# -- the visible run and the hidden run ------------------------------------------------------------------------

# Valid on the example; on the hidden test set it writes each hidden row where the checker reads a number.
SMUGGLER = """\
import csv
lines = open("/data/test.csv").read().splitlines()
rows = list(csv.reader(lines))[1:]
hidden = len(rows) > 5
with open("/output/submission.csv", "w") as out:
    out.write("id,y\\n" + "".join(f"{r[0]},{('x=' + r[1]) if hidden else r[1]}\\n" for r in rows))
"""


def test_what_code_prints_in_the_hidden_run_never_comes_back(staged, bwrap_sandbox):
    hidden_rows, example_rows = staged[5], staged[6]
    outcome = run(staged, bwrap_sandbox, LEAKING_PREDICT)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == HIDDEN_EXIT_MESSAGE
    assert_no_hidden_row(hidden_rows, outcome.error, outcome.error_detail, outcome.logs, outcome.internal_error)
    # The learner reads the visible run, which printed the example's rows.
    assert all(f"ROW {row}" in outcome.logs for row in example_rows)


def test_the_hidden_runs_exit_status_is_not_told_since_the_code_chose_it(staged, bwrap_sandbox):
    # sys.exit(n) is one byte of the code's choosing: here, the first hidden row's feature.
    exits_with_a_hidden_value = ("import sys\nlines = open('/data/test.csv').read().splitlines()\n"
                                 "if len(lines) > 6:\n    sys.exit(int(float(lines[1].split(',')[1]) * 100) % 250 + 2)\n"
                                 + COPY_SAMPLE_PREDICT)
    outcome = run(staged, bwrap_sandbox, exits_with_a_hidden_value)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == HIDDEN_EXIT_MESSAGE and outcome.error_detail is None


def test_a_rejected_hidden_output_is_described_without_quoting_it(staged, bwrap_sandbox):
    outcome = run(staged, bwrap_sandbox, SMUGGLER)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error.startswith("The submission.csv your code wrote in the hidden run was rejected")
    assert outcome.error_detail["column"] == "y" and outcome.error_detail["rows"][0] == 2
    assert_no_hidden_row(staged[5], outcome.error, outcome.error_detail, outcome.logs)


def test_a_limit_hit_in_the_hidden_run_is_named_in_our_words_only(staged, bwrap_sandbox):
    stalls_on_hidden_data = ("import sys, time\nlines = open('/data/test.csv').read().splitlines()\n"
                             "if len(lines) > 6:\n    print(lines[1], file=sys.stderr)\n    time.sleep(60)\n"
                             + COPY_SAMPLE_PREDICT)
    outcome = run(staged, bwrap_sandbox, stalls_on_hidden_data)
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == "Your code was stopped in the hidden run: time limit of 3 s exceeded."
    assert_no_hidden_row(staged[5], outcome.error, outcome.error_detail, outcome.logs)


class StagesSeen:
    """A sandbox that runs each request on ``sandbox`` and notes its stage (visible, participant, score)."""

    def __init__(self, sandbox):  # noqa: ANN001
        self.sandbox, self.stages = sandbox, []

    def run(self, request):  # noqa: ANN001, ANN201
        self.stages.append(request.labels["heldout.stage"])
        return self.sandbox.run(request)


def test_a_crash_in_the_visible_run_shows_its_traceback_and_skips_the_hidden_run(staged, bwrap_sandbox):
    sandbox = StagesSeen(bwrap_sandbox)
    outcome = run(staged, sandbox, "import csv\nprint('starting')\nraise KeyError('no such column')\n")
    assert sandbox.stages == ["visible"]  # no hidden run, no scoring
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error == "Your code exited with status 1 in the visible run: KeyError: 'no such column'."
    assert "Traceback (most recent call last)" in outcome.logs and "starting" in outcome.logs
    assert 'raise KeyError' in outcome.logs


def test_a_visible_output_for_the_wrong_rows_fails_with_the_checkers_message(staged, bwrap_sandbox):
    outcome = run(staged, bwrap_sandbox, "open('/output/submission.csv', 'w').write('id,y\\n999,1.0\\n')\n")
    assert outcome.status == SubmissionStatus.FAILED
    assert outcome.error.startswith("The submission.csv your code wrote in the visible run was rejected: "
                                    "1 id(s) are not in the test set, e.g. '999'")


# -- "Check my file": the visible run alone -------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "import csv\nprint('starting')\nraise KeyError('no such column')\n",
    "print('wrote nothing')\n",
    "open('/output/submission.csv', 'w').write('id,y\\n999,1.0\\n')\n",
], ids=["crashes", "writes no file", "writes the wrong rows"])
def test_check_my_file_reports_what_the_visible_run_of_a_real_submission_reports(staged, bwrap_sandbox, code):
    task = task_for(staged, code)
    checked = run_visible(bwrap_sandbox, staged[0], task, limits=check_limits(task.rules))
    submitted = run_code(bwrap_sandbox, staged[0], task)
    assert submitted.status == SubmissionStatus.FAILED and not checked.passed
    assert (checked.message, checked.logs) == (submitted.error, submitted.logs)
    assert "the visible run" in checked.message


def test_a_check_keeps_the_challenges_limits_but_runs_for_at_most_30_seconds():
    long = {"code": {"time_limit_s": 600, "memory_mb": 512, "cpus": 2.0, "pids": 32}}
    assert CHECK_TIME_LIMIT_S == 30
    assert check_limits(long).timeout_s == 30 and check_limits(long).memory_bytes == code_limits(long).memory_bytes
    assert (check_limits(long).cpus, check_limits(long).pids) == (2.0, 32)
    assert check_limits({"code": {"time_limit_s": 10}}).timeout_s == 10


class Recorder:
    """A sandbox that runs each request in another and keeps the stage label of each."""

    def __init__(self, inner):
        self.inner, self.name, self.stages = inner, inner.name, []

    def check(self) -> None:
        self.inner.check()

    def run(self, request):  # noqa: ANN001, ANN201
        self.stages.append(request.labels.get("heldout.stage"))
        return self.inner.run(request)


def test_the_participants_code_runs_under_its_runtime_and_the_scorer_under_the_scorers(staged, bwrap_sandbox):
    from heldout.runner.sandbox.runtimes import RuntimeSplit

    participant, scorer = Recorder(bwrap_sandbox), Recorder(bwrap_sandbox)
    outcome = run(staged, RuntimeSplit(participant=participant, scorer=scorer), COPY_SAMPLE_PREDICT)
    assert outcome.status == SubmissionStatus.SCORED, (outcome.error, outcome.internal_error)
    assert participant.stages == ["visible", "participant"] and scorer.stages == ["score"]
