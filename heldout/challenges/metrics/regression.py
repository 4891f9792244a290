"""Metrics over predicted real values (regression and forecasting).

``y_true`` and ``y_pred`` have shape (n,) or (n, outputs); with several
outputs each is scored on its own and the scores are averaged with equal
weight (scikit-learn's ``multioutput="uniform_average"``).
"""

from __future__ import annotations

import numpy as np

from .inputs import as_floats, check_lengths, finite_result
from .metric import Metric, RowScores, UndefinedMetric, mean_resampler

#: Floor of ``|y_true|`` in MAPE's denominator (scikit-learn's choice).
MAPE_EPS = float(np.finfo(np.float64).eps)


def _pair(y_true, y_pred, finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 of the same shape; ``finite=False`` leaves the
    NaN check to :func:`finite_result` on the score (mean-type errors only:
    a NaN or infinite input always makes their sum NaN or infinite)."""
    y_true = as_floats(y_true, "y_true", ndim=(1, 2), finite=finite)
    y_pred = as_floats(y_pred, "y_pred", ndim=(1, 2), finite=finite)
    check_lengths(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}")
    return y_true, y_pred


def _average_outputs(per_output) -> float:
    return float(np.mean(per_output))


def _score(per_output, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return _average_outputs(finite_result(per_output, y_true=y_true, y_pred=y_pred))


#: Rows per block when summing per-row terms of 1-D inputs: the scratch
#: buffers stay in cache instead of streaming n-row temporaries through memory.
_BLOCK = 1 << 15


def _blocked_sum(term, y_true: np.ndarray, y_pred: np.ndarray, scratch: int = 1) -> float:
    """``sum_i term(y_true_i, y_pred_i)`` over 1-D inputs, block by block.

    ``term(t, p, *buffers)`` gets one block of each input and ``scratch``
    buffers of the same length and returns the block's sum.
    """
    n = len(y_true)
    buffers = [np.empty(min(n, _BLOCK)) for _ in range(scratch)]
    total = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        total += float(term(y_true[start:stop], y_pred[start:stop], *(b[:stop - start] for b in buffers)))
    return total


def _squares(t, p, d):
    np.subtract(p, t, out=d)
    return np.einsum("i,i->", d, d)


def _absolutes(t, p, d):
    np.subtract(p, t, out=d)
    return np.abs(d, out=d).sum()


def _relative_absolutes(t, p, d, floor):
    np.subtract(p, t, out=d)
    np.abs(d, out=d)
    np.abs(t, out=floor)
    np.maximum(floor, MAPE_EPS, out=floor)
    return np.divide(d, floor, out=d).sum()


def _sum_of(term, y_true: np.ndarray, y_pred: np.ndarray, scratch: int = 1):
    """Column sums of a per-row term: blocked for 1-D inputs, whole arrays for several outputs."""
    if y_true.ndim == 1:
        return _blocked_sum(term, y_true, y_pred, scratch)
    return np.array([_blocked_sum(term, y_true[:, j].copy(), y_pred[:, j].copy(), scratch)
                     for j in range(y_true.shape[1])])


def _squared_sum(d: np.ndarray) -> np.ndarray:
    # einsum sums the squares without materialising them, single-threaded
    # (np.dot would wake BLAS threads: erratic timings on a shared CPU).
    return np.einsum("i,i->", d, d) if d.ndim == 1 else np.einsum("ij,ij->j", d, d)


# -- errors -------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred) -> float:
    """Mean squared error ``MSE = (1/n) * sum_i (y_i - yhat_i)^2``; 0 is best.

    >>> mean_squared_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.375
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    return _score(_sum_of(_squares, y_true, y_pred) / len(y_true), y_true, y_pred)


def root_mean_squared_error(y_true, y_pred) -> float:
    """Root mean squared error ``RMSE = sqrt((1/n) * sum_i (y_i - yhat_i)^2)``; 0 is best.

    >>> root_mean_squared_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.6123724356957945
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    return _score(np.sqrt(_sum_of(_squares, y_true, y_pred) / len(y_true)), y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> float:
    """Mean absolute error ``MAE = (1/n) * sum_i |y_i - yhat_i|``; 0 is best.

    >>> mean_absolute_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.5
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    return _score(_sum_of(_absolutes, y_true, y_pred) / len(y_true), y_true, y_pred)


def median_absolute_error(y_true, y_pred) -> float:
    """Median absolute error ``MedAE = median_i |y_i - yhat_i|`` (robust to outliers); 0 is best.

    >>> median_absolute_error([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    0.5
    """
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_pred - y_true
    np.abs(d, out=d)
    return _average_outputs(_median_in_place(d))


def _median_in_place(a: np.ndarray) -> np.ndarray:
    """Median along axis 0, partitioning ``a`` itself (it is a scratch copy)."""
    n = a.shape[0]
    mid = n // 2
    if n % 2:
        a.partition(mid, axis=0)
        return a[mid]
    a.partition((mid - 1, mid), axis=0)
    return (a[mid - 1] + a[mid]) / 2.0


def mean_absolute_percentage_error(y_true, y_pred) -> float:
    """Mean absolute percentage error, as a fraction: ``MAPE = (1/n) * sum_i |y_i - yhat_i| / max(|y_i|, eps)``.

    ``eps`` is the float64 machine epsilon, so a zero target makes any error
    enormous rather than infinite (scikit-learn's convention). 0 is best.

    >>> mean_absolute_percentage_error([100.0, 50.0], [110.0, 45.0])
    0.1
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    return _score(_sum_of(_relative_absolutes, y_true, y_pred, scratch=2) / len(y_true), y_true, y_pred)


def _ape(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    # In place: two temporaries instead of five (this is memory-bound).
    d = y_pred - y_true
    np.abs(d, out=d)
    floor = np.abs(y_true)
    np.maximum(floor, MAPE_EPS, out=floor)
    d /= floor
    return d


def symmetric_mean_absolute_percentage_error(y_true, y_pred) -> float:
    """Symmetric MAPE in percent: ``sMAPE = (100/n) * sum_i 2 |yhat_i - y_i| / (|y_i| + |yhat_i|)``.

    A row where both values are 0 counts as 0 error (the forecasting
    competitions' convention). Ranges from 0 (best) to 200.

    >>> symmetric_mean_absolute_percentage_error([100.0, 0.0], [50.0, 0.0])
    33.333333333333336
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return _average_outputs(_smape_rows(y_true, y_pred).mean(axis=0))


def _smape_rows(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    num = 200.0 * np.abs(y_pred - y_true)
    den = np.abs(y_true) + np.abs(y_pred)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _check_nonnegative(y_true: np.ndarray, y_pred: np.ndarray, metric: str) -> None:
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.min() < 0:
            raise ValueError(f"{metric} cannot be used when {name} contains negative values")


def root_mean_squared_log_error(y_true, y_pred) -> float:
    """Root mean squared logarithmic error ``RMSLE = sqrt((1/n) * sum_i (log(1 + y_i) - log(1 + yhat_i))^2)``.

    Penalises relative rather than absolute errors. Defined for non-negative
    values only: a negative value raises ``ValueError`` (the validator
    reports negative predictions with their line numbers first). 0 is best.

    >>> round(root_mean_squared_log_error([3.0, 5.0], [2.5, 5.0]), 6)
    0.094421
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    _check_nonnegative(y_true, y_pred, "RMSLE")
    d = np.log1p(y_pred)
    d -= np.log1p(y_true)
    return _score(np.sqrt(_squared_sum(d) / len(y_true)), y_true, y_pred)


# -- R^2 ------------------------------------------------------------------------------

def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination ``R^2 = 1 - sum_i (y_i - yhat_i)^2 / sum_i (y_i - mean(y))^2``.

    1 is best; predicting the mean scores 0; it has no lower bound. When
    ``y_true`` is constant the ratio is 0/0 or x/0: the score is then 1 for a
    perfect prediction and 0 otherwise (scikit-learn's ``force_finite``).
    Undefined (:class:`UndefinedMetric`) for fewer than two rows.

    >>> round(r2_score([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]), 6)
    0.948608
    """
    y_true, y_pred = _pair(y_true, y_pred, finite=False)
    if len(y_true) < 2:
        raise UndefinedMetric("R^2 is undefined for fewer than two rows")
    sse = _sum_of(_squares, y_true, y_pred)
    sst = _sum_of(_squares, y_true, np.broadcast_to(y_true.mean(axis=0), y_true.shape))
    return _average_outputs(_r2_from_sums(finite_result(sse, y_pred=y_pred), finite_result(sst, y_true=y_true)))


def _r2_from_sums(sse, sst):
    sse, sst = np.asarray(sse, dtype=np.float64), np.asarray(sst, dtype=np.float64)
    ratio = np.divide(sse, sst, out=np.zeros_like(sse), where=sst != 0)
    return np.where(sst != 0, 1.0 - ratio, np.where(sse == 0, 1.0, 0.0))


# -- bootstrap resamplers --------------------------------------------------------------

def _rows_resampler(rows, finalize=lambda m: m):
    def make(y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred)
        return mean_resampler([rows(y_true, y_pred)], finalize)
    return make


def _r2_resampler(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    # Centring on the full-sample mean keeps mean(y^2) - mean(y)^2 accurate.
    centred = y_true - y_true.mean(axis=0)

    def finalize(sq_err, c, c2):
        variance = c2 - c * c
        # A resample of one repeated value has zero variance; rounding may
        # leave a speck that must not turn into a huge negative score.
        variance = np.where(variance <= 1e-12 * np.maximum(c2, 1e-300), 0.0, variance)
        return _r2_from_sums(sq_err, variance)

    return mean_resampler([(y_true - y_pred) ** 2, centred, centred ** 2], finalize)


def _median_resampler(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    errors = np.abs(y_pred - y_true)

    def score(idx: np.ndarray) -> np.ndarray:
        med = np.median(np.take(errors, idx, axis=0), axis=1)
        return med.mean(axis=-1) if med.ndim > 1 else med

    return RowScores(score, cost=4.0 * errors.size / len(errors))  # a copy and a partition per row


def _rmsle_resampler(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    _check_nonnegative(y_true, y_pred, "RMSLE")
    return mean_resampler([(np.log1p(y_pred) - np.log1p(y_true)) ** 2], np.sqrt)


_VALUE_TASKS = ("regression", "forecasting")
_INF = float("inf")

METRICS = (
    Metric("rmse", root_mean_squared_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           resampler=_rows_resampler(lambda t, p: (p - t) ** 2, np.sqrt)),
    Metric("mse", mean_squared_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           resampler=_rows_resampler(lambda t, p: (p - t) ** 2)),
    Metric("mae", mean_absolute_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           resampler=_rows_resampler(lambda t, p: np.abs(p - t))),
    Metric("rmsle", root_mean_squared_log_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           requires_nonnegative=True, resampler=_rmsle_resampler),
    Metric("r2", r2_score, True, (-_INF, 1.0), _VALUE_TASKS, "values", resampler=_r2_resampler),
    Metric("mape", mean_absolute_percentage_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           resampler=_rows_resampler(_ape)),
    Metric("smape", symmetric_mean_absolute_percentage_error, False, (0.0, 200.0), _VALUE_TASKS, "values",
           resampler=_rows_resampler(_smape_rows)),
    Metric("median_absolute_error", median_absolute_error, False, (0.0, _INF), _VALUE_TASKS, "values",
           resampler=_median_resampler),
)
