"""A bundle's baseline runs in the sandbox and must reach its stated ``baseline.score`` range:
``heldout challenges validate --run-baseline`` and the check the organizer's upload queues share
``heldout.runner.baseline.check_baseline``. Runs under bubblewrap: real limits, no Docker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from heldout.challenges.bundle import load_bundle
from heldout.cli import main
from heldout.runner.baseline import check_bundle_baseline
from tests.bundles import (
    COPY_SAMPLE_PREDICT,
    CRASHING_BASELINE,
    FIT_SLOPE_BASELINE,
    with_baseline,
    write_code_bundle,
    write_tiny_bundle,
)

CARTPOLE = Path(__file__).resolve().parents[2] / "challenges" / "cartpole-balance"


@pytest.fixture
def validate(monkeypatch, tmp_path, capsys):
    """``heldout challenges validate --run-baseline PATH`` under bubblewrap: (exit status, what it printed)."""
    monkeypatch.setenv("HELDOUT_SANDBOX", "bubblewrap")
    monkeypatch.setenv("HELDOUT_DATA_DIR", str(tmp_path / "data"))

    def run(path: Path) -> tuple[int, str]:
        status = main(["challenges", "validate", "--run-baseline", str(path)])
        return status, capsys.readouterr().out

    return run


def test_a_baseline_in_its_range_passes_and_both_scores_are_printed(validate, bwrap_sandbox, tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "tiny"), FIT_SLOPE_BASELINE, score_min=0, score_max=0.5)
    status, out = validate(bundle)
    assert status == 0, out
    assert f"{bundle}: ok" in out
    assert "baseline: public score 0.1" in out and ", private score 0.1" in out and "(stated range 0 to 0.5)" in out


def test_a_baseline_outside_its_range_fails_naming_baseline_score_the_score_and_the_range(validate, tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "tiny"), FIT_SLOPE_BASELINE, score_min=1, score_max=2)
    status, out = validate(bundle)
    assert status == 1
    assert f"{bundle}: 2 problem(s)" in out
    assert "challenge.yaml:baseline.score: the baseline scored 0.1" in out
    assert "on the public split, outside the stated range 1 to 2" in out
    assert "on the private split, outside the stated range 1 to 2" in out


def test_a_crashing_baseline_fails_with_its_log(validate, tmp_path):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "tiny"), CRASHING_BASELINE)
    status, out = validate(bundle)
    assert status == 1
    assert ("baseline.py:baseline.script: the baseline did not produce a score: it exited with status 1; its "
            "output is below") in out
    log = out.split("baseline log:", 1)[1]
    assert "reading the training data" in log
    assert "FileNotFoundError" in log and "train_v2.csv" in log


def test_without_run_baseline_nothing_is_run(validate, tmp_path, capsys):
    bundle = with_baseline(write_tiny_bundle(tmp_path / "tiny"), CRASHING_BASELINE)
    assert main(["challenges", "validate", str(bundle)]) == 0
    assert capsys.readouterr().out == f"{bundle}: ok\n"


def test_run_baseline_on_a_bundle_that_declares_none_is_a_problem(validate, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "tiny")
    status, out = validate(bundle)
    assert status == 1
    assert "challenge.yaml:baseline: --run-baseline: the bundle declares no baseline (script and score range)" in out


def test_a_code_bundles_baseline_runs_as_its_entry_point_would(bwrap_sandbox, tmp_path):
    root = with_baseline(write_code_bundle(tmp_path / "code"), COPY_SAMPLE_PREDICT, name="predict.py",
                         score_min=0, score_max=0.05)
    with load_bundle(root) as bundle:
        report = check_bundle_baseline(bwrap_sandbox, bundle)
    # y = 3x scores about 0.1: outside this range, and measured through a real run of predict.py.
    assert report.state == "failed" and 0.05 < report.public_score < 0.5 and 0.05 < report.private_score < 0.5
    assert [e.field for e in report.errors] == ["baseline.score", "baseline.score"]


def test_a_code_bundles_crashing_baseline_comes_back_with_its_log(bwrap_sandbox, tmp_path):
    root = with_baseline(write_code_bundle(tmp_path / "code"), "raise RuntimeError('no model here')\n",
                         name="predict.py")
    with load_bundle(root) as bundle:
        report = check_bundle_baseline(bwrap_sandbox, bundle)
    assert report.state == "failed" and report.errors[0].field == "baseline.script"
    assert "RuntimeError: no model here" in report.logs


def test_a_reinforcement_learning_baseline_is_played_over_the_episodes_and_judged(bwrap_sandbox, tmp_path):
    root = tmp_path / "cartpole"
    shutil.copytree(CARTPOLE, root)
    yaml = (root / "challenge.yaml").read_text()
    (root / "challenge.yaml").write_text(yaml.replace("score: {min: 30, max: 60}", "score: {min: 400, max: 500}"))
    with load_bundle(root) as bundle:
        report = check_bundle_baseline(bwrap_sandbox, bundle)
    assert report.state == "failed" and 30 <= report.public_score <= 60 and 30 <= report.private_score <= 60
    assert "outside the stated range 400 to 500" in str(report.errors[0])
