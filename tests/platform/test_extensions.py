"""Per-member deadlines on a study group's challenge: the lead gives one member a later end; that member's
submissions count until it, everyone else's boards are as usual, only the member sees it, and the private
board waits for the last extension, or for the lead's early reveal, after which a member still working
submits late."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from heldout.leaderboard import deadlines
from heldout.leaderboard.best import refresh_team_best
from heldout.models import Challenge, ChallengeExtension, StudyGroup, SubmissionStatus
from heldout.platform.services import challenge_pages, extensions, finals, leaderboards, submissions
from heldout.platform.services.errors import Forbidden, NotFound, ServiceError
from heldout.storage import LocalStorage
from tests.factories import T0, make_challenge, make_group, make_user
from tests.platform.conftest import csrf_token

END = T0 + timedelta(days=7)
EXTENDED = END + timedelta(days=2)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def klass(session):
    """A group challenge ending at END (higher is better): lead, ada (who gets an extension), bob and cy."""
    lead, ada, bob, cy = (make_user(session, n) for n in ("lead", "ada", "bob", "cy"))
    group = make_group(session, lead, ada, bob, cy)
    challenge = make_challenge(session, "week-3", group_id=group.id, created_by_id=lead.id, ends_at=END,
                               greater_is_better=True, metric="accuracy", late_submissions=True)
    session.commit()
    return challenge, {"lead": lead, "ada": ada, "bob": bob, "cy": cy}


def submit(session, storage, challenge, user, at, public, private):
    """A submission made at ``at`` through the service (which decides whether it is late), then scored."""
    made = submissions.create_submission(session, storage, None, challenge=challenge, user=user,
                                         stream=io.BytesIO(b"id,y\n1,1\n"), filename="p.csv", max_bytes=10**6,
                                         now=at)
    made.status, made.public_score, made.private_score = SubmissionStatus.SCORED, public, private
    refresh_team_best(session, challenge.id, made.team_id, now=at)
    session.commit()
    return made


def board(session, challenge, now):
    return [(r.team, r.score) for r in leaderboards.public_board(session, challenge, None, now=now).rows]


# --- the rules, as pure functions ------------------------------------------------------------------------------

def test_a_members_end_is_their_extension_and_the_board_waits_for_the_last_one():
    assert deadlines.member_end(END, EXTENDED) == EXTENDED
    assert deadlines.member_end(END, END - timedelta(days=1)) == END  # never earlier than the challenge's end
    assert deadlines.reveal_time(END, [EXTENDED, END + timedelta(days=1)]) == EXTENDED
    for now, shown in ((END, False), (EXTENDED - timedelta(seconds=1), False), (EXTENDED, True)):
        assert deadlines.private_visible(challenge_end=END, extended_until=EXTENDED, revealed=False,
                                         now=now) is shown
    # Revealed by hand a day after the end: a member on an extension is cut short there.
    revealed = END + timedelta(days=1)
    assert deadlines.counting_end(EXTENDED, revealed) == revealed and deadlines.counting_end(END, revealed) == END
    assert deadlines.cut_short(EXTENDED, revealed, revealed + timedelta(hours=1))
    assert not deadlines.cut_short(END, revealed, revealed + timedelta(hours=1))  # their own end had passed


# --- the service -----------------------------------------------------------------------------------------------

def test_a_member_on_an_extension_counts_after_the_end_while_the_others_are_late(session, storage, klass):
    challenge, people = klass
    extensions.grant_extension(session, people["lead"], challenge, "ada", "2026-01-10T12:00", now=T0)
    assert challenge.extended_until == EXTENDED
    submit(session, storage, challenge, people["bob"], T0 + timedelta(days=1), 0.70, 0.72)
    after_end = END + timedelta(hours=5)
    on_extension = submit(session, storage, challenge, people["ada"], after_end, 0.90, 0.65)
    late = submit(session, storage, challenge, people["cy"], after_end, 0.99, 0.99)
    assert (on_extension.late, late.late) == (False, True)
    # ada's submission counts; cy's late one moves nothing; bob's row is as it was.
    assert [score for _, score in board(session, challenge, after_end)] == [0.90, 0.70]
    # The private board (and its shake-up) waits for ada's end, then ranks her extension's work too.
    with pytest.raises(Forbidden, match="last member's extension"):
        leaderboards.private_board(session, challenge, people["bob"], now=after_end)
    shown = leaderboards.private_board(session, challenge, people["bob"], now=EXTENDED)
    assert [(r.private_score, r.shake_up) for r in shown.rows] == [(0.72, 1), (0.65, -1)]
    # ada submits past her own end: late like anyone.
    assert submit(session, storage, challenge, people["ada"], EXTENDED, 0.5, 0.5).late is True


def test_a_members_extension_shows_on_their_own_page_only(session, storage, klass):
    challenge, people = klass
    extensions.grant_extension(session, people["lead"], challenge, "ada", EXTENDED, now=T0)
    after_end = END + timedelta(hours=1)
    mine = challenge_pages.challenge_page(session, storage, challenge, people["ada"], now=after_end)
    theirs = challenge_pages.challenge_page(session, storage, challenge, people["bob"], now=after_end)
    assert (mine.phase, mine.deadline.extended, mine.deadline.ends_at) == (
        challenge_pages.Phase.ACTIVE, True, EXTENDED)
    assert mine.time_left == "1 day left"
    assert (theirs.phase, theirs.deadline.extended, theirs.deadline.ends_at) == (
        challenge_pages.Phase.CLOSED, False, END)
    assert "the last member's extension ends" in str(theirs.rules.withheld)  # no name, no date
    # ada's finals stay open until her end; bob's closed with the challenge.
    assert finals.finals_view(session, challenge, mine.team, now=after_end, viewer=people["ada"]).closed is False


def test_an_early_reveal_cuts_an_extension_short_and_later_work_is_late(session, storage, klass):
    challenge, people = klass
    extensions.grant_extension(session, people["lead"], challenge, "ada", EXTENDED, now=T0)
    submit(session, storage, challenge, people["bob"], T0 + timedelta(days=1), 0.70, 0.72)
    in_time = submit(session, storage, challenge, people["ada"], END + timedelta(hours=1), 0.80, 0.75)
    revealed = END + timedelta(hours=2)
    leaderboards.reveal_private(session, challenge, people["lead"], now=revealed)
    assert challenge.private_revealed_at == revealed
    # The board is shown at once, with what counted up to the reveal.
    shown = leaderboards.private_board(session, challenge, people["bob"], now=revealed)
    assert [r.private_score for r in shown.rows] == [0.75, 0.72]
    after = revealed + timedelta(hours=1)
    page = challenge_pages.challenge_page(session, storage, challenge, people["ada"], now=after)
    assert page.deadline.cut_short and page.deadline.counts_until == revealed
    assert page.phase == challenge_pages.Phase.CLOSED  # closed for her: what she submits now is late
    later = submit(session, storage, challenge, people["ada"], after, 0.99, 0.99)
    assert (in_time.late, later.late) == (False, True)
    with pytest.raises(Forbidden, match="fixed"):
        finals.set_final(session, people["ada"], in_time.id, True, now=after)
    assert [r.private_score for r in leaderboards.private_board(session, challenge, people["bob"],
                                                                now=after).rows] == [0.75, 0.72]
    # bob, whose end had passed, is told nothing.
    assert not challenge_pages.challenge_page(session, storage, challenge, people["bob"], now=after).deadline.cut_short


@pytest.mark.parametrize("who, username, ends_at, error, field", [
    ("lead", "ada", "2026-01-08T11:00", ServiceError, "extension_end"),  # before the challenge's end
    ("lead", "ada", "2026-01-08T12:00", ServiceError, "extension_end"),  # at it
    ("lead", "ada", "next tuesday", ServiceError, "extension_end"),
    ("lead", "ada", "", ServiceError, "extension_end"),
    ("lead", "nobody", "2026-01-10T12:00", NotFound, "member"),
    ("lead", "", "2026-01-10T12:00", NotFound, "member"),
    ("lead", "stranger", "2026-01-10T12:00", ServiceError, "member"),  # not in the group
    ("lead", "lead", "2026-01-10T12:00", ServiceError, "member"),  # a host never ranks
    ("bob", "ada", "2026-01-10T12:00", Forbidden, "member"),  # only the lead gives extensions
])
def test_a_bad_extension_says_what_is_wrong_and_changes_nothing(session, klass, who, username, ends_at, error,
                                                                field):
    challenge, people = klass
    make_user(session, "stranger")
    session.commit()
    with pytest.raises(error) as refused:
        extensions.grant_extension(session, people[who], challenge, username, ends_at, now=T0)
    assert refused.value.field == field
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ChallengeExtension)) == 0
    assert session.get(Challenge, challenge.id).extended_until is None


def test_extensions_are_for_group_challenges_with_an_end_and_a_hidden_board(session, klass):
    challenge, people = klass
    public = make_challenge(session, "public-one", ends_at=END)
    endless = make_challenge(session, "endless", group_id=challenge.group_id, created_by_id=people["lead"].id)
    session.commit()
    with pytest.raises(ServiceError, match="study group's own challenges"):
        extensions.grant_extension(session, people["lead"], public, "ada", EXTENDED, now=T0)
    with pytest.raises(ServiceError, match="never ends") as endless_refused:
        extensions.grant_extension(session, people["lead"], endless, "ada", EXTENDED, now=T0)
    assert endless_refused.value.field == "extension_end"
    with pytest.raises(Forbidden, match="already revealed"):
        extensions.grant_extension(session, people["lead"], challenge, "ada", EXTENDED, now=END)


def test_the_latest_extension_holds_the_board_and_taking_one_back_recomputes_it(session, klass):
    challenge, people = klass
    extensions.grant_extension(session, people["lead"], challenge, "ada", EXTENDED, now=T0)
    extensions.grant_extension(session, people["lead"], challenge, "bob", END + timedelta(days=1), now=T0)
    extensions.grant_extension(session, people["lead"], challenge, "ada", END + timedelta(hours=3), now=T0)
    assert challenge.extended_until == END + timedelta(days=1)  # ada's replaced, bob's is now the last
    assert [(x.username, x.ends_at) for x in extensions.extensions_of(session, challenge)] == [
        ("ada", END + timedelta(hours=3)), ("bob", END + timedelta(days=1))]
    extensions.revoke_extension(session, people["lead"], challenge, people["bob"].id)
    assert challenge.extended_until == END + timedelta(hours=3)
    with pytest.raises(NotFound):
        extensions.revoke_extension(session, people["lead"], challenge, people["bob"].id)


# --- pages -----------------------------------------------------------------------------------------------------

def login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def test_the_lead_gives_an_extension_on_the_organizer_page_and_only_that_member_sees_it(client, app):
    far = T0 + timedelta(days=3650)
    with app.extensions["heldout"].sessions() as s:
        lead, ada, bob = make_user(s, "lead"), make_user(s, "ada"), make_user(s, "bob")
        group = make_group(s, lead, ada, bob)
        make_challenge(s, "week-3", group_id=group.id, created_by_id=lead.id, ends_at=far)
        s.commit()
        ids = {"lead": lead.id, "ada": ada.id, "bob": bob.id}
    login(client, ids["lead"])
    page = client.get("/organizer/c/week-3").get_data(as_text=True)
    assert 'id="extensions"' in page and '<option value="ada">' in page and '<option value="lead">' not in page
    token = csrf_token(client, "/organizer/c/week-3")
    refused = client.post("/organizer/c/week-3/extensions", data={"csrf_token": token, "member": "ada",
                                                                   "extension_end": "2020-01-01T00:00"})
    assert refused.status_code == 400 and "must end after the challenge does" in refused.get_data(as_text=True)
    granted = client.post("/organizer/c/week-3/extensions", data={"csrf_token": token, "member": "ada",
                                                                   "extension_end": "2036-01-01T00:00"})
    assert granted.status_code == 302
    assert "extensions-table" in client.get("/organizer/c/week-3").get_data(as_text=True)
    login(client, ids["ada"])
    assert 'id="my-extension"' in client.get("/c/week-3").get_data(as_text=True)
    assert client.get("/organizer/c/week-3").status_code == 404
    login(client, ids["bob"])
    other = client.get("/c/week-3").get_data(as_text=True)
    assert 'id="my-extension"' not in other and "2036-01-01" not in other


def test_the_grades_say_who_counted_on_an_extension_and_who_was_late(session, storage, klass):
    from heldout.platform.services import grades

    challenge, people = klass
    extensions.grant_extension(session, people["lead"], challenge, "ada", EXTENDED, now=T0)
    submit(session, storage, challenge, people["bob"], T0 + timedelta(days=1), 0.70, 0.72)
    submit(session, storage, challenge, people["ada"], END + timedelta(hours=1), 0.90, 0.65)
    submit(session, storage, challenge, people["cy"], END + timedelta(hours=1), 0.99, 0.99)
    sheet = grades.grade_sheet(session, people["lead"], session.get(StudyGroup, challenge.group_id).slug,
                               challenge.slug,
                               now=END + timedelta(hours=2))
    assert {r.username: (r.on_extension, r.late) for r in sheet.rows} == {
        "ada": (True, False), "bob": (False, False), "cy": (False, True)}
    assert sheet.provisional  # the private board waits for ada's end
