"""Metrics comparing two partitions of the rows: adjusted Rand index, normalised mutual information.

Both depend only on which rows share a cluster, never on the cluster ids,
so a prediction that renumbers the true clusters scores perfectly. They are
computed from the contingency table ``N[i, j]`` = rows in true cluster i and
predicted cluster j, with marginals ``a_i`` (true sizes) and ``b_j``
(predicted sizes).
"""

from __future__ import annotations

import math

import numpy as np

from .inputs import as_labels, check_lengths, encode
from .metric import Metric

# Contingency tables up to this many cells are counted densely (bincount);
# larger ones through the distinct (true, predicted) pairs (a sort).
_DENSE_CELLS = 1 << 24


def _contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero cells ``(rows, cols, counts)`` of N, and the marginals ``a``, ``b``."""
    labels_true, labels_pred = as_labels(labels_true, "y_true"), as_labels(labels_pred, "y_pred")
    check_lengths(labels_true, labels_pred)
    t = encode(labels_true)[1].astype(np.int64)
    p = encode(labels_pred)[1].astype(np.int64)
    a = np.bincount(t)
    b = np.bincount(p)
    cells = t * len(b) + p
    if len(a) * len(b) <= _DENSE_CELLS:
        counts = np.bincount(cells, minlength=len(a) * len(b))
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:
        keys, counts = np.unique(cells, return_counts=True)
    return keys // len(b), keys % len(b), counts, a, b


def adjusted_rand_score(labels_true, labels_pred) -> float:
    """Adjusted Rand index: pair-counting agreement, corrected for chance.

    Counting ordered pairs of rows, ``tp`` = together in both partitions,
    ``tn`` = apart in both, ``fp``/``fn`` = together in only one:
    ``ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))``,
    and 1 when ``fn = fp = 0``. With ``S = sum N[i, j]^2``:
    ``tp = S - n``, ``fp = sum b_j^2 - S``, ``fn = sum a_i^2 - S``. Integer
    arithmetic is exact; 1 is best, about 0 for a random partition, -0.5 worst.

    >>> adjusted_rand_score([0, 0, 1, 1], [5, 5, 3, 3])
    1.0
    >>> round(adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]), 6)
    0.571429
    """
    _, _, counts, a, b = _contingency(labels_true, labels_pred)
    n = int(a.sum())
    s = int(np.dot(counts, counts))
    fp = int(np.dot(b, b)) - s
    fn = int(np.dot(a, a)) - s
    tp = s - n
    tn = n * n - fp - fn - s
    if fn == 0 and fp == 0:
        return 1.0
    # Python integers: tp * tn reaches n^4, far past 64 bits for large n.
    return 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def _entropy(sizes: np.ndarray) -> float:
    sizes = sizes[sizes > 0].astype(np.float64)
    total = sizes.sum()
    return float(-np.sum((sizes / total) * (np.log(sizes) - math.log(total))))


def normalized_mutual_info_score(labels_true, labels_pred) -> float:
    """Normalised mutual information, arithmetic normalisation.

    ``MI = sum_ij (N_ij / n) log(n N_ij / (a_i b_j))``,
    ``H(a) = -sum_i (a_i / n) log(a_i / n)``, and
    ``NMI = MI / ((H(a) + H(b)) / 2)``. 1 when both partitions put every
    row in one cluster; 0 when MI is 0. Ranges from 0 to 1 (best).

    >>> normalized_mutual_info_score([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> round(normalized_mutual_info_score([0, 0, 1, 1], [0, 0, 1, 2]), 6)
    0.8
    """
    rows, cols, counts, a, b = _contingency(labels_true, labels_pred)
    if len(a) == len(b) == 1:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return 0.0
    n = float(a.sum())
    share = counts / n
    log_outer = -np.log(a[rows].astype(np.float64) * b[cols]) + 2 * math.log(n)
    terms = share * (np.log(counts) - math.log(n)) + share * log_outer
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    mi = max(float(terms.sum()), 0.0)
    if mi == 0.0:
        return 0.0
    return mi / ((_entropy(a) + _entropy(b)) / 2.0)


METRICS = (
    Metric("adjusted_rand_index", adjusted_rand_score, True, (-0.5, 1.0), ("clustering",), "clusters"),
    Metric("normalized_mutual_info", normalized_mutual_info_score, True, (0.0, 1.0), ("clustering",), "clusters"),
)
