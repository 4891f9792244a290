"""Study groups: a lead, members, an invite link; the group's leaderboard view and its own challenges."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.leaderboard.best import refresh_team_best
from heldout.models import GroupMembership, StudyGroup
from heldout.platform.services import groups, leaderboards
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError
from tests.factories import (
    T0,
    make_challenge,
    make_group,
    make_scored,
    make_team,
    make_user,
)
from tests.platform.conftest import csrf_token


def test_creating_a_group_makes_its_lead_a_member(session):
    lead = make_user(session, "lead")
    group = groups.create_group(session, lead, "  Kaggle   Club ")
    assert (group.name, group.slug) == ("Kaggle Club", "kaggle-club") and len(group.invite_code) >= 16
    view = groups.group_view(session, lead, group.slug)
    assert view.is_lead and [m.username for m in view.members] == ["lead"]
    assert groups.create_group(session, lead, "Kaggle club!").slug == "kaggle-club-2"
    with pytest.raises(ServiceError) as nameless:
        groups.create_group(session, lead, " ")
    assert nameless.value.field == "name"


def test_joining_by_invite_code_and_rotating_it(session):
    lead, ada, bob = make_user(session), make_user(session), make_user(session)
    group = groups.create_group(session, lead, "Club")
    old = group.invite_code
    assert groups.invitation(session, ada, old).is_member is False
    groups.join_group(session, ada, old)
    with pytest.raises(Conflict):
        groups.join_group(session, ada, old)
    new = groups.rotate_invite(session, lead, group.slug)
    with pytest.raises(NotFound) as stale:
        groups.join_group(session, bob, old)
    assert stale.value.field == "code"
    groups.join_group(session, bob, new)
    assert {m.username for m in groups.group_view(session, lead, group.slug).members} == {
        lead.username, ada.username, bob.username}


def test_only_the_lead_removes_members_and_rotates_the_code(session):
    lead, ada, bob = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, ada, bob)
    session.commit()
    with pytest.raises(Forbidden):
        groups.remove_member(session, ada, group.slug, bob.id)
    with pytest.raises(Forbidden):
        groups.rotate_invite(session, ada, group.slug)
    with pytest.raises(ServiceError):
        groups.remove_member(session, lead, group.slug, lead.id)
    groups.remove_member(session, lead, group.slug, bob.id)
    with pytest.raises(NotFound):  # bob no longer sees the group at all
        groups.group_view(session, bob, group.slug)
    with pytest.raises(Forbidden):
        groups.leave_group(session, lead, group.slug)
    groups.leave_group(session, ada, group.slug)
    assert session.scalars(select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)).all() == [
        lead.id]


def test_a_group_does_not_exist_for_non_members(session):
    lead, outsider = make_user(session), make_user(session)
    group = make_group(session, lead)
    for action in (lambda: groups.group_view(session, outsider, group.slug),
                   lambda: groups.leave_group(session, outsider, group.slug),
                   lambda: groups.remove_member(session, outsider, group.slug, lead.id),
                   lambda: groups.rotate_invite(session, outsider, group.slug)):
        with pytest.raises(NotFound):
            action()


def test_a_groups_leaderboard_shows_only_teams_with_members(session):
    challenge = make_challenge(session, greater_is_better=True, ends_at=T0 + timedelta(days=1))
    users = [make_user(session, name) for name in ("ann", "bob", "cy")]
    for i, user in enumerate(users):
        team = make_team(session, challenge, user, name=f"team-{user.username}")
        make_scored(session, team, user, 0.9 - 0.1 * i, 0.5 + 0.1 * i)
        refresh_team_best(session, challenge.id, team.id, now=T0)
    group = make_group(session, users[1], users[2])
    session.commit()
    board = leaderboards.public_board(session, challenge, users[1], group=group.slug, now=T0)
    assert [(r.group_rank, r.rank, r.team) for r in board.rows] == [(1, 2, "team-bob"), (2, 3, "team-cy")]
    with pytest.raises(NotFound):
        leaderboards.public_board(session, challenge, users[0], group=group.slug, now=T0)
    # The group's private view obeys the same reveal rule as everyone's, then shows the group's teams only.
    with pytest.raises(Forbidden):
        leaderboards.private_board(session, challenge, users[1], group=group.slug, now=T0)
    after = leaderboards.private_board(session, challenge, users[1], group=group.slug, now=T0 + timedelta(days=1))
    assert [(r.group_rank, r.rank, r.team, r.shake_up) for r in after.rows] == [
        (1, 1, "team-cy", 2), (2, 2, "team-bob", 0)]
    view = groups.group_view(session, users[1], group.slug)
    assert [c.slug for c in view.boards] == [challenge.slug]


# --- pages ----------------------------------------------------------------------------------------------------

def login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def test_a_learner_creates_a_group_and_another_joins_by_link(client, app):
    with app.extensions["heldout"].sessions() as s:
        lead, ada = make_user(s, "lead"), make_user(s, "ada")
        s.commit()
        ids = lead.id, ada.id
    login(client, ids[0])
    response = client.post("/groups", data={"csrf_token": csrf_token(client, "/groups"), "name": "Club"})
    assert response.status_code == 302 and response.location.endswith("/groups/club")
    page = client.get("/groups/club").get_data(as_text=True)
    with app.extensions["heldout"].sessions() as s:
        code = s.scalar(select(StudyGroup.invite_code))
    assert f"/groups/join/{code}" in page
    login(client, ids[1])
    assert client.get("/groups/club").status_code == 404
    client.post(f"/groups/join/{code}", data={"csrf_token": csrf_token(client, f"/groups/join/{code}")})
    assert client.get("/groups/club").status_code == 200
