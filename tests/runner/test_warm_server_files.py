"""Ten thousand malformed files through one warm scorer server (runner.sandbox._warm_server), each in a forked
child of its own: each fails only itself, with an explanation, and the same server then scores an ordinary file
right.

The server runs here as a plain process, with the very source the scorer sandbox runs: what is tested is its
fork-per-file loop and the scorer's answer to each file, which the container does not change (its hardening is
tested with a few hundred files in test_scorer_warm.py, where each costs a round trip through the daemon).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from heldout.runner.execute import SCORER_LIMITS
from heldout.runner.sandbox import _protocol as proto
from heldout.runner.sandbox.warm import request_line, server_source
from tests.malformed import malformed_files

REPO = Path(__file__).resolve().parents[2]
GOOD = b"id,y\n1,1.0\n2,2.0\n3,3.0\n4,4.5\n"
SOLUTION = b"id,y,Usage\n1,1.0,Public\n2,2.0,Private\n3,3.0,Public\n4,4.0,Private\n"
SPEC = {"metric": "rmse", "id_dtype": "int", "target_columns": ["y"], "bootstrap_resamples": 0}
LIMITS = replace(SCORER_LIMITS, timeout_s=10)
MALFORMED_FILES = 10_000


class LocalServer:
    """The warm scorer's server in a process of its own, spoken to over pipes as the scorer sandbox is over its
    attach stream."""

    def __init__(self, work_root: Path):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-c", server_source(), str(work_root)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, cwd=work_root)
        ready = self._answer()
        assert ready.get("ready"), ready
        self.served = 0

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the server ended (status {self.process.poll()})"
        return json.loads(line)

    def score(self, submission: Path, solution: Path):
        """(the child's run, as the worker reads it; the scorer's result, or None)."""
        self.served += 1
        self.process.stdin.write(request_line(self.served, SPEC, str(submission), str(solution), LIMITS))
        self.process.stdin.flush()
        answer = self._answer()
        assert answer["id"] == self.served
        return proto.result_from_header(answer["header"], LIMITS, backend="local", memory_by_rlimit=True), \
            answer["payload"]

    def close(self) -> None:
        self.process.stdin.close()  # EOF: the server exits
        self.process.wait(timeout=30)


@pytest.fixture
def files(tmp_path):
    root = tmp_path
    (root / "solution.csv").write_bytes(SOLUTION)
    (root / "work").mkdir()
    return root


@pytest.fixture
def server(files):
    local = LocalServer(files / "work")
    yield local
    local.close()
    assert local.process.returncode == 0
    assert not list((files / "work").iterdir()), "a child's directory was left behind"


def assert_scores_normally(server, files):
    (files / "good.csv").write_bytes(GOOD)
    run, payload = server.score(files / "good.csv", files / "solution.csv")
    assert run.ok and payload["ok"]
    assert payload["public_score"] == 0.0 and payload["private_score"] == pytest.approx(0.5 / 2 ** 0.5)


def test_ten_thousand_malformed_files_each_fail_only_themselves_and_the_server_scores_on(server, files):
    @settings(max_examples=MALFORMED_FILES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(malformed_files(GOOD))
    def each_fails_only_itself(data):
        (files / "submission.csv").write_bytes(data)
        run, payload = server.score(files / "submission.csv", files / "solution.csv")
        assert run.limit_hit is None
        if payload and payload.get("ok"):
            assert run.exit_code == 0
        else:  # explained, never a crash: exit status 2 and the checker's message
            assert run.exit_code == 2 and payload["error"]["message"], (data, run.stderr)

    each_fails_only_itself()
    assert server.served >= MALFORMED_FILES  # one process served them all: it never restarted
    assert_scores_normally(server, files)
