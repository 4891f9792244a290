"""The sandbox limit that stopped a run is stored with its outcome (tests/platform/test_limit_shown.py: shown)."""

from __future__ import annotations

import pytest

from heldout.models import SandboxLimit, Submission, SubmissionStatus
from heldout.runner.context import configure
from heldout.runner.execute import hidden_code_run, visible_code_run
from heldout.runner.jobs import score_submission
from heldout.runner.sandbox.base import LIMIT_MESSAGES
from tests.factories import make_challenge, make_submission, make_team, make_user
from tests.fakes import ScriptedSandbox, rejected, scripted_context
from tests.runner.test_code_jobs import staged, task_for  # noqa: F401 - a fixture

LIMITS = list(SandboxLimit)


def stopped_by(limit: SandboxLimit) -> tuple:
    """A sandbox run that a limit ended: no exit status after the time limit, SIGKILL's 137 otherwise."""
    return (None if limit is SandboxLimit.TIME else 137, None, limit.value)


def words_of(limit: SandboxLimit) -> str:
    return LIMIT_MESSAGES[limit.value].split("{")[0]


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.value for limit in LIMITS])
def test_each_limit_that_stops_the_scorer_is_stored_with_the_submission(settings, sessions, fake_redis, session,
                                                                         limit):
    context = scripted_context(settings, sessions, fake_redis)
    configure(context)
    user = make_user(session)
    submission = make_submission(session, make_team(session, make_challenge(session), user), user)
    session.commit()
    path = context.storage.local_path(submission.file_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,y\n1,2\n")
    context.sandbox.script = [stopped_by(limit)]
    assert score_submission(submission.id) == "failed"
    with sessions() as s:
        row = s.get(Submission, submission.id)
        assert row.limit_hit is limit
        assert words_of(limit) in row.error.lower()


def test_a_rejected_file_is_stopped_by_no_limit(settings, sessions, fake_redis, session):
    context = scripted_context(settings, sessions, fake_redis)
    configure(context)
    user = make_user(session)
    submission = make_submission(session, make_team(session, make_challenge(session), user), user)
    session.commit()
    path = context.storage.local_path(submission.file_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,y\n1,2\n")
    # The learner's own words may read like a limit: only the sandbox's report stores one.
    context.sandbox.script = [rejected("time limit of 3 s exceeded in my model")]
    assert score_submission(submission.id) == "failed"
    with sessions() as s:
        assert s.get(Submission, submission.id).limit_hit is None


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.value for limit in LIMITS])
def test_each_limit_that_stops_code_in_either_run_is_its_outcomes(staged, limit):  # noqa: F811
    storage = staged[0]
    task = task_for(staged, "print('hi')\n")
    visible = visible_code_run(ScriptedSandbox(script=[stopped_by(limit)]), storage, task)
    assert visible.failure.status == SubmissionStatus.FAILED and visible.failure.limit_hit is limit
    hidden = hidden_code_run(ScriptedSandbox(script=[stopped_by(limit)]), storage, task)
    assert hidden.status == SubmissionStatus.FAILED and hidden.limit_hit is limit
    assert words_of(limit) in hidden.error.lower()
    # Code that merely exits with an error hit no limit.
    assert hidden_code_run(ScriptedSandbox(script=[(1, None)]), storage, task).limit_hit is None
