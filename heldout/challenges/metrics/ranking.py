"""Metrics over ranked lists: MAP@k and NDCG@k.

Each row of ``y_true`` holds the relevant items and each row of ``y_pred``
the predicted items, best first. A row is a space-separated string
(``"item3 item7"``, as in a CSV cell) or a sequence of items. Relevance is
binary and set-like: repeating a relevant item in ``y_true`` changes nothing;
repeating a predicted item uses up a position without earning anything.

The work is vectorised over all rows at once: items become integer codes,
each (row, item) pair one integer, and membership is a sorted search.
Splitting the text is the only per-item Python work, done in bulk.
"""

from __future__ import annotations

from itertools import chain, repeat

import numpy as np

from .inputs import check_lengths, paused_gc
from .metric import Metric, mean_resampler


def _flatten(column) -> tuple[list, np.ndarray]:
    """All items of a column of lists, end to end, and the number of items in each row."""
    n = len(column)
    try:
        text = " ".join(column)
    except TypeError:  # sequences of items rather than strings
        text = None
    # With printable text only spaces separate items; then spaces per row
    # tell each row's length unless some row has extra spaces, which makes
    # the total disagree with the real number of items.
    if text is not None and text.isprintable():
        items = text.split()
        lengths = np.fromiter(map(str.count, column, repeat(" ")), dtype=np.int64, count=n) + 1
        lengths[np.fromiter(map(len, column), dtype=np.int64, count=n) == 0] = 0
        if int(lengths.sum()) == len(items):
            return items, lengths
    lists = [cell.split() if isinstance(cell, str) else list(cell) for cell in column]
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=n)
    return list(chain.from_iterable(lists)), lengths


def _positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and position in the row of every item of a flattened column."""
    row = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return row, np.arange(int(lengths.sum())) - np.repeat(starts, lengths)


def _hits(y_true, y_pred, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For the first k predictions of every row: its row, position and whether it is a new relevant item.

    Also returns the number of distinct relevant items per row.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    check_lengths(y_true, y_pred)
    n = len(y_true)
    with paused_gc():
        true_items, true_lengths = _flatten(y_true)
        pred_items, pred_lengths = _flatten(y_pred)
        # Only items that are relevant somewhere need a code; others can never hit.
        vocabulary = {item: code for code, item in enumerate(dict.fromkeys(true_items))}
        true_codes = np.fromiter(map(vocabulary.__getitem__, true_items), dtype=np.int64, count=len(true_items))
        pred_codes = np.fromiter(map(vocabulary.get, pred_items, repeat(-1)), dtype=np.int64, count=len(pred_items))
    width = max(len(vocabulary), 1)

    true_row, _ = _positions(true_lengths)
    relevant = _distinct(true_row * width + true_codes)
    n_relevant = np.bincount(relevant // width, minlength=n)

    row, pos = _positions(pred_lengths)
    top = pos < k
    row, pos, codes = row[top], pos[top], pred_codes[top]
    pairs = row * width + codes
    hit = (codes >= 0) & np.isin(pairs, relevant)
    # A repeated prediction earns nothing: compare with the items just before
    # it in the same row (at most k - 1 back), which needs no sort.
    for back in range(1, min(k, int(pos.max(initial=0)) + 1)):
        repeat_of = np.zeros(len(pairs), dtype=bool)
        repeat_of[back:] = pairs[back:] == pairs[:-back]
        hit &= ~repeat_of
    return row, pos, hit, n_relevant


def _distinct(values: np.ndarray) -> np.ndarray:
    # Sorting is faster than np.unique's hash table in NumPy 2.x for this.
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _average_precision_rows(y_true, y_pred, k: int) -> np.ndarray:
    row, pos, hit, n_relevant = _hits(y_true, y_pred, k)
    n = len(n_relevant)
    cum = np.cumsum(hit)
    # Hits counted before each row starts, to turn the running total into a per-row one.
    before = np.r_[0, cum][np.searchsorted(row, np.arange(n), side="left")]
    hits_so_far = cum - before[row]
    precision_at_hits = hits_so_far[hit] / (pos[hit] + 1.0)
    total = np.bincount(row[hit], weights=precision_at_hits, minlength=n)
    denom = np.minimum(n_relevant, k)
    return np.divide(total, denom, out=np.zeros(n), where=denom > 0)


def _ndcg_rows(y_true, y_pred, k: int) -> np.ndarray:
    row, pos, hit, n_relevant = _hits(y_true, y_pred, k)
    n = len(n_relevant)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = np.bincount(row[hit], weights=discount[pos[hit]], minlength=n)
    ideal = np.r_[0.0, np.cumsum(discount)][np.minimum(n_relevant, k)]
    return np.divide(dcg, ideal, out=np.zeros(n), where=ideal > 0)


def map_at_k(y_true, y_pred, *, k: int = 10) -> float:
    """Mean average precision at k.

    For a row with relevant set R and predictions p_1..p_k:
    ``AP@k = sum_{i <= k} P(i) [p_i in R, first time] / min(|R|, k)`` with
    ``P(i)`` the precision of the first i predictions; ``MAP@k`` is the mean
    over rows. A row with no relevant item scores 0. 1 is best.

    >>> map_at_k(["a b", "c"], ["a x b", "y c"], k=3)
    0.6666666666666666
    """
    return float(_average_precision_rows(y_true, y_pred, k).mean())


def ndcg_at_k(y_true, y_pred, *, k: int = 10) -> float:
    """Normalised discounted cumulative gain at k, with binary relevance.

    ``DCG@k = sum_{i <= k} [p_i in R, first time] / log2(i + 1)`` and
    ``NDCG@k = DCG@k / IDCG@k`` where the ideal ranks every relevant item
    first: ``IDCG@k = sum_{i <= min(|R|, k)} 1 / log2(i + 1)``. Mean over rows;
    a row with no relevant item scores 0 (as scikit-learn's ``ndcg_score``). 1 is best.

    >>> round(ndcg_at_k(["a b"], ["a x b"], k=3), 6)
    0.919721
    """
    return float(_ndcg_rows(y_true, y_pred, k).mean())


def _rows_resampler(rows):
    def make(y_true, y_pred, *, k: int = 10):
        return mean_resampler([rows(y_true, y_pred, k)], lambda m: m)
    return make


METRICS = (
    Metric("map_at_k", map_at_k, True, (0.0, 1.0), ("ranking",), "ranked_lists",
           resampler=_rows_resampler(_average_precision_rows)),
    Metric("ndcg_at_k", ndcg_at_k, True, (0.0, 1.0), ("ranking",), "ranked_lists",
           resampler=_rows_resampler(_ndcg_rows)),
)
