"""Late submissions through the services: past the end a challenge still takes submissions, marked late when made,
under the daily limit, never a final; one that does not take them says so. And the bundle's rule and the
organizer's setting decide which.

The board rules themselves are in tests/leaderboard/test_late.py; the API, the clients and the kaggle CLI in
tests/api/test_late_submissions.py.
"""

import io
from datetime import timedelta

import pytest

from heldout.challenges.bundle import load_bundle
from heldout.leaderboard.best import refresh_team_best
from heldout.models import SubmissionStatus
from heldout.platform.services import challenge_pages, finals, leaderboards, organizer, submissions
from heldout.platform.services.errors import Forbidden, LimitReached, ServiceError
from heldout.storage import LocalStorage
from tests.bundles import write_tiny_bundle
from tests.factories import T0, make_challenge, make_scored, make_team, make_user

END = T0 + timedelta(days=30)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def challenge(session):
    return make_challenge(session, greater_is_better=False, starts_at=T0, ends_at=END, daily_limit=2)


def submit(session, storage, challenge, user, at):
    return submissions.create_submission(session, storage, None, challenge=challenge, user=user,
                                         stream=io.BytesIO(b"id,y\n1,2\n"), filename="p.csv", max_bytes=1000, now=at)


def test_one_second_after_the_end_a_submission_is_taken_and_marked_late(session, storage, challenge):
    ada = make_user(session, "ada")
    in_time = submit(session, storage, challenge, ada, END - timedelta(seconds=1))
    late = submit(session, storage, challenge, ada, END + timedelta(seconds=1))
    assert (in_time.late, late.late) == (False, True)
    assert late.status == SubmissionStatus.QUEUED and late.team_id == in_time.team_id


def test_late_submissions_still_count_against_the_daily_limit(session, storage, challenge):
    ada = make_user(session, "ada")
    day = END + timedelta(hours=1)
    submit(session, storage, challenge, ada, day)
    submit(session, storage, challenge, ada, day + timedelta(minutes=1))
    with pytest.raises(LimitReached, match="used all 2 submissions for today") as refused:
        submit(session, storage, challenge, ada, day + timedelta(minutes=2))
    assert refused.value.code == "daily_limit"


def test_a_challenge_without_late_submissions_refuses_saying_so_and_stores_nothing(session, storage, challenge):
    challenge.late_submissions = False
    ada = make_user(session, "ada")
    with pytest.raises(Forbidden, match=r"closed for submissions at 2026-01-31 12:00:00 UTC and does not take "
                                        r"late submissions\.") as refused:
        submit(session, storage, challenge, ada, END + timedelta(seconds=1))
    assert refused.value.code == "closed"
    assert submissions.team_submissions(session, challenge, ada) == []
    assert not list(storage.root.rglob("*.upload"))


def test_a_newcomers_late_submission_makes_a_team_that_is_not_counted(session, storage, challenge):
    ada, lo = make_user(session, "ada"), make_user(session, "lo")
    scored = submit(session, storage, challenge, ada, END - timedelta(hours=1))
    scored.status, scored.public_score, scored.private_score = SubmissionStatus.SCORED, 0.3, 0.3
    refresh_team_best(session, challenge.id, scored.team_id, now=END)
    late = submit(session, storage, challenge, lo, END + timedelta(seconds=1))
    assert late.late and challenge_pages.team_counts(session, [challenge.id]) == {challenge.id: 1}


def test_a_late_submission_is_never_a_final_candidate_nor_selectable(session, storage, challenge):
    ada = make_user(session, "ada")
    team = make_team(session, challenge, ada)
    in_time = make_scored(session, team, ada, 0.5, 0.5, at=END - timedelta(days=1))
    late = make_scored(session, team, ada, 0.1, 0.1, at=END + timedelta(seconds=1), late=True)
    session.commit()
    view = finals.finals_view(session, challenge, team, now=END + timedelta(minutes=1))
    assert [c.submission_id for c in view.candidates] == [in_time.id]
    # Were the selection still open for the team (its own later end, say), a late submission is refused.
    challenge.ends_at = None
    session.commit()
    with pytest.raises(ServiceError, match="A late submission is never ranked, so it cannot be a final") as refused:
        finals.set_final(session, ada, late.id, True, now=END + timedelta(minutes=1))
    assert refused.value.code == "late" and not late.selected_final


def test_would_have_placed_waits_for_the_private_board_to_be_revealed(session, storage, challenge):
    """Only a challenge revealed early can have a late submission before its end (a member's own end, later)."""
    ada, grace = make_user(session, "ada"), make_user(session, "grace")
    ranked = make_scored(session, make_team(session, challenge, grace), grace, 0.2, 0.2, at=END - timedelta(days=1))
    refresh_team_best(session, challenge.id, ranked.team_id, now=END)
    late = make_scored(session, make_team(session, challenge, ada), ada, 0.1, 0.3, at=END + timedelta(seconds=1),
                       late=True)
    session.commit()
    hidden = leaderboards.late_placings(session, [late], now=END - timedelta(days=2))[late.id]
    assert (hidden.public, hidden.private, hidden.of) == (1, None, 2)
    shown = leaderboards.late_placings(session, [late], now=END + timedelta(minutes=1))[late.id]
    assert (shown.public, shown.private, shown.of) == (1, 2, 2)


def test_bundles_take_late_submissions_unless_their_rules_say_otherwise(tmp_path):
    default = write_tiny_bundle(tmp_path / "default")
    with load_bundle(default, check_sample=False) as bundle:
        assert bundle.rules.late_submissions is True
    refusing = write_tiny_bundle(tmp_path / "refusing")
    with open(refusing / "challenge.yaml", "a") as yaml:
        yaml.write("  late_submissions: false\n")
    with load_bundle(refusing, check_sample=False) as bundle:
        assert bundle.rules.late_submissions is False
    wrong = write_tiny_bundle(tmp_path / "wrong")
    with open(wrong / "challenge.yaml", "a") as yaml:
        yaml.write("  late_submissions: sometimes\n")
    from heldout.challenges.errors import BundleErrors
    with pytest.raises(BundleErrors, match="rules.late_submissions"):
        load_bundle(wrong, check_sample=False)


def test_the_organizer_turns_late_submissions_off_and_on_in_the_settings(session, challenge):
    form = organizer.SettingsForm.of(challenge)
    assert form.late_submissions == "1"
    organizer.update_settings(session, challenge, organizer.SettingsForm(**{**form.__dict__, "late_submissions": ""}))
    assert challenge.late_submissions is False
    organizer.update_settings(session, challenge, organizer.SettingsForm(**{**form.__dict__, "late_submissions": "1"}))
    assert challenge.late_submissions is True
    with pytest.raises(ServiceError, match="Late submissions must be ticked or not") as wrong:
        organizer.update_settings(session, challenge, organizer.SettingsForm(**{**form.__dict__,
                                                                               "late_submissions": "maybe"}))
    assert wrong.value.field == "late_submissions" and challenge.late_submissions is True
