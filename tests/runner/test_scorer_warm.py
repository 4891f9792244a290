"""The warm scorer (runner.sandbox.warm) against a real daemon: same scores as a fresh container, hostile files
fail only themselves, a killed scorer sandbox retries its submission, the recycle rule, and the sandbox contract.

One scorer sandbox serves the whole module (that is the point of it); no container may be left at the end.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from heldout.challenges.bundle import load_bundle
from heldout.models import SubmissionStatus
from heldout.runner.execute import SCORER_LIMITS, score_predictions
from heldout.runner.outcome import ScoringTask
from heldout.runner.sandbox.base import Limits
from heldout.runner.sandbox.warm import SERVER_MEMORY_BYTES, WARM_LABEL, ScoreFiles, WarmSandboxLost, WarmScorer
from heldout.storage import LocalStorage
from tests.malformed import malformed_files

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for p in (REPO / "challenges").iterdir()
                 if p.is_dir() and (p / "challenge.yaml").is_file() and load_bundle(p).kind == "predictions")
# Small limits, so a hostile file meets them in well under a second.
TIGHT = replace(SCORER_LIMITS, timeout_s=3, memory_bytes=200 << 20)
GOOD = b"id,y\n1,1.0\n2,2.0\n3,3.0\n4,4.5\n"
SOLUTION = b"id,y,Usage\n1,1.0,Public\n2,2.0,Private\n3,3.0,Public\n4,4.0,Private\n"
SPEC = {"metric": "rmse", "id_dtype": "int", "target_columns": ["y"], "bootstrap_resamples": 0}


def _leftovers() -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                          capture_output=True, text=True, timeout=30).stdout.split()


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    root.chmod(0o755)  # as a worker's data directory is: the sandbox's own user reads it
    return LocalStorage(root)


@pytest.fixture(scope="module")
def warm(docker_sandbox, storage):
    scorer = WarmScorer(docker_sandbox, [storage.root])
    yield scorer
    scorer.close()
    left = _leftovers()
    if left:
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, timeout=60)
    assert not left, f"sandbox containers left behind: {left}"


def put(storage, key: str, data: bytes) -> Path:
    path = storage.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def task(storage, spec: dict, submission: bytes, solution: bytes, name: str = "s") -> ScoringTask:
    put(storage, f"sub/{name}.csv", submission)
    put(storage, f"sol/{name}.csv", solution)
    return ScoringTask(submission_id=1, run_token="t", kind="predictions", file_key=f"sub/{name}.csv",
                       filename="p.csv", challenge_id=1, challenge_version=1, scoring_spec=spec,
                       solution_key=f"sol/{name}.csv", rules={}, data_keys={}, visible_data_keys={})


def warm_score(warm, storage, data: bytes, name: str, limits: Limits = TIGHT):
    put(storage, f"sub/{name}.csv", data)
    sol = put(storage, "sol/tiny.csv", SOLUTION)
    return warm.score(ScoreFiles(spec=SPEC, submission=storage.local_path(f"sub/{name}.csv"), solution=sol), limits)


def assert_scores_normally(warm, storage):
    """The next ordinary file, in the same scorer sandbox, gets its right score."""
    scored = warm_score(warm, storage, GOOD, "next")
    assert scored.run.ok and scored.payload["ok"]
    assert scored.payload["public_score"] == 0.0 and scored.payload["private_score"] == pytest.approx(0.5 / 2 ** 0.5)


def comparable(outcome) -> dict:
    return {k: v for k, v in vars(outcome).items() if k not in ("run_s", "peak_memory_bytes", "timings")}


@pytest.mark.parametrize("bundle_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_prediction_challenge_scores_the_same_warm_and_fresh(bundle_dir, warm, storage, docker_sandbox):
    bundle = load_bundle(bundle_dir)
    spec = bundle.spec.to_dict()
    spec["max_bytes"] = bundle.rules.max_submission_bytes
    t = task(storage, spec, bundle.sample_submission.path.read_bytes(), bundle.solution.path.read_bytes(),
             bundle_dir.name)
    fresh = score_predictions(docker_sandbox, storage, t)
    hot = score_predictions(docker_sandbox, storage, t, scorer=warm)
    assert fresh.status == SubmissionStatus.SCORED, fresh.internal_error or fresh.error
    assert comparable(hot) == comparable(fresh)  # scores, intervals, diagnostics, byte for byte


def bomb() -> bytes:
    """512 MiB of zeros in ~0.5 MiB: one gzip member of 1 MiB, repeated (a valid multi-member gzip file)."""
    member = gzip.compress(b"0" * (1 << 20), compresslevel=9)
    return gzip.compress(b"id,y\n1,") + member * 512


HOSTILE = {
    # A million rows against a 24 MiB budget: parsing them needs several times that.
    "exhausts memory": (lambda: b"id,y\n" + b"".join(b"%d,1.5\n" % i for i in range(1_000_000)),
                        replace(TIGHT, memory_bytes=24 << 20), "memory"),
    # Decompressed, more than the file-size limit: refused as such, or stopped by the memory budget.
    "decompression bomb": (bomb, TIGHT, None),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_fails_only_itself(name, warm, storage):
    make, limits, limit_hit = HOSTILE[name]
    scored = warm_score(warm, storage, make(), name.replace(" ", "-"), limits=limits)
    assert not (scored.payload and scored.payload.get("ok"))
    if limit_hit:
        assert scored.run.limit_hit == limit_hit
    else:
        assert scored.run.limit_hit == "memory" or "decompresses to more than" in scored.payload["error"]["message"]
    assert_scores_normally(warm, storage)


def test_a_file_that_makes_the_child_hang_is_stopped_at_its_time_limit(warm, storage):
    fifo = storage.local_path("sub/hangs.csv")
    fifo.parent.mkdir(parents=True, exist_ok=True)
    if not fifo.exists():
        os.mkfifo(fifo, 0o644)  # opening it blocks for ever: no writer
    sol = put(storage, "sol/tiny.csv", SOLUTION)
    scored = warm.score(ScoreFiles(spec=SPEC, submission=fifo, solution=sol), replace(TIGHT, timeout_s=1))
    assert scored.run.timed_out and scored.run.limit_hit == "time"
    assert warm.container_id is None  # a limit recycles the sandbox...
    assert_scores_normally(warm, storage)  # ...and the next file gets a new one


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(malformed_files(GOOD))
def test_malformed_files_each_fail_only_themselves(warm, storage, data):
    scored = warm_score(warm, storage, data, "malformed", limits=SCORER_LIMITS)
    assert scored.run.limit_hit is None
    if scored.payload and scored.payload.get("ok"):
        assert scored.run.exit_code == 0
    else:
        assert scored.run.exit_code == 2 and scored.payload["error"]["message"]  # explained, not a crash


def test_the_malformed_files_leave_the_scorer_sandbox_working(warm, storage):
    assert_scores_normally(warm, storage)


def test_killing_the_scorer_sandbox_mid_file_retries_the_submission(warm, storage, docker_sandbox):
    fifo = storage.local_path("sub/hangs.csv")
    if not fifo.exists():
        os.mkfifo(fifo, 0o644)
    assert_scores_normally(warm, storage)
    cid = warm.container_id
    threading.Timer(0.5, lambda: docker_sandbox.api.kill(cid)).start()
    sol = put(storage, "sol/tiny.csv", SOLUTION)
    with pytest.raises(WarmSandboxLost):
        warm.score(ScoreFiles(spec=SPEC, submission=fifo, solution=sol), replace(TIGHT, timeout_s=30))
    assert warm.container_id is None and cid[:12] not in _leftovers()
    # Through the runner: a platform error, which record_outcome retries (tests/runner/test_jobs.py).
    assert_scores_normally(warm, storage)
    cid = warm.container_id
    threading.Timer(0.5, lambda: docker_sandbox.api.kill(cid)).start()
    t = task(storage, SPEC, GOOD, SOLUTION, "killed")
    outcome = score_predictions(docker_sandbox, storage, t, scorer=_Slow(warm, fifo))
    assert outcome.status == SubmissionStatus.ERROR and "scorer sandbox stopped" in outcome.internal_error
    assert_scores_normally(warm, storage)


class _Slow:
    """The warm scorer reading a file that hangs, with a long time limit, so the kill comes first."""

    def __init__(self, warm, hangs: Path):
        self.warm, self.hangs = warm, hangs

    def score(self, files, limits):
        return self.warm.score(replace(files, submission=self.hangs), replace(TIGHT, timeout_s=30))


def test_the_scorer_sandbox_is_recycled_after_max_uses_and_when_the_image_changes(docker_sandbox, storage):
    generation = ["image-1"]
    scorer = WarmScorer(docker_sandbox, [storage.root], max_uses=2, generation=lambda: generation[0],
                        generation_check_s=0)
    try:
        ids = []
        for _ in range(3):
            assert_scores_normally(scorer, storage)
            ids.append(scorer.container_id)
        assert ids[0] is not None and ids[1] is None  # two files, then the sandbox goes...
        assert ids[2] not in (None, ids[0])  # ...and the third file gets a new one
        assert scorer.started == 2
        generation[0] = "image-2"
        assert_scores_normally(scorer, storage)
        assert scorer.started == 3 and scorer.container_id != ids[2]
    finally:
        scorer.close()


def test_files_outside_the_mounted_roots_are_left_to_a_fresh_sandbox_and_the_worker_says_so_once(warm, tmp_path,
                                                                                                   caplog):
    (tmp_path / "s.csv").write_bytes(GOOD)
    files = ScoreFiles(spec=SPEC, submission=tmp_path / "s.csv", solution=tmp_path / "s.csv")
    assert warm.score(files, TIGHT) is None and warm.score(files, TIGHT) is None
    said = [r.getMessage() for r in caplog.records if "warm scorer cannot read" in r.getMessage()]
    assert len(said) == 1 and "chmod o+rx" in said[0] and str(tmp_path / "s.csv") in said[0]


def test_the_scorer_sandbox_keeps_the_sandbox_contract(warm, storage, docker_sandbox):
    """No network, read-only root and files, non-root, no capabilities, memory/pids/CPU limits, never privileged."""
    assert_scores_normally(warm, storage)
    info = docker_sandbox.api.inspect_container(warm.container_id)
    hc, config = info["HostConfig"], info["Config"]
    assert hc["NetworkMode"] == "none" and hc["ReadonlyRootfs"] and hc["CapDrop"] == ["ALL"]
    assert hc["SecurityOpt"] == ["no-new-privileges"] and not hc["Privileged"]
    assert hc["Memory"] == hc["MemorySwap"] == TIGHT.memory_bytes + SERVER_MEMORY_BYTES
    assert hc["PidsLimit"] == TIGHT.pids and hc["NanoCpus"] == int(TIGHT.cpus * 1e9)
    assert config["User"] == "10001:10001" and config["Labels"][WARM_LABEL] == "1"
    assert all(m["RW"] is False for m in info["Mounts"] if m["Type"] == "bind")
    probe = ("import os, socket\n"
             "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); print('net')\n"
             "except OSError: print('no-net')\n"
             "for p in ('/x', '/files/0/x'):\n"
             "    try: open(p, 'w'); print('wrote', p)\n"
             "    except OSError: print('read-only', p)\n"
             "print(os.getuid())\n")
    out = docker_sandbox.api.exec_start(docker_sandbox.api.exec_create(warm.container_id, ["python3", "-c", probe]))
    assert out.decode().split("\n")[:4] == ["no-net", "read-only /x", "read-only /files/0/x", "10001"]
