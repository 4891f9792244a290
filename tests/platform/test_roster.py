"""A study group's roster: existing accounts are added, others get a personal single-use invite; a bad roster
names each bad row and imports nothing; the same roster twice changes nothing."""

import csv
import doctest
import io

import pytest
from sqlalchemy import func, select

from heldout.models import GroupMembership, RosterEntry
from heldout.platform.services import groups, roster
from heldout.platform.services.errors import Conflict, Forbidden, NotFound
from heldout.platform.services.roster import BadRoster, read_roster
from tests.factories import make_group, make_user
from tests.helpers import csrf_token
from tests.platform.test_groups import login

ROSTER = (b"username,email,display_name\n"
          b"ada,,Ada Lovelace\n"
          b",grace@example.org,Grace Hopper\n"
          b"newbie,,\n"
          b",alan@example.org,Alan\n")


def problems(data: bytes) -> list[tuple]:
    with pytest.raises(BadRoster) as refused:
        read_roster(data)
    return [(p.row, p.column, p.message) for p in refused.value.problems]


def test_the_roster_reader_examples_hold():
    assert doctest.testmod(roster).failed == 0


def members(session, group) -> set[str]:
    from heldout.models import User
    return set(session.scalars(select(User.username).join(GroupMembership, GroupMembership.user_id == User.id)
                               .where(GroupMembership.group_id == group.id)))


def test_existing_accounts_are_added_and_everyone_else_is_invited_once(session):
    lead, ada = make_user(session, "lead"), make_user(session, "Ada")
    make_user(session, "grace", email="Grace@Example.org")
    group = make_group(session, lead)
    session.commit()
    result = roster.import_roster(session, lead, group.slug, ROSTER)
    assert (result.added, result.invited, result.unchanged) == (1, 3, 0)
    # Grace's account is not added by its email address (anyone may type any address): her row gets a link.
    assert members(session, group) == {"lead", "Ada"}
    view = roster.roster_view(session, lead, group.slug)
    assert [(line.username or line.email, line.display_name, line.status) for line in view.lines] == [
        ("ada", "Ada Lovelace", "added"), ("grace@example.org", "Grace Hopper", "invited"),
        ("newbie", "", "invited"), ("alan@example.org", "Alan", "invited")]
    assert (view.joined, view.waiting) == (1, 3)
    assert view.lines[0].joined_at is not None
    # The lead's CSV carries each unused invite's link, and no link for those already in.
    rows = list(csv.DictReader(io.StringIO(roster.roster_csv(view, lambda code: f"https://h/i/{code}"))))
    assert [bool(r["invite_link"]) for r in rows] == [False, True, True, True]
    assert rows[0]["status"] == "added" and rows[0]["joined_at"]
    assert ada.id  # the account was matched whatever the case of its username


def test_an_account_claiming_a_classmates_email_is_not_added_to_the_group(session):
    """A learner who registers with a classmate's address before the lead imports the class gets no seat: the
    row is invited, and its link works only for whoever the lead sends it to (and holds that address)."""
    lead, intruder = make_user(session, "lead"), make_user(session, "intruder", email="grace@example.org")
    group = make_group(session, lead)
    session.commit()
    result = roster.import_roster(session, lead, group.slug, b"email,display_name\ngrace@example.org,Grace Hopper\n")
    assert (result.added, result.invited) == (0, 1)
    assert members(session, group) == {"lead"}
    assert intruder.id not in {e.user_id for e in session.scalars(select(RosterEntry))}


def test_the_roster_download_neutralizes_cells_a_spreadsheet_would_run(session):
    lead = make_user(session, "lead")
    group = make_group(session, lead)
    session.commit()
    roster.import_roster(session, lead, group.slug,
                         b'username,display_name\n-1-1,"=HYPERLINK(""http://evil"",""x"")"\n')
    view = roster.roster_view(session, lead, group.slug)
    row = next(csv.DictReader(io.StringIO(roster.roster_csv(view, lambda code: f"https://h/i/{code}"))))
    assert (row["username"], row["display_name"]) == ("'-1-1", "'=HYPERLINK(\"http://evil\",\"x\")")


def test_importing_the_same_roster_again_changes_nothing(session):
    lead = make_user(session, "lead")
    make_user(session, "ada")
    group = make_group(session, lead)
    session.commit()
    roster.import_roster(session, lead, group.slug, ROSTER)

    def state():
        return [(e.key, e.invite_code, e.joined_at, e.user_id, e.display_name)
                for e in session.scalars(select(RosterEntry).order_by(RosterEntry.id))], members(session, group)

    before = state()
    again = roster.import_roster(session, lead, group.slug, ROSTER)
    assert (again.added, again.invited, again.unchanged) == (0, 0, 4)
    assert state() == before


