"""Pseudonymous and anonymous study-group boards: the lead chooses; members see each other by pseudonym or number
on every board, page and API; the lead (and admins) always see real names."""

import doctest
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.leaderboard import identity as identity_rules
from heldout.leaderboard.best import refresh_team_best
from heldout.models import BoardIdentity, GroupMembership, StudyGroup, User
from heldout.platform.services import groups, leaderboards
from heldout.platform.services.accounts import create_token
from heldout.platform.services.errors import Conflict, Forbidden, ServiceError
from tests.factories import T0, make_challenge, make_group, make_scored, make_team, make_user
from tests.helpers import csrf_token
from tests.platform.test_groups import login

END = T0 + timedelta(days=7)
# Distinctive: nothing else on the site contains them.
CLASSMATES = ("zed-classmate", "yolanda-classmate", "xavier-classmate")


def test_the_naming_examples_hold():
    assert doctest.testmod(identity_rules).failed == 0


def classroom(session, mode=BoardIdentity.PSEUDONYMS):
    """A group (lead "teacher") whose own challenge has ended; members: "viewer" (team alone), zed (pseudonym
    Quiet Heron), yolanda (none chosen) and xavier sharing a team. Zed also entered a public challenge."""
    lead = make_user(session, "teacher")
    viewer = make_user(session, "viewer")
    zed, yolanda, xavier = (make_user(session, name) for name in CLASSMATES)
    group = make_group(session, lead, viewer, zed, yolanda, xavier)
    for number, user in enumerate((lead, viewer, zed, yolanda, xavier), start=1):
        session.get(GroupMembership, (group.id, user.id)).number = number
    session.get(GroupMembership, (group.id, zed.id)).pseudonym = "Quiet Heron"
    group.board_identity = mode.value
    challenge = make_challenge(session, "class-race", greater_is_better=True, group_id=group.id, ends_at=END)
    teams = [(make_team(session, challenge, viewer, name="viewer's team"), viewer, 0.5),
             (make_team(session, challenge, zed, name="zed-classmate's team"), zed, 0.9),
             (make_team(session, challenge, yolanda, xavier, name="yolanda-classmate and xavier-classmate"),
              yolanda, 0.7)]
    for team, author, score in teams:
        team.writeup_md = f"How we scored {score}"  # write-ups are read after the reveal, next to the teams
        make_scored(session, team, author, score, score - 0.1, at=T0)
        refresh_team_best(session, challenge.id, team.id, now=T0)
    public = make_challenge(session, "open-race", greater_is_better=True)
    team = make_team(session, public, zed, name="zed-classmate")
    make_scored(session, team, zed, 0.8, at=T0)
    refresh_team_best(session, public.id, team.id, now=T0)
    session.commit()
    return group, challenge, public, {u.username: u for u in (lead, viewer, zed, yolanda, xavier)}


def team_names(board):
    return [row.team for row in board.rows]


def test_members_see_pseudonyms_and_the_lead_sees_names(session):
    group, challenge, public, users = classroom(session)
    viewer, lead = users["viewer"], users["teacher"]
    assert team_names(leaderboards.public_board(session, challenge, viewer, now=T0)) == [
        "Quiet Heron", "Member #4 & Member #5", "Member #2"]
    assert team_names(leaderboards.private_board(session, challenge, viewer, now=END)) == [
        "Quiet Heron", "Member #4 & Member #5", "Member #2"]
    assert team_names(leaderboards.public_board(session, challenge, lead, now=T0)) == [
        "zed-classmate's team", "yolanda-classmate and xavier-classmate", "viewer's team"]
    # The group's view of a public challenge names members the same way; the full public board is unchanged.
    assert team_names(leaderboards.public_board(session, public, viewer, group=group.slug, now=T0)) == [
        "Quiet Heron"]
    assert team_names(leaderboards.public_board(session, public, viewer, now=T0)) == ["zed-classmate"]
    # The group page lists members by the same labels; the lead by name.
    view = groups.group_view(session, viewer, group.slug)
    assert [m.username for m in view.members] == ["teacher", "Member #2", "Quiet Heron", "Member #4", "Member #5"]
    assert view.masked and view.my_number == 2
    assert [m.username for m in groups.group_view(session, lead, group.slug).members][2] == "zed-classmate"


def test_an_anonymous_board_numbers_members(session):
    group, challenge, _public, users = classroom(session, BoardIdentity.ANONYMOUS)
    assert team_names(leaderboards.public_board(session, challenge, users["zed-classmate"], now=T0)) == [
        "#3", "#4 & #5", "#2"]
    assert team_names(leaderboards.public_board(session, challenge, make_admin(session), now=T0))[0] == (
        "zed-classmate's team")
    # A member who left the group is "a former member" to the others.
    groups.leave_group(session, users["zed-classmate"], group.slug)
    assert team_names(leaderboards.public_board(session, challenge, users["viewer"], now=T0))[0] == "a former member"


def make_admin(session):
    admin = make_user(session, is_admin=True)
    session.commit()
    return admin


def test_only_the_lead_chooses_how_members_see_each_other(session):
    group, _challenge, _public, users = classroom(session, BoardIdentity.NAMES)
    with pytest.raises(Forbidden):
        groups.set_board_identity(session, users["viewer"], group.slug, "anonymous")
    with pytest.raises(ServiceError, match="one of names, pseudonyms, anonymous") as bad:
        groups.set_board_identity(session, users["teacher"], group.slug, "secret")
    assert bad.value.field == "board_identity"
    groups.set_board_identity(session, users["teacher"], group.slug, "anonymous")
    assert session.scalar(select(StudyGroup.board_identity)) == "anonymous"


