"""Validation versus leaderboard, as pure functions: the learner's input, the rank correlation, the flags."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import pytest

import heldout.leaderboard.validation as validation_module
from heldout.leaderboard.validation import InvalidValidation, Point, compare, parse_validation, spearman

T = datetime(2026, 1, 1, tzinfo=timezone.utc)


def points(*rows):  # noqa: ANN002, ANN201 - (validation, public[, private]) in the order made
    return [Point(i, T + timedelta(minutes=i), row[0], row[1], row[2] if len(row) > 2 else None)
            for i, row in enumerate(rows, start=1)]


def test_the_doctests_hold():
    assert doctest.testmod(validation_module).failed == 0


@pytest.mark.parametrize("typed, stored", [("0.431", 0.431), (" -2 ", -2.0), ("1e-3", 0.001), ("7", 7.0)])
def test_a_validation_score_is_any_finite_number(typed, stored):
    assert parse_validation(typed, "5-fold CV") == (stored, "5-fold CV")


def test_empty_fields_store_nothing():
    assert parse_validation(None, None) == (None, None)
    assert parse_validation("  ", "") == (None, None)
    assert parse_validation("0.5", "   ") == (0.5, None)


@pytest.mark.parametrize("typed", ["abc", "0,431", "nan", "NaN", "inf", "-Infinity", "1e999", "0.4 0.5"])
def test_a_score_that_is_not_a_finite_number_is_refused_naming_the_field(typed):
    with pytest.raises(InvalidValidation) as raised:
        parse_validation(typed, None)
    assert raised.value.field == "validation_score"
    assert raised.value.message.startswith("validation_score must be") and repr(typed) in raised.value.message


@pytest.mark.parametrize("note, says", [
    ("5-fold\nCV", "must be one line"), ("time split\r\nreally", "must be one line"),
    ("a\u2028b", "must be one line"), ("tab\there", "control characters"),
    ("x" * 121, "at most 120 characters, not 121"),
])
def test_a_note_that_is_not_one_short_line_is_refused_naming_the_field(note, says):
    with pytest.raises(InvalidValidation) as raised:
        parse_validation("0.5", note)
    assert raised.value.field == "validation_note" and says in raised.value.message


def test_a_note_of_120_characters_fits():
    assert parse_validation("0.5", "x" * 120) == (0.5, "x" * 120)


def test_a_note_without_a_score_is_refused():
    with pytest.raises(InvalidValidation) as raised:
        parse_validation("", "5-fold CV")
    assert raised.value.field == "validation_note" and "give the validation_score with it" in raised.value.message


def test_spearman_ranks_ties_at_their_average():
    # Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): Pearson's r on the ranks.
    assert spearman([1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.9486832980505138)


def test_spearman_says_nothing_below_three_points_or_on_a_constant_side():
    assert spearman([], []) is None and spearman([1, 2], [2, 1]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_public_up_validation_down_is_flagged_against_the_previous_submission():
    result = compare(points((0.80, 0.70), (0.78, 0.71), (0.85, 0.72), (0.84, 0.69)), greater_is_better=True)
    assert result.public_up_validation_down == [2]  # #4 got worse on both; #3 better on both


def test_on_a_lower_is_better_metric_improving_means_going_down():
    result = compare(points((0.50, 0.60), (0.55, 0.58), (0.45, 0.57)), greater_is_better=False)
    assert result.public_up_validation_down == [2]
    assert result.public_correlation == pytest.approx(0.5)


def test_submissions_without_a_validation_score_are_left_out_of_the_comparison():
    result = compare(points((None, 0.9), (0.80, 0.70), (None, 0.1), (0.78, 0.71)), greater_is_better=True)
    assert result.public_pairs == 2 and result.public_up_validation_down == [4]
    assert result.public_correlation is None  # two points say nothing


def test_after_the_reveal_it_says_which_ranked_closer_to_the_private_order():
    public_wins = compare(points((0.1, 0.3, 0.3), (0.2, 0.1, 0.1), (0.3, 0.2, 0.2)), greater_is_better=True)
    assert public_wins.public_private_correlation == 1.0 and public_wins.closer_to_private == "public"
    validation_wins = compare(points((0.1, 0.3, 0.1), (0.2, 0.1, 0.2), (0.3, 0.2, 0.3)), greater_is_better=True)
    assert validation_wins.closer_to_private == "validation" and validation_wins.private_pairs == 3
    equal = compare(points((0.1, 0.1, 0.1), (0.2, 0.2, 0.2), (0.3, 0.3, 0.3)), greater_is_better=True)
    assert equal.closer_to_private == "equal"


def test_without_public_scores_validation_is_set_against_the_private_order_alone():
    # A ladder board shows no per-submission public score: no public correlation, no flags, no verdict.
    result = compare(points((0.1, None, 0.1), (0.2, None, 0.3), (0.3, None, 0.2)), greater_is_better=True)
    assert result.public_correlation is None and result.public_up_validation_down == []
    assert result.validation_private_correlation == pytest.approx(0.5)
    assert result.public_private_correlation is None and result.closer_to_private is None


def test_rounded_public_scores_tie_and_the_flags_follow_what_the_board_shows():
    exact = compare(points((0.80, 0.7012), (0.79, 0.7049)), greater_is_better=True)
    rounded = compare(points((0.80, 0.70), (0.79, 0.70)), greater_is_better=True)
    assert exact.public_up_validation_down == [2] and rounded.public_up_validation_down == []
