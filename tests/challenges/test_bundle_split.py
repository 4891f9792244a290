"""The public/private split drawn from public_fraction and seed."""

from __future__ import annotations

import pytest

from heldout.challenges.split import assign_usage, public_count, usage_problems


def test_the_draw_depends_on_ids_and_seed_only():
    ids = [str(i) for i in range(1000)]
    usage = assign_usage(ids, 0.3, seed=5)
    assert usage.count("Public") == 300
    assert assign_usage(ids, 0.3, seed=5) == usage
    shuffled = ids[::-1]
    by_id = dict(zip(ids, usage))
    assert assign_usage(shuffled, 0.3, seed=5) == [by_id[i] for i in shuffled]  # row order does not matter
    assert assign_usage(ids, 0.3, seed=6) != usage


def test_the_draw_is_pinned():
    # A changed draw would silently move every leaderboard of every bundle using a split.
    assert assign_usage(["a", "b", "c", "d", "e"], 0.4, seed=1) == ["Public", "Private", "Private", "Private", "Public"]


@pytest.mark.parametrize("rows, fraction, expected", [(2, 0.01, 1), (2, 0.99, 1), (10, 0.5, 5), (3, 0.9, 2)])
def test_both_leaderboards_always_get_rows(rows, fraction, expected):
    assert public_count(rows, fraction) == expected


@pytest.mark.parametrize("rows, fraction", [(1, 0.5), (10, 0.0), (10, 1.0)])
def test_impossible_splits_are_refused(rows, fraction):
    with pytest.raises(ValueError):
        public_count(rows, fraction)


def test_usage_problems():
    assert usage_problems(["Public", "Private"]) == []
    assert any("no Private" in p for p in usage_problems(["Public"]))
    assert any("no Public" in p for p in usage_problems(["Private"]))
    assert any("'public'" in p for p in usage_problems(["public", "Public", "Private"]))
