"""A study group challenge's grades: one row per member, with the private score's statistical tie band; only
the group's lead reads them, provisional until the private board is revealed."""

import csv
import doctest
import io
from datetime import timedelta

import pytest

from heldout.leaderboard import ranking
from heldout.leaderboard.best import refresh_team_best
from sqlalchemy import select

from heldout.models import RosterEntry, Team, User
from heldout.platform.services import grades
from heldout.platform.services.errors import Forbidden, NotFound
from tests.factories import T0, make_challenge, make_group, make_scored, make_team, make_user
from tests.platform.test_groups import login

END = T0 + timedelta(days=7)


def test_the_tie_band_examples_hold():
    assert doctest.testmod(ranking).failed == 0


def test_tie_bands_chain_overlapping_intervals_and_never_claim_a_tie_without_one():
    assert ranking.tie_bands([(1, 2)]) == [1]
    assert ranking.tie_bands([(5, 6), (4, 5), (3, 4), (1, 2)]) == [1, 1, 1, 2]  # touching intervals overlap
    assert ranking.tie_bands([None, (1, 2), (1, 2)]) == [1, 2, 2]
    assert ranking.tie_bands([(0.5, 0.5), (0.5, 0.5)]) == [1, 1]  # equal scores with no spread tie


def class_of(session, *, revealed=True):
    """A group challenge (higher is better) where five members stand on a board with ties, and one never
    submitted; a member of another group's, and that group's lead."""
    lead = make_user(session, "teacher")
    students = [make_user(session, name) for name in ("ann", "bob", "cyd", "dee", "eve", "fay")]
    group = make_group(session, lead, *students)
    other_lead = make_user(session, "other-teacher")
    make_group(session, other_lead)
    challenge = make_challenge(session, "class-race", greater_is_better=True, group_id=group.id,
                               ends_at=END if revealed else END + timedelta(days=365))
    # private score, its 95% interval: ann and bob cannot be told apart, nor can cyd and dee; eve stands alone.
    board = {"ann": (0.91, (0.88, 0.94)), "bob": (0.90, (0.87, 0.93)), "cyd": (0.80, (0.77, 0.83)),
             "dee": (0.79, (0.76, 0.82)), "eve": (0.60, (0.55, 0.65))}
    for student in students[:5]:
        team = make_team(session, challenge, student, name=f"team {student.username}")
        private, ci = board[student.username]
        make_scored(session, team, student, private - 0.05, private - 0.1, at=T0)
        make_scored(session, team, student, private + 0.01, private, at=T0 + timedelta(hours=1),
                    private_ci_low=ci[0], private_ci_high=ci[1])
        refresh_team_best(session, challenge.id, team.id, now=T0)
    # Eve also tried after the end: her late submission is counted and marked, and ranks nowhere.
    eve_team = session.scalar(select(Team).where(Team.name == "team eve"))
    make_scored(session, eve_team, students[4], 0.99, 0.99, at=END + timedelta(hours=1), late=True)
    session.add(RosterEntry(group_id=group.id, key="u:ann", username="ann", display_name="Ann Arbor",
                            user_id=students[0].id, joined_at=T0))
    session.commit()
    return lead, students, group, challenge, other_lead


def test_grades_on_a_tied_board_put_indistinguishable_members_in_one_band(session):
    lead, _students, group, challenge, _other = class_of(session)
    sheet = grades.grade_sheet(session, lead, group.slug, challenge.slug, now=END)
    assert not sheet.provisional
    assert [(r.username, r.private_rank, r.private_score, r.tie_band) for r in sheet.rows] == [
        ("ann", 1, 0.91, 1), ("bob", 2, 0.90, 1), ("cyd", 3, 0.80, 2), ("dee", 4, 0.79, 2), ("eve", 5, 0.60, 3),
        ("fay", None, None, None)]
    assert [r.submissions for r in sheet.rows] == [2, 2, 2, 2, 3, 0]
    ann, fay = sheet.rows[0], sheet.rows[-1]
    assert (ann.display_name, ann.team, ann.best_public_score, ann.submissions) == ("Ann Arbor", "team ann", 0.92, 2)
    assert (fay.team, fay.best_public_score, fay.submissions) == (None, None, 0)
    table = list(csv.DictReader(io.StringIO(grades.grades_csv(sheet))))
    assert list(table[0]) == list(grades.COLUMNS)
    assert table[0] == {"username": "ann", "display_name": "Ann Arbor", "team": "team ann",
                        "best_public_score": "0.92", "private_score": "0.91", "private_rank": "1", "tie_band": "1",
                        "submissions": "2", "late": "no", "on_extension": "", "provisional": "no"}
    assert table[-1]["private_rank"] == "" and table[-1]["submissions"] == "0"
    assert [r["late"] for r in table] == ["no", "no", "no", "no", "yes", "no"]
    assert "teacher" not in {r["username"] for r in table}  # the lead is a host, not a member being graded


