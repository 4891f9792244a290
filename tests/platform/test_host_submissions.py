"""Hosts never rank, through the services and pages: a host's submission is marked when it is made, scored and
shown to its author with a "host" badge, and left off every board, count and chart; a host makes and joins no team.

The board rules themselves are in tests/leaderboard/test_hosts.py.
"""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.standing import standing
from heldout.models import Challenge, Submission, SubmissionStatus, TeamMembership
from heldout.platform.services import challenge_pages, charts, finals, leaderboards, profile, submissions, teams
from heldout.platform.services.errors import Forbidden, ServiceError
from heldout.storage import LocalStorage
from tests.bundles import perfect_predictions
from tests.factories import T0, make_challenge, make_group, make_user
from tests.platform.conftest import csrf_token

NOW = T0 + timedelta(days=2)


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


def submit(session, storage, challenge, user):
    return submissions.create_submission(session, storage, None, challenge=challenge, user=user,
                                         stream=io.BytesIO(b"id,y\n1,2\n"), filename="p.csv", max_bytes=1000,
                                         now=NOW)


def score(session, submission, public, private=None):
    """Record a score as the worker does: the row, then the team's board row."""
    submission.status, submission.public_score, submission.private_score = SubmissionStatus.SCORED, public, private
    session.flush()
    refresh_team_best(session, submission.challenge_id, submission.team_id, now=NOW)
    session.commit()
    return submission


def public_board(session, challenge, viewer=None, **kw):
    board = leaderboards.public_board(session, challenge, viewer, now=NOW, **kw)
    return [(r.rank, r.team, r.score) for r in board.rows], board.total


def open_challenge(session, **extra):
    return make_challenge(session, greater_is_better=False, starts_at=T0, ends_at=T0 + timedelta(days=30),
                          max_team_size=3, **extra)


def test_an_organizer_submitting_the_solution_leaves_the_best_learner_at_rank_1(session, storage):
    organizer, ada, grace = make_user(session, is_organizer=True), make_user(session), make_user(session)
    challenge = open_challenge(session, created_by_id=organizer.id)
    solution = score(session, submit(session, storage, challenge, organizer), 0.0)
    score(session, submit(session, storage, challenge, ada), 0.30)
    best = score(session, submit(session, storage, challenge, grace), 0.20)

    assert solution.host is True and solution.status == SubmissionStatus.SCORED and solution.public_score == 0.0
    assert public_board(session, challenge) == ([(1, grace.username, 0.20), (2, ada.username, 0.30)], 2)
    assert challenge_pages.team_counts(session, [challenge.id]) == {challenge.id: 2}
    assert [(e.rank, e.teams_ranked) for e in profile.entries(session, grace)] == [(1, 2)]
    assert [(e.rank, e.best_score) for e in profile.entries(session, organizer)] == [(None, None)]
    # The submission page's "where you stand": the learner is first of two; the host's has no place at all.
    assert (standing(session, best).rank, standing(session, best).teams) == (1, 2)
    assert standing(session, solution) is None


def test_a_group_lead_submitting_on_their_groups_challenge_is_on_no_board(session, storage):
    lead, ada, grace = make_user(session), make_user(session), make_user(session)
    group = make_group(session, lead, ada, grace)
    challenge = open_challenge(session, created_by_id=lead.id, group_id=group.id)
    mine = score(session, submit(session, storage, challenge, lead), 0.0)
    score(session, submit(session, storage, challenge, ada), 0.25)
    score(session, submit(session, storage, challenge, grace), 0.50)

    assert mine.host is True
    assert public_board(session, challenge) == ([(1, ada.username, 0.25), (2, grace.username, 0.50)], 2)
    assert public_board(session, challenge, lead, group=group.slug)[1] == 2
    assert challenge_pages.team_counts(session, [challenge.id]) == {challenge.id: 2}


def test_an_admin_is_a_host_and_a_learner_is_not_and_a_later_role_change_rewrites_nothing(session, storage):
    admin, ada = make_user(session, is_admin=True), make_user(session)
    challenge = open_challenge(session)
    assert submit(session, storage, challenge, admin).host is True
    before = score(session, submit(session, storage, challenge, ada), 0.4)
    assert before.host is False

    ada.is_admin = True
    session.commit()
    after = score(session, submit(session, storage, challenge, ada), 0.1)
    assert (before.host, after.host) == (False, True)
    # Ada's learner submission still ranks her team, which still counts; the one made as a host does not rank.
    assert public_board(session, challenge) == ([(1, ada.username, 0.4)], 1)
    assert challenge_pages.team_counts(session, [challenge.id]) == {challenge.id: 1}  # the admin's team is not one


def test_the_private_board_and_shake_up_chart_leave_the_host_out(session, storage):
    organizer, ada, grace = make_user(session), make_user(session), make_user(session)
    challenge = open_challenge(session, created_by_id=organizer.id, private_revealed=True)
    score(session, submit(session, storage, challenge, organizer), 0.0, 0.0)
    score(session, submit(session, storage, challenge, ada), 0.1, 0.5)
    score(session, submit(session, storage, challenge, grace), 0.2, 0.3)

    board = leaderboards.private_board(session, challenge, None, now=NOW)
    assert [(r.rank, r.team, r.public_rank, r.shake_up) for r in board.rows] == [
        (1, grace.username, 2, 1), (2, ada.username, 1, -1)]
    assert board.total == 2
    assert {p["team"] for p in charts.shakeup(session, challenge, None)["points"]} == {ada.username, grace.username}