def test_a_personal_invite_works_once_and_only_for_its_person(session):
    lead = make_user(session, "lead")
    group = make_group(session, lead)
    session.commit()
    roster.import_roster(session, lead, group.slug, ROSTER)
    codes = {e.username or e.email: e.invite_code for e in session.scalars(select(RosterEntry))}
    newbie, stranger = make_user(session, "NEWBIE"), make_user(session, "stranger")
    alan = make_user(session, "alan", email="ALAN@example.org")
    no_email = make_user(session, "noemail")
    session.commit()
    with pytest.raises(Forbidden, match="'newbie'"):
        roster.accept_personal_invite(session, stranger, codes["newbie"])
    with pytest.raises(Forbidden, match="alan@example.org"):
        roster.accept_personal_invite(session, no_email, codes["alan@example.org"])
    invite = roster.personal_invite(session, codes["newbie"])
    assert (invite.group_slug, invite.for_username, invite.used) == (group.slug, "newbie", False)
    assert roster.accept_personal_invite(session, newbie, codes["newbie"]).id == group.id
    roster.accept_personal_invite(session, alan, codes["alan@example.org"])
    with pytest.raises(Conflict, match="already used"):
        roster.accept_personal_invite(session, newbie, codes["newbie"])
    with pytest.raises(NotFound):
        roster.accept_personal_invite(session, newbie, "not-a-code")
    assert members(session, group) == {"lead", "NEWBIE", "alan"}
    assert [line.status for line in roster.roster_view(session, lead, group.slug).lines][2:] == ["joined", "joined"]
    # Someone who leaves shows as such; someone who joined by the group's link counts as joined.
    groups.leave_group(session, newbie, group.slug)
    assert roster.roster_view(session, lead, group.slug).lines[2].status == "left"


def test_a_roster_member_who_joined_by_the_groups_link_shows_as_joined(session):
    lead = make_user(session, "lead")
    group = make_group(session, lead)
    session.commit()
    roster.import_roster(session, lead, group.slug, b"username\nlate\n")
    late = make_user(session, "late")
    session.commit()
    groups.join_group(session, late, group.invite_code)
    line = roster.roster_view(session, lead, group.slug).lines[0]
    assert (line.status, line.member, line.invite_code) == ("joined", "late", None)


def test_a_member_claiming_a_classmates_email_neither_takes_their_row_nor_their_name_in_the_grades(session):
    """Someone who joined by the group's link with a classmate's (unverified) address: the classmate's row still
    waits with its link for the lead to send, and the grades do not give the intruder the classmate's name."""
    from heldout.platform.services import grades
    from tests.factories import T0, make_challenge
    lead = make_user(session, "lead")
    group = make_group(session, lead)
    session.commit()
    roster.import_roster(session, lead, group.slug, b"email,display_name\ngrace@example.org,Grace Hopper\n")
    intruder = make_user(session, "intruder", email="Grace@example.org")
    make_challenge(session, "class-task", group_id=group.id, ends_at=T0)
    session.commit()
    groups.join_group(session, intruder, group.invite_code)
    line = roster.roster_view(session, lead, group.slug).lines[0]
    assert (line.status, line.member) == ("invited", None) and line.invite_code
    sheet = grades.grade_sheet(session, lead, group.slug, "class-task", now=T0)
    assert [(r.username, r.display_name) for r in sheet.rows] == [("intruder", "")]


def test_only_the_lead_imports_or_reads_the_roster(session):
    lead, member, outsider = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, member)
    session.commit()
    with pytest.raises(Forbidden):
        roster.import_roster(session, member, group.slug, ROSTER)
    with pytest.raises(Forbidden):
        roster.roster_view(session, member, group.slug)
    with pytest.raises(NotFound):
        roster.roster_view(session, outsider, group.slug)
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_a_bad_roster_names_every_bad_row_and_imports_nothing(session):
    lead = make_user(session, "lead")
    make_user(session, "ada")
    group = make_group(session, lead)
    session.commit()
    bad = (b"username,email,display_name\n"
           b"ada,,Ada\n"
           b",,Nobody\n"
           b",not-an-email,\n"
           b"ADA,,Ada again\n"
           b"bo b,,\n"
           b"carol,," + b"x" * 81 + b"\n"
           b"dave,dave@example.org\n")
    with pytest.raises(BadRoster) as refused:
        roster.import_roster(session, lead, group.slug, bad)
    found = [(p.row, p.column) for p in refused.value.problems]
    assert found == [(3, "username"), (4, "email"), (5, "username"), (6, "username"), (7, "display_name"), (8, None)]
    messages = [p.message for p in refused.value.problems]
    assert messages[0] == "empty: give a username or an email"
    assert "'not-an-email' is not an email address" in messages[1]
    assert messages[2] == "a duplicate of row 2"
    assert "not a username" in messages[3] and "longer than 80 characters (81)" in messages[4]
    assert messages[5] == "2 fields where the header has 3"
    assert refused.value.code == "bad_roster" and refused.value.details["problems"][0]["row"] == 3
    # Nothing at all was imported, not even the good first row.
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0
    assert members(session, group) == {"lead"}