def test_a_pseudonym_is_checked_and_can_be_cleared(session):
    group, _challenge, _public, users = classroom(session)
    viewer = users["viewer"]
    for bad, message in (("x", "2–30"), ("#7", "2–30"), ("Member #3", "not a number"), ("a former member", "2–30"),
                         ("<script>", "2–30"), ("YOLANDA-classmate", "someone's username")):
        with pytest.raises(ServiceError, match=re.escape(message) if message != "2–30" else "2–30") as refused:
            groups.set_pseudonym(session, viewer, group.slug, bad)
        assert refused.value.field == "pseudonym", bad
    with pytest.raises(Conflict):
        groups.set_pseudonym(session, viewer, group.slug, "quiet  heron")
    with pytest.raises(Forbidden):
        groups.set_pseudonym(session, users["teacher"], group.slug, "Boss")
    assert groups.set_pseudonym(session, viewer, group.slug, "  Ada   Byron ") == "Ada Byron"
    assert groups.set_pseudonym(session, viewer, group.slug, "Zoë O'Neil-Smith") == "Zoë O'Neil-Smith"
    assert groups.set_pseudonym(session, viewer, group.slug, "") is None


def test_members_are_numbered_as_they_join(session):
    lead, ada, bob = make_user(session), make_user(session), make_user(session)
    group = groups.create_group(session, lead, "Club")
    groups.join_group(session, ada, group.invite_code)
    groups.join_group(session, bob, group.invite_code)
    groups.leave_group(session, ada, group.slug)
    carl = make_user(session)
    session.commit()
    groups.join_group(session, carl, group.invite_code)
    numbers = dict(session.execute(select(GroupMembership.user_id, GroupMembership.number)).all())
    assert numbers == {lead.id: 1, bob.id: 3, carl.id: 4}  # a number is never given twice


# --- every page and API a member reads -----------------------------------------------------------------------------

@pytest.fixture
def database_url(sqlite_only):
    return sqlite_only


def test_a_members_pages_and_apis_never_show_another_members_username(app, client):
    app.config["HELDOUT_RATE_LIMITS"] = {"token": "10000 per minute", "bad_token": "10000 per minute"}
    with app.extensions["heldout"].sessions() as s:
        group, _challenge, _public, users = classroom(s)
        token = create_token(s, users["viewer"], "t")
        viewer_id, slug = users["viewer"].id, group.slug
    login(client, viewer_id)
    auth = {"Authorization": f"Bearer {token}"}
    reads = {
        "group page": client.get(f"/groups/{slug}"),
        "challenge page": client.get("/c/class-race"),
        "public board": client.get("/c/class-race/leaderboard"),
        "private board": client.get("/c/class-race/leaderboard?board=private"),
        "group view": client.get(f"/c/open-race/leaderboard?group={slug}"),
        "shake-up chart": client.get("/c/class-race/charts/shakeup.json"),
        "history chart": client.get("/c/class-race/charts/history.json"),
        "api board": client.get("/api/v1/challenges/class-race/leaderboard", headers=auth),
        "api private board": client.get("/api/v1/challenges/class-race/leaderboard?private=true", headers=auth),
        "api group view": client.get(f"/api/v1/challenges/open-race/leaderboard?group={slug}", headers=auth),
        "api write-ups": client.get("/api/v1/challenges/class-race/writeups", headers=auth),
        "kaggle board": client.post("/api/v1/competitions.CompetitionApiService/GetLeaderboard",
                                    json={"competitionName": "class-race"}, headers=auth),
    }
    download = client.post("/api/v1/competitions.CompetitionApiService/DownloadLeaderboard",
                           json={"competitionName": "class-race"}, headers=auth)
    if download.status_code != 404:  # the Kaggle download, where this Heldout has it
        reads["kaggle download"] = download
    for what, response in reads.items():
        assert response.status_code == 200, what
        if what == "kaggle download":
            with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
                body = "".join(archive.read(n).decode() for n in archive.namelist())
        else:
            body = response.get_data(as_text=True)
        found = [name for name in CLASSMATES if name in body or json.dumps(name)[1:-1] in body]
        assert found == [], what
    assert "Quiet Heron" in reads["public board"].get_data(as_text=True)
    assert "How we scored 0.9" in reads["challenge page"].get_data(as_text=True)  # the write-ups were read
    assert "Quiet Heron" in reads["api board"].get_data(as_text=True)
    # The lead, on the same page, reads real names.
    with app.extensions["heldout"].sessions() as s:
        lead_id = s.scalar(select(User.id).where(User.username == "teacher"))
    login(client, lead_id)
    assert "zed-classmate" in client.get("/c/class-race/leaderboard").get_data(as_text=True)


def test_the_lead_sets_the_mode_and_a_member_their_pseudonym_on_the_group_page(app, client):
    with app.extensions["heldout"].sessions() as s:
        group, _challenge, _public, users = classroom(s, BoardIdentity.NAMES)
        ids, slug = {name: u.id for name, u in users.items()}, group.slug
    login(client, ids["teacher"])
    page = f"/groups/{slug}"
    client.post(f"{page}/board-identity", data={"csrf_token": csrf_token(client, page), "board_identity": "anonymous"})
    login(client, ids["viewer"])
    text = client.get(page).get_data(as_text=True)
    assert "You are <strong>#2</strong>" in text and "zed-classmate" not in text
    saved = client.post(f"{page}/pseudonym", data={"csrf_token": csrf_token(client, page), "pseudonym": "Night Owl"},
                        follow_redirects=True)
    assert "Saved your pseudonym." in saved.get_data(as_text=True)
    refused = client.post(f"{page}/pseudonym", data={"csrf_token": csrf_token(client, page), "pseudonym": "teacher"},
                          follow_redirects=True)
    assert "someone&#39;s username" in refused.get_data(as_text=True)
