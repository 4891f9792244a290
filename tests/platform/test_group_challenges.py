"""A study group's own challenges: cloned or uploaded by the lead as drafts sharing the original's stored files,
then previewed, checked and published through the organizer's pages, with a "group only" badge for members."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from heldout.challenges.bundle import load_bundle
from heldout.challenges.errors import BundleErrors
from heldout.models import Challenge, ChallengeStatus, Submission, SubmissionStatus, User
from heldout.platform.services import catalog, group_challenges, organizer
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError
from heldout.platform.services.publishing import load_challenge
from heldout.runner.baseline_checks import PASSED
from heldout.runner.queue import scoring_queue
from heldout.storage import LocalStorage
from tests.bundles import write_tiny_bundle
from tests.factories import make_challenge, make_group, make_user
from tests.platform.conftest import csrf_token

SHIPPED = Path(__file__).resolve().parents[2] / "challenges"


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def titanic(session, storage):
    """The shipped Titanic practice challenge, loaded as `heldout challenges load` does (nobody's, public)."""
    result = load_challenge(session, storage, None, SHIPPED / "titanic-survival")
    return session.get(Challenge, result.challenge_id)


def _count(session) -> int:
    return session.scalar(select(func.count(Challenge.id)))


# --- cloning ---------------------------------------------------------------------------------------------------

def test_a_lead_clones_a_practice_challenge_as_a_draft_of_the_group_that_shares_its_stored_files(
        session, storage, titanic):
    lead, member = make_user(session, "lead"), make_user(session, "member")
    group = make_group(session, lead, member, name="ML 101")
    session.commit()
    stored_before = sorted(storage.keys())

    result = group_challenges.clone_into_group(session, None, lead, group.slug, "titanic-survival")

    assert sorted(storage.keys()) == stored_before  # not one new blob: the files are the original's
    clone = session.get(Challenge, result.challenge_id)
    assert clone.slug == f"titanic-survival-{group.slug}" and clone.title == titanic.title
    assert (clone.group_id, clone.created_by_id, clone.status) == (group.id, lead.id, ChallengeStatus.DRAFT)
    assert {(f.name, f.storage_key, f.sha256) for f in clone.files} == {
        (f.name, f.storage_key, f.sha256) for f in titanic.files}
    assert (clone.solution_key, clone.solution_hash, clone.scoring_spec) == (
        titanic.solution_key, titanic.solution_hash, titanic.scoring_spec)
    assert clone.rules["runtime_keys"] == titanic.rules["runtime_keys"]
    assert clone.rules["cloned_from"] == "titanic-survival" and clone.rules["cloneable"] is False
    # Its own timeline and limits, starting from the original's limits.
    assert (clone.starts_at, clone.ends_at, clone.daily_limit, clone.max_team_size) == (
        None, None, titanic.daily_limit, titanic.max_team_size)
    # A draft: the lead previews it, the members do not see it yet.
    assert catalog.get_challenge(session, lead, clone.slug).id == clone.id
    with pytest.raises(NotFound):
        catalog.get_challenge(session, member, clone.slug)
    # The original was never checked here, so the clone's own check is asked for and blocks publishing.
    assert clone.baseline_state == "pending"
    with pytest.raises(Conflict):
        organizer.publish(session, clone)


def test_a_clone_of_a_checked_challenge_keeps_its_passed_baseline_and_publishes_to_members_only(
        session, storage, titanic):
    lead, member, outsider = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, member)
    titanic.baseline_state, titanic.baseline_report = PASSED, {"state": PASSED, "score_min": 0.48,
                                                              "score_max": 0.56}
    session.commit()
    result = group_challenges.clone_into_group(session, None, lead, group.slug, "titanic-survival",
                                               slug="titanic-week-3", title="Titanic, week 3")
    clone = session.get(Challenge, result.challenge_id)
    assert (clone.slug, clone.title, clone.baseline_state, result.baseline_queued) == (
        "titanic-week-3", "Titanic, week 3", PASSED, False)
    organizer.publish(session, clone)
    assert catalog.get_challenge(session, member, "titanic-week-3").id == clone.id
    with pytest.raises(NotFound):
        catalog.get_challenge(session, outsider, "titanic-week-3")
    # Cloned twice into the same group: the second gets the next free address.
    again = group_challenges.clone_into_group(session, None, lead, group.slug, "titanic-survival")
    twice = group_challenges.clone_into_group(session, None, lead, group.slug, "titanic-survival")
    assert twice.challenge_slug == again.challenge_slug + "-2"