def test_a_roster_without_the_columns_or_with_unknown_ones_is_refused():
    assert problems(b"name,mail\nada,a@b.org\n") == [
        (1, "name", "unknown column (the columns are username, email and display_name)"),
        (1, "mail", "unknown column (the columns are username, email and display_name)"),
        (1, None, "no username or email column: a roster needs one of them")]
    assert problems(b"username,username\nada,ada\n") == [(1, "username", "this column appears twice")]
    assert problems(b"")[0][:2] == (1, None)
    assert problems(b"\n\n")[0][2].startswith("the file is empty")


def test_bad_encoding_names_each_bad_line():
    assert problems(b"username\nada\nj\xe9r\xf4me\nbob\nz\xfc\n") == [
        (3, None, "not UTF-8 text (byte 0xe9): save the file as CSV UTF-8"),
        (5, None, "not UTF-8 text (byte 0xfc): save the file as CSV UTF-8")]
    # A byte-order mark, Windows line ends, quoting and blank lines are fine.
    rows = read_roster(b'\xef\xbb\xbfusername,display_name\r\nada,"Lovelace, Ada"\r\n\r\n' + "jozef,Józef".encode() + b"\r\n")
    assert [(r.row, r.username, r.display_name) for r in rows][:1] == [(2, "ada", "Lovelace, Ada")]


def test_too_many_rows_or_too_large_a_file_is_refused():
    many = b"username\n" + b"".join(b"user%04d\n" % i for i in range(roster.MAX_ROSTER_ROWS + 5))
    assert problems(many) == [(roster.MAX_ROSTER_ROWS + 2, None,
                               "too many rows: a roster has at most 2,000 (split it, and import each part)")]
    huge = b"username\n" + b"a" * (roster.MAX_ROSTER_BYTES + 1)
    assert problems(huge) == [(None, None, "the file is larger than 1,000,000 bytes; a roster has at most "
                                           "2,000 rows")]


# --- pages and the API -------------------------------------------------------------------------------------------

def test_the_lead_imports_a_roster_on_its_page_and_downloads_the_links(app, client):
    with app.extensions["heldout"].sessions() as s:
        lead, member = make_user(s, "lead"), make_user(s, "member")
        group = make_group(s, lead, member)
        s.commit()
        ids, slug = (lead.id, member.id), group.slug
    login(client, ids[0])
    page = f"/groups/{slug}/roster"
    token = csrf_token(client, page)
    bad = client.post(page, data={"csrf_token": token, "roster": (io.BytesIO(b"username\nada\nbad name\n"), "r.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "nothing was imported" in bad.get_data(as_text=True)
    good = client.post(page, data={"csrf_token": token, "roster": (io.BytesIO(ROSTER), "r.csv")},
                       content_type="multipart/form-data")
    assert good.status_code == 200 and "4 invited" in good.get_data(as_text=True)
    download = client.get(f"/groups/{slug}/roster.csv")
    assert download.mimetype == "text/csv" and download.get_data(as_text=True).count("/groups/invite/") == 4
    login(client, ids[1])
    assert client.get(page).status_code == 403 and client.get(f"/groups/{slug}/roster.csv").status_code == 403


def test_a_personal_invite_link_lets_its_person_register_and_join(app, client):
    with app.extensions["heldout"].sessions() as s:
        lead = make_user(s, "lead")
        group = make_group(s, lead)
        s.commit()
        roster.import_roster(s, lead, group.slug, b"email,display_name\nnew@example.org,New\n")
        code = s.scalar(select(RosterEntry.invite_code))
    url = f"/groups/invite/{code}"
    page = client.get(url).get_data(as_text=True)
    assert "new@example.org" in page and "email=new@example.org" in page
    token = csrf_token(client, "/register")
    client.post(f"/register?next={url}", data={"username": "newbie", "password": "correct horse",
                                                "email": "new@example.org", "csrf_token": token})
    joined = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert joined.status_code == 302 and joined.location.endswith(f"/groups/{group.slug}")
    assert client.get(url).status_code == 200 and "You are a member" in client.get(url).get_data(as_text=True)
    assert client.get("/groups/invite/nope").status_code == 404


def test_the_roster_api_imports_and_exports(app, client):
    from tests.helpers import make_learner

    svc = app.extensions["heldout"]
    lead = make_learner(svc, "lead")
    with svc.sessions() as s:
        from heldout.models import User
        group = make_group(s, s.scalar(select(User).where(User.username == "lead")))
        s.commit()
        slug = group.slug
    url = f"/api/v1/groups/{slug}/roster"
    refused = client.post(url, headers=lead.bearer, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b"username\nok-name\nbad name\n"), "r.csv")})
    assert refused.status_code == 400
    assert refused.get_json()["details"]["problems"] == [
        {"row": 3, "column": "username", "message": refused.get_json()["details"]["problems"][0]["message"]}]
    done = client.post(url, headers=lead.bearer, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(ROSTER), "r.csv")})
    assert done.status_code == 200 and (done.get_json()["invited"], done.get_json()["unchanged"]) == (4, 0)
    exported = client.get(done.get_json()["roster_url"], headers=lead.bearer)
    assert exported.status_code == 200 and exported.get_data(as_text=True).startswith("username,email,display_name")
    assert client.get(f"/api/v1/groups/no-such-group/roster.csv", headers=lead.bearer).status_code == 404
