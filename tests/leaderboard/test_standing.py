"""Where a scored submission leaves its team, on both databases and in every board mode."""

from datetime import timedelta

import pytest

from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.standing import change_against, standing
from tests.factories import T0, make_challenge, make_scored, make_submission, make_team, make_user


def entrant(session, challenge, name):
    user = make_user(session)
    return make_team(session, challenge, user, name=name), user


def scored(session, challenge, team, user, public, *, minutes):
    submission = make_scored(session, team, user, public, at=T0 + timedelta(minutes=minutes))
    refresh_team_best(session, challenge.id, team.id, now=T0)
    return submission


@pytest.fixture
def board(session):
    """Accuracy (higher is better): alpha 0.90, beta 0.80, gamma 0.70."""
    def make(**extra):
        challenge = make_challenge(session, greater_is_better=True, metric="accuracy", **extra)
        for minutes, (name, score) in enumerate([("alpha", 0.90), ("beta", 0.80), ("gamma", 0.70)]):
            team, user = entrant(session, challenge, name)
            scored(session, challenge, team, user, score, minutes=minutes)
        return challenge
    return make


def test_a_new_best_gives_the_rank_the_team_now_holds_and_the_gain(session, board):
    challenge = board()
    team, user = entrant(session, challenge, "delta")
    first = scored(session, challenge, team, user, 0.75, minutes=10)
    better = scored(session, challenge, team, user, 0.85, minutes=11)

    now = standing(session, better)
    assert (now.rank, now.holds_row, now.teams) == (2, True, 4)
    assert now.previous_best == 0.75 and now.improved is True
    assert now.change == pytest.approx(0.10)
    assert standing(session, first).previous_best is None  # the team's first score: nothing to compare with


def test_a_worse_submission_says_where_it_would_rank_were_it_the_best(session, board):
    challenge = board()
    team, user = entrant(session, challenge, "delta")
    scored(session, challenge, team, user, 0.85, minutes=10)
    worse = scored(session, challenge, team, user, 0.72, minutes=11)

    then = standing(session, worse)
    assert (then.rank, then.holds_row) == (3, False)  # above gamma (0.70), below beta (0.80)
    assert then.team_rank == 2  # where the team's 0.85 keeps it
    assert then.change == pytest.approx(-0.13) and then.improved is False


def test_an_equal_score_ranks_behind_whoever_reached_it_first(session, board):
    challenge = board()
    team, user = entrant(session, challenge, "delta")
    tie = scored(session, challenge, team, user, 0.80, minutes=10)
    assert standing(session, tie).rank == 3  # beta reached 0.80 earlier


def test_a_rounded_board_compares_rounded_scores(session, board):
    challenge = board(leaderboard_mode="rounded", rules={"leaderboard": {"mode": "rounded", "digits": 1}})
    team, user = entrant(session, challenge, "delta")
    scored(session, challenge, team, user, 0.8123, minutes=10)
    again = scored(session, challenge, team, user, 0.8149, minutes=11)

    then = standing(session, again)
    assert then.score == 0.8 and then.previous_best == 0.8
    assert then.change == 0 and then.improved is False  # the board shows no gain, so neither does this
    assert (then.rank, then.holds_row) == (3, False)


def test_a_ladder_board_counts_only_what_the_ladder_released(session, board):
    challenge = board(leaderboard_mode="ladder", rules={"leaderboard": {"mode": "ladder", "step": 0.01}})
    team, user = entrant(session, challenge, "delta")
    scored(session, challenge, team, user, 0.7012, minutes=10)
    small = scored(session, challenge, team, user, 0.7095, minutes=11)

    then = standing(session, small)
    assert then.score == 0.70 and then.change == 0  # 0.7095 stays hidden behind the ladder's 0.70


def test_only_a_scored_submission_has_a_standing(session, board):
    challenge = board()
    team, user = entrant(session, challenge, "delta")
    assert standing(session, make_submission(session, team, user)) is None


def test_a_hosts_submission_stands_nowhere(session, board):
    challenge = board()
    team, user = entrant(session, challenge, "hosts")
    tested = make_scored(session, team, user, 0.99, host=True)
    refresh_team_best(session, challenge.id, team.id, now=T0)
    assert standing(session, tested) is None


def test_lower_is_better_turns_the_sign_of_an_improvement():
    assert change_against(0.4, 0.5, greater_is_better=False) == (pytest.approx(-0.1), True)
    assert change_against(0.4, None, greater_is_better=False) == (None, None)
