"""Loading bundles: a repeat is a no-op, a changed solution is a new version that re-queues every submission,
and a broken bundle stores nothing."""


import pytest
from sqlalchemy import func, select

from heldout.challenges.errors import BundleErrors
from heldout.models import Challenge, ChallengeFile, Submission, SubmissionStatus
from heldout.platform.services.publishing import load_challenge
from heldout.runner.queue import scoring_queue
from heldout.storage import LocalStorage
from tests.bundles import write_tiny_bundle
from tests.factories import make_submission, make_team, make_user


@pytest.fixture
def storage(settings):
    return LocalStorage(settings.storage_dir)


def test_loading_the_same_bundle_twice_changes_nothing(session, storage, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "b")
    first = load_challenge(session, storage, None, bundle)
    second = load_challenge(session, storage, None, bundle)
    assert (first.action, second.action) == ("created", "unchanged")
    assert session.scalar(select(func.count(Challenge.id))) == 1
    assert session.scalar(select(Challenge.version)) == 1


def test_a_changed_solution_is_a_new_version_and_rescores_every_submission(session, storage, tmp_path, fake_redis):
    queue = scoring_queue(fake_redis)
    load_challenge(session, storage, queue, write_tiny_bundle(tmp_path / "v1"))
    challenge = session.scalar(select(Challenge))
    user = make_user(session)
    team = make_team(session, challenge, user)
    scored = make_submission(session, team, user, status=SubmissionStatus.SCORED, public_score=0.5)
    failed = make_submission(session, team, user, status=SubmissionStatus.FAILED)
    session.commit()
    result = load_challenge(session, storage, queue, write_tiny_bundle(tmp_path / "v2", shift=1.0))
    assert result.action == "new solution version 2" and result.rescored == 2
    session.expire_all()
    assert session.get(Challenge, challenge.id).version == 2
    for submission_id in (scored.id, failed.id):
        row = session.get(Submission, submission_id)
        assert row.status == SubmissionStatus.QUEUED and row.attempts == 2
    assert queue.count == 2


def test_a_broken_bundle_stores_nothing_and_names_the_problem(session, storage, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "b")
    load_challenge(session, storage, None, bundle)
    before = session.scalar(select(Challenge.content_hash))
    (bundle / "challenge.yaml").write_text((bundle / "challenge.yaml").read_text().replace("metric: rmse",
                                                                                            "metric: rmsee"))
    with pytest.raises(BundleErrors) as info:
        load_challenge(session, storage, None, bundle)
    assert any("task.metric" in str(e) for e in info.value.errors)
    session.expire_all()
    assert session.scalar(select(Challenge.content_hash)) == before
    assert session.scalar(select(func.count(ChallengeFile.id))) == 3


def test_the_bundles_team_merge_deadline_reaches_the_challenge(session, storage, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "b")
    text = (bundle / "challenge.yaml").read_text()
    (bundle / "challenge.yaml").write_text(text.replace("rules:\n", "rules:\n  team_merge_deadline: 2030-01-01T00:00:00Z\n", 1))
    load_challenge(session, storage, None, bundle)
    assert session.scalar(select(Challenge.team_merge_deadline)).isoformat().startswith("2030-01-01T00:00:00")
