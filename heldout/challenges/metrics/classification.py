"""Metrics over predicted labels, all computed from a confusion matrix.

``C[i, j]`` counts rows whose true label is the i-th and predicted label the
j-th of the sorted union of labels in ``y_true`` and ``y_pred`` (as
scikit-learn does). Every ``*_from_confusion`` function also accepts a stack
of matrices of shape (..., k, k), which is how bootstrap resamples are scored
in one pass.
"""

from __future__ import annotations

import numpy as np

from .inputs import as_labels, check_lengths, encode_pair, equal_to, label_confusion
from .metric import CellCounts, Metric, UndefinedMetric, mean_resampler

_AVERAGES = ("binary", "micro", "macro", "weighted")
_KAPPA_WEIGHTS = (None, "linear", "quadratic")


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    check_lengths(y_true, y_pred)
    return y_true, y_pred


def _scalar(values: np.ndarray, what: str) -> float:
    value = float(values)
    if np.isnan(value):
        raise UndefinedMetric(f"{what} is undefined for these labels")
    return value


def _divide(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den`` with ``fill`` where ``den`` is 0."""
    out = np.full(np.broadcast(num, den).shape, float(fill))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _present(C: np.ndarray) -> np.ndarray:
    """Labels that occur in ``y_true`` or ``y_pred`` (shape (..., k))."""
    return (C.sum(axis=-1) + C.sum(axis=-2)) > 0


# -- accuracy -----------------------------------------------------------------------

def accuracy_score(y_true, y_pred) -> float:
    """Fraction of rows whose predicted label equals the true label.

    ``accuracy = (1/n) * sum_i [y_pred_i == y_true_i]``; 1 is best.

    >>> accuracy_score([0, 1, 2, 1], [0, 2, 2, 1])
    0.75
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.count_nonzero(_equal(y_true, y_pred)) / len(y_true))


