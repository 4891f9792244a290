"""The bootstrap interval: batched resample scoring is exact, seeded, and skips undefined resamples."""

import numpy as np
import pytest

from heldout.challenges import bootstrap
from heldout.challenges.bootstrap import bootstrap_ci
from heldout.challenges.metrics import METRICS, get_metric
from heldout.challenges.metrics.metric import CellCounts, loop_resampler

rng = np.random.default_rng(7)
N = 300
LABELS = rng.integers(0, 4, N)
NOISY_LABELS = np.where(rng.random(N) < 0.6, LABELS, rng.integers(0, 4, N))
BINARY = (rng.random(N) < 0.35).astype(int)
SCORES = np.round(np.clip(0.3 * BINARY + rng.random(N) * 0.7, 0, 1), 2)  # ties on purpose
PROBS = rng.random((N, 4)) + np.eye(4)[LABELS]
PROBS /= PROBS.sum(axis=1, keepdims=True)
VALUES = rng.uniform(0, 10, N)
GUESSES = VALUES + rng.normal(0, 2, N).clip(-VALUES)
VALUES_2D, GUESSES_2D = rng.normal(size=(N, 2)), rng.normal(size=(N, 2))
TRUE_LISTS = np.array([" ".join(f"i{j}" for j in rng.choice(9, rng.integers(0, 3), replace=False)) for _ in range(N)],
                      dtype=object)
PRED_LISTS = np.array([" ".join(f"i{j}" for j in rng.permutation(9)[:5]) for _ in range(N)], dtype=object)

CASES = {
    "labels": [(LABELS, NOISY_LABELS, {}), (LABELS.astype(str), NOISY_LABELS.astype(str), {})],
    "probabilities": [(BINARY, SCORES, {}), (LABELS, PROBS, {})],
    "values": [(VALUES, GUESSES, {}), (VALUES_2D + 5, GUESSES_2D.clip(-5) + 5, {})],
    "ranked_lists": [(TRUE_LISTS, PRED_LISTS, {"k": 3})],
    "clusters": [(LABELS, NOISY_LABELS, {})],
    "returns": [(None, VALUES, {})],
}
PARAMS_BY_METRIC = {
    "f1": [{"average": "macro"}, {"average": "weighted"}, {"average": "micro"}],
    "precision": [{"average": "macro"}], "recall": [{"average": "weighted"}],
    "cohen_kappa": [{"weights": "linear"}, {"weights": None, "labels": np.arange(5)}],
    "quadratic_weighted_kappa": [{}, {"labels": np.arange(6)}],
    "balanced_accuracy": [{}, {"adjusted": True}],
    "roc_auc": [{}, {"average": "weighted"}], "average_precision": [{}, {"average": "weighted"}],
}


def cases():
    for name, metric in sorted(METRICS.items()):
        if metric.resampler is None:
            continue
        for i, (y_true, y_pred, params) in enumerate(CASES[metric.input_kind]):
            for j, extra in enumerate(PARAMS_BY_METRIC.get(name, [{}])):
                if "labels" in extra and y_true.dtype.kind != "i":
                    continue
                yield pytest.param(name, y_true, y_pred, {**params, **extra}, id=f"{name}-{i}-{j}")


def batched_scores(metric, y_true, y_pred, params, idx):
    scorer = metric.resampler(y_true, y_pred, **params)
    if scorer is None:
        return None
    if isinstance(scorer, CellCounts):
        keys = scorer.cells[idx] + (np.arange(len(idx)) * scorer.n_cells)[:, None]
        counts = np.bincount(keys.ravel(), minlength=len(idx) * scorer.n_cells).reshape(len(idx), scorer.n_cells)
        return scorer.score(counts)
    return scorer.score(idx)


@pytest.mark.parametrize("name, y_true, y_pred, params", list(cases()))
def test_batched_resample_scores_equal_scoring_each_resample_alone(name, y_true, y_pred, params):
    metric = get_metric(name)
    if name in ("f1", "precision", "recall") and "average" not in params:
        y_true, y_pred = (y_true == y_true[0]).astype(int), (y_pred == y_true[0]).astype(int)
    idx = np.random.default_rng(0).integers(0, len(y_pred), size=(12, len(y_pred)))
    with np.errstate(divide="ignore", invalid="ignore"):
        batched = batched_scores(metric, y_true, y_pred, params, idx)
    one_by_one = loop_resampler(metric.func, y_true, y_pred, params)(idx)
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-9, atol=1e-12)