def test_a_public_challenge_is_cloned_only_when_its_organizer_allows_it(session):
    olga, lead = make_user(session, "olga", is_organizer=True), make_user(session, "lead")
    group = make_group(session, lead)
    make_challenge(session, "open-one", title="Open one", created_by_id=olga.id, rules={"cloneable": True})
    make_challenge(session, "closed-one", title="Closed one", created_by_id=olga.id, rules={})
    session.commit()
    assert [s.slug for s in group_challenges.clone_sources(session, lead)] == ["open-one"]
    before = _count(session)
    with pytest.raises(Forbidden, match="rules.cloneable") as refused:
        group_challenges.clone_into_group(session, None, lead, group.slug, "closed-one")
    assert (refused.value.field, refused.value.code) == ("source", "not_cloneable")
    assert "Closed one" in refused.value.message and _count(session) == before
    assert group_challenges.clone_into_group(session, None, lead, group.slug, "open-one").challenge_slug


def test_a_running_competition_is_not_cloned_until_its_private_board_is_revealed(session):
    """A clone shares the solution and its lead reveals the clone's private board at will; cloning a challenge
    that is still running would let any account (anyone may lead a group) read its private scores."""
    from datetime import timedelta

    from heldout.models import utcnow
    lead = make_user(session, "lead")
    group = make_group(session, lead)
    running = make_challenge(session, "running", title="Running", rules={"cloneable": True},
                             ends_at=utcnow() + timedelta(days=3))
    make_challenge(session, "over", rules={"cloneable": True}, ends_at=utcnow() - timedelta(days=1))
    session.commit()
    assert [s.slug for s in group_challenges.clone_sources(session, lead)] == ["over"]
    before = _count(session)
    with pytest.raises(Forbidden, match="until its private leaderboard is revealed") as refused:
        group_challenges.clone_into_group(session, None, lead, group.slug, "running")
    assert (refused.value.field, refused.value.code, _count(session)) == ("source", "not_cloneable", before)
    running.private_revealed = True
    session.commit()
    assert group_challenges.clone_into_group(session, None, lead, group.slug, "running").challenge_slug


def test_a_lead_clones_challenges_they_host_whether_or_not_they_are_cloneable(session):
    lead = make_user(session, "lead", is_organizer=True)
    group, other = make_group(session, lead), make_group(session, lead)
    mine = make_challenge(session, "my-own", created_by_id=lead.id, rules={}, status=ChallengeStatus.DRAFT)
    of_other_group = make_challenge(session, "other-groups", group_id=other.id, rules={})
    session.commit()
    assert {s.slug: s.hosted for s in group_challenges.clone_sources(session, lead)} == {
        "my-own": True, "other-groups": True}
    for source in (mine, of_other_group):
        result = group_challenges.clone_into_group(session, None, lead, group.slug, source.slug)
        assert session.get(Challenge, result.challenge_id).group_id == group.id


def test_another_groups_challenge_is_not_cloneable_by_its_members(session):
    lead, member = make_user(session), make_user(session)
    theirs, mine = make_group(session, lead, member), make_group(session, member)
    make_challenge(session, "their-group", group_id=theirs.id, rules={"cloneable": True})
    session.commit()
    with pytest.raises(Forbidden, match="cannot be cloned"):
        group_challenges.clone_into_group(session, None, member, mine.slug, "their-group")


def test_only_the_groups_lead_clones_into_it(session):
    lead, member, outsider = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, member)
    make_challenge(session, "open-one", rules={"cloneable": True})
    session.commit()
    with pytest.raises(Forbidden, match="Only the group's lead"):
        group_challenges.clone_into_group(session, None, member, group.slug, "open-one")
    with pytest.raises(NotFound) as hidden:
        group_challenges.clone_into_group(session, None, outsider, group.slug, "open-one")
    assert hidden.value.field == "group"
    assert _count(session) == 1


@pytest.mark.parametrize("source, slug, title, error, field", [
    ("", "", "", ServiceError, "source"),
    ("no-such-challenge", "", "", NotFound, "source"),
    ("open-one", "Not A Slug!", "", ServiceError, "slug"),
    ("open-one", "ab", "", ServiceError, "slug"),
    ("open-one", "open-one", "", Conflict, "slug"),
    ("open-one", "", "x" * 201, ServiceError, "title"),
])
def test_a_bad_clone_request_names_its_field_and_stores_nothing(session, source, slug, title, error, field):
    lead = make_user(session)
    group = make_group(session, lead)
    make_challenge(session, "open-one", rules={"cloneable": True})
    session.commit()
    with pytest.raises(error) as refused:
        group_challenges.clone_into_group(session, None, lead, group.slug, source, slug=slug, title=title)
    assert refused.value.field == field and _count(session) == 1


