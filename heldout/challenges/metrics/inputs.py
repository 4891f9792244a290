"""Checking and encoding metric inputs, shared by every metric family.

Kept free of anything newer than NumPy 1.24: this runs in the sandbox image.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# Integer labels spanning at most this many values are encoded with a lookup
# table (O(n)); wider ranges and strings go through np.unique (a sort).
_DENSE_LABEL_SPAN = 1 << 20


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small objects.

    Parsed cells and lists form no cycles, yet each automatic collection
    would rescan all of them: pausing it makes bulk parsing several times
    faster.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_lengths(y_true, y_pred) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred have different lengths: {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty")


def as_floats(x, name: str, *, ndim: tuple[int, ...] = (1,), finite: bool = True) -> np.ndarray:
    """``x`` as a float64 array of an allowed number of dimensions, all finite.

    ``finite=False`` skips the check, for callers whose result is NaN or
    infinite whenever an input is and who call :func:`finite_result`.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s), got shape {arr.shape}")
    # One sum is much cheaper than an elementwise isfinite; it only overflows
    # to inf for huge finite values, and then the exact check decides.
    if finite and arr.size and not np.isfinite(arr.sum()) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def finite_result(value, **inputs: np.ndarray):  # noqa: ANN001, ANN201 - a float or an array, as given
    """``value``, unless it is NaN or infinite because one of ``inputs`` is (then ``ValueError``).

    Checking the inputs only when the result is not finite saves a pass over
    each of them; a finite input can still overflow to an infinite result,
    which is returned as it is.
    """
    if not np.isfinite(value).all():
        for name, arr in inputs.items():
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinity")
    return value


