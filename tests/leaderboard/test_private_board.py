"""The private board: finals (selected or automatic), private ranks, shake-up, and staying current."""

from datetime import timedelta

from heldout.leaderboard import private
from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.finals import all_finals, team_finals
from tests.factories import T0, make_challenge, make_scored, make_team, make_user


def entrant(session, challenge, name):
    user = make_user(session)
    return make_team(session, challenge, user, name=name), user


def sub(session, challenge, team, user, public, private_score, minutes, **extra):
    submission = make_scored(session, team, user, public, private_score, at=T0 + timedelta(minutes=minutes), **extra)
    refresh_team_best(session, challenge.id, team.id, now=T0)
    return submission


def standings(session, challenge):
    if not private.is_current(session, challenge):
        private.track_changes(session, challenge.id)
        private.recompute(session, challenge, now=T0)
    return [(r.rank, r.team_name, r.private_score, r.public_rank, r.shake_up)
            for r in private.private_leaderboard(session, challenge)]


def test_a_team_that_selected_nothing_is_ranked_by_its_best_public_submissions(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=2)
    team, user = entrant(session, challenge, "auto")
    sub(session, challenge, team, user, 0.70, 0.99, 1)  # third-best public: not chosen, despite its private score
    best = sub(session, challenge, team, user, 0.90, 0.60, 2)
    second = sub(session, challenge, team, user, 0.80, 0.75, 3)
    assert {c.submission_id for c in team_finals(session, challenge, team.id)} == {best.id, second.id}
    assert standings(session, challenge) == [(1, "auto", 0.75, 1, 0)]


def test_a_teams_selection_replaces_the_automatic_choice(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=2)
    team, user = entrant(session, challenge, "picker")
    picked = sub(session, challenge, team, user, 0.70, 0.95, 1, selected_final=True)
    sub(session, challenge, team, user, 0.90, 0.99, 2)
    assert [c.submission_id for c in team_finals(session, challenge, team.id)] == [picked.id]
    assert standings(session, challenge)[0][2] == 0.95


def test_unscored_submissions_never_count_as_finals(session):
    from heldout.models import SubmissionStatus
    from tests.factories import make_submission

    challenge = make_challenge(session, greater_is_better=True)
    team, user = entrant(session, challenge, "t")
    make_submission(session, team, user, status=SubmissionStatus.FAILED, selected_final=True)
    scored = sub(session, challenge, team, user, 0.5, 0.5, 2)
    assert [c.submission_id for c in team_finals(session, challenge, team.id)] == [scored.id]


def test_the_shake_up_is_the_change_from_public_to_private_rank(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=1)
    for minutes, (name, public, private_score) in enumerate(
            [("overfit", 0.95, 0.60), ("steady", 0.90, 0.88), ("humble", 0.80, 0.89)]):
        team, user = entrant(session, challenge, name)
        sub(session, challenge, team, user, public, private_score, minutes)
    assert standings(session, challenge) == [
        (1, "humble", 0.89, 3, 2), (2, "steady", 0.88, 2, 0), (3, "overfit", 0.60, 1, -2)]


def test_a_private_tie_goes_to_the_earlier_submission(session):
    challenge = make_challenge(session, greater_is_better=True, max_final_submissions=1)
    late, ul = entrant(session, challenge, "late")
    early, ue = entrant(session, challenge, "early")
    sub(session, challenge, late, ul, 0.9, 0.8, 10)
    sub(session, challenge, early, ue, 0.85, 0.8, 5)
    assert [row[1] for row in standings(session, challenge)] == ["early", "late"]


def test_all_finals_agrees_with_team_finals(session):
    challenge = make_challenge(session, greater_is_better=False, max_final_submissions=2)
    teams = [entrant(session, challenge, f"t{i}") for i in range(3)]
    for i, (team, user) in enumerate(teams):
        for j in range(4):
            sub(session, challenge, team, user, 0.1 * ((i + j) % 4), 0.5, i * 10 + j, selected_final=(i == 1 and j == 3))
    together = all_finals(session, challenge)
    for team, _user in teams:
        assert together[team.id] == team_finals(session, challenge, team.id)


def test_a_new_score_makes_the_stored_standings_stale(session):
    challenge = make_challenge(session, greater_is_better=True)
    team, user = entrant(session, challenge, "t")
    sub(session, challenge, team, user, 0.5, 0.5, 1)
    assert standings(session, challenge)[0][2] == 0.5
    assert private.is_current(session, challenge)
    sub(session, challenge, team, user, 0.9, 0.9, 2)
    assert not private.is_current(session, challenge)
    assert standings(session, challenge)[0][2] == 0.9


def test_a_new_solution_version_makes_the_stored_standings_stale(session):
    challenge = make_challenge(session, greater_is_better=True)
    team, user = entrant(session, challenge, "t")
    sub(session, challenge, team, user, 0.5, 0.5, 1)
    standings(session, challenge)
    challenge.version += 1
    assert not private.is_current(session, challenge)
