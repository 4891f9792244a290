"""Change in rank since the previous day: the board's standings as the UTC day began."""

from datetime import timedelta

from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.history import snapshot_before_change
from heldout.leaderboard.public import public_leaderboard
from heldout.models import RankSnapshot
from tests.factories import T0, make_challenge, make_scored, make_team, make_user

DAY1 = T0  # 2026-01-01 12:00 UTC
DAY2 = T0 + timedelta(days=1)


def submit(session, challenge, team, user, score, now):
    make_scored(session, team, user, score, at=now)
    refresh_team_best(session, challenge.id, team.id, now=now)


def changes(session, challenge, now):
    return {r.team_name: r.rank_change for r in public_leaderboard(session, challenge, now=now)}


def setup_day_one(session):
    challenge = make_challenge(session, greater_is_better=True)
    teams = {}
    for name, score in (("ann", 0.9), ("bob", 0.8), ("cy", 0.7)):
        user = make_user(session)
        teams[name] = (make_team(session, challenge, user, name=name), user)
        submit(session, challenge, *teams[name], score, DAY1)
    return challenge, teams


def test_a_day_with_no_changes_shows_no_change(session):
    challenge, _teams = setup_day_one(session)
    assert changes(session, challenge, DAY2) == {"ann": 0, "bob": 0, "cy": 0}


def test_a_team_that_overtook_others_today_shows_the_places_gained(session):
    challenge, teams = setup_day_one(session)
    submit(session, challenge, *teams["cy"], 0.95, DAY2)
    assert changes(session, challenge, DAY2) == {"cy": 2, "ann": -1, "bob": -1}
    # Later the same day the comparison is still with how the day began.
    submit(session, challenge, *teams["bob"], 0.99, DAY2 + timedelta(hours=3))
    assert changes(session, challenge, DAY2 + timedelta(hours=3)) == {"bob": 1, "cy": 1, "ann": -2}


def test_a_team_new_today_has_no_previous_rank(session):
    challenge, _teams = setup_day_one(session)
    user = make_user(session)
    newcomer = make_team(session, challenge, user, name="dee")
    submit(session, challenge, newcomer, user, 0.85, DAY2)
    assert changes(session, challenge, DAY2)["dee"] is None


def test_the_snapshot_is_taken_once_per_utc_day(session):
    challenge, teams = setup_day_one(session)
    midnight = DAY2.replace(hour=0, minute=0)
    assert snapshot_before_change(session, challenge, midnight) is True
    assert snapshot_before_change(session, challenge, midnight + timedelta(hours=23, minutes=59)) is False
    assert snapshot_before_change(session, challenge, midnight + timedelta(days=1)) is True
    ranks = dict(session.query(RankSnapshot.team_id, RankSnapshot.rank).filter_by(challenge_id=challenge.id).all())
    assert ranks == {teams["ann"][0].id: 1, teams["bob"][0].id: 2, teams["cy"][0].id: 3}


def test_one_second_before_midnight_belongs_to_the_day_before(session):
    challenge, teams = setup_day_one(session)
    midnight = DAY2.replace(hour=0, minute=0)
    submit(session, challenge, *teams["cy"], 0.95, midnight - timedelta(seconds=1))
    # At midnight nothing has changed yet today: the 23:59:59 climb is part of yesterday's final standings.
    assert changes(session, challenge, midnight) == {"cy": 0, "ann": 0, "bob": 0}
    submit(session, challenge, *teams["bob"], 0.99, midnight)
    assert changes(session, challenge, midnight) == {"bob": 2, "cy": -1, "ann": -1}


def test_the_first_change_ever_takes_the_snapshot_of_an_empty_board(session):
    challenge = make_challenge(session)
    assert snapshot_before_change(session, challenge, DAY1) is True
    assert snapshot_before_change(session, challenge, DAY1) is False
