"""Which scorer a prediction file gets (no Docker here: the warm scorer is faked through its Protocol)."""

from __future__ import annotations

from pathlib import Path

import pytest

from heldout.config import Settings
from heldout.models import SubmissionStatus
from heldout.runner.context import RunnerContext
from heldout.runner.execute import SCORER_LIMITS, score_predictions
from heldout.runner.outcome import ScoringTask
from heldout.runner.run import run_task
from heldout.runner.sandbox.base import RunResult
from heldout.runner.sandbox.warm import ScoreFiles, WarmSandboxLost, WarmScore, should_recycle
from heldout.storage import LocalStorage

SPEC = {"metric": "rmse", "id_dtype": "int"}


class FakeScorer:
    def __init__(self, answer):
        self.answer = answer
        self.seen: list[ScoreFiles] = []

    def score(self, files, limits):
        assert limits == SCORER_LIMITS
        self.seen.append(files)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self):
        pass


class NoSandbox:
    name = "none"

    def run(self, request):
        raise AssertionError("a fresh sandbox was used")


@pytest.fixture
def storage(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("sub.csv", "sol.csv", "predict.py"):
        (tmp_path / key).write_text("id,target\n1,1\n")
    return storage


def task(kind="predictions", file_key="sub.csv") -> ScoringTask:
    return ScoringTask(submission_id=7, run_token="t", kind=kind, file_key=file_key, filename=file_key, challenge_id=1,
                       challenge_version=1, scoring_spec=SPEC, solution_key="sol.csv", rules={}, data_keys={},
                       visible_data_keys={})


def test_a_prediction_file_is_scored_by_the_warm_scorer_with_the_stored_files(storage):
    payload = {"ok": True, "public_score": 0.5, "private_score": 0.25, "public_ci": [0.4, 0.6], "timings": {}}
    scorer = FakeScorer(WarmScore(RunResult(exit_code=0, stdout="", stderr="", duration_s=0.01), payload))
    outcome = score_predictions(NoSandbox(), storage, task(), scorer=scorer)
    assert (outcome.status, outcome.public_score, outcome.public_ci) == (SubmissionStatus.SCORED, 0.5, (0.4, 0.6))
    assert scorer.seen == [ScoreFiles(spec=SPEC, submission=storage.root / "sub.csv",
                                      solution=storage.root / "sol.csv")]


def test_a_lost_scorer_sandbox_is_a_platform_error_which_is_retried(storage):
    outcome = score_predictions(NoSandbox(), storage, task(), scorer=FakeScorer(WarmSandboxLost("killed")))
    assert outcome.status == SubmissionStatus.ERROR and outcome.internal_error == "killed"


def test_files_the_warm_scorer_cannot_see_go_to_a_fresh_sandbox(storage):
    with pytest.raises(AssertionError, match="a fresh sandbox was used"):
        score_predictions(NoSandbox(), storage, task(), scorer=FakeScorer(None))


def test_code_never_reaches_the_warm_scorer(storage):
    scorer = FakeScorer(AssertionError("participant code reached the warm scorer"))
    (storage.root / "predict.py").write_text("print('hi')\n")
    with pytest.raises(AssertionError, match="a fresh sandbox was used"):
        run_task(NoSandbox(), storage, task(kind="code", file_key="predict.py"), scorer)
    assert scorer.seen == []


@pytest.mark.parametrize("uses, limit_hit, changed, recycled", [
    (1, None, False, False), (499, None, False, False), (500, None, False, True),
    (3, "memory", False, True), (3, "time", False, True), (3, None, True, True),
])
def test_the_recycle_rule(uses, limit_hit, changed, recycled):
    assert should_recycle(uses, 500, limit_hit, changed) is recycled


def test_warm_is_for_the_docker_backend_only_and_fresh_needs_no_scorer(tmp_path):
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SCORER": "warm"})
    context = RunnerContext(settings=settings, sessions=None, storage=LocalStorage(tmp_path))  # type: ignore[arg-type]
    context.sandbox = type("Bubblewrap", (), {"name": "bubblewrap", "run": NoSandbox.run})()
    assert context.scorer is None
    fresh = RunnerContext(settings=settings.with_(scorer="fresh"), sessions=None,  # type: ignore[arg-type]
                          storage=LocalStorage(tmp_path))
    assert fresh.scorer is None and fresh._sandbox is None  # choosing fresh builds nothing


def test_docker_gets_a_warm_scorer_over_the_storage_root(tmp_path):
    from heldout.runner.sandbox.docker_backend import DockerSandbox

    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SCORER": "warm"})
    context = RunnerContext(settings=settings, sessions=None, storage=LocalStorage(tmp_path))  # type: ignore[arg-type]
    context.sandbox = DockerSandbox(image="heldout-sandbox:test", client=object())
    assert context.scorer.roots == [Path(tmp_path).resolve()]


def test_a_job_whose_scorer_sandbox_was_killed_is_retried_then_scored(settings, sessions, fake_redis, session):
    from datetime import timedelta

    from heldout.models import Challenge, Submission
    from heldout.runner.context import configure
    from heldout.runner.jobs import score_submission
    from heldout.runner.queue import scoring_queue
    from heldout.runner.reconciler import reconcile
    from tests.factories import make_challenge, make_submission, make_team, make_user
    from tests.fakes import scripted_context

    context = configure(scripted_context(settings, sessions, fake_redis))
    user = make_user(session)
    challenge = make_challenge(session)
    submission = make_submission(session, make_team(session, challenge, user), user)
    session.commit()
    for key in (submission.file_key, session.get(Challenge, challenge.id).solution_key):
        path = context.storage.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("id,y\n1,2\n")
    context.scorer = FakeScorer(WarmSandboxLost("the scorer sandbox stopped while scoring a file"))
    assert score_submission(submission.id) == "error"
    with sessions() as s:
        row = s.get(Submission, submission.id)
        assert row.retry_at is not None and "scorer sandbox stopped" in row.internal_error
    assert reconcile(sessions, scoring_queue(context.redis), now=row.retry_at + timedelta(seconds=1)).retried_errors == 1
    context.scorer = FakeScorer(WarmScore(RunResult(exit_code=0, stdout="", stderr="", duration_s=0.01),
                                          {"ok": True, "public_score": 0.5, "private_score": 0.25}))
    assert score_submission(submission.id) == "scored"


def test_the_warm_scorer_only_takes_files_its_sandbox_user_can_read(tmp_path):
    from heldout.runner.sandbox.docker_backend import DockerSandbox
    from heldout.runner.sandbox.warm import WarmScorer

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("id,y\n")
    tmp_path.chmod(0o755)
    scorer = WarmScorer(DockerSandbox(image="heldout-sandbox:test", client=object()), [tmp_path])
    assert scorer.container_path(tmp_path / "sub" / "a.csv") == "/files/0/sub/a.csv"
    (tmp_path / "sub").chmod(0o700)
    assert scorer.container_path(tmp_path / "sub" / "a.csv") is None  # a fresh sandbox copies it instead
    assert scorer.container_path(tmp_path.parent / "elsewhere.csv") is None