def test_the_score_history_top_line_ignores_host_scores_but_the_host_sees_their_own(session, storage):
    organizer, ada = make_user(session), make_user(session)
    challenge = open_challenge(session, created_by_id=organizer.id)
    score(session, submit(session, storage, challenge, organizer), 0.0)
    score(session, submit(session, storage, challenge, ada), 0.3)
    assert [p["score"] for p in charts.score_history(session, challenge, ada, now=NOW)["top"]] == [0.3]
    assert [p["score"] for p in charts.score_history(session, challenge, organizer, now=NOW)["team"]] == [0.0]


def test_a_host_cannot_create_join_or_invite_to_a_team(session, storage):
    organizer, ada = make_user(session), make_user(session)
    challenge = open_challenge(session, created_by_id=organizer.id)
    team = teams.create_or_rename_team(session, challenge, ada, "ensemblers", now=NOW)

    with pytest.raises(Forbidden, match="You host this challenge, so you cannot create or join a team") as created:
        teams.create_or_rename_team(session, challenge, organizer, "hosts", now=NOW)
    assert (created.value.code, created.value.field) == ("host", "team")
    with pytest.raises(Forbidden, match="You host this challenge"):
        teams.accept_invite(session, organizer, team.invite_code, now=NOW)

    submit(session, storage, challenge, organizer)  # the host's own team of one, made by submitting
    with pytest.raises(Forbidden, match="You host this challenge"):
        teams.accept_invite(session, organizer, team.invite_code, now=NOW)
    with pytest.raises(Forbidden, match="You host this challenge"):
        teams.rotate_team_invite(session, challenge, organizer, now=NOW)
    host_view = teams.team_view(session, challenge, organizer, now=NOW)
    assert host_view.host is True and host_view.invite_code is None  # the host's team of one gets no link
    assert teams.team_view(session, challenge, ada, now=NOW).host is False


def test_a_learner_cannot_bring_a_host_into_a_team(session, storage):
    ada, grace, lead = make_user(session, "ada"), make_user(session, "grace"), make_user(session, "lead")
    group = make_group(session, lead, ada, grace)
    challenge = open_challenge(session, created_by_id=lead.id, group_id=group.id)
    # A team the lead joined before the challenge was theirs (say a group handed over): grace may not merge into it.
    mixed = teams.create_or_rename_team(session, challenge, ada, "mixed", now=NOW)
    session.add(TeamMembership(team_id=mixed.id, challenge_id=challenge.id, user_id=lead.id))
    session.commit()
    with pytest.raises(Forbidden, match="lead hosts this challenge and cannot be in a team with others"):
        teams.accept_invite(session, grace, mixed.invite_code, now=NOW)


def test_a_host_submission_cannot_be_selected_as_final(session, storage):
    organizer = make_user(session)
    challenge = open_challenge(session, created_by_id=organizer.id)
    mine = score(session, submit(session, storage, challenge, organizer), 0.0)
    with pytest.raises(ServiceError, match="A host submission is never ranked, so it cannot be a final") as refused:
        finals.set_final(session, organizer, mine.id, True, now=NOW)
    assert refused.value.code == "host"


# --- pages -------------------------------------------------------------------------------------------------------

def test_the_hosts_own_submission_page_shows_it_scored_and_badged(client, app, auth, tmp_path):
    from heldout.models import User
    from heldout.platform.services.publishing import load_challenge
    from tests.bundles import write_tiny_bundle

    svc = app.extensions["heldout"]
    bundle = write_tiny_bundle(tmp_path / "bundle")
    auth.register("olga")
    with svc.sessions() as s:
        load_challenge(s, svc.storage, None, bundle)
        olga = s.scalar(select(User).where(User.username == "olga"))
        s.scalar(select(Challenge).where(Challenge.slug == "tiny-regression")).created_by_id = olga.id
        s.commit()
    location = client.post("/c/tiny-regression/submit", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/c/tiny-regression"), "message": "the solution",
        "file": (io.BytesIO(perfect_predictions(bundle)), "solution.csv")}).location
    with svc.sessions() as s:
        score(s, s.get(Submission, int(location.rsplit("/", 1)[1])), 0.0)

    page = client.get(location).get_data(as_text=True)
    assert 'class="phase host-badge"' in page and "never ranked on any leaderboard" in page
    assert 'id="public-score">0.00000<' in page
    assert "Select as final" not in page
    challenge_page = client.get("/c/tiny-regression").get_data(as_text=True)
    assert 'class="phase host-badge"' in challenge_page
    assert "No scored submissions yet." in challenge_page  # the leaderboard tab: the host's perfect score is not on it
    assert 'id="host-note"' in client.get("/c/tiny-regression/team").get_data(as_text=True)
