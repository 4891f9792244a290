"""The ranking rules as pure functions: ties, modes, the ladder's threshold, finals, shake-up."""

from datetime import datetime, timedelta, timezone

import pytest

from heldout.leaderboard.modes import BoardMode, ladder, to_digits, to_step
from heldout.leaderboard.ranking import (
    Entry,
    best_entry,
    choose_finals,
    order_key,
    rank_change,
    shake_up,
    statistically_tied_top,
)

T = datetime(2026, 3, 1, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def entries(*scores: float) -> list[Entry]:
    """One team's submissions, one minute apart, ids 1, 2, 3, ..."""
    return [Entry(i, score, at(i)) for i, score in enumerate(scores, start=1)]


def test_the_better_score_wins_in_either_direction():
    assert best_entry(entries(0.5, 0.4, 0.6), greater_is_better=False).score == 0.4
    assert best_entry(entries(0.5, 0.4, 0.6), greater_is_better=True).score == 0.6


def test_equal_scores_go_to_the_earlier_submission_then_the_lower_id():
    later, earlier = Entry(1, 0.9, at(5)), Entry(2, 0.9, at(1))
    assert best_entry([later, earlier], greater_is_better=True) == earlier
    same_time = [Entry(7, 0.9, at(1)), Entry(3, 0.9, at(1))]
    assert best_entry(same_time, greater_is_better=True).submission_id == 3
    assert sorted([order_key(0.9, at(1), 7, True), order_key(0.9, at(1), 3, True)])[0][2] == 3


def test_classic_mode_shows_the_exact_best():
    mode = BoardMode("classic", greater_is_better=True, display_precision=5)
    assert mode.board_entry(entries(0.81234, 0.81299, 0.8)) == Entry(2, 0.81299, at(2))
    assert mode.precision == 5 and mode.shows_interval


def test_rounded_mode_ranks_by_the_rounded_score_so_hidden_digits_cannot_win():
    mode = BoardMode("rounded", greater_is_better=True, display_precision=5, digits=2)
    # 0.8149 and 0.8121 both show as 0.81: the earlier one holds the row, the better hidden digits earn nothing.
    shown = mode.board_entry(entries(0.8121, 0.8149))
    assert shown == Entry(1, 0.81, at(1))
    assert mode.board_entry(entries(0.8121, 0.8151)) == Entry(2, 0.82, at(2))
    assert mode.precision == 2 and not mode.shows_interval


def test_rounding_is_half_up_on_the_printed_decimals():
    assert to_digits(0.815, 2) == 0.82 and to_digits(0.8149, 2) == 0.81
    assert to_step(0.715, 0.01) == 0.72 and to_step(0.7149, 0.01) == 0.71
    assert to_step(0.7312, 0.005) == 0.73 and to_step(0.7326, 0.005) == 0.735


def test_the_ladder_moves_only_on_a_gain_of_more_than_the_step():
    step = 0.01
    # First submission sets the score (rounded to a multiple of the step).
    assert ladder(entries(0.7012), step, greater_is_better=True) == Entry(1, 0.70, at(1))
    # +0.009 and exactly +0.01 are not "more than the step": the board does not move.
    assert ladder(entries(0.70, 0.709), step, True) == Entry(1, 0.70, at(1))
    assert ladder(entries(0.70, 0.71), step, True) == Entry(1, 0.70, at(1))
    # +0.0101 is: the new score, rounded to the step, and the submission that earned it.
    assert ladder(entries(0.70, 0.7101), step, True) == Entry(2, 0.71, at(2))


def test_the_ladder_compares_with_the_shown_score_not_the_hidden_best():
    # 0.709 did not move the board, so 0.7101 is measured against the shown 0.70, not against 0.709.
    assert ladder(entries(0.70, 0.709, 0.7101), 0.01, True) == Entry(3, 0.71, at(3))


def test_each_submission_tells_its_team_only_what_the_board_would_show():
    team = entries(0.70123, 0.709, 0.7101, 0.5)
    classic = BoardMode("classic", greater_is_better=True, display_precision=5)
    rounded = BoardMode("rounded", greater_is_better=True, display_precision=5, digits=2)
    ladder_mode = BoardMode("ladder", greater_is_better=True, display_precision=5, step=0.01)
    assert classic.released(team) == {1: 0.70123, 2: 0.709, 3: 0.7101, 4: 0.5}
    assert rounded.released(team) == {1: 0.70, 2: 0.71, 3: 0.71, 4: 0.5}
    # The Ladder's feedback: the released value after each submission; a worse or barely better one
    # learns only that it did not move the board.
    assert ladder_mode.released(team) == {1: 0.70, 2: 0.70, 3: 0.71, 4: 0.71}
    assert rounded.shown(0.81549) == 0.82 and ladder_mode.shown(0.7149) == 0.71 and classic.shown(0.7149) == 0.7149


def test_the_ladder_makes_probing_useless():
    # A prober submits tiny random perturbations of one model: the public score wobbles by less than the step.
    wobble = [0.80 + 0.004 * ((i * 7919) % 5 - 2) / 2 for i in range(200)]
    shown = ladder(entries(*wobble), 0.01, True)
    assert shown.submission_id == 1
    assert shown.score == to_step(wobble[0], 0.01)


def test_the_ladder_works_for_losses_too():
    assert ladder(entries(0.50, 0.495, 0.4899), 0.01, greater_is_better=False) == Entry(3, 0.49, at(3))


def test_ladder_precision_follows_the_step():
    assert BoardMode("ladder", True, 5, step=0.005).precision == 3
    assert BoardMode("ladder", True, 5, step=0.1).precision == 1


def test_bad_mode_settings_are_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="step"):
        BoardMode("ladder", True, 5)
    with pytest.raises(ValueError, match="digits"):
        BoardMode("rounded", True, 5)
    with pytest.raises(ValueError, match="mode"):
        BoardMode("fancy", True, 5)


def test_top_ranks_are_tied_while_their_intervals_overlap_the_leaders():
    assert statistically_tied_top([(0.80, 0.90), (0.79, 0.85), (0.70, 0.81), (0.60, 0.79)]) == 3
    assert statistically_tied_top([(0.80, 0.90), (0.70, 0.79)]) == 1
    assert statistically_tied_top([(0.80, 0.90), None, (0.80, 0.90)]) == 1
    assert statistically_tied_top([None, (0.80, 0.90)]) == 1
    assert statistically_tied_top([]) == 0


def test_a_team_that_selected_nothing_gets_its_best_public_submissions():
    rows = [("a", 0.5, False), ("b", 0.9, False), ("c", 0.7, False)]
    chosen = choose_finals(rows, 2, selected=lambda r: r[2], public_key=lambda r: -r[1])
    assert [r[0] for r in chosen] == ["b", "c"]


def test_a_teams_own_selection_counts_even_when_worse_in_public():
    rows = [("a", 0.5, True), ("b", 0.9, False), ("c", 0.7, False)]
    chosen = choose_finals(rows, 2, selected=lambda r: r[2], public_key=lambda r: -r[1])
    assert [r[0] for r in chosen] == ["a"]


def test_shake_up_and_rank_change_count_places_gained():
    assert shake_up(public_rank=5, private_rank=2) == 3
    assert shake_up(public_rank=1, private_rank=4) == -3
    assert shake_up(None, 1) is None
    assert rank_change(previous_rank=3, rank=1) == 2
    assert rank_change(None, 1) is None
