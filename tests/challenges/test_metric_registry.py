"""Invariants that hold across the whole metric registry."""

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heldout.challenges.metrics import INPUT_KINDS, METRICS, UnknownMetric, get_metric
from heldout.challenges.spec import TASK_TYPES

METRIC_MODULES = ["heldout.challenges.metrics." + name for name in
                  ("classification", "probabilistic", "regression", "ranking", "clustering", "reinforcement")]
REQUIRED = {"accuracy", "balanced_accuracy", "log_loss", "roc_auc", "average_precision", "f1", "precision",
            "recall", "matthews_corrcoef", "cohen_kappa", "quadratic_weighted_kappa", "rmse", "mse", "mae", "rmsle",
            "r2", "mape", "smape", "median_absolute_error", "map_at_k", "ndcg_at_k", "adjusted_rand_index",
            "normalized_mutual_info", "mean_episode_return"}


def test_the_registry_holds_every_required_metric():
    assert REQUIRED <= set(METRICS)


@pytest.mark.parametrize("module", METRIC_MODULES + ["heldout.challenges.metrics"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_documents_its_formula_with_an_example(name):
    doc = METRICS[name].func.__doc__
    assert doc and ">>>" in doc and "=" in doc


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_facts_are_consistent(name):
    metric = METRICS[name]
    assert metric.name == name
    assert set(metric.task_types) <= set(TASK_TYPES)
    assert metric.input_kind in INPUT_KINDS
    low, high = metric.value_range
    assert low < high
    function = metric.func.__name__
    if function.endswith("_score"):
        assert metric.greater_is_better
    if function.endswith(("_loss", "_error")):
        assert not metric.greater_is_better


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(UnknownMetric) as info:
        get_metric("auc_roc")
    assert isinstance(info.value, ValueError)
    assert "roc_auc" in str(info.value) and "rmse" in str(info.value)


def test_unknown_metric_params_are_rejected_with_the_allowed_ones():
    metric = get_metric("f1")
    assert set(metric.param_names) == {"average", "pos_label", "zero_division"}
    with pytest.raises(ValueError, match="average"):
        metric.check_params({"avg": "macro"})


def test_every_label_metric_takes_pos_label_which_the_scorer_resolves():
    get_metric("log_loss").check_params({"pos_label": "spam"})
    with pytest.raises(ValueError, match="pos_label"):
        get_metric("rmse").check_params({"pos_label": 1})


# -- direction: a perfect prediction scores the best value, a worse one worse --------------------

rng = np.random.default_rng(0)
N = 60
LABELS = rng.integers(0, 3, N)
BINARY = np.r_[0, 1, rng.integers(0, 2, N - 2)]
VALUES = rng.uniform(0.5, 10.0, N)


def perfect_and_noisy(metric):
    kind = metric.input_kind
    if kind == "labels" and "average" in metric.param_names:  # binary by default
        return (BINARY, BINARY), (BINARY, np.where(np.arange(N) < 20, 1 - BINARY, BINARY))
    if kind == "labels":
        noisy = LABELS.copy()
        noisy[:20] = (noisy[:20] + 1) % 3
        return (LABELS, LABELS), (LABELS, noisy)
    if kind == "probabilities":
        if metric.name == "log_loss":
            onehot = np.eye(3)[LABELS]
            return (LABELS, onehot), (LABELS, np.full((N, 3), 1 / 3))
        return (BINARY, BINARY.astype(float)), (BINARY, np.where(np.arange(N) < 20, 1 - BINARY, BINARY).astype(float))
    if kind == "values":
        return (VALUES, VALUES), (VALUES, VALUES * 1.3)
    if kind == "clusters":
        return (LABELS, (LABELS + 5) * 7), (LABELS, rng.integers(0, 3, N))
    if kind == "ranked_lists":
        truth = np.array([f"a{i} b{i}" for i in range(N)], dtype=object)
        return (truth, truth), (truth, np.array([f"x b{i} a{i}" for i in range(N)], dtype=object))
    raise AssertionError(kind)


@pytest.mark.parametrize("name", sorted(n for n, metric in METRICS.items() if metric.perfect))
def test_a_perfect_prediction_scores_the_best_value_and_a_noisy_one_worse(name):
    metric = METRICS[name]
    perfect, noisy = perfect_and_noisy(metric)
    best = metric(*perfect)
    worse = metric(*noisy)
    assert best == pytest.approx(metric.best_value, abs=1e-12)
    assert (worse < best) if metric.greater_is_better else (worse > best)
    low, high = metric.value_range
    assert low <= worse <= high


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=50), st.lists(st.integers(0, 5), min_size=50, max_size=50),
       st.permutations(list(range(6))))
def test_clustering_scores_ignore_how_clusters_are_numbered(truth, guess, permutation):
    y_true, y_pred = np.array(truth), np.array(guess[:len(truth)])
    renamed = np.array(permutation)[y_pred] * 10 + 3
    for name in ("adjusted_rand_index", "normalized_mutual_info"):
        metric = get_metric(name)
        assert metric(y_true, renamed) == pytest.approx(metric(y_true, y_pred), abs=1e-12)
        assert metric(y_true.astype(str), y_pred) == pytest.approx(metric(y_true, y_pred), abs=1e-12)
