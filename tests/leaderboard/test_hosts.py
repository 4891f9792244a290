"""Hosts never rank: who the hosts are, and every board, count and final leaving host submissions out.

Rows are made as the services leave them (``host`` is set when a submission is
made, see tests/platform/test_host_submissions.py); here the boards must ignore them.
"""

from datetime import timedelta

from heldout.leaderboard import private
from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.finals import all_finals, team_finals
from heldout.leaderboard.hosts import hosts_among, is_host
from heldout.leaderboard.public import count_teams, public_leaderboard, public_ranks
from heldout.models import TeamBestScore
from tests.factories import T0, make_challenge, make_group, make_scored, make_team, make_user


def scored(session, challenge, team, user, public, private_score=None, *, minutes, host=False, **extra):
    submission = make_scored(session, team, user, public, private_score, at=T0 + timedelta(minutes=minutes),
                             host=host, **extra)
    refresh_team_best(session, challenge.id, team.id, now=T0)
    return submission


def public(session, challenge, **kw):
    return [(r.rank, r.team_name, r.score) for r in public_leaderboard(session, challenge, now=T0, **kw)]


def standings(session, challenge, **kw):
    if not private.is_current(session, challenge):
        private.track_changes(session, challenge.id)
        private.recompute(session, challenge, now=T0)
    return [(r.rank, r.team_name, r.private_score, r.public_rank, r.shake_up)
            for r in private.private_leaderboard(session, challenge, **kw)]


def test_the_hosts_are_the_admins_the_publisher_and_the_owning_groups_lead(session):
    admin, organizer, lead, member, learner = (make_user(session, is_admin=True), make_user(session, is_organizer=True),
                                               make_user(session), make_user(session), make_user(session))
    group = make_group(session, lead, member)
    published = make_challenge(session, created_by_id=organizer.id)
    owned = make_challenge(session, created_by_id=lead.id, group_id=group.id)
    shipped = make_challenge(session)  # loaded from disk: no publisher

    assert [is_host(session, published, u) for u in (admin, organizer, lead, member, learner)] == [
        True, True, False, False, False]
    assert [is_host(session, owned, u) for u in (admin, organizer, lead, member, learner)] == [
        True, False, True, False, False]
    assert [is_host(session, shipped, u) for u in (admin, organizer, lead, member, learner)] == [
        True, False, False, False, False]
    assert is_host(session, shipped, None) is False
    assert hosts_among(session, owned, [admin.id, lead.id, member.id, learner.id]) == {admin.id, lead.id}


def test_a_host_with_the_perfect_score_is_not_on_the_public_board_nor_counted(session):
    challenge = make_challenge(session)  # rmse: lower is better
    organizer, ada, grace = make_user(session), make_user(session), make_user(session)
    host_team = make_team(session, challenge, organizer, name="organizer")
    scored(session, challenge, host_team, organizer, 0.0, minutes=1, host=True)
    scored(session, challenge, make_team(session, challenge, ada, name="ada"), ada, 0.30, minutes=2)
    scored(session, challenge, make_team(session, challenge, grace, name="grace"), grace, 0.20, minutes=3)

    assert public(session, challenge) == [(1, "grace", 0.20), (2, "ada", 0.30)]
    assert count_teams(session, challenge) == 2
    assert host_team.id not in public_ranks(session, challenge)
    assert session.get(TeamBestScore, (challenge.id, host_team.id)) is None


def test_a_group_lead_is_on_no_board_of_a_challenge_their_group_owns(session):
    lead, ada, grace = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, ada)
    challenge = make_challenge(session, greater_is_better=True, group_id=group.id, created_by_id=lead.id)
    scored(session, challenge, make_team(session, challenge, lead, name="lead"), lead, 1.0, minutes=1, host=True)
    scored(session, challenge, make_team(session, challenge, ada, name="ada"), ada, 0.7, minutes=2)
    scored(session, challenge, make_team(session, challenge, grace, name="grace"), grace, 0.9, minutes=3)

    assert public(session, challenge) == [(1, "grace", 0.9), (2, "ada", 0.7)]
    assert [(r.rank, r.group_rank, r.team_name) for r in public_leaderboard(session, challenge, group_id=group.id,
                                                                            now=T0)] == [(2, 1, "ada")]
    assert count_teams(session, challenge, group_id=group.id) == 1


def test_the_private_board_and_its_shake_up_leave_host_rows_out(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=2)
    organizer, ada, grace = make_user(session), make_user(session), make_user(session)
    host_team = make_team(session, challenge, organizer, name="organizer")
    scored(session, challenge, host_team, organizer, 1.0, 1.0, minutes=1, host=True, selected_final=True)
    scored(session, challenge, make_team(session, challenge, ada, name="ada"), ada, 0.9, 0.6, minutes=2)
    scored(session, challenge, make_team(session, challenge, grace, name="grace"), grace, 0.8, 0.7, minutes=3)

    # Public ranks 1 (ada) and 2 (grace), as if the host had never submitted; grace climbs one place.
    assert standings(session, challenge) == [(1, "grace", 0.7, 2, 1), (2, "ada", 0.6, 1, -1)]
    assert private.count_standings(session, challenge) == 2


def test_a_host_submission_is_never_a_final_even_when_selected(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=2)
    organizer = make_user(session)
    team = make_team(session, challenge, organizer)
    scored(session, challenge, team, organizer, 1.0, 1.0, minutes=1, host=True)
    scored(session, challenge, team, organizer, 0.9, 0.9, minutes=2, host=True, selected_final=True)
    assert team_finals(session, challenge, team.id) == []
    assert team.id not in all_finals(session, challenge)


def test_a_team_keeps_the_rank_its_learners_earned_when_a_member_later_hosts(session):
    # The flag is per submission, set when it was made: a member's host submissions drop out, the others stay.
    challenge = make_challenge(session)
    ada, admin = make_user(session), make_user(session, is_admin=True)
    team = make_team(session, challenge, ada, admin, name="mixed")
    learned = scored(session, challenge, team, ada, 0.30, minutes=1)
    scored(session, challenge, team, admin, 0.01, minutes=2, host=True)
    row = session.get(TeamBestScore, (challenge.id, team.id))
    assert (row.submission_id, row.public_score, row.entries) == (learned.id, 0.30, 1)
