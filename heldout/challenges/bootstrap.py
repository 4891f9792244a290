"""Bootstrap confidence intervals for a score (on the public split only).

A resample draws n rows with replacement; the interval is the percentile
interval of the metric over ``resamples`` resamples, all scored in vectorised
batches through the metric's ``resampler``:

* metrics that see a resample only as counts of rows per cell
  (:class:`~heldout.challenges.metrics.metric.CellCounts`: confusion-matrix
  metrics, accuracy, binary ROC AUC and average precision per distinct
  score, any mean of a per-row term with few distinct values) draw those
  counts straight from a multinomial distribution when the cells are fewer
  than n / 16. That is the exact bootstrap distribution, at a cost that
  does not grow with n;
* otherwise row indices are drawn in chunks of about four million (memory
  stays near 100 MB whatever n is) and each chunk is scored at once:
  one gather and one mean per per-row term (log loss, RMSE, MAE, R^2, ...),
  or one ``bincount`` per chunk for cell counts.

Cost caps, so that a huge public split cannot stall the scorer: rows drawn
in all stop at :data:`RESAMPLED_ROWS` divided by the scorer's cost per row
(RMSE: 1000 resamples up to 100,000 public rows, 100 of 1,000,000 rows;
ROC AUC on continuous scores: a third of that; 5-class AUC: a fifteenth);
metrics without a batched form (clustering) are scored one resample at a
time, at most :data:`LOOP_RESAMPLES` of them and :data:`LOOP_RESAMPLED_ROWS`
rows in all. Never fewer than :data:`MIN_RESAMPLES`. Resamples on which the metric is
undefined (e.g. a single class for AUC) are skipped. The result says how
many resamples counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import Metric
from .metrics.metric import CellCounts, RowScores, loop_resampler

#: Row indices drawn per chunk of resamples.
CHUNK_INDICES = 1 << 22
#: Cell counts are drawn from a multinomial when there are at most n / this many cells.
MULTINOMIAL_CELL_RATIO = 16
#: Rows drawn in all, over every resample, when rows are drawn, divided by
#: the scorer's cost: 1000 resamples of 100,000 rows for RMSE or log loss
#: (under a second), a third of that for ROC AUC on continuous scores.
RESAMPLED_ROWS = 100_000_000
#: Resamples, and rows in all, for metrics scored one resample at a time.
LOOP_RESAMPLES = 200
LOOP_RESAMPLED_ROWS = 20_000_000
#: The caps above never go below this many resamples.
MIN_RESAMPLES = 20


@dataclass(frozen=True)
class ConfidenceInterval:
    low: float
    high: float
    resamples: int  # resamples on which the metric was defined

    def as_tuple(self) -> tuple[float, float]:
        return (self.low, self.high)


def bootstrap_ci(metric: Metric, y_true, y_pred, *, params: dict | None = None, resamples: int = 1000,
                 seed: int = 0, confidence: float = 0.95) -> ConfidenceInterval | None:
    """Percentile bootstrap interval of ``metric`` on ``(y_true, y_pred)``.

    Deterministic for a given ``seed``, row count and resample count.
    Returns ``None`` when ``resamples`` is 0, there are no rows, or the
    metric is undefined on every resample.
    """
    params = dict(params or {})
    n = len(y_pred)
    if resamples <= 0 or n == 0:
        return None
    scorer = metric.resampler(y_true, y_pred, **params) if metric.resampler else None
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(scorer, CellCounts):
            scores = _cell_count_scores(scorer, n, resamples, rng)
        elif isinstance(scorer, RowScores):
            scores = _index_scores(scorer.score, n, _capped(resamples, n, scorer.cost), rng)
        else:
            one_by_one = loop_resampler(metric.func, _indexable(y_true), _indexable(y_pred), params)
            budget = max(MIN_RESAMPLES, LOOP_RESAMPLED_ROWS // n)
            scores = _index_scores(one_by_one, n, min(resamples, LOOP_RESAMPLES, budget), rng)
    valid = scores[np.isfinite(scores)]
    if not len(valid):
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(valid, [tail, 100.0 - tail])
    return ConfidenceInterval(float(low), float(high), int(len(valid)))


def _capped(resamples: int, n: int, cost: float) -> int:
    """Resamples within the row budget for a scorer of this cost."""
    return min(resamples, max(MIN_RESAMPLES, int(RESAMPLED_ROWS / cost) // n))


def _chunks(total: int, width: int):
    size = max(1, CHUNK_INDICES // max(width, 1))
    for start in range(0, total, size):
        yield min(size, total - start)


def _draw_indices(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    return rng.integers(0, n, size=(size, n), dtype=np.int32 if n < 2**31 else np.int64)


def _index_scores(scorer, n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    return np.concatenate([np.asarray(scorer(_draw_indices(rng, size, n)), dtype=np.float64)
                           for size in _chunks(resamples, n)])


def _cell_count_scores(spec: CellCounts, n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    frequencies = np.bincount(spec.cells, minlength=spec.n_cells)
    occupied = np.flatnonzero(frequencies)
    out = []
    if len(occupied) * MULTINOMIAL_CELL_RATIO <= n:
        # Only occupied cells can be drawn; counts are scattered back into place.
        probabilities = frequencies[occupied] / n
        for size in _chunks(resamples, spec.n_cells):
            counts = np.zeros((size, spec.n_cells), dtype=np.int64)
            counts[:, occupied] = rng.multinomial(n, probabilities, size=size)
            out.append(spec.score(counts))
    else:
        for size in _chunks(_capped(resamples, n, spec.cost), max(n, spec.n_cells)):
            idx = _draw_indices(rng, size, n)
            keys = spec.cells[idx] + (np.arange(size, dtype=np.int64) * spec.n_cells)[:, None]
            counts = np.bincount(keys.ravel(), minlength=size * spec.n_cells).reshape(size, spec.n_cells)
            out.append(spec.score(counts))
    return np.concatenate([np.asarray(scores, dtype=np.float64) for scores in out])


def _indexable(values):
    return None if values is None else np.asarray(values)
