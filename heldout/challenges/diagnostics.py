"""Diagnostics of a scored submission, computed on the public split only.

The learner sees where their model goes wrong without learning anything about
the private rows, and without a per-row answer key for the public rows either:
every figure here aggregates many rows.

* Classification with labels: the confusion matrix ``C[i, j]`` = number of
  public rows whose true label is ``labels[i]`` and predicted label ``labels[j]``.
* Classification with probabilities: the confusion matrix of the predicted
  class (``p >= 0.5`` for binary, the arg-max class for multiclass) and a
  calibration curve: rows are put in ``CALIBRATION_BINS`` equal-width bins of
  the predicted probability (of the positive class, or of the predicted class
  for multiclass), a bin with fewer than ``MIN_ROWS_PER_BIN`` rows merged
  into the next; each bin gives its mean prediction and the observed
  frequency of the event (positive / prediction correct).
* Regression and forecasting with one target: residuals ``r = y_true - y_pred``
  in up to ``RESIDUAL_BINS`` bins of equal row count along the prediction; each
  bin gives its mean prediction and the mean, 10th and 90th percentile of ``r``.
  Row-level residuals would hand out the public truth (``y_true = y_pred + r``),
  so no bin holds fewer than ``MIN_ROWS_PER_BIN`` rows. A histogram of ``r``
  between its 1st and 99th percentiles goes with it.

Runs inside the sandbox on NumPy alone (1.24 is enough); everything returned is
plain JSON (lists of Python numbers).
"""

from __future__ import annotations

import numpy as np

MAX_LABELS = 30  # a larger confusion matrix is unreadable as a picture
CALIBRATION_BINS = 10
RESIDUAL_BINS = 20
HISTOGRAM_BINS = 20
MIN_ROWS_PER_BIN = 10
# Kinds of challenge that never get diagnostics, and what a learner reads where the charts would be.
NONE_FOR_KIND = {
    "clustering": "No charts on a clustering challenge: cluster numbers are names, not classes, so a confusion "
                  "matrix of them would mean nothing. The score compares your grouping with the true one as a whole.",
    "ranking": "No charts on a ranking challenge: each query's list is scored as a whole, so there is no prediction "
               "per row to chart.",
}


def public_diagnostics(inputs, input_kind: str, task_type: str, public: np.ndarray) -> dict | None:
    """The diagnostics for this kind of challenge on the rows where ``public`` is true, or None.

    ``inputs`` is a :class:`~heldout.challenges.scoring.MetricInputs`.
    """
    if not public.any() or task_type == "reinforcement" or task_type in NONE_FOR_KIND:
        return None
    y_true, y_pred = inputs.y_true, inputs.y_pred
    if y_true is None or y_pred is None:
        return None
    y_true, y_pred = y_true[public], y_pred[public]
    if input_kind == "labels" and inputs.labels is not None:
        return _drop_empty({"rows": int(len(y_true)),
                            "confusion": confusion_matrix(y_true, y_pred, inputs.labels)})
    if input_kind == "probabilities" and inputs.labels is not None:
        if np.ndim(y_pred) == 2:
            predicted = np.argmax(y_pred, axis=1)
            confidence = y_pred[np.arange(len(y_pred)), predicted]
            return _drop_empty({
                "rows": int(len(y_true)),
                "confusion": confusion_matrix(y_true, predicted, inputs.labels),
                "calibration": calibration_curve(predicted == y_true, confidence,
                                                 event="the predicted class is right",
                                                 probability="probability of the predicted class"),
            })
        return _drop_empty({
            "rows": int(len(y_true)),
            "confusion": _binary_confusion(y_true, y_pred, inputs.labels, inputs.positive),
            "calibration": calibration_curve(y_true.astype(bool), y_pred,
                                             event=f"the label is {inputs.labels[inputs.positive]}",
                                             probability=f"predicted probability of {inputs.labels[inputs.positive]}"),
        })
    if input_kind == "values" and np.ndim(y_pred) == 1 and task_type in ("regression", "forecasting"):
        y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
        return _drop_empty({"rows": int(len(y_true)), "residuals": binned_residuals(y_true, y_pred)})
    return None


def _drop_empty(diagnostics: dict) -> dict | None:
    kept = {key: value for key, value in diagnostics.items() if value is not None}
    return kept if len(kept) > 1 else None  # "rows" alone says nothing


def confusion_matrix(true_codes: np.ndarray, predicted_codes: np.ndarray, labels: list) -> dict | None:
    """``C[i, j]`` = rows with true label i predicted as j, over the label list's codes."""
    k = len(labels)
    if k < 2 or k > MAX_LABELS:
        return None
    true_codes = np.asarray(true_codes, dtype=np.int64)
    predicted_codes = np.asarray(predicted_codes, dtype=np.int64)
    counts = np.bincount(true_codes * k + predicted_codes, minlength=k * k).reshape(k, k)
    return {"labels": [str(label) for label in labels], "matrix": counts.tolist()}