def test_the_interval_is_seeded_and_brackets_the_score():
    metric = get_metric("rmse")
    first = bootstrap_ci(metric, VALUES, GUESSES, resamples=200, seed=3)
    again = bootstrap_ci(metric, VALUES, GUESSES, resamples=200, seed=3)
    other = bootstrap_ci(metric, VALUES, GUESSES, resamples=200, seed=4)
    assert first == again != other
    assert first.low < metric(VALUES, GUESSES) < first.high
    assert first.resamples == 200


def test_multinomial_cell_counts_give_the_same_interval_as_drawing_rows(monkeypatch):
    metric = get_metric("accuracy")
    y_true = rng.integers(0, 3, 20_000)
    y_pred = np.where(rng.random(20_000) < 0.7, y_true, rng.integers(0, 3, 20_000))
    by_cells = bootstrap_ci(metric, y_true, y_pred, resamples=2000, seed=1)
    monkeypatch.setattr(bootstrap, "MULTINOMIAL_CELL_RATIO", 10**9)  # force drawing rows
    by_rows = bootstrap_ci(metric, y_true, y_pred, resamples=2000, seed=1)
    assert by_cells.low == pytest.approx(by_rows.low, abs=0.002)
    assert by_cells.high == pytest.approx(by_rows.high, abs=0.002)


def test_resamples_where_the_metric_is_undefined_are_skipped():
    y_true = np.zeros(40, dtype=int)
    y_true[0] = 1  # a resample misses the one positive about 36% of the time
    scores = np.linspace(0, 1, 40)
    ci = bootstrap_ci(get_metric("roc_auc"), y_true, scores, resamples=500, seed=0)
    assert ci is not None and 200 < ci.resamples < 450
    assert 0.0 <= ci.low <= ci.high <= 1.0


def test_an_interval_that_is_undefined_everywhere_is_none():
    assert bootstrap_ci(get_metric("roc_auc"), np.ones(10, dtype=int), np.linspace(0, 1, 10), resamples=50) is None
    assert bootstrap_ci(get_metric("rmse"), VALUES, GUESSES, resamples=0) is None


def test_metrics_without_a_batched_form_use_fewer_resamples():
    ci = bootstrap_ci(get_metric("adjusted_rand_index"), LABELS, NOISY_LABELS, resamples=1000, seed=0)
    assert ci.resamples == bootstrap.LOOP_RESAMPLES


def test_chunks_keep_memory_bounded_whatever_the_row_count(monkeypatch):
    monkeypatch.setattr(bootstrap, "CHUNK_INDICES", 1000)
    sizes = list(bootstrap._chunks(25, 300))
    assert sum(sizes) == 25 and max(sizes) * 300 <= 1000
    small = bootstrap_ci(get_metric("mae"), VALUES, GUESSES, resamples=25, seed=0)
    assert small.resamples == 25


def test_drawing_rows_stops_at_a_row_budget_but_never_below_the_minimum(monkeypatch):
    monkeypatch.setattr(bootstrap, "RESAMPLED_ROWS", N * 50)
    assert bootstrap_ci(get_metric("rmse"), VALUES, GUESSES, resamples=1000).resamples == 50
    monkeypatch.setattr(bootstrap, "RESAMPLED_ROWS", 1)
    assert bootstrap_ci(get_metric("rmse"), VALUES, GUESSES, resamples=1000).resamples == bootstrap.MIN_RESAMPLES
    # drawing cell counts costs the same whatever n: no cap
    assert bootstrap_ci(get_metric("accuracy"), LABELS, NOISY_LABELS, resamples=1000).resamples == 1000


def test_one_at_a_time_scoring_has_its_own_row_budget(monkeypatch):
    monkeypatch.setattr(bootstrap, "LOOP_RESAMPLED_ROWS", N * 30)
    assert bootstrap_ci(get_metric("normalized_mutual_info"), LABELS, NOISY_LABELS, resamples=1000).resamples == 30