def test_grades_before_the_reveal_are_the_leads_but_provisional(session):
    lead, _students, group, challenge, _other = class_of(session, revealed=False)
    sheet = grades.grade_sheet(session, lead, group.slug, challenge.slug, now=END)
    assert sheet.provisional and sheet.rows[0].private_score == 0.91
    assert grades.grades_csv(sheet).splitlines()[1].endswith(",yes")


def test_only_the_groups_lead_reads_its_grades(session):
    lead, students, group, challenge, other_lead = class_of(session)
    with pytest.raises(Forbidden):
        grades.grade_sheet(session, students[0], group.slug, challenge.slug, now=END)
    with pytest.raises(NotFound):  # another group's lead: the group does not exist for them
        grades.grade_sheet(session, other_lead, group.slug, challenge.slug, now=END)
    other_slug = make_group(session, other_lead).slug
    with pytest.raises(NotFound):  # nor does the challenge under their own group
        grades.grade_sheet(session, other_lead, other_slug, challenge.slug, now=END)
    public = make_challenge(session, "open-race")
    session.commit()
    with pytest.raises(NotFound):  # a challenge the group does not own has no grades
        grades.grade_sheet(session, lead, group.slug, public.slug, now=END)


def test_a_team_name_cannot_become_a_formula_in_the_leads_spreadsheet(session):
    lead, students, group, challenge, _other = class_of(session)
    team = session.scalar(select(Team).where(Team.name == "team bob"))
    team.name = '=HYPERLINK("http://evil","x")'
    session.commit()
    table = list(csv.DictReader(io.StringIO(grades.grades_csv(
        grades.grade_sheet(session, lead, group.slug, challenge.slug, now=END)))))
    assert table[1]["team"] == "'=HYPERLINK(\"http://evil\",\"x\")"


def test_the_lead_downloads_grades_from_the_group_page_and_the_api(app, client):
    from tests.helpers import make_learner

    svc = app.extensions["heldout"]
    teacher = make_learner(svc, "teacher")
    with svc.sessions() as s:
        lead = s.scalar(select(User).where(User.username == "teacher"))
        member, other_lead = make_user(s, "member"), make_user(s, "other")
        group = make_group(s, lead, member)
        make_group(s, other_lead)
        challenge = make_challenge(s, "class-race", group_id=group.id)
        team = make_team(s, challenge, member, name="solo")
        make_scored(s, team, member, 0.5, 0.6)
        s.commit()
        ids, slug = (lead.id, member.id, other_lead.id), group.slug
    page_url = f"/groups/{slug}/challenges/class-race/grades.csv"
    login(client, ids[0])
    assert page_url in client.get(f"/groups/{slug}").get_data(as_text=True)
    download = client.get(page_url)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "provisional.csv" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True).splitlines()[1].startswith("member,,solo,0.5,0.6,1,")
    api = client.get(f"/api/v1{page_url}", headers=teacher.bearer)
    assert api.status_code == 200 and api.get_data() == download.get_data()
    login(client, ids[1])
    assert client.get(page_url).status_code == 403
    login(client, ids[2])
    assert client.get(page_url).status_code == 404
    assert client.get(f"/api/v1/groups/{slug}/challenges/nope/grades.csv", headers=teacher.bearer).status_code == 404
