"""Diagnostics on the public split: right against scikit-learn, and blind to the private rows."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from heldout.challenges.diagnostics import (
    CALIBRATION_BINS,
    MIN_ROWS_PER_BIN,
    binned_residuals,
    calibration_curve,
    confusion_matrix,
)
from heldout.challenges.scoring import score_frames
from heldout.challenges.spec import ScoringSpec

RNG = np.random.default_rng(7)


def _usage(n):
    return np.where(np.arange(n) % 3 == 0, "Private", "Public")


def _frames(truth, predicted, columns=("target",), truth_column="target"):
    n = len(truth)
    solution = pd.DataFrame({"id": range(n), truth_column: truth, "Usage": _usage(n)})
    submission = pd.DataFrame({"id": range(n)})
    predicted = np.asarray(predicted)
    if predicted.ndim == 1:
        submission[columns[0]] = predicted
    else:
        for j, column in enumerate(columns):
            submission[column] = predicted[:, j]
    return submission, solution


def test_the_confusion_matrix_matches_scikit_learn():
    truth = RNG.integers(0, 4, 500)
    predicted = np.where(RNG.random(500) < 0.7, truth, RNG.integers(0, 4, 500))
    ours = confusion_matrix(truth, predicted, ["a", "b", "c", "d"])
    assert ours["labels"] == ["a", "b", "c", "d"]
    assert ours["matrix"] == sk_confusion_matrix(truth, predicted, labels=[0, 1, 2, 3]).tolist()


def test_too_many_labels_make_no_confusion_matrix():
    assert confusion_matrix(np.arange(40), np.arange(40), list(range(40))) is None


def test_the_calibration_curve_matches_scikit_learn_when_every_bin_is_full():
    probability = RNG.random(5000)
    occurred = RNG.random(5000) < probability
    ours = calibration_curve(occurred, probability, event="positive", probability="p")
    observed, predicted = sk_calibration_curve(occurred, probability, n_bins=CALIBRATION_BINS, strategy="uniform")
    assert [b["observed"] for b in ours["bins"]] == pytest.approx(observed.tolist())
    assert [b["mean_predicted"] for b in ours["bins"]] == pytest.approx(predicted.tolist())
    assert sum(b["rows"] for b in ours["bins"]) == 5000


def test_a_sparse_calibration_bin_joins_its_neighbour_so_no_bin_tells_one_rows_label():
    probability = np.concatenate([np.full(50, 0.05), [0.45], np.full(50, 0.95)])
    occurred = probability > 0.5
    bins = calibration_curve(occurred, probability, event="positive", probability="p")["bins"]
    assert all(b["rows"] >= MIN_ROWS_PER_BIN for b in bins)
    assert sum(b["rows"] for b in bins) == 101
    assert [(b["bin_low"], b["bin_high"]) for b in bins] == [(0.0, 0.1), (0.1, 1.0)]


def test_residual_bins_summarise_at_least_ten_rows_each():
    y_pred = RNG.normal(size=1003)
    y_true = y_pred + 0.5 + RNG.normal(scale=0.1, size=1003)
    residuals = binned_residuals(y_true, y_pred)
    assert len(residuals["bins"]) == 20
    assert all(b["rows"] >= MIN_ROWS_PER_BIN for b in residuals["bins"])
    assert sum(b["rows"] for b in residuals["bins"]) == 1003
    assert residuals["mean_residual"] == pytest.approx(np.mean(y_true - y_pred))
    assert all(b["p10"] <= b["mean_residual"] <= b["p90"] for b in residuals["bins"])
    assert sum(residuals["histogram"]["counts"]) == 1003
    # Predictions that run low show as a positive mean residual in every bin.
    assert all(b["mean_residual"] > 0.3 for b in residuals["bins"])


def test_fewer_than_ten_rows_give_no_residual_plot():
    assert binned_residuals(np.arange(9.0), np.arange(9.0)) is None


def test_a_perfect_fit_still_has_a_histogram():
    values = np.linspace(0, 1, 30)
    histogram = binned_residuals(values, values)["histogram"]
    assert sum(histogram["counts"]) == 30
    assert histogram["edges"][0] < 0 < histogram["edges"][-1]


@pytest.mark.parametrize("scale", [1.0, 1e-9, 1e6, 1e15])
def test_a_constant_offset_is_scored_and_its_residuals_get_a_histogram(scale):
    # Every residual is -1 up to floating point: once, NumPy refused to bin so narrow a range, the scorer
    # crashed and the submission was retried as a platform error for ever.
    truth = RNG.uniform(0, 10, 40) * scale
    submission, solution = _frames(truth, truth + scale)
    result = score_frames(submission, solution, ScoringSpec(metric="rmse", id_dtype="int"))
    assert result.public_score == pytest.approx(scale)
    histogram = result.diagnostics["residuals"]["histogram"]
    assert sum(histogram["counts"]) == len(_usage(40)[_usage(40) == "Public"])
    assert all(a < b for a, b in zip(histogram["edges"], histogram["edges"][1:]))
    assert histogram["edges"][0] <= -scale <= histogram["edges"][-1]


@pytest.mark.parametrize("case", ["labels", "binary_probabilities", "multiclass_probabilities", "regression"])
def test_private_rows_do_not_change_the_diagnostics(case):
    n = 300
    private = _usage(n) == "Private"
    if case == "labels":
        truth = RNG.choice(["cat", "dog", "eel"], n)
        predicted = np.where(RNG.random(n) < 0.6, truth, "dog")
        other = np.where(private, "eel", predicted)
        spec = ScoringSpec(metric="accuracy", task_type="multiclass")
        kwargs = {}
    elif case == "binary_probabilities":
        truth = RNG.integers(0, 2, n)
        predicted = RNG.random(n)
        other = np.where(private, 1 - predicted, predicted)
        spec = ScoringSpec(metric="log_loss", task_type="binary", probabilities=True)
        kwargs = {}
    elif case == "multiclass_probabilities":
        truth = RNG.choice(["a", "b", "c"], n)
        predicted = RNG.dirichlet([1, 1, 1], n)
        other = np.where(private[:, None], predicted[:, ::-1], predicted)
        spec = ScoringSpec(metric="log_loss", task_type="multiclass", target_columns=["a", "b", "c"],
                           solution_columns=["label"], probabilities=True, rows_sum_to_one=True, sum_tolerance=1e-6)
        kwargs = {"columns": ("a", "b", "c"), "truth_column": "label"}
    else:
        truth = RNG.normal(size=n)
        predicted = truth + RNG.normal(scale=0.3, size=n)
        other = np.where(private, predicted + 100, predicted)
        spec = ScoringSpec(metric="rmse")
        kwargs = {}
    first = score_frames(*_frames(truth, predicted, **kwargs), spec)
    second = score_frames(*_frames(truth, other, **kwargs), spec)
    assert first.private_score != second.private_score  # the private rows did change
    assert first.diagnostics is not None
    assert first.diagnostics == second.diagnostics
    assert first.diagnostics["rows"] == int((~private).sum())
    json.dumps(first.diagnostics, allow_nan=False)  # what the scorer writes must be plain JSON


def test_binary_probabilities_get_a_confusion_matrix_at_one_half_and_a_calibration_curve():
    truth = np.array(["no", "yes"] * 30)
    predicted = np.where(truth == "yes", 0.8, 0.3)
    result = score_frames(*_frames(truth, predicted),
                          ScoringSpec(metric="log_loss", task_type="binary", probabilities=True,
                                      metric_params={"pos_label": "yes"}))
    confusion = result.diagnostics["confusion"]
    assert confusion["labels"] == ["no", "yes"] and confusion["threshold"] == 0.5
    assert confusion["matrix"] == [[20, 0], [0, 20]]
    assert result.diagnostics["calibration"]["event"] == "the label is yes"


@pytest.mark.parametrize("spec", [ScoringSpec(metric="adjusted_rand_index", task_type="clustering"),
                                  ScoringSpec(metric="rmse", task_type="regression")])
def test_no_public_rows_or_no_fitting_picture_means_no_diagnostics(spec):
    truth = RNG.integers(0, 3, 30)
    submission, solution = _frames(truth, truth)
    if spec.task_type == "regression":
        solution["Usage"] = "Private"
    assert score_frames(submission, solution, spec).diagnostics is None
