"""Metrics over predicted probabilities or scores: log loss, ROC AUC, average precision.

Binary inputs: ``y_pred`` is the score (probability) of the positive class,
shape (n,). Multiclass inputs: ``y_pred`` has shape (n, k), one column per
class in the order of ``labels`` (default: the sorted labels of ``y_true``).

ROC AUC and average precision avoid a full argsort: they sort the scores of
positives and negatives separately (``np.sort`` is several times faster than
``np.argsort``) and count, by binary search, how many negatives score below
or level with each positive. Ties are handled exactly as scikit-learn does.
"""

from __future__ import annotations

import numpy as np

from .inputs import as_floats, binary_truth, check_lengths, class_columns
from .metric import CellCounts, Metric, RowScores, UndefinedMetric, mean_resampler

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` before the logarithm, with
#: ``EPS`` the float64 machine epsilon (2.22e-16): scikit-learn's convention
#: since 1.2 (``eps="auto"``), so a confident wrong answer costs
#: ``-log(EPS) ~= 36.04`` instead of infinity.
EPS = float(np.finfo(np.float64).eps)

_AVERAGES = ("macro", "weighted")


def _scores(y_true, y_pred) -> np.ndarray:
    y_pred = as_floats(y_pred, "y_pred", ndim=(1, 2))
    check_lengths(y_true, y_pred)
    return y_pred


# -- log loss -----------------------------------------------------------------------

def _log_loss_rows(y_true, y_pred, labels=None) -> np.ndarray:
    """Per-row loss ``-log(clip(p_i))`` with ``p_i`` the probability of the true class."""
    y_pred = _scores(y_true, y_pred)
    if y_pred.min() < 0 or y_pred.max() > 1:
        raise ValueError("y_pred must hold probabilities in [0, 1]")
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]
    if y_pred.ndim == 1:
        truth = _binary_truth_for_log_loss(y_true, labels)
        p = np.where(truth, y_pred, 1.0 - y_pred)
    else:
        _, codes = class_columns(y_true, y_pred.shape[1], labels)
        p = y_pred[np.arange(len(codes)), codes]
    np.clip(p, EPS, 1.0 - EPS, out=p)
    np.log(p, out=p)
    np.negative(p, out=p)
    return p


def _binary_truth_for_log_loss(y_true, labels) -> np.ndarray:
    if labels is None:
        return binary_truth(y_true)
    labels = np.sort(np.asarray(labels))
    if len(labels) != 2:
        raise ValueError("a one-column y_pred needs exactly two labels")
    # one column per sorted label: the positive class is the second
    return class_columns(y_true, 2, labels)[1] == 1


def log_loss(y_true, y_pred, *, labels=None) -> float:
    """Mean negative log-likelihood of the true class (cross-entropy).

    ``log_loss = -(1/n) * sum_i log(clip(p_i, EPS, 1 - EPS))``, ``p_i`` being
    the predicted probability of row i's true class and ``EPS`` the float64
    machine epsilon. Binary: ``y_pred`` is P(positive class), the positive
    class being the greater of two labels (``True``/1 for booleans and 0/1).
    Multiclass: ``y_pred`` is (n, k), columns in the order of ``labels``.
    Rows are not renormalised (scikit-learn >= 1.5 behaviour; 1.2 also
    divided each clipped row by its sum, which changes nothing for rows that
    sum to 1, and the validator makes sure they do). 0 is best.

    >>> round(log_loss([1, 0, 1], [0.9, 0.2, 0.6]), 6)
    0.279777
    >>> round(log_loss(["a", "b"], [[0.8, 0.2], [0.3, 0.7]]), 6)
    0.289909
    """
    return float(np.mean(_log_loss_rows(y_true, y_pred, labels)))


def _log_loss_resampler(y_true, y_pred, *, labels=None):
    return mean_resampler([_log_loss_rows(y_true, y_pred, labels)], lambda m: m)


# -- ROC AUC ------------------------------------------------------------------------

def _binary_auc(truth: np.ndarray, score: np.ndarray) -> float:
    positives = np.sort(score[truth])
    negatives = np.sort(score[~truth])
    if not len(positives) or not len(negatives):
        raise UndefinedMetric("ROC AUC is undefined when y_true holds a single class")
    # Twice the Mann-Whitney U: a negative below a positive counts 2, a tie 1.
    # Integer sums keep it exact (up to 2 n^2, far below 2^63 for any n here).
    below = np.searchsorted(negatives, positives, side="left")
    below_or_tied = np.searchsorted(negatives, positives, side="right")
    twice_u = int(below.sum()) + int(below_or_tied.sum())
    return twice_u / (2 * len(positives) * len(negatives))


def roc_auc_score(y_true, y_pred, *, average: str = "macro", labels=None, pos_label=None) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative.

    ``AUC = (sum over positives i, negatives j of [s_i > s_j] + 0.5 [s_i == s_j]) / (n_pos n_neg)``,
    which equals the trapezoidal area under the ROC curve with tied scores
    joined by a straight segment (as scikit-learn computes it). Binary:
    ``pos_label`` defaults to the greater of the two labels. Multiclass
    (``y_pred`` of shape (n, k)): one-vs-rest AUC per class, averaged
    (``macro``) or weighted by class prevalence (``weighted``).
    Raises :class:`UndefinedMetric` when a class has no positive or no
    negative row. O(n log n).

    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc_score([0, 1, 1], [0.5, 0.5, 0.9])
    0.75
    """
    y_pred = _scores(y_true, y_pred)
    if y_pred.ndim == 1:
        return _binary_auc(_checked_binary_truth(y_true, pos_label), y_pred)
    return _one_vs_rest(_binary_auc, y_true, y_pred, average, labels)


def _checked_binary_truth(y_true, pos_label) -> np.ndarray:
    try:
        return binary_truth(y_true, pos_label)
    except ValueError as exc:
        if "single label" in str(exc):
            raise UndefinedMetric("the metric is undefined when y_true holds a single class") from exc
        raise


def _one_vs_rest(binary_metric, y_true, y_pred: np.ndarray, average: str, labels) -> float:
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    _, codes = class_columns(y_true, y_pred.shape[1], labels)
    scores = np.array([binary_metric(codes == k, y_pred[:, k]) for k in range(y_pred.shape[1])])
    if average == "macro":
        return float(scores.mean())
    prevalence = np.bincount(codes, minlength=y_pred.shape[1])
    return float((scores * prevalence).sum() / prevalence.sum())


# -- average precision ------------------------------------------------------------------

def _binary_average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    positives = np.sort(score[truth])
    negatives = np.sort(score[~truth])
    n_pos = len(positives)
    if not n_pos:
        raise UndefinedMetric("average precision is undefined when y_true has no positive")
    # Each distinct positive score is a threshold where recall steps up by
    # (positives at that score) / n_pos; precision is taken at that threshold.
    starts = np.flatnonzero(np.r_[True, positives[1:] != positives[:-1]])
    at_threshold = np.diff(np.r_[starts, n_pos])
    thresholds = positives[starts]
    tp = n_pos - starts
    fp = len(negatives) - np.searchsorted(negatives, thresholds, side="left")
    return float(np.sum(at_threshold * (tp / (tp + fp))) / n_pos)


def average_precision_score(y_true, y_pred, *, average: str = "macro", labels=None, pos_label=None) -> float:
    """Average precision: the area under the precision-recall step curve.

    ``AP = sum_t (R_t - R_{t-1}) P_t`` over the distinct score thresholds
    ``t`` in decreasing order, with ``P_t``/``R_t`` the precision/recall of
    predicting positive every row scoring at least ``t`` (no interpolation, as
    scikit-learn). Binary: ``pos_label`` defaults to the greater label.
    Multiclass: one-vs-rest AP per class, ``macro`` or ``weighted`` averaged.
    Raises :class:`UndefinedMetric` when a class has no positive row.

    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 6)
    0.833333
    """
    y_pred = _scores(y_true, y_pred)
    if y_pred.ndim == 1:
        return _binary_average_precision(_checked_binary_truth(y_true, pos_label), y_pred)
    return _one_vs_rest(_binary_average_precision, y_true, y_pred, average, labels)


# -- bootstrap resamplers --------------------------------------------------------------
#
# A resample repeats rows, so for one class it is fully described by how many
# positives and negatives it holds at each distinct score: cells
# ``group + n_groups * is_positive``, groups numbered by increasing score.

def _score_cells(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, int]:
    groups = np.unique(score, return_inverse=True)[1].reshape(-1)
    n_groups = int(groups.max()) + 1
    return groups + n_groups * truth, n_groups


def _auc_from_counts(counts: np.ndarray, n_groups: int) -> np.ndarray:
    neg, pos = counts[:, :n_groups], counts[:, n_groups:]
    # 2 * (negatives below) + (negatives tied) = 2 * cumulative - tied
    weight = 2 * np.cumsum(neg, axis=1) - neg
    twice_u = np.einsum("ij,ij->i", pos, weight).astype(np.float64)
    return twice_u / (2.0 * pos.sum(axis=1) * neg.sum(axis=1))


def _ap_from_counts(counts: np.ndarray, n_groups: int) -> np.ndarray:
    neg, pos = counts[:, n_groups - 1::-1], counts[:, :n_groups - 1:-1]  # decreasing score
    tp = np.cumsum(pos, axis=1)
    above = tp + np.cumsum(neg, axis=1)
    precision = tp / np.maximum(above, 1)
    return np.einsum("ij,ij->i", pos, precision) / pos.sum(axis=1)


def _ranking_resampler(from_counts):
    def make(y_true, y_pred, *, average="macro", labels=None, pos_label=None):
        y_pred = _scores(y_true, y_pred)
        if y_pred.ndim == 1:
            cells, n_groups = _score_cells(_checked_binary_truth(y_true, pos_label), y_pred)
            # drawn rows cost a gather, a bincount and a pass over the counts
            return CellCounts(cells, 2 * n_groups, lambda counts: from_counts(counts, n_groups), cost=3.0)
        # One-vs-rest: every class must be scored on the same resampled rows,
        # so the rows are drawn once and counted per class.
        _, codes = class_columns(y_true, y_pred.shape[1], labels)
        per_class = [_score_cells(codes == k, y_pred[:, k]) for k in range(y_pred.shape[1])]

        def score(idx: np.ndarray) -> np.ndarray:
            values, weights = [], []
            for cells, n_groups in per_class:
                width = 2 * n_groups
                keys = cells[idx] + (np.arange(len(idx)) * width)[:, None]
                counts = np.bincount(keys.ravel(), minlength=len(idx) * width).reshape(len(idx), width)
                values.append(from_counts(counts, n_groups))
                weights.append(counts[:, n_groups:].sum(axis=1))
            by_class, class_weights = np.array(values), np.array(weights)
            if average == "weighted":
                return (by_class * class_weights).sum(axis=0) / class_weights.sum(axis=0)
            return by_class.mean(axis=0)

        return RowScores(score, cost=3.0 * len(per_class))

    return make


_PROBABILITY_TASKS = ("binary", "multiclass")

METRICS = (
    Metric("log_loss", log_loss, False, (0.0, float("inf")), _PROBABILITY_TASKS, "probabilities",
           requires_probabilities=True, resampler=_log_loss_resampler),
    Metric("roc_auc", roc_auc_score, True, (0.0, 1.0), _PROBABILITY_TASKS, "probabilities",
           resampler=_ranking_resampler(_auc_from_counts)),
    Metric("average_precision", average_precision_score, True, (0.0, 1.0), _PROBABILITY_TASKS, "probabilities",
           resampler=_ranking_resampler(_ap_from_counts)),
)
