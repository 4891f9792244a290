"""The roadmap's marks: not tried, tried, beat the baseline, top 10% of the public board."""

from __future__ import annotations

import doctest

import heldout.leaderboard.progress as progress_module
from heldout.leaderboard.progress import Progress, baseline_score, in_top_tenth, progress


def mark(**values):  # noqa: ANN003, ANN201
    defaults = dict(tried=True, best=None, baseline=None, rank=None, teams=0, greater_is_better=True)
    return progress(**{**defaults, **values})


def test_the_doctests_hold():
    assert doctest.testmod(progress_module).failed == 0


def test_no_submission_is_not_tried_and_any_submission_is_tried():
    assert mark(tried=False) is Progress.NOT_TRIED
    assert mark(tried=True) is Progress.TRIED


def test_beating_the_baseline_minds_the_metrics_direction():
    assert mark(best=0.91, baseline=0.90, greater_is_better=True) is Progress.BEAT_BASELINE
    assert mark(best=0.89, baseline=0.90, greater_is_better=True) is Progress.TRIED
    assert mark(best=0.49, baseline=0.50, greater_is_better=False) is Progress.BEAT_BASELINE
    assert mark(best=0.51, baseline=0.50, greater_is_better=False) is Progress.TRIED


def test_equalling_the_baseline_does_not_beat_it():
    assert mark(best=0.5, baseline=0.5) is Progress.TRIED


def test_without_a_baseline_or_a_score_there_is_nothing_to_beat():
    assert mark(best=0.99, baseline=None) is Progress.TRIED
    assert mark(best=None, baseline=0.5) is Progress.TRIED


def test_the_baseline_is_the_measured_score_else_the_better_end_of_the_promised_range():
    assert baseline_score(True, 0.86, 0.96) == 0.96
    assert baseline_score(False, 1000.0, 1200.0) == 1000.0
    assert baseline_score(True, 0.86, 0.96, measured=0.91) == 0.91


def test_the_top_tenth_is_the_first_tenth_of_the_ranked_teams():
    assert [r for r in range(1, 51) if in_top_tenth(r, 50)] == [1, 2, 3, 4, 5]
    assert [r for r in range(1, 20) if in_top_tenth(r, 19)] == [1]


def test_a_board_of_fewer_than_ten_teams_has_no_top_tenth():
    assert not in_top_tenth(1, 1) and not in_top_tenth(1, 9)
    assert not in_top_tenth(None, 10) and not in_top_tenth(0, 10) and not in_top_tenth(11, 10)


def test_the_top_tenth_outranks_the_baseline():
    assert mark(best=0.4, baseline=0.5, rank=1, teams=10) is Progress.TOP_TENTH
    assert mark(best=0.6, baseline=0.5, rank=5, teams=10) is Progress.BEAT_BASELINE


def test_each_mark_has_the_words_the_page_shows():
    assert [m.label for m in Progress] == ["not tried", "tried", "beat the baseline", "top 10% of the public board"]