def _equal(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    numeric = "biuf"
    if (y_true.dtype.kind in numeric) != (y_pred.dtype.kind in numeric):
        raise ValueError("y_true and y_pred hold labels of different types (numbers and strings)")
    return y_true == y_pred


def _accuracy_resampler(y_true, y_pred):
    hits = _equal(*_pair(y_true, y_pred)).astype(np.float64)
    return mean_resampler([hits], lambda m: m)


# -- balanced accuracy ----------------------------------------------------------------

def balanced_accuracy_from_confusion(C: np.ndarray, adjusted: bool = False) -> np.ndarray:
    support = C.sum(axis=-1)
    recall = _divide(np.diagonal(C, axis1=-2, axis2=-1), support, np.nan)
    counted = support > 0
    classes = counted.sum(axis=-1)
    score = np.where(counted, recall, 0.0).sum(axis=-1) / classes
    if adjusted:
        chance = 1.0 / classes
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(classes > 1, (score - chance) / (1 - chance), np.nan)
    return score


def balanced_accuracy_score(y_true, y_pred, *, adjusted: bool = False) -> float:
    """Mean recall over the classes present in ``y_true``.

    ``balanced_accuracy = (1/K) * sum_k C[k, k] / sum_j C[k, j]`` over the K
    classes with true rows. With ``adjusted`` it is rescaled so that chance
    scores 0: ``(score - 1/K) / (1 - 1/K)`` (undefined for K = 1).

    >>> balanced_accuracy_score([0, 0, 0, 1], [0, 0, 1, 1])
    0.8333333333333333
    """
    C = _confusion(y_true, y_pred)
    return _scalar(balanced_accuracy_from_confusion(C, adjusted), "adjusted balanced accuracy")


# -- precision, recall, F1 ------------------------------------------------------------

def _counts(C: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.diagonal(C, axis1=-2, axis2=-1).astype(np.float64)
    fp = C.sum(axis=-2) - tp
    fn = C.sum(axis=-1) - tp
    return tp, fp, fn


def _per_class(kind: str, tp, fp, fn, zero_division: float) -> np.ndarray:
    if kind == "precision":
        return _divide(tp, tp + fp, zero_division)
    if kind == "recall":
        return _divide(tp, tp + fn, zero_division)
    return _divide(2 * tp, 2 * tp + fp + fn, zero_division)


def prf_from_confusion(C: np.ndarray, kind: str, average: str, pos: int | None = None,
                       zero_division: float = 0.0, present_only: bool = True) -> np.ndarray:
    """Precision, recall or F1 (``kind``) from confusion matrices.

    ``pos`` is the positive class's index for ``average="binary"``; ``None``
    means the positive class is absent from both arrays (every count is 0).
    """
    tp, fp, fn = _counts(C)
    if average == "binary":
        if pos is None:
            zeros = np.zeros(C.shape[:-2])
            return _per_class(kind, zeros, zeros, zeros, zero_division)
        return _per_class(kind, tp[..., pos], fp[..., pos], fn[..., pos], zero_division)
    if average == "micro":
        return _per_class(kind, tp.sum(-1), fp.sum(-1), fn.sum(-1), zero_division)
    scores = _per_class(kind, tp, fp, fn, zero_division)
    if average == "macro":
        counted = _present(C) if present_only else np.ones(scores.shape, dtype=bool)
        return np.where(counted, scores, 0.0).sum(-1) / counted.sum(-1)
    support = tp + fn
    total = support.sum(-1)
    weighted = _divide((scores * support).sum(-1), total, np.nan)
    return np.where(total > 0, weighted, zero_division)


def _prf(kind: str, y_true, y_pred, average: str, pos_label, zero_division: float) -> float:
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    labels, C = label_confusion(*_pair(y_true, y_pred))
    pos = _positive_index(labels, pos_label) if average == "binary" else None
    return float(prf_from_confusion(C, kind, average, pos, zero_division))


def _positive_index(labels: np.ndarray, pos_label) -> int | None:
    if len(labels) > 2:
        raise ValueError("average='binary' needs at most two labels; the labels are multiclass: "
                         "choose average in micro, macro or weighted")
    found = np.flatnonzero(equal_to(labels, pos_label))
    if len(found):
        return int(found[0])
    if len(labels) == 2:
        raise ValueError(f"pos_label={pos_label!r} is not one of the labels {labels.tolist()}")
    return None


def precision_score(y_true, y_pred, *, average: str = "binary", pos_label=1, zero_division: float = 0.0) -> float:
    """Precision ``precision = tp / (tp + fp)``: the fraction of predicted positives that are right.

    ``average``: ``binary`` scores the class ``pos_label``; ``micro`` pools the
    counts of every class; ``macro`` is the unweighted mean over the labels
    present in either array; ``weighted`` weighs each class by its true count.
    A 0/0 ratio is ``zero_division``.

    >>> precision_score([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    >>> round(precision_score(["a", "b", "c", "a"], ["a", "b", "b", "c"], average="macro"), 6)
    0.5
    """
    return _prf("precision", y_true, y_pred, average, pos_label, zero_division)


def recall_score(y_true, y_pred, *, average: str = "binary", pos_label=1, zero_division: float = 0.0) -> float:
    """Recall ``recall = tp / (tp + fn)``: the fraction of true positives that are found.

    ``average`` and ``zero_division`` as in :func:`precision_score`.

    >>> recall_score([0, 1, 1, 1], [1, 1, 0, 1])
    0.6666666666666666
    """
    return _prf("recall", y_true, y_pred, average, pos_label, zero_division)


def f1_score(y_true, y_pred, *, average: str = "binary", pos_label=1, zero_division: float = 0.0) -> float:
    """F1, the harmonic mean of precision and recall: ``F1 = 2 tp / (2 tp + fp + fn)``.

    ``average`` and ``zero_division`` as in :func:`precision_score` (``micro``
    F1 over every class equals accuracy).

    >>> round(f1_score([0, 1, 1, 1], [1, 1, 0, 1]), 6)
    0.666667
    >>> f1_score([0, 1, 2, 2], [0, 1, 2, 1], average="micro")
    0.75
    """
    return _prf("f1", y_true, y_pred, average, pos_label, zero_division)


# -- correlation and agreement -----------------------------------------------------------

def matthews_from_confusion(C: np.ndarray) -> np.ndarray:
    C = C.astype(np.float64)
    t = C.sum(axis=-1)
    p = C.sum(axis=-2)
    n = t.sum(axis=-1)
    correct = np.diagonal(C, axis1=-2, axis2=-1).sum(axis=-1)
    cov_tp = correct * n - (t * p).sum(-1)
    cov_pp = n * n - (p * p).sum(-1)
    cov_tt = n * n - (t * t).sum(-1)
    den = cov_pp * cov_tt
    return np.where(den > 0, _divide(cov_tp, np.sqrt(np.abs(den)), 0.0), 0.0)


def matthews_corrcoef(y_true, y_pred) -> float:
    """Matthews correlation coefficient (multiclass form, Gorodkin 2004).

    With ``t_k``/``p_k`` the true/predicted counts of class k, ``c`` the
    number of correct rows and ``n`` the rows:
    ``MCC = (c n - sum_k t_k p_k) / sqrt((n^2 - sum_k p_k^2)(n^2 - sum_k t_k^2))``,
    and 0 when the denominator is 0. Ranges from -1 to 1.

    >>> round(matthews_corrcoef([1, 1, 1, 0], [1, 0, 1, 0]), 6)
    0.57735
    """
    return float(matthews_from_confusion(_confusion(y_true, y_pred)))


def kappa_from_confusion(C: np.ndarray, weights: str | None = None, present_only: bool = True) -> np.ndarray:
    C = C.astype(np.float64)
    k = C.shape[-1]
    if present_only:
        # scikit-learn indexes labels among those present: an absent middle
        # label must not widen the distance between its neighbours.
        rank = np.cumsum(_present(C), axis=-1) - 1.0
    else:
        rank = np.broadcast_to(np.arange(k, dtype=np.float64), C.shape[:-1])
    if weights is None:
        w = 1.0 - np.eye(k)
    elif weights == "linear":
        w = np.abs(rank[..., :, None] - rank[..., None, :])
    else:
        w = (rank[..., :, None] - rank[..., None, :]) ** 2
    pred_counts = C.sum(axis=-2)
    true_counts = C.sum(axis=-1)
    n = true_counts.sum(axis=-1)
    expected = _divide(pred_counts[..., :, None] * true_counts[..., None, :], n[..., None, None], 0.0)
    observed = (w * C).sum(axis=(-2, -1))
    chance = (w * expected).sum(axis=(-2, -1))
    return 1.0 - _divide(observed, chance, np.nan)


def cohen_kappa_score(y_true, y_pred, *, weights: str | None = None, labels=None) -> float:
    """Cohen's kappa: agreement between two labelings beyond chance.

    With ``E[i, j] = p_i t_j / n`` the agreement expected by chance and
    ``w[i, j]`` the cost of confusing labels i and j (``1 - [i == j]``;
    ``|i - j|`` for ``linear``; ``(i - j)^2`` for ``quadratic``, i and j being
    positions in the sorted label list):
    ``kappa = 1 - sum(w * C) / sum(w * E)``. Undefined (:class:`UndefinedMetric`)
    when the chance term is 0, e.g. both labelings constant and equal.
    ``labels`` fixes the label list (positions then include absent labels).

    >>> round(cohen_kappa_score([0, 1, 1, 0], [0, 1, 0, 0]), 6)
    0.5
    """
    if weights not in _KAPPA_WEIGHTS:
        raise ValueError(f"weights must be one of {_KAPPA_WEIGHTS}, got {weights!r}")
    C = _confusion(y_true, y_pred, labels)
    return _scalar(kappa_from_confusion(C, weights, present_only=labels is None), "Cohen's kappa")


def quadratic_weighted_kappa(y_true, y_pred, *, labels=None) -> float:
    """Cohen's kappa with quadratic weights ``w[i, j] = (i - j)^2``.

    The usual metric for ordinal ratings. Pass ``labels`` (every possible
    rating, in order) so that distances count ratings nobody used.

    >>> round(quadratic_weighted_kappa([1, 2, 3, 4], [1, 2, 4, 4]), 6)
    0.916667
    """
    return cohen_kappa_score(y_true, y_pred, weights="quadratic", labels=labels)


def _confusion(y_true, y_pred, labels=None) -> np.ndarray:
    C = label_confusion(*_pair(y_true, y_pred), labels)[1]
    if labels is not None and not C.sum(axis=1).any():
        raise ValueError("none of the labels occurs in y_true")
    return C


# -- bootstrap resamplers --------------------------------------------------------------

def _confusion_resampler(from_confusion):
    def make(y_true, y_pred, **params):
        y_true, y_pred = _pair(y_true, y_pred)
        found, t, p = encode_pair(y_true, y_pred, labels=params.get("labels"))
        k = len(found)
        # Rows with a label outside the declared list go to an extra cell
        # that is dropped before scoring.
        cells = np.where((t >= 0) & (p >= 0), t * k + p, k * k)

        def score(counts: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                return from_confusion(counts[:, :k * k].reshape(len(counts), k, k), found, params)

        return CellCounts(cells, k * k + 1, score)

    return make


def _prf_batch(kind: str):
    def from_confusion(C, found, params):
        average = params.get("average", "binary")
        pos = _positive_index(found, params.get("pos_label", 1)) if average == "binary" else None
        return prf_from_confusion(C, kind, average, pos, params.get("zero_division", 0.0))
    return from_confusion


def _kappa_batch(weights_default):
    def from_confusion(C, found, params):
        weights = params.get("weights", weights_default)
        return kappa_from_confusion(C, weights, present_only=params.get("labels") is None)
    return from_confusion


_LABEL_TASKS = ("binary", "multiclass")

METRICS = (
    Metric("accuracy", accuracy_score, True, (0.0, 1.0), _LABEL_TASKS, "labels",
           resampler=_accuracy_resampler),
    Metric("balanced_accuracy", balanced_accuracy_score, True, (0.0, 1.0), _LABEL_TASKS, "labels",
           resampler=_confusion_resampler(
               lambda C, found, params: balanced_accuracy_from_confusion(C, params.get("adjusted", False)))),
    Metric("f1", f1_score, True, (0.0, 1.0), _LABEL_TASKS, "labels", resampler=_confusion_resampler(_prf_batch("f1"))),
    Metric("precision", precision_score, True, (0.0, 1.0), _LABEL_TASKS, "labels",
           resampler=_confusion_resampler(_prf_batch("precision"))),
    Metric("recall", recall_score, True, (0.0, 1.0), _LABEL_TASKS, "labels",
           resampler=_confusion_resampler(_prf_batch("recall"))),
    Metric("matthews_corrcoef", matthews_corrcoef, True, (-1.0, 1.0), _LABEL_TASKS, "labels",
           resampler=_confusion_resampler(lambda C, found, params: matthews_from_confusion(C))),
    Metric("cohen_kappa", cohen_kappa_score, True, (-1.0, 1.0), _LABEL_TASKS, "labels", declared_labels=True,
           resampler=_confusion_resampler(_kappa_batch(None))),
    Metric("quadratic_weighted_kappa", quadratic_weighted_kappa, True, (-1.0, 1.0), _LABEL_TASKS, "labels",
           declared_labels=True, resampler=_confusion_resampler(_kappa_batch("quadratic"))),
)
