"""The metric registry: every metric a challenge can name in its scoring spec.

Metrics are pure NumPy (no scikit-learn or SciPy: they run in the sandbox
image), each a function ``func(y_true, y_pred, **params)`` whose keyword-only
options come from ``ScoringSpec.metric_params``. Names ending in ``_score``
are better when higher, ``_loss``/``_error`` when lower; the registry's
``greater_is_better`` says it for every metric.

>>> get_metric("rmse").greater_is_better
False
"""

from __future__ import annotations

from . import classification, clustering, probabilistic, ranking, regression, reinforcement
from .classification import (accuracy_score, balanced_accuracy_score, cohen_kappa_score, f1_score,
                             matthews_corrcoef, precision_score, quadratic_weighted_kappa, recall_score)
from .clustering import adjusted_rand_score, normalized_mutual_info_score
from .metric import INPUT_KINDS, Metric, UndefinedMetric, UnknownMetric
from .probabilistic import average_precision_score, log_loss, roc_auc_score
from .ranking import map_at_k, ndcg_at_k
from .regression import (mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                         median_absolute_error, r2_score, root_mean_squared_error, root_mean_squared_log_error,
                         symmetric_mean_absolute_percentage_error)
from .reinforcement import mean_episode_return

METRICS: dict[str, Metric] = {
    metric.name: metric
    for family in (classification, probabilistic, regression, ranking, clustering, reinforcement)
    for metric in family.METRICS
}


def get_metric(name: str) -> Metric:
    """The registered metric called ``name``; :class:`UnknownMetric` lists the known names otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetric(name, list(METRICS)) from None


__all__ = [
    "INPUT_KINDS", "METRICS", "Metric", "UndefinedMetric", "UnknownMetric", "get_metric",
    "accuracy_score", "adjusted_rand_score", "average_precision_score", "balanced_accuracy_score",
    "cohen_kappa_score", "f1_score", "log_loss", "map_at_k", "matthews_corrcoef", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_episode_return", "mean_squared_error", "median_absolute_error",
    "ndcg_at_k", "normalized_mutual_info_score", "precision_score", "quadratic_weighted_kappa", "r2_score",
    "recall_score", "roc_auc_score", "root_mean_squared_error", "root_mean_squared_log_error",
    "symmetric_mean_absolute_percentage_error",
]
