"""Late submissions never rank: no board, final, shake-up or team count moves; each says where it would have placed.

Rows are made as the services leave them (``late`` is set when a submission is made past the end, see
tests/platform/test_late_submissions.py); here the boards must ignore them and the placing must follow
the boards' own tie rule.
"""

from datetime import timedelta

from heldout.leaderboard import private
from heldout.leaderboard.best import refresh_team_best
from heldout.leaderboard.finals import all_finals, team_finals
from heldout.leaderboard.history import board_records
from heldout.leaderboard.late import WouldHavePlaced, is_late, would_have_placed
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.public import count_teams, public_leaderboard
from heldout.models import LeaderboardMode, TeamBestScore
from heldout.platform.services.challenge_pages import team_counts
from tests.factories import T0, make_challenge, make_scored, make_team, make_user

END = T0 + timedelta(days=1)


def scored(session, challenge, team, user, public, private_score=None, *, at, late=False):
    submission = make_scored(session, team, user, public, private_score, at=at, late=late)
    refresh_team_best(session, challenge.id, team.id, now=at)
    return submission


def public(session, challenge):
    return [(r.rank, r.team_name, r.score) for r in public_leaderboard(session, challenge, now=END)]


def standings(session, challenge):
    if not private.is_current(session, challenge):
        private.track_changes(session, challenge.id)
        private.recompute(session, challenge, now=END)
    return [(r.rank, r.team_name, r.private_score, r.shake_up) for r in private.private_leaderboard(session, challenge)]


def closed_challenge(session, **extra):
    """ada 0.80/0.70 and grace 0.90/0.60 (higher is better), scored in time; the challenge has ended."""
    challenge = make_challenge(session, greater_is_better=True, metric="accuracy", ends_at=END, **extra)
    ada, grace = make_user(session, "ada"), make_user(session, "grace")
    teams = {"ada": make_team(session, challenge, ada, name="ada"), "grace": make_team(session, challenge, grace,
                                                                                        name="grace")}
    scored(session, challenge, teams["ada"], ada, 0.80, 0.70, at=T0 + timedelta(hours=1))
    scored(session, challenge, teams["grace"], grace, 0.90, 0.60, at=T0 + timedelta(hours=2))
    return challenge, teams, {"ada": ada, "grace": grace}


def test_late_means_at_or_after_the_end_that_applies():
    assert is_late(END + timedelta(seconds=1), END)
    assert is_late(END, END)
    assert not is_late(END - timedelta(seconds=1), END)
    assert not is_late(END + timedelta(days=900), None)  # no end: never late
    # The end is a parameter: a later end of one's own (a study group's member) makes the same moment in time.
    assert not is_late(END + timedelta(seconds=1), END + timedelta(hours=1))


def test_a_late_submission_one_second_after_the_end_moves_no_board_final_or_team_count(session):
    challenge, teams, users = closed_challenge(session)
    before_public, before_private = public(session, challenge), standings(session, challenge)
    assert before_public == [(1, "grace", 0.90), (2, "ada", 0.80)]
    assert before_private == [(1, "ada", 0.70, 1), (2, "grace", 0.60, -1)]

    # ada's late submission beats everything on both splits; a newcomer's late submission too.
    lo = make_user(session, "lo")
    newcomer = make_team(session, challenge, lo, name="lo")
    late = scored(session, challenge, teams["ada"], users["ada"], 0.99, 0.99, at=END + timedelta(seconds=1),
                  late=True)
    scored(session, challenge, newcomer, lo, 0.95, 0.95, at=END + timedelta(seconds=2), late=True)

    assert public(session, challenge) == before_public
    assert standings(session, challenge) == before_private  # the shake-up too
    assert count_teams(session, challenge) == 2
    assert team_counts(session, [challenge.id]) == {challenge.id: 2}  # the newcomer's team is not counted
    assert session.get(TeamBestScore, (challenge.id, newcomer.id)) is None
    assert late.id not in {c.submission_id for c in team_finals(session, challenge, teams["ada"].id)}
    assert newcomer.id not in all_finals(session, challenge)
    assert [score for _at, score in board_records(session, challenge, BoardMode.of(challenge))] == [0.80, 0.90]


def test_a_late_submission_says_where_it_would_have_placed_among_the_other_teams(session):
    challenge, teams, users = closed_challenge(session)
    standings(session, challenge)
    lo = make_user(session, "lo")
    late = scored(session, challenge, make_team(session, challenge, lo, name="lo"), lo, 0.85, 0.65,
                  at=END + timedelta(seconds=1), late=True)
    # Public 0.85: between grace's 0.90 and ada's 0.80. Private 0.65: between ada's 0.70 and grace's 0.60.
    assert would_have_placed(session, late, private_shown=True) == WouldHavePlaced(public=2, private=2, of=3)
    # The team's own row is left out: ada's late 0.75/0.75 would have been her entry instead of her 0.80/0.70.
    own = scored(session, challenge, teams["ada"], users["ada"], 0.75, 0.75, at=END + timedelta(seconds=2),
                 late=True)
    assert would_have_placed(session, own, private_shown=True) == WouldHavePlaced(public=2, private=1, of=2)
    # The private rank only when the caller may show the private board.
    assert would_have_placed(session, own, private_shown=False) == WouldHavePlaced(public=2, private=None, of=2)


def test_a_late_submission_tying_a_private_score_places_after_the_team_that_got_there_first(session):
    challenge, teams, users = closed_challenge(session)
    standings(session, challenge)
    lo = make_user(session, "lo")
    # Exactly ada's private 0.70 and grace's public 0.90: ties go to the earlier submission, as on the boards.
    tie = scored(session, challenge, make_team(session, challenge, lo, name="lo"), lo, 0.90, 0.70,
                 at=END + timedelta(seconds=1), late=True)
    assert would_have_placed(session, tie, private_shown=True) == WouldHavePlaced(public=2, private=2, of=3)
    assert standings(session, challenge)[0] == (1, "ada", 0.70, 1)


def test_would_have_placed_is_only_for_scored_late_submissions(session):
    challenge, teams, users = closed_challenge(session)
    in_time = make_scored(session, teams["ada"], users["ada"], 0.5, 0.5, at=END - timedelta(seconds=1))
    assert would_have_placed(session, in_time, private_shown=True) is None


def test_on_a_rounded_board_a_late_submission_is_placed_by_the_value_the_board_shows(session):
    challenge, teams, users = closed_challenge(session, leaderboard_mode=LeaderboardMode.ROUNDED.value,
                                               rules={"leaderboard": {"mode": "rounded", "digits": 1}})
    assert public(session, challenge) == [(1, "grace", 0.9), (2, "ada", 0.8)]
    lo = make_user(session, "lo")
    # 0.88 shows as 0.9: a tie with grace, who got there first.
    late = scored(session, challenge, make_team(session, challenge, lo, name="lo"), lo, 0.88, None,
                  at=END + timedelta(seconds=1), late=True)
    assert would_have_placed(session, late, private_shown=True) == WouldHavePlaced(public=2, private=None, of=3)


def test_docstring_examples_run():
    import doctest

    from heldout.client import output
    from heldout.leaderboard import late

    for module in (late, output):
        assert doctest.testmod(module).failed == 0
