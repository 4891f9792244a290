"""Hostile code submissions through the real two-stage path: each ends `failed` with the limit it hit,
and the next submission still scores."""

from __future__ import annotations


import pytest

from heldout.challenges.bundle import load_bundle
from heldout.models import SubmissionStatus
from heldout.runner.execute import run_code
from heldout.runner.outcome import ScoringTask
from heldout.storage import LocalStorage
from tests.bundles import COPY_SAMPLE_PREDICT, write_code_bundle


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """A code challenge's solution and runtime files in storage, as publishing leaves them."""
    root = tmp_path_factory.mktemp("code-challenge")
    storage = LocalStorage(root / "files")
    with load_bundle(write_code_bundle(root / "bundle", time_limit=3)) as bundle:
        storage.save_file("solution.csv", bundle.solution.path)
        keys = {}
        for f in bundle.runtime_files:
            keys[f.name] = f"runtime/{f.name}"
            storage.save_file(keys[f.name], f.path)
        spec = bundle.spec.to_dict()
    rules = {"code": {"entrypoint": "predict.py", "time_limit_s": 3, "memory_mb": 256, "cpus": 1.0}}
    return storage, spec, rules, keys


def run(staged, docker_sandbox, code: str) -> object:
    storage, spec, rules, keys = staged
    key = f"uploads/{abs(hash(code))}.upload"
    path = storage.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
    task = ScoringTask(submission_id=1, run_token="t", kind="code", file_key=key, filename="predict.py",
                       challenge_id=1, challenge_version=1, scoring_spec=spec, solution_key="solution.csv",
                       rules=rules, data_keys=keys)
    return run_code(docker_sandbox, storage, task)


HOSTILE = {
    "sleeps forever": ("import time\nwhile True: time.sleep(1)\n", "time limit"),
    "allocates 10 GB": ("x = bytearray(10 * 1024 ** 3)\n", "memory"),
    "fork-bombs": ("import os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n", "process"),
    "fills /tmp": ("with open('/tmp/big', 'wb') as f:\n    while True: f.write(b'x' * (1 << 20))\n", ""),
    "opens a socket": ("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\n", "exited with status"),
    "reads the solution": ("print(open('/input/solution.csv').read())\n", "exited with status"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_code_fails_with_the_reason_and_the_next_run_scores(staged, docker_sandbox, no_docker_leftovers,
                                                                     name):
    code, reason = HOSTILE[name]
    outcome = run(staged, docker_sandbox, code)
    assert outcome.status == SubmissionStatus.FAILED, (outcome.error, outcome.internal_error)
    assert reason in outcome.error
    assert outcome.public_score is None
    healthy = run(staged, docker_sandbox, COPY_SAMPLE_PREDICT)
    assert healthy.status == SubmissionStatus.SCORED, (healthy.error, healthy.internal_error)


def test_code_that_writes_no_submission_is_told_so(staged, docker_sandbox, no_docker_leftovers):
    outcome = run(staged, docker_sandbox, "print('hello')\n")
    assert outcome.status == SubmissionStatus.FAILED
    assert "did not write /output/submission.csv" in outcome.error and "hello" in outcome.logs
