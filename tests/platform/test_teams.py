"""Teams and limits: create, invite, accept, leave, merge within the limits; the daily quota and time window;
final submissions. Services are driven with an explicit ``now``; a few pages check the wiring."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from heldout.leaderboard import private
from heldout.leaderboard.best import refresh_team_best
from heldout.models import (
    Submission,
    SubmissionStatus,
    Team,
    TeamBestScore,
    TeamMembership,
)
from heldout.platform.services import finals, submissions, teams
from heldout.platform.services.errors import (
    Conflict,
    Forbidden,
    LimitReached,
    NotFound,
    ServiceError,
)
from heldout.storage import LocalStorage
from tests.factories import (
    T0,
    make_challenge,
    make_group,
    make_scored,
    make_submission,
    make_team,
    make_user,
)
from tests.platform.conftest import csrf_token

NOW = T0 + timedelta(days=2)  # 2026-01-03 12:00 UTC


@pytest.fixture
def challenge(session):
    return make_challenge(session, greater_is_better=True, max_team_size=3, daily_limit=5,
                          starts_at=T0, ends_at=T0 + timedelta(days=30))


def team_of(session, challenge, user):
    return submissions.team_for(session, challenge, user, create=False)


def members(session, team_id):
    return session.scalar(select(func.count()).select_from(TeamMembership).where(TeamMembership.team_id == team_id))


def submit_times(session, team, user, *times, status=SubmissionStatus.SCORED):
    for at in times:
        make_submission(session, team, user, status=status, public_score=0.5, at=at)
    session.commit()


# --- create, invite, accept, leave ---------------------------------------------------------------------------

def test_creating_a_team_makes_the_user_its_leader_with_an_invite_link(session, challenge):
    ada = make_user(session, "ada")
    team = teams.create_or_rename_team(session, challenge, ada, "  The   Ensemblers ", now=NOW)
    view = teams.team_view(session, challenge, ada, now=NOW)
    assert view.name == "The Ensemblers" and view.is_leader and view.invite_code == team.invite_code
    assert [m.username for m in view.members] == ["ada"]


def test_a_solo_entrant_naming_their_team_keeps_their_submissions(session, challenge):
    ada = make_user(session, "ada")
    solo = submissions.team_for(session, challenge, ada)
    make_scored(session, solo, ada, 0.7)
    session.commit()
    team = teams.create_or_rename_team(session, challenge, ada, "Ada's team", now=NOW)
    assert team.id == solo.id and team.name == "Ada's team"


def test_a_solo_team_made_by_a_first_submission_has_an_invite_link_to_share(session, challenge):
    ada = make_user(session, "ada")
    solo = submissions.team_for(session, challenge, ada)
    session.commit()
    view = teams.team_view(session, challenge, ada, now=NOW)
    assert view.is_leader and view.invite_code is not None
    assert teams.invitation(session, make_user(session, "grace"), view.invite_code).team_name == solo.name
    assert teams.team_view(session, challenge, ada, now=NOW).invite_code == view.invite_code  # made once


def test_team_names_are_checked_and_name_the_field(session, challenge):
    ada, bob = make_user(session), make_user(session)
    teams.create_or_rename_team(session, challenge, ada, "Taken", now=NOW)
    with pytest.raises(Conflict) as taken:
        teams.create_or_rename_team(session, challenge, bob, "taken", now=NOW)
    with pytest.raises(ServiceError) as empty:
        teams.create_or_rename_team(session, challenge, bob, "   ", now=NOW)
    assert taken.value.field == empty.value.field == "name"
    assert team_of(session, challenge, bob) is None


def test_accepting_an_invite_joins_the_team(session, challenge):
    ada, bob = make_user(session, "ada"), make_user(session, "bob")
    team = teams.create_or_rename_team(session, challenge, ada, "Duo", now=NOW)
    invite = teams.invitation(session, bob, team.invite_code)
    assert invite.team_name == "Duo" and invite.own_team is None and invite.members == ["ada"]
    teams.accept_invite(session, bob, team.invite_code, now=NOW)
    assert team_of(session, challenge, bob).id == team.id
    with pytest.raises(Conflict):
        teams.accept_invite(session, bob, team.invite_code, now=NOW)


def test_a_full_team_refuses_another_member(session, challenge):
    challenge.max_team_size = 2
    ada, bob, cy = make_user(session), make_user(session), make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "Duo", now=NOW)
    teams.accept_invite(session, bob, team.invite_code, now=NOW)
    with pytest.raises(LimitReached, match="at most 2 members") as full:
        teams.accept_invite(session, cy, team.invite_code, now=NOW)
    assert full.value.field == "team" and members(session, team.id) == 2
    assert teams.team_view(session, challenge, ada, now=NOW).invite_code is None  # a full team shows no link


def test_an_unknown_or_rotated_invite_code_is_not_found(session, challenge):
    ada, bob = make_user(session), make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "Duo", now=NOW)
    old = team.invite_code
    teams.rotate_team_invite(session, challenge, ada, now=NOW)
    with pytest.raises(NotFound) as gone:
        teams.accept_invite(session, bob, old, now=NOW)
    assert gone.value.field == "code"
    with pytest.raises(NotFound):
        teams.invitation(session, bob, "no-such-code")


def test_an_invite_into_a_group_challenge_is_not_found_for_non_members(session):
    lead, member, outsider = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, member)
    hidden = make_challenge(session, group_id=group.id, max_team_size=3)
    team = teams.create_or_rename_team(session, hidden, member, "Insiders", now=NOW)
    with pytest.raises(NotFound):
        teams.invitation(session, outsider, team.invite_code)


def test_a_member_can_leave_before_the_team_submits_but_not_after(session, challenge):
    ada, bob = make_user(session, "ada"), make_user(session, "bob")
    team = teams.create_or_rename_team(session, challenge, ada, "Duo", now=NOW)
    teams.accept_invite(session, bob, team.invite_code, now=NOW)
    teams.leave_team(session, challenge, ada, now=NOW)  # the leader leaves: bob leads now
    assert team_of(session, challenge, ada) is None
    assert teams.team_view(session, challenge, bob, now=NOW).is_leader
    make_scored(session, session.get(Team, team.id), bob, 0.5)
    session.commit()
    with pytest.raises(Forbidden, match="submitted") as fixed:
        teams.leave_team(session, challenge, bob, now=NOW)
    assert fixed.value.field == "team"


def test_the_last_member_leaving_dissolves_the_team(session, challenge):
    ada = make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "Solo", now=NOW)
    teams.leave_team(session, challenge, ada, now=NOW)
    assert session.get(Team, team.id) is None


# --- merges ---------------------------------------------------------------------------------------------------

def two_teams(session, challenge):
    ada, bob = make_user(session, "ada"), make_user(session, "bob")
    a = teams.create_or_rename_team(session, challenge, ada, "A", now=NOW)
    b = teams.create_or_rename_team(session, challenge, bob, "B", now=NOW)
    return ada, a, bob, b


def test_a_merge_moves_the_members_and_submissions_and_updates_the_board(session, challenge):
    ada, a, bob, b = two_teams(session, challenge)
    make_scored(session, a, ada, 0.7, at=NOW - timedelta(days=1))
    best = make_scored(session, b, bob, 0.9, at=NOW - timedelta(hours=1))
    for team in (a, b):
        refresh_team_best(session, challenge.id, team.id, now=NOW)
    session.commit()
    invite = teams.invitation(session, bob, a.invite_code)
    assert invite.own_team == "B"
    teams.accept_invite(session, bob, a.invite_code, now=NOW)
    assert team_of(session, challenge, bob).id == a.id and session.get(Team, b.id) is None
    assert session.scalar(select(func.count()).select_from(Submission).where(Submission.team_id == a.id)) == 2
    row = session.get(TeamBestScore, (challenge.id, a.id))
    assert row.submission_id == best.id and row.entries == 2
    assert session.get(TeamBestScore, (challenge.id, b.id)) is None


def test_a_merge_over_the_submissions_allowed_to_date_is_refused_and_changes_nothing(session, challenge):
    challenge.daily_limit = 2
    challenge.starts_at = NOW.replace(hour=0)  # day 1 of the challenge: one team could have made 2 by now
    ada, a, bob, b = two_teams(session, challenge)
    submit_times(session, a, ada, NOW - timedelta(hours=2))
    submit_times(session, b, bob, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    with pytest.raises(LimitReached, match="3 submissions.*at most 2") as refused:
        teams.accept_invite(session, bob, a.invite_code, now=NOW)
    assert refused.value.field == "team" and refused.value.code == "merge_limit"
    session.rollback()
    assert team_of(session, challenge, bob).id == b.id
    assert session.scalar(select(func.count()).select_from(Submission).where(Submission.team_id == b.id)) == 2


def test_a_merge_over_todays_limit_is_refused_until_midnight(session, challenge):
    challenge.daily_limit = 2  # started two days before NOW: 6 allowed in total, 2 today
    ada, a, bob, b = two_teams(session, challenge)
    submit_times(session, a, ada, NOW - timedelta(hours=1))
    submit_times(session, b, bob, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    with pytest.raises(LimitReached, match="3 submissions today"):
        teams.accept_invite(session, bob, a.invite_code, now=NOW)
    session.rollback()
    tomorrow = NOW.replace(hour=0) + timedelta(days=1)
    teams.accept_invite(session, bob, a.invite_code, now=tomorrow)
    assert team_of(session, challenge, bob).id == a.id


def test_failed_submissions_do_not_count_against_a_merge(session, challenge):
    challenge.daily_limit = 1
    challenge.starts_at = NOW.replace(hour=0)
    ada, a, bob, b = two_teams(session, challenge)
    submit_times(session, a, ada, NOW - timedelta(hours=1))
    submit_times(session, b, bob, NOW - timedelta(hours=1), status=SubmissionStatus.FAILED)
    teams.accept_invite(session, bob, a.invite_code, now=NOW)
    assert team_of(session, challenge, bob).id == a.id


def test_only_the_leader_can_merge_a_team_of_several(session, challenge):
    ada, a, bob, b = two_teams(session, challenge)
    cy = make_user(session, "cy")
    teams.accept_invite(session, cy, b.invite_code, now=NOW)
    with pytest.raises(Forbidden, match="leader"):
        teams.accept_invite(session, cy, a.invite_code, now=NOW)
    teams.accept_invite(session, bob, a.invite_code, now=NOW)
    assert {team_of(session, challenge, u).id for u in (ada, bob, cy)} == {a.id}


def test_a_merge_keeps_final_selections_within_the_limit(session, challenge):
    challenge.max_final_submissions = 2
    ada, a, bob, b = two_teams(session, challenge)
    mine = [make_scored(session, a, ada, 0.5, selected_final=True) for _ in range(2)]
    make_scored(session, b, bob, 0.6, selected_final=True)
    session.commit()
    teams.accept_invite(session, bob, a.invite_code, now=NOW)
    selected = session.scalars(select(Submission.id).where(Submission.team_id == a.id,
                                                           Submission.selected_final.is_(True))).all()
    assert sorted(selected) == sorted(s.id for s in mine)


def test_teams_are_fixed_from_the_merge_deadline_on(session, challenge):
    deadline = NOW + timedelta(days=1)
    challenge.team_merge_deadline = deadline
    ada, a, bob, _b = two_teams(session, challenge)
    cy = make_user(session)
    with pytest.raises(Forbidden, match="team-merge deadline") as fixed:
        teams.accept_invite(session, cy, a.invite_code, now=deadline)
    assert fixed.value.code == "teams_fixed" and str(deadline.year) in fixed.value.message
    with pytest.raises(Forbidden):
        teams.leave_team(session, challenge, ada, now=deadline + timedelta(seconds=1))
    teams.accept_invite(session, bob, a.invite_code, now=deadline - timedelta(seconds=1))
    assert team_of(session, challenge, bob).id == a.id


def test_without_a_merge_deadline_teams_are_fixed_when_the_challenge_ends(session, challenge):
    _ada, a, _bob, _b = two_teams(session, challenge)
    assert teams.merge_deadline(challenge) == challenge.ends_at
    with pytest.raises(Forbidden):
        teams.accept_invite(session, make_user(session), a.invite_code, now=challenge.ends_at)


# --- the daily limit and the time window (services/submissions.py) ------------------------------------------

@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


def submit(session, storage, challenge, user, now):
    return submissions.create_submission(session, storage, None, challenge=challenge, user=user,
                                         stream=io.BytesIO(b"id,y\n1,2\n"), filename="p.csv", max_bytes=1000,
                                         now=now)


def test_the_daily_limit_is_shared_by_the_team_and_resets_at_midnight_utc(session, storage, challenge):
    challenge.daily_limit = 3
    ada, bob = make_user(session), make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "Duo", now=NOW)
    teams.accept_invite(session, bob, team.invite_code, now=NOW)
    last_second = NOW.replace(hour=23, minute=59, second=59)
    submit(session, storage, challenge, ada, NOW)
    submit(session, storage, challenge, bob, NOW)
    assert teams.team_view(session, challenge, bob, now=NOW).remaining_today == 1
    submit(session, storage, challenge, ada, last_second - timedelta(seconds=1))
    with pytest.raises(LimitReached, match="resets at 00:00 UTC on 2026-01-04, in 1 second") as limit:
        submit(session, storage, challenge, bob, last_second)
    assert limit.value.code == "daily_limit"
    with pytest.raises(LimitReached, match=r"used all 3 submissions for today; the count resets at 00:00 UTC on "
                                           r"2026-01-04, in 13 hours 30 minutes\.$"):
        submit(session, storage, challenge, bob, last_second.replace(hour=10, minute=30, second=0))
    midnight = last_second + timedelta(seconds=1)
    assert teams.team_view(session, challenge, bob, now=midnight).remaining_today == 3
    submit(session, storage, challenge, bob, midnight)


def test_submissions_open_and_close_to_the_second(session, storage, challenge):
    challenge.late_submissions = False
    ada = make_user(session)
    with pytest.raises(Forbidden, match="opens for submissions at 2026-01-01 12:00:00 UTC"):
        submit(session, storage, challenge, ada, challenge.starts_at - timedelta(seconds=1))
    submit(session, storage, challenge, ada, challenge.starts_at)
    submit(session, storage, challenge, ada, challenge.ends_at - timedelta(seconds=1))
    with pytest.raises(Forbidden, match="closed for submissions at 2026-01-31 12:00:00 UTC and does not take late "
                                        "submissions") as closed:
        submit(session, storage, challenge, ada, challenge.ends_at)
    assert closed.value.code == "closed"
    with pytest.raises(Forbidden, match="closed"):
        submit(session, storage, challenge, ada, challenge.ends_at + timedelta(seconds=1))


# --- final submissions ----------------------------------------------------------------------------------------

def test_selecting_finals_up_to_the_limit(session, challenge):
    challenge.max_final_submissions = 2
    ada = make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "A", now=NOW)
    subs = [make_scored(session, team, ada, 0.1 * i) for i in range(1, 4)]
    session.commit()
    view = finals.finals_view(session, challenge, team, now=NOW)
    assert view.automatic and {c.submission_id for c in view.candidates if c.counts} == {subs[2].id, subs[1].id}
    finals.set_final(session, ada, subs[0].id, "1", now=NOW)
    finals.set_final(session, ada, subs[1].id, True, now=NOW)
    with pytest.raises(LimitReached, match="2 of 2") as limit:
        finals.set_final(session, ada, subs[2].id, True, now=NOW)
    assert limit.value.field == "selected"
    view = finals.finals_view(session, challenge, team, now=NOW)
    assert not view.automatic and {c.submission_id for c in view.candidates if c.counts} == {subs[0].id, subs[1].id}
    finals.set_final(session, ada, subs[0].id, "0", now=NOW)
    assert not session.get(Submission, subs[0].id).selected_final


def test_finals_are_refused_for_unscored_submissions_after_the_end_and_with_a_bad_value(session, challenge):
    ada = make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "A", now=NOW)
    queued = make_submission(session, team, ada)
    scored = make_scored(session, team, ada, 0.5)
    session.commit()
    with pytest.raises(ServiceError, match="this one is queued"):
        finals.set_final(session, ada, queued.id, True, now=NOW)
    with pytest.raises(ServiceError) as bad:
        finals.set_final(session, ada, scored.id, "maybe", now=NOW)
    assert bad.value.field == "selected"
    finals.set_final(session, ada, scored.id, True, now=challenge.ends_at - timedelta(seconds=1))
    with pytest.raises(Forbidden, match="fixed when the challenge closed"):
        finals.set_final(session, ada, scored.id, False, now=challenge.ends_at)
    assert session.get(Submission, scored.id).selected_final


def test_another_teams_submission_cannot_be_selected(session, challenge):
    ada, eve = make_user(session), make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "A", now=NOW)
    scored = make_scored(session, team, ada, 0.5)
    eve.is_admin = True  # not even an admin decides for a team
    session.commit()
    with pytest.raises(NotFound):
        finals.set_final(session, eve, scored.id, True, now=NOW)
    assert not session.get(Submission, scored.id).selected_final


def test_selecting_a_final_makes_the_stored_private_board_stale(session, challenge):
    ada = make_user(session)
    team = teams.create_or_rename_team(session, challenge, ada, "A", now=NOW)
    scored = make_scored(session, team, ada, 0.5, 0.5)
    refresh_team_best(session, challenge.id, team.id, now=NOW)
    private.track_changes(session, challenge.id)
    private.recompute(session, challenge, now=NOW)
    session.commit()
    assert private.is_current(session, challenge)
    finals.set_final(session, ada, scored.id, True, now=NOW)
    assert not private.is_current(session, challenge)


# --- pages ----------------------------------------------------------------------------------------------------

def login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


@pytest.fixture
def site(app):
    """Ada in team "A" of an open challenge, with one scored submission; Eve outside it."""
    from heldout.models import utcnow

    with app.extensions["heldout"].sessions() as s:
        challenge = make_challenge(s, "teamwork", max_team_size=2, daily_limit=5, greater_is_better=True,
                                   ends_at=utcnow() + timedelta(days=3))
        ada, eve = make_user(s, "ada"), make_user(s, "eve")
        team = make_team(s, challenge, ada, name="A")
        team.invite_code = "join-a"
        scored = make_scored(s, team, ada, 0.5, at=utcnow() - timedelta(minutes=5))
        s.commit()
        return {"ada": ada.id, "eve": eve.id, "submission": scored.id}


def test_the_team_page_shows_the_quota_members_and_invite_link(client, site):
    login(client, site["ada"])
    page = client.get("/c/teamwork/team").get_data(as_text=True)
    assert "4 of 5 left today" in page and "ada" in page and "/teams/join/join-a" in page


def test_a_learner_joins_by_link_and_names_nothing_else(client, site):
    login(client, site["eve"])
    assert "Join team A" in client.get("/teams/join/join-a").get_data(as_text=True)
    response = client.post("/teams/join/join-a", data={"csrf_token": csrf_token(client, "/teams/join/join-a")})
    assert response.status_code == 302 and response.location.endswith("/c/teamwork/team")
    assert "eve" in client.get("/c/teamwork/team").get_data(as_text=True)
    assert client.get("/teams/join/no-such-code").status_code == 404


def test_the_final_toggle_needs_csrf_and_only_works_for_the_own_team(client, site, app):
    url = f"/submissions/{site['submission']}/final"
    login(client, site["eve"])
    token = csrf_token(client, "/c/teamwork/team")
    assert client.post(url, data={"csrf_token": token, "selected": "1"}).status_code == 404
    login(client, site["ada"])
    assert client.post(url, data={"selected": "1"}).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": token, "selected": "1", "next": "/c/teamwork/team"})
    assert response.status_code == 302 and response.location.endswith("/c/teamwork/team")
    with app.extensions["heldout"].sessions() as s:
        assert s.get(Submission, site["submission"]).selected_final
