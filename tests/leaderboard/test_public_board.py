"""The public board on both databases: best-score rows kept by refresh_team_best, ranked by one query."""

from datetime import timedelta

import pytest

from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.public import count_teams, public_leaderboard
from heldout.models import TeamBestScore
from tests.factories import (
    T0,
    make_challenge,
    make_group,
    make_scored,
    make_team,
    make_user,
)


def entrant(session, challenge, name):
    user = make_user(session)
    return make_team(session, challenge, user, name=name), user


def scored(session, challenge, team, user, public, *, minutes, **extra):
    submission = make_scored(session, team, user, public, at=T0 + timedelta(minutes=minutes), **extra)
    refresh_team_best(session, challenge.id, team.id, now=T0)
    return submission


def board(session, challenge, **kw):
    return [(r.rank, r.team_name, r.score) for r in public_leaderboard(session, challenge, now=T0, **kw)]


def test_each_team_shows_its_best_public_score_best_first(session):
    challenge = make_challenge(session, greater_is_better=True)
    a, ua = entrant(session, challenge, "alpha")
    b, ub = entrant(session, challenge, "beta")
    scored(session, challenge, a, ua, 0.70, minutes=1)
    scored(session, challenge, a, ua, 0.90, minutes=2)
    scored(session, challenge, a, ua, 0.80, minutes=3)
    scored(session, challenge, b, ub, 0.85, minutes=4)
    assert board(session, challenge) == [(1, "alpha", 0.90), (2, "beta", 0.85)]
    row = public_leaderboard(session, challenge, now=T0)[0]
    assert row.entries == 3 and row.last_entry_at == T0 + timedelta(minutes=3)


def test_a_tie_goes_to_the_team_that_reached_the_score_first(session):
    challenge = make_challenge(session)  # rmse: lower is better
    late, ul = entrant(session, challenge, "late")
    early, ue = entrant(session, challenge, "early")
    scored(session, challenge, late, ul, 0.25, minutes=10)
    scored(session, challenge, early, ue, 0.25, minutes=5)
    assert board(session, challenge) == [(1, "early", 0.25), (2, "late", 0.25)]


def test_a_tie_at_the_same_moment_goes_to_the_lower_submission_id(session):
    challenge = make_challenge(session)
    first, uf = entrant(session, challenge, "first")
    second, us = entrant(session, challenge, "second")
    scored(session, challenge, first, uf, 0.25, minutes=5)
    scored(session, challenge, second, us, 0.25, minutes=5)
    assert [r[1] for r in board(session, challenge)] == ["first", "second"]


def test_a_team_repeating_its_best_keeps_the_earlier_submission(session):
    challenge = make_challenge(session)
    team, user = entrant(session, challenge, "t")
    first = scored(session, challenge, team, user, 0.25, minutes=1)
    scored(session, challenge, team, user, 0.25, minutes=2)
    best = session.get(TeamBestScore, (challenge.id, team.id))
    assert best.submission_id == first.id and best.submitted_at == first.created_at


def test_pages_continue_the_ranks(session):
    challenge = make_challenge(session)
    for i in range(5):
        team, user = entrant(session, challenge, f"t{i}")
        scored(session, challenge, team, user, 0.1 * (i + 1), minutes=i)
    assert board(session, challenge, limit=2, offset=2) == [(3, "t2", pytest.approx(0.3)), (4, "t3", 0.4)]
    assert count_teams(session, challenge) == 5


def test_the_rounded_mode_ranks_by_the_shown_digits(session):
    challenge = make_challenge(session, greater_is_better=True, leaderboard_mode="rounded",
                               rules={"leaderboard": {"mode": "rounded", "digits": 2, "step": None}})
    early, ue = entrant(session, challenge, "early")
    sharper, us = entrant(session, challenge, "sharper")
    scored(session, challenge, early, ue, 0.8121, minutes=1)
    scored(session, challenge, sharper, us, 0.8149, minutes=2)
    # Both show 0.81; the better hidden digits do not put "sharper" first.
    assert board(session, challenge) == [(1, "early", 0.81), (2, "sharper", 0.81)]


def test_the_ladder_mode_keeps_the_score_until_a_gain_beats_the_step(session):
    challenge = make_challenge(session, greater_is_better=True, leaderboard_mode="ladder",
                               rules={"leaderboard": {"mode": "ladder", "digits": None, "step": 0.01}})
    team, user = entrant(session, challenge, "prober")
    first = scored(session, challenge, team, user, 0.7001, minutes=1)
    scored(session, challenge, team, user, 0.7095, minutes=2)  # +0.0094: not more than the step
    best = session.get(TeamBestScore, (challenge.id, team.id))
    assert (best.public_score, best.submission_id) == (0.70, first.id)
    third = scored(session, challenge, team, user, 0.7203, minutes=3)  # +0.0203 over the shown 0.70
    best = session.get(TeamBestScore, (challenge.id, team.id))
    assert (best.public_score, best.submission_id) == (0.72, third.id)


def test_the_interval_of_the_submission_on_the_board_is_kept(session):
    challenge = make_challenge(session, greater_is_better=True)
    team, user = entrant(session, challenge, "t")
    scored(session, challenge, team, user, 0.9, minutes=1, ci=(0.85, 0.95))
    row = public_leaderboard(session, challenge, now=T0)[0]
    assert (row.ci_low, row.ci_high) == (0.85, 0.95)


def test_a_group_view_keeps_overall_ranks_and_numbers_the_group(session):
    challenge = make_challenge(session, greater_is_better=True)
    rows = [entrant(session, challenge, name) for name in ("a", "b", "c", "d")]
    for i, (team, user) in enumerate(rows):
        scored(session, challenge, team, user, 0.9 - 0.1 * i, minutes=i)
    group = make_group(session, rows[1][1], rows[3][1])
    view = public_leaderboard(session, challenge, group_id=group.id, now=T0)
    assert [(r.group_rank, r.rank, r.team_name) for r in view] == [(1, 2, "b"), (2, 4, "d")]
    assert count_teams(session, challenge, group_id=group.id) == 2


def test_a_team_whose_scores_are_gone_leaves_the_board(session):
    challenge = make_challenge(session)
    team, user = entrant(session, challenge, "t")
    submission = scored(session, challenge, team, user, 0.3, minutes=1)
    submission.public_score = None
    session.flush()
    assert refresh_team_best(session, challenge.id, team.id, now=T0) is None
    assert board(session, challenge) == []
