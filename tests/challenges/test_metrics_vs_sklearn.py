"""Every metric agrees with scikit-learn (the reference) on random inputs and edge cases.

scikit-learn is only a reference here: the metrics themselves are pure NumPy.
Runs with scikit-learn 1.2 (the sandbox image) and current releases.
"""

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from heldout.challenges import metrics as m
from heldout.challenges.metrics import UndefinedMetric

REL = 1e-9
FEW = settings(max_examples=40, deadline=None)


def reference(func, *args, **kwargs):
    """Call a scikit-learn metric with its warnings silenced (pytest turns warnings into errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(func(*args, **kwargs))


def sk_rmse(y_true, y_pred):
    if hasattr(skm, "root_mean_squared_error"):
        return skm.root_mean_squared_error(y_true, y_pred)
    return skm.mean_squared_error(y_true, y_pred, squared=False)


def sk_rmsle(y_true, y_pred):
    if hasattr(skm, "root_mean_squared_log_error"):
        return skm.root_mean_squared_log_error(y_true, y_pred)
    return skm.mean_squared_log_error(y_true, y_pred, squared=False)


def close(ours, theirs, rel=REL):
    return ours == pytest.approx(theirs, rel=rel, abs=1e-12)


labels_5 = st.integers(0, 4)


@st.composite
def label_pairs(draw, values=labels_5, min_size=1, max_size=60):
    n = draw(st.integers(min_size, max_size))
    y_true = draw(st.lists(values, min_size=n, max_size=n))
    y_pred = draw(st.lists(values, min_size=n, max_size=n))
    return np.array(y_true), np.array(y_pred)


@st.composite
def binary_scores(draw, max_size=60):
    """Binary truth with scores drawn from a small grid, so that ties are common."""
    n = draw(st.integers(2, max_size))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    grid = draw(st.sampled_from([5, 20, 10**6]))
    s = np.array(draw(st.lists(st.integers(0, grid), min_size=n, max_size=n))) / grid
    return y, s


@st.composite
def multiclass_probabilities(draw, max_size=60):
    k = draw(st.integers(3, 5))
    n = draw(st.integers(k, max_size))
    rest = draw(st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k))
    y = np.array(list(range(k)) + rest)  # every class present
    raw = np.array(draw(st.lists(st.integers(0, 20), min_size=n * k, max_size=n * k)), dtype=float).reshape(n, k) + 0.5
    return y, raw / raw.sum(axis=1, keepdims=True)


@st.composite
def value_pairs(draw, nonnegative=False, min_size=1):
    n = draw(st.integers(min_size, 60))
    lo = 0.0 if nonnegative else -1e3
    floats = st.floats(lo, 1e3, allow_nan=False, allow_infinity=False)
    column = st.lists(floats, min_size=n, max_size=n)
    return np.array(draw(column)), np.array(draw(column))


# -- label metrics ----------------------------------------------------------------------

@FEW
@given(label_pairs())
def test_accuracy_balanced_accuracy_and_mcc_match_sklearn(pair):
    y_true, y_pred = pair
    assert close(m.accuracy_score(y_true, y_pred), reference(skm.accuracy_score, y_true, y_pred))
    assert close(m.balanced_accuracy_score(y_true, y_pred), reference(skm.balanced_accuracy_score, y_true, y_pred))
    assert close(m.matthews_corrcoef(y_true, y_pred), reference(skm.matthews_corrcoef, y_true, y_pred))


@FEW
@given(label_pairs(), st.sampled_from(["micro", "macro", "weighted"]))
def test_multiclass_precision_recall_f1_match_sklearn(pair, average):
    y_true, y_pred = pair
    for ours, theirs in ((m.precision_score, skm.precision_score), (m.recall_score, skm.recall_score),
                         (m.f1_score, skm.f1_score)):
        expected = reference(theirs, y_true, y_pred, average=average, zero_division=0)
        assert close(ours(y_true, y_pred, average=average), expected)


@FEW
@given(label_pairs(values=st.integers(0, 1), min_size=2))
def test_binary_precision_recall_f1_match_sklearn(pair):
    y_true, y_pred = pair
    for ours, theirs in ((m.precision_score, skm.precision_score), (m.recall_score, skm.recall_score),
                         (m.f1_score, skm.f1_score)):
        assert close(ours(y_true, y_pred), reference(theirs, y_true, y_pred, zero_division=0))
        assert close(ours(y_true, y_pred, pos_label=0), reference(theirs, y_true, y_pred, pos_label=0, zero_division=0))


@FEW
@given(label_pairs(), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_sklearn_or_is_undefined_where_sklearn_gives_nan(pair, weights):
    y_true, y_pred = pair
    expected = reference(skm.cohen_kappa_score, y_true, y_pred, weights=weights)
    if np.isnan(expected):
        with pytest.raises(UndefinedMetric):
            m.cohen_kappa_score(y_true, y_pred, weights=weights)
    else:
        assert close(m.cohen_kappa_score(y_true, y_pred, weights=weights), expected)


def test_quadratic_weighted_kappa_with_declared_labels_counts_unused_ratings():
    y_true, y_pred = [1, 1, 5, 5, 3], [1, 5, 5, 5, 1]
    expected = reference(skm.cohen_kappa_score, y_true, y_pred, weights="quadratic", labels=[1, 2, 3, 4, 5])
    assert close(m.quadratic_weighted_kappa(y_true, y_pred, labels=[1, 2, 3, 4, 5]), expected)
    # without them, only the ratings used are positions: 1, 3, 5 are adjacent
    assert close(m.quadratic_weighted_kappa(y_true, y_pred),
                 reference(skm.cohen_kappa_score, y_true, y_pred, weights="quadratic"))


def test_string_labels_match_sklearn():
    rng = np.random.default_rng(1)
    names = np.array(["cat", "dog", "emu", "yak"])
    y_true, y_pred = names[rng.integers(0, 4, 500)], names[rng.integers(0, 4, 500)]
    assert close(m.f1_score(y_true, y_pred, average="macro"), reference(skm.f1_score, y_true, y_pred, average="macro"))
    assert close(m.matthews_corrcoef(y_true, y_pred), reference(skm.matthews_corrcoef, y_true, y_pred))
    assert close(m.cohen_kappa_score(y_true, y_pred), reference(skm.cohen_kappa_score, y_true, y_pred))
    assert close(m.f1_score(y_true == "cat", y_pred == "cat", pos_label=True),
                 reference(skm.f1_score, y_true == "cat", y_pred == "cat"))


def test_wide_and_negative_integer_labels_take_the_sorting_path_and_agree():
    rng = np.random.default_rng(2)
    for values in (np.array([-3, 7, 10**9]), np.array([-1, 0, 1])):
        y_true, y_pred = values[rng.integers(0, 3, 300)], values[rng.integers(0, 3, 300)]
        assert close(m.f1_score(y_true, y_pred, average="weighted"),
                     reference(skm.f1_score, y_true, y_pred, average="weighted"))
        assert close(m.balanced_accuracy_score(y_true, y_pred), reference(skm.balanced_accuracy_score, y_true, y_pred))


def test_binary_average_rejects_multiclass_labels_and_an_absent_pos_label():
    with pytest.raises(ValueError, match="multiclass"):
        m.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label"):
        m.f1_score(["a", "b"], ["a", "b"])


# -- probabilities and scores -----------------------------------------------------------------

@FEW
@given(binary_scores())
def test_binary_roc_auc_and_average_precision_match_sklearn_with_ties(data):
    y, s = data
    if len(np.unique(y)) < 2:
        with pytest.raises(UndefinedMetric):
            m.roc_auc_score(y, s)
        return
    assert close(m.roc_auc_score(y, s), reference(skm.roc_auc_score, y, s))
    assert close(m.average_precision_score(y, s), reference(skm.average_precision_score, y, s))


@FEW
@given(binary_scores())
def test_binary_log_loss_matches_sklearn(data):
    y, s = data
    assert close(m.log_loss(y, s, labels=[0, 1]), reference(skm.log_loss, y, s, labels=[0, 1]))


@FEW
@given(multiclass_probabilities())
def test_multiclass_log_loss_and_one_vs_rest_auc_match_sklearn(data):
    y, p = data
    assert close(m.log_loss(y, p), reference(skm.log_loss, y, p))
    for average in ("macro", "weighted"):
        assert close(m.roc_auc_score(y, p, average=average),
                     reference(skm.roc_auc_score, y, p, multi_class="ovr", average=average))


@FEW
@given(multiclass_probabilities())
def test_multiclass_average_precision_is_the_mean_of_one_vs_rest_sklearn_scores(data):
    y, p = data
    per_class = [reference(skm.average_precision_score, y == k, p[:, k]) for k in range(p.shape[1])]
    assert close(m.average_precision_score(y, p), float(np.mean(per_class)))


def test_multiclass_columns_follow_labels_order():
    y = np.array(["b", "a", "c", "b"])
    p = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    assert close(m.log_loss(y, p), reference(skm.log_loss, y, p))
    swapped = p[:, [1, 0, 2]]
    assert close(m.log_loss(y, swapped, labels=["b", "a", "c"]), m.log_loss(y, p))


def test_log_loss_clips_certain_mistakes_at_machine_epsilon():
    eps = np.finfo(np.float64).eps
    assert close(m.log_loss([1, 0], [0.0, 1.0]), -np.log(eps))
    assert close(m.log_loss([1, 0], [0.0, 1.0]), reference(skm.log_loss, [1, 0], [0.0, 1.0]))
    assert m.log_loss([1, 0], [1.0, 0.0]) == pytest.approx(-np.log(1 - eps), abs=1e-15)


def test_roc_auc_with_a_single_class_is_undefined():
    with pytest.raises(UndefinedMetric, match="single class"):
        m.roc_auc_score([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(UndefinedMetric):
        m.roc_auc_score([0, 0], [0.2, 0.5])
    with pytest.raises(UndefinedMetric):
        m.average_precision_score([0, 0], [0.2, 0.5])


def test_all_equal_scores_give_chance_auc_and_prevalence_ap():
    y = np.array([0, 1, 1, 0, 1])
    s = np.full(5, 0.3)
    assert m.roc_auc_score(y, s) == 0.5
    assert close(m.average_precision_score(y, s), reference(skm.average_precision_score, y, s))
    assert close(m.average_precision_score(y, s), 0.6)


def test_auc_on_many_rows_with_heavy_ties_is_exact():
    rng = np.random.default_rng(3)
    y = rng.random(200_000) < 0.3
    s = np.round(rng.random(200_000) + 0.2 * y, 2)
    assert close(m.roc_auc_score(y, s), reference(skm.roc_auc_score, y, s))
    assert close(m.average_precision_score(y, s), reference(skm.average_precision_score, y, s))


def test_binary_positive_class_is_the_greater_label_or_pos_label():
    y = np.array(["no", "yes", "yes", "no"])
    s = np.array([0.1, 0.8, 0.4, 0.3])
    assert m.roc_auc_score(y, s) == 1.0
    assert m.roc_auc_score(y, s, pos_label="no") == 0.0


# -- regression ------------------------------------------------------------------------------

@FEW
@given(value_pairs())
def test_regression_errors_match_sklearn(pair):
    y_true, y_pred = pair
    assert close(m.mean_squared_error(y_true, y_pred), reference(skm.mean_squared_error, y_true, y_pred))
    assert close(m.root_mean_squared_error(y_true, y_pred), reference(sk_rmse, y_true, y_pred))
    assert close(m.mean_absolute_error(y_true, y_pred), reference(skm.mean_absolute_error, y_true, y_pred))
    assert close(m.median_absolute_error(y_true, y_pred), reference(skm.median_absolute_error, y_true, y_pred))
    assert close(m.mean_absolute_percentage_error(y_true, y_pred),
                 reference(skm.mean_absolute_percentage_error, y_true, y_pred))


@FEW
@given(value_pairs(min_size=2))
def test_r2_matches_sklearn(pair):
    y_true, y_pred = pair
    assert close(m.r2_score(y_true, y_pred), reference(skm.r2_score, y_true, y_pred), rel=1e-8)


@FEW
@given(value_pairs(nonnegative=True))
def test_rmsle_matches_sklearn(pair):
    y_true, y_pred = pair
    assert close(m.root_mean_squared_log_error(y_true, y_pred), reference(sk_rmsle, y_true, y_pred))


@FEW
@given(value_pairs())
def test_smape_is_the_symmetric_percentage_formula(pair):
    y_true, y_pred = pair
    terms = [0.0 if a == f == 0 else 200 * abs(f - a) / (abs(a) + abs(f)) for a, f in zip(y_true, y_pred)]
    assert close(m.symmetric_mean_absolute_percentage_error(y_true, y_pred), sum(terms) / len(terms))


def test_multioutput_regression_averages_outputs_like_sklearn():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    for ours, theirs in ((m.root_mean_squared_error, sk_rmse), (m.mean_absolute_error, skm.mean_absolute_error),
                         (m.r2_score, skm.r2_score), (m.median_absolute_error, skm.median_absolute_error)):
        assert close(ours(y_true, y_pred), reference(theirs, y_true, y_pred))


def test_rmsle_rejects_negative_values():
    with pytest.raises(ValueError, match="negative"):
        m.root_mean_squared_log_error([1.0, 2.0], [1.0, -0.5])


def test_r2_with_constant_truth_follows_sklearn_force_finite_and_needs_two_rows():
    assert m.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == reference(skm.r2_score, [2.0] * 3, [2.0] * 3) == 1.0
    assert m.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == reference(skm.r2_score, [2.0] * 3, [1.0, 2.0, 3.0]) == 0.0
    with pytest.raises(UndefinedMetric):
        m.r2_score([1.0], [2.0])


def test_float_metrics_reject_nan():
    with pytest.raises(ValueError, match="NaN"):
        m.root_mean_squared_error([1.0, np.nan], [1.0, 2.0])


# -- clustering -------------------------------------------------------------------------------

@FEW
@given(label_pairs(values=st.integers(0, 6), min_size=1))
def test_clustering_scores_match_sklearn(pair):
    y_true, y_pred = pair
    assert close(m.adjusted_rand_score(y_true, y_pred), reference(skm.adjusted_rand_score, y_true, y_pred))
    assert close(m.normalized_mutual_info_score(y_true, y_pred),
                 reference(skm.normalized_mutual_info_score, y_true, y_pred), rel=1e-8)


def test_clustering_on_many_clusters_uses_the_sparse_table_and_agrees():
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.integers(0, 5000, 20_000), rng.integers(0, 5000, 20_000)
    assert close(m.adjusted_rand_score(y_true, y_pred), reference(skm.adjusted_rand_score, y_true, y_pred))
    assert close(m.normalized_mutual_info_score(y_true, y_pred),
                 reference(skm.normalized_mutual_info_score, y_true, y_pred), rel=1e-8)


# -- ranking ----------------------------------------------------------------------------------

def apk_by_hand(actual, predicted, k):
    relevant = set(actual)
    if not relevant:
        return 0.0
    hits, total, seen = 0, 0.0, set()
    for i, item in enumerate(predicted[:k], start=1):
        if item in relevant and item not in seen:
            hits += 1
            total += hits / i
        seen.add(item)
    return total / min(len(relevant), k)


@st.composite
def ranked_lists(draw):
    n = draw(st.integers(1, 20))
    items = st.sampled_from([f"i{j}" for j in range(12)])
    truth = [draw(st.lists(items, max_size=4)) for _ in range(n)]
    preds = [draw(st.lists(items, max_size=8)) for _ in range(n)]
    return truth, preds, draw(st.integers(1, 6))


@FEW
@given(ranked_lists())
def test_map_at_k_matches_average_precision_by_hand(data):
    truth, preds, k = data
    expected = np.mean([apk_by_hand(t, p, k) for t, p in zip(truth, preds)])
    as_text = [" ".join(x) for x in truth], [" ".join(x) for x in preds]
    assert close(m.map_at_k(*as_text, k=k), expected)
    assert close(m.map_at_k(truth, preds, k=k), expected)


@FEW
@given(st.integers(1, 15), st.integers(1, 6), st.randoms(use_true_random=False))
def test_ndcg_at_k_matches_sklearn_ndcg_score(n, k, rnd):
    universe = [f"i{j}" for j in range(10)]
    truth = [rnd.sample(universe, rnd.randint(0, 4)) for _ in range(n)]
    preds = [rnd.sample(universe, len(universe)) for _ in range(n)]  # full rankings: no ties in sklearn's view
    relevance = np.array([[1.0 if item in t else 0.0 for item in universe] for t in truth])
    scores = np.array([[len(universe) - p.index(item) for item in universe] for p in preds], dtype=float)
    expected = reference(skm.ndcg_score, relevance, scores, k=k) if n > 1 else None
    ours = m.ndcg_at_k([" ".join(t) for t in truth], [" ".join(p) for p in preds], k=k)
    if expected is not None:
        assert close(ours, expected)
    else:
        assert 0.0 <= ours <= 1.0


def test_ranking_rejects_a_bad_k():
    with pytest.raises(ValueError, match="k must be a positive integer"):
        m.map_at_k(["a"], ["a"], k=0)


# -- reinforcement ----------------------------------------------------------------------------

def test_mean_episode_return_is_the_mean_of_the_returns():
    assert m.mean_episode_return(None, [1.0, 2.0, 6.0]) == 3.0


# -- single rows --------------------------------------------------------------------------------

def test_single_row_behaviour():
    assert m.accuracy_score([1], [1]) == 1.0
    assert m.f1_score([1], [1]) == 1.0
    assert m.root_mean_squared_error([2.0], [5.0]) == 3.0
    assert m.log_loss([1], [0.5]) == pytest.approx(np.log(2))
    assert m.adjusted_rand_score([3], [4]) == 1.0
    assert m.matthews_corrcoef([1], [1]) == reference(skm.matthews_corrcoef, [1], [1])
    with pytest.raises(UndefinedMetric):
        m.roc_auc_score([1], [0.5])
    with pytest.raises(UndefinedMetric):
        m.cohen_kappa_score([1], [1])