def as_labels(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def equal_to(values: np.ndarray, label) -> np.ndarray:
    """``values == label`` elementwise; all False when a number meets a string.

    (NumPy 1.24 answers such a comparison with a warning and a single False.)
    """
    numeric_label = isinstance(label, (bool, int, float, np.number))
    if (values.dtype.kind in "biuf") != numeric_label:
        return np.zeros(values.shape, dtype=bool)
    return values == label


def _is_integral(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "biu"


def _same_kind(a: np.ndarray, b: np.ndarray) -> bool:
    numeric = "biuf"
    return (a.dtype.kind in numeric) == (b.dtype.kind in numeric)


def encode_pair(y_true: np.ndarray, y_pred: np.ndarray, labels=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map two label arrays onto shared integer codes.

    Returns ``(labels, true_codes, pred_codes)`` where ``labels`` is sorted and
    ``labels[code]`` is the original label. Without ``labels`` the label set is
    the union of both arrays (as scikit-learn does); with it, values outside
    ``labels`` get code -1 so that callers can leave them out.
    """
    if not _same_kind(y_true, y_pred):
        raise ValueError("y_true and y_pred hold labels of different types (numbers and strings)")
    if labels is not None:
        labels = np.asarray(labels)
        if not _same_kind(labels, y_true):
            raise ValueError("labels and y_true hold labels of different types (numbers and strings)")
        order = np.argsort(labels, kind="stable")
        ordered = labels[order]
        if len(np.unique(ordered)) != len(ordered):
            raise ValueError("labels contains duplicates")
        return labels, _lookup(ordered, order, y_true), _lookup(ordered, order, y_pred)
    if _is_integral(y_true) and _is_integral(y_pred):
        lo = min(int(y_true.min()), int(y_pred.min()))
        hi = max(int(y_true.max()), int(y_pred.max()))
        if hi - lo < _DENSE_LABEL_SPAN:
            t = y_true.astype(np.int64) - lo
            p = y_pred.astype(np.int64) - lo
            span = hi - lo + 1
            present = (np.bincount(t, minlength=span) + np.bincount(p, minlength=span)) > 0
            table = np.cumsum(present) - 1
            found = np.flatnonzero(present)
            dtype = np.result_type(y_true.dtype, y_pred.dtype)
            return (found + lo).astype(dtype), table[t], table[p]
    both = np.concatenate([y_true, y_pred])
    uniq, inverse = np.unique(both, return_inverse=True)
    inverse = inverse.reshape(-1)  # numpy 2.0.x returned the input's shape
    return uniq, inverse[:len(y_true)], inverse[len(y_true):]


def _lookup(ordered: np.ndarray, order: np.ndarray, values: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(ordered, values)
    pos = np.minimum(pos, len(ordered) - 1)
    hit = ordered[pos] == values
    return np.where(hit, order[pos], -1)


def encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, codes)`` for one label array (codes index the sorted labels)."""
    labels, codes, _ = encode_pair(y, y[:1])
    return labels, codes


def confusion_matrix(true_codes: np.ndarray, pred_codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Counts ``C[i, j]`` of rows with true code i and predicted code j.

    Rows where either code is -1 (a label outside the declared set) are left
    out, as scikit-learn's ``confusion_matrix(labels=...)`` does.
    """
    cells = true_codes * n_labels + pred_codes
    if (true_codes < 0).any() or (pred_codes < 0).any():
        cells = cells[(true_codes >= 0) & (pred_codes >= 0)]
    return np.bincount(cells, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


#: Integer labels spanning at most this many values get their confusion
#: matrix from a single bincount over ``true * span + pred``.
_DIRECT_CONFUSION_SPAN = 1024


def label_confusion(y_true: np.ndarray, y_pred: np.ndarray, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, C)``: the sorted labels and the confusion matrix over them.

    Without ``labels``, the labels present in either array (scikit-learn's
    choice); with them, those labels in that order, other rows left out.
    """
    if labels is None and _is_integral(y_true) and _is_integral(y_pred) and len(y_true):
        lo = min(int(y_true.min()), int(y_pred.min()))
        span = max(int(y_true.max()), int(y_pred.max())) - lo + 1
        if span <= _DIRECT_CONFUSION_SPAN:
            cells = y_true.astype(np.int64) * span
            cells += y_pred.astype(np.int64, copy=False)
            if lo:
                cells -= lo * (span + 1)
            full = np.bincount(cells, minlength=span * span).reshape(span, span)
            present = np.flatnonzero((full.sum(axis=0) + full.sum(axis=1)) > 0)
            found = (present + lo).astype(np.result_type(y_true.dtype, y_pred.dtype))
            return found, full[np.ix_(present, present)]
    found, t, p = encode_pair(y_true, y_pred, labels)
    return found, confusion_matrix(t, p, len(found))


def binary_truth(y_true, pos_label=None) -> np.ndarray:
    """``y_true == positive class`` as a boolean array.

    Without ``pos_label`` the positive class is the greater of the two labels
    present (scikit-learn's convention for ROC AUC); when one label is present
    it is positive only if it equals 1 (``True`` counts as 1).
    """
    y = as_labels(y_true, "y_true")
    if pos_label is not None:
        return equal_to(y, pos_label)
    if y.dtype.kind == "b":
        return y
    if y.dtype.kind in "iuf":
        lo, hi = y.min(), y.max()
        if lo != hi and not ((y == lo) | (y == hi)).all():
            raise ValueError("y_true has more than two classes; use a multiclass form")
        return y == hi if lo != hi else y == 1
    present = np.unique(y)
    if len(present) > 2:
        raise ValueError("y_true has more than two classes; use a multiclass form")
    if len(present) == 1:
        raise ValueError(f"y_true has the single label {present[0]!r}; pass pos_label to say which class is positive")
    return y == present[-1]


def class_columns(y_true, n_columns: int, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``y_true`` in the column order of an (n, k) score matrix.

    Columns follow ``labels`` when given, else the sorted labels of ``y_true``
    (as scikit-learn does). Returns ``(labels, codes)``.
    """
    y = as_labels(y_true, "y_true")
    if labels is None:
        labels, codes = encode(y)
        if len(labels) != n_columns:
            raise ValueError(f"y_true has {len(labels)} classes but y_pred has {n_columns} columns; pass labels")
        return labels, codes
    labels = np.asarray(labels)
    if len(labels) != n_columns:
        raise ValueError(f"labels has {len(labels)} entries but y_pred has {n_columns} columns")
    _, codes, _ = encode_pair(y, y[:1], labels)
    if (codes < 0).any():
        raise ValueError("y_true contains labels that are not in labels")
    return labels, codes
