"""The warm scorer's solution cache: a solution is read once per file and spec, found again only for the very
same file, and a solution that does not read is left to the child, which reports it."""

from __future__ import annotations

import os

import pytest

from heldout.challenges.errors import BundleError
from heldout.challenges.solution_cache import SolutionCache
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.validation import read_solution

SPEC = {"metric": "rmse", "id_dtype": "int", "target_columns": ["y"]}
SOLUTION = "id,y,Usage\n1,1.0,Public\n2,2.0,Private\n"


class CountingReader:
    def __init__(self):
        self.reads = []

    def __call__(self, path, spec):
        self.reads.append(str(path))
        return read_solution(path, spec)


@pytest.fixture
def reader():
    return CountingReader()


def write(tmp_path, name: str, text: str = SOLUTION) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_solution_is_read_once_and_every_child_gets_that_reading(tmp_path, reader):
    cache = SolutionCache(reader=reader)
    path = write(tmp_path, "solution.csv")
    assert cache.load(path, SPEC) and cache.load(path, SPEC)
    solution = cache.reader_for(SPEC)(path, ScoringSpec.from_dict(SPEC))
    assert reader.reads == [path] and list(solution.ids) == [1, 2]


def test_a_changed_file_or_another_spec_is_read_again(tmp_path, reader):
    cache = SolutionCache(reader=reader)
    path = write(tmp_path, "solution.csv")
    cache.load(path, SPEC)
    write(tmp_path, "solution.csv", SOLUTION + "3,3.0,Public\n")
    os.utime(path, ns=(1, 1))
    assert len(cache.reader_for(SPEC)(path, ScoringSpec.from_dict(SPEC))) == 3  # not the stale reading
    other = dict(SPEC, metric="mae")
    cache.load(path, other)
    assert len(reader.reads) == 3


def test_a_solution_that_does_not_read_is_not_kept_and_the_child_reports_it(tmp_path, reader):
    cache = SolutionCache(reader=reader)
    path = write(tmp_path, "solution.csv", "id,y\n1,1.0\n")  # no Usage column
    assert not cache.load(path, SPEC) and len(cache) == 0
    with pytest.raises(BundleError, match="Usage"):
        cache.reader_for(SPEC)(path, ScoringSpec.from_dict(SPEC))


def test_only_the_latest_solutions_are_kept_and_large_ones_never(tmp_path, reader):
    cache = SolutionCache(reader=reader, max_entries=2, max_file_bytes=len(SOLUTION))
    paths = [write(tmp_path, f"s{i}.csv") for i in range(3)]
    for path in paths:
        cache.load(path, SPEC)
    assert len(cache) == 2
    cache.load(paths[0], SPEC)  # the oldest was dropped: read again
    assert reader.reads == [*paths, paths[0]]
    assert not cache.load(write(tmp_path, "big.csv", SOLUTION + "3,3.0,Public\n"), SPEC)