def _binary_confusion(is_positive: np.ndarray, probability: np.ndarray, labels: list,
                      positive: int | None) -> dict | None:
    if positive is None or len(labels) != 2:
        return None
    negative = 1 - positive
    truth = np.where(is_positive, positive, negative)
    predicted = np.where(np.asarray(probability, dtype=float) >= 0.5, positive, negative)
    matrix = confusion_matrix(truth, predicted, labels)
    if matrix is not None:
        matrix["threshold"] = 0.5
    return matrix


def calibration_curve(occurred: np.ndarray, predicted: np.ndarray, *, event: str, probability: str) -> dict | None:
    """Mean predicted probability against observed frequency, in equal-width bins of the prediction.

    For bin ``b`` holding rows ``R_b``: ``mean_predicted = mean(p[R_b])``,
    ``observed = mean(occurred[R_b])``; empty bins are left out.
    """
    predicted = np.clip(np.asarray(predicted, dtype=float), 0.0, 1.0)
    occurred = np.asarray(occurred, dtype=bool)
    if not len(predicted):
        return None
    bins = np.minimum((predicted * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    sums = np.bincount(bins, weights=predicted, minlength=CALIBRATION_BINS)
    hits = np.bincount(bins, weights=occurred.astype(float), minlength=CALIBRATION_BINS)
    points: list[dict] = []
    start = 0
    for b in range(CALIBRATION_BINS):
        # A sparse bin joins its neighbours: a bin of one row would tell that row's label.
        rows = int(counts[start:b + 1].sum())
        if rows >= MIN_ROWS_PER_BIN or (b == CALIBRATION_BINS - 1 and rows and not points):
            points.append(_calibration_point(start, b + 1, counts, sums, hits))
            start = b + 1
    if counts[start:].sum():  # what is left joins the last bin
        first = round(points.pop()["bin_low"] * CALIBRATION_BINS)
        points.append(_calibration_point(first, CALIBRATION_BINS, counts, sums, hits))
    return {"event": event, "probability": probability, "bins": points}


def _calibration_point(start: int, stop: int, counts, sums, hits) -> dict:  # noqa: ANN001
    rows = counts[start:stop].sum()
    return {"bin_low": start / CALIBRATION_BINS, "bin_high": stop / CALIBRATION_BINS,
            "mean_predicted": float(sums[start:stop].sum() / rows), "observed": float(hits[start:stop].sum() / rows),
            "rows": int(rows)}


def binned_residuals(y_true: np.ndarray, y_pred: np.ndarray) -> dict | None:
    """Residuals ``y_true - y_pred`` summarised in bins of equal row count along the prediction."""
    finite = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[finite], y_pred[finite]
    n = len(y_true)
    if n < MIN_ROWS_PER_BIN:
        return None
    residual = y_true - y_pred
    order = np.argsort(y_pred, kind="stable")
    n_bins = int(min(RESIDUAL_BINS, n // MIN_ROWS_PER_BIN))
    points = []
    for rows in np.array_split(order, n_bins):  # sizes differ by at most one, all >= MIN_ROWS_PER_BIN
        r = residual[rows]
        low, high = np.percentile(r, [10, 90])
        points.append({"mean_predicted": float(y_pred[rows].mean()), "mean_residual": float(r.mean()),
                       "p10": float(low), "p90": float(high), "rows": int(len(rows))})
    return {"bins": points, "histogram": _histogram(residual), "mean_residual": float(residual.mean()),
            "residual": "actual - predicted"}


def _histogram(residual: np.ndarray) -> dict:
    low, high = (float(v) for v in np.percentile(residual, [1, 99]))
    if not high > low:
        low, high = float(residual.min()), float(residual.max())
    # Residuals that (nearly) all agree, e.g. a constant offset, leave a range too narrow for HISTOGRAM_BINS
    # edges that floating point can tell apart (NumPy refuses to bin it): a range around them instead.
    if not high - low > 4 * HISTOGRAM_BINS * np.spacing(max(abs(low), abs(high))):
        centre = (low + high) / 2
        half = max(0.5, abs(centre) * 1e-6)
        low, high = centre - half, centre + half
    counts, edges = np.histogram(np.clip(residual, low, high), bins=HISTOGRAM_BINS, range=(low, high))
    # The outermost bins also hold what lies beyond the 1st/99th percentiles, so no lone outlier shows.
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
