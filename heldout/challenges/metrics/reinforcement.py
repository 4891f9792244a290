"""Metrics for reinforcement-learning challenges.

The evaluator runs the learner's policy and records one return per episode;
the metric only aggregates those returns.
"""

from __future__ import annotations

from .inputs import as_floats
from .metric import Metric, mean_resampler


def mean_episode_return(y_true, y_pred) -> float:
    """Mean of the per-episode returns ``mean_return = (1/n) * sum_i G_i``, given in ``y_pred``.

    ``y_true`` is ignored (there is no ground truth, only returns); pass
    ``None``. Higher is better.

    >>> mean_episode_return(None, [10.0, 12.0, 5.0])
    9.0
    """
    returns = as_floats(y_pred, "y_pred")
    if not len(returns):
        raise ValueError("no episode returns")
    return float(returns.mean())


def _returns_resampler(y_true, y_pred):
    return mean_resampler([as_floats(y_pred, "y_pred")], lambda m: m)


METRICS = (
    Metric("mean_episode_return", mean_episode_return, True, (-float("inf"), float("inf")), ("reinforcement",),
           "returns", perfect=False, resampler=_returns_resampler),
)