def test_cloneable_is_a_boolean_rule_of_the_bundle_false_by_default_and_true_for_the_practice_track(tmp_path):
    bundle = write_tiny_bundle(tmp_path / "b")
    with load_bundle(bundle) as loaded:
        assert loaded.rules.cloneable is False
    text = (bundle / "challenge.yaml").read_text()
    (bundle / "challenge.yaml").write_text(text.replace("rules:\n", "rules:\n  cloneable: 'yes'\n"))
    with pytest.raises(BundleErrors) as broken, load_bundle(bundle):
        pass
    assert [(e.field, e.message) for e in broken.value.errors] == [
        ("rules.cloneable", "must be true or false, not str")]
    shipped = sorted(SHIPPED.glob("*/challenge.yaml"))
    assert shipped and all(yaml.safe_load(p.read_text())["rules"]["cloneable"] is True for p in shipped)


# --- pages: the lead's drafts through the organizer's flow, the members' badge --------------------------------

def login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


@pytest.fixture
def club(app):
    """A lead who is no organizer, a member, and their group, plus the shipped Titanic challenge."""
    svc = app.extensions["heldout"]
    with svc.sessions() as s:
        lead, member = make_user(s, "lead"), make_user(s, "member")
        group = make_group(s, lead, member, name="Club")
        load_challenge(s, svc.storage, None, SHIPPED / "titanic-survival")
        s.commit()
        return {"lead": lead.id, "member": member.id, "group": group.slug}


def test_a_lead_who_is_no_organizer_clones_sets_the_timeline_and_publishes_from_the_organizer_page(client, app,
                                                                                                    club):
    login(client, club["lead"])
    group_page = client.get(f"/groups/{club['group']}").get_data(as_text=True)
    assert 'id="clone-form"' in group_page and 'value="titanic-survival"' in group_page
    response = client.post(f"/groups/{club['group']}/clone", data={
        "csrf_token": csrf_token(client, f"/groups/{club['group']}"), "source": "titanic-survival",
        "slug": "titanic-club"})
    assert response.status_code == 302 and response.location.endswith("/organizer/c/titanic-club")
    manage = client.get("/organizer/c/titanic-club").get_data(as_text=True)
    assert "group only" in manage and "cloned from" in manage and "Club" in manage
    assert client.get("/organizer").status_code == 403  # the organizer's own list stays theirs
    token = csrf_token(client, "/organizer/c/titanic-club")
    saved = client.post("/organizer/c/titanic-club/settings", data={
        "csrf_token": token, "starts_at": "", "ends_at": "2030-01-01T00:00", "team_merge_deadline": "",
        "daily_limit": "3", "max_team_size": "1"})
    assert saved.status_code == 302
    with app.extensions["heldout"].sessions() as s:
        clone = s.scalar(select(Challenge).where(Challenge.slug == "titanic-club"))
        assert (clone.daily_limit, clone.ends_at.year) == (3, 2030)
        clone.baseline_state = PASSED  # as the worker leaves it (the test below runs it for real)
        s.commit()
    assert client.post("/organizer/c/titanic-club/publish", data={"csrf_token": token}).status_code == 302

    login(client, club["member"])
    assert client.get("/organizer/c/titanic-club").status_code == 404  # members do not manage it
    listed = client.get("/").get_data(as_text=True)
    card = listed[listed.index("/c/titanic-club"):][:600]
    assert "group only" in card
    assert 'id="group-only-badge"' in client.get("/c/titanic-club").get_data(as_text=True)
    own = client.get(f"/groups/{club['group']}").get_data(as_text=True)
    assert "/c/titanic-club" in own and "group only" in own and 'id="clone-form"' not in own


def test_a_bad_clone_on_the_group_page_says_why(client, app, club):
    login(client, club["member"])
    refused = client.post(f"/groups/{club['group']}/clone", data={
        "csrf_token": csrf_token(client, f"/groups/{club['group']}"), "source": "titanic-survival"},
        follow_redirects=True)
    assert "Only the group&#39;s lead" in refused.get_data(as_text=True)
    login(client, club["lead"])
    taken = client.post(f"/groups/{club['group']}/clone", data={
        "csrf_token": csrf_token(client, f"/groups/{club['group']}"), "source": "titanic-survival",
        "slug": "titanic-survival"}, follow_redirects=True)
    assert "is taken by another challenge" in taken.get_data(as_text=True)


def test_an_uploaded_group_bundle_is_a_draft_until_the_lead_publishes_it(client, app, club, tmp_path):
    archive = shutil.make_archive(str(tmp_path / "club"), "zip", write_tiny_bundle(tmp_path / "b", slug="club-only"))
    login(client, club["lead"])
    with open(archive, "rb") as f:
        response = client.post(f"/groups/{club['group']}/challenges", data={
            "csrf_token": csrf_token(client, f"/groups/{club['group']}"), "bundle": (io.BytesIO(f.read()),
                                                                                    "club.zip")},
            content_type="multipart/form-data")
    assert response.location.endswith("/organizer/c/club-only")
    assert "draft" in client.get(f"/groups/{club['group']}").get_data(as_text=True)
    login(client, club["member"])
    assert client.get("/c/club-only").status_code == 404
    login(client, club["lead"])
    client.post("/organizer/c/club-only/publish", data={"csrf_token": csrf_token(client, "/organizer/c/club-only")})
    login(client, club["member"])
    assert client.get("/c/club-only").status_code == 200
    from heldout.platform.views.serialize import challenge_json

    with app.extensions["heldout"].sessions() as s:
        shown = {c.slug: challenge_json(c)["group_only"] for c in catalog.list_challenges(s, s.get(
            User, club["member"]))}
    assert shown == {"club-only": True, "titanic-survival": False}


def test_a_broken_group_bundle_lists_its_problems_and_stores_nothing(client, app, club, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "b", slug="club-only")
    (bundle / "solution.csv").unlink()
    archive = shutil.make_archive(str(tmp_path / "club"), "zip", bundle)
    login(client, club["lead"])
    with open(archive, "rb") as f:
        page = client.post(f"/groups/{club['group']}/challenges", data={
            "csrf_token": csrf_token(client, f"/groups/{club['group']}"), "bundle": (io.BytesIO(f.read()),
                                                                                    "club.zip")},
            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "nothing was stored" in page and "solution" in page
    with app.extensions["heldout"].sessions() as s:
        assert s.scalar(select(Challenge.id).where(Challenge.slug == "club-only")) is None


sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_a_clone_runs_its_baseline_and_scores_submissions_from_the_shared_files(app, settings, fake_redis,
                                                                                bwrap_sandbox, club):
    from rq import SimpleWorker

    from heldout.platform.services import submissions
    from heldout.runner.context import RunnerContext, configure

    context = RunnerContext.from_settings(settings, redis=fake_redis)
    context.sandbox = bwrap_sandbox
    configure(context)
    svc = app.extensions["heldout"]
    with svc.sessions() as s:
        lead = s.get(User, club["lead"])
        result = group_challenges.clone_into_group(s, svc.queue, lead, club["group"], "titanic-survival")
        assert result.baseline_queued
    SimpleWorker([scoring_queue(fake_redis)], connection=fake_redis).work(burst=True)
    with svc.sessions() as s:
        clone = s.get(Challenge, result.challenge_id)
        assert clone.baseline_state == PASSED, clone.baseline_report
        organizer.publish(s, clone)
        sample = (SHIPPED / "titanic-survival" / "sample_submission.csv").read_bytes()
        made = submissions.create_submission(s, svc.storage, svc.queue, challenge=clone,
                                             user=s.get(User, club["member"]), stream=io.BytesIO(sample),
                                             filename="sample.csv", max_bytes=10**6)
        made_id = made.id
    SimpleWorker([scoring_queue(fake_redis)], connection=fake_redis).work(burst=True)
    with svc.sessions() as s:
        scored = s.get(Submission, made_id)
        assert scored.status == SubmissionStatus.SCORED and scored.public_score is not None


def test_a_group_upload_cannot_take_over_another_challenges_slug(session, storage, tmp_path):
    lead = make_user(session)
    group = make_group(session, lead)
    make_challenge(session, "tiny-regression", title="The organizer's")
    session.commit()
    archive = shutil.make_archive(str(tmp_path / "club"), "zip", write_tiny_bundle(tmp_path / "b"))
    with open(archive, "rb") as f, pytest.raises(Conflict, match="taken by another challenge") as taken:
        group_challenges.upload_group_challenge(session, storage, None, lead, group.slug, stream=f,
                                                filename="club.zip", max_bytes=10**7)
    assert taken.value.field == "bundle"
    assert session.scalar(select(Challenge.title).where(Challenge.slug == "tiny-regression")) == "The organizer's"
