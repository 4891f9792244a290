"""What a metric is: the :class:`Metric` record, the errors metrics raise, and
the two shapes of batched bootstrap scoring (:class:`CellCounts`, :class:`RowScores`).

A metric is a pure function ``func(y_true, y_pred, **params)`` plus the facts
the platform needs around it: which way is better, its range, the task types
it suits, what the submission holds (``input_kind``) and, optionally, a fast
way to score many bootstrap resamples at once (``resampler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..spec import TASK_TYPES

#: What a submission column holds for a metric.
INPUT_KINDS = ("labels", "probabilities", "values", "ranked_lists", "clusters", "returns")

#: ``resampler(y_true, y_pred, **params)`` describes how to score many
#: bootstrap resamples at once. It returns one of:
#:
#: * :class:`CellCounts`, when the metric depends on a resample only through
#:   how many of its rows fall in each of a few cells;
#: * :class:`RowScores`, a function of the resampled row indices;
#: * ``None`` when these inputs have no batched form.
#:
#: Scores are ``nan`` for resamples on which the metric is undefined.
Resampler = Callable[..., object]


@dataclass(frozen=True)
class CellCounts:
    """A metric that sees a resample only as counts of rows per cell.

    ``cells[i]`` is row i's cell in ``range(n_cells)``; ``score`` maps counts
    of shape (resamples, n_cells) to scores of shape (resamples,). Resampling
    rows then amounts to drawing cell counts from a multinomial distribution,
    which is exact and, for few cells, far cheaper than drawing rows.
    """

    cells: np.ndarray
    n_cells: int
    score: Callable[[np.ndarray], np.ndarray]
    cost: float = 1.0  # work per resampled row when rows are drawn, see RowScores


@dataclass(frozen=True)
class RowScores:
    """Scores resamples given as row indices.

    ``score`` maps an integer array of shape (resamples, n) to one score per
    resample. ``cost`` is its work per resampled row relative to one gather
    and mean (the bootstrap's row budget is divided by it).
    """

    score: Callable[[np.ndarray], np.ndarray]
    cost: float = 1.0


class UnknownMetric(ValueError):
    """A metric name that is not in the registry."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown metric {name!r}; known metrics: {', '.join(self.known)}")


class UndefinedMetric(ValueError):
    """The metric has no value for these inputs (e.g. ROC AUC with one class).

    Raised instead of returning ``nan`` so that a challenge whose public or
    private split cannot be scored fails loudly rather than ranking ``nan``.
    """


@dataclass(frozen=True)
class Metric:
    """A scoring function and the facts the platform needs about it.

    ``requires_nonnegative`` / ``requires_probabilities`` mean predictions
    below 0 / outside [0, 1] are invalid input (the validator rejects them,
    with line numbers, before the metric runs).
    ``declared_labels`` means the metric should see every declared label, not
    only those present (ordinal kappas weigh disagreements by label distance).
    ``perfect`` says whether ``y_pred = y_true`` (or its one-hot form) reaches
    the best value; false for metrics with no notion of a perfect prediction.
    """

    name: str
    func: Callable
    greater_is_better: bool
    value_range: tuple[float, float]
    task_types: tuple[str, ...]
    input_kind: str
    requires_nonnegative: bool = False
    requires_probabilities: bool = False
    declared_labels: bool = False
    perfect: bool = True
    resampler: Resampler | None = None

    def __post_init__(self) -> None:
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"{self.name}: input_kind {self.input_kind!r} not in {INPUT_KINDS}")
        unknown = set(self.task_types) - set(TASK_TYPES)
        if unknown:
            raise ValueError(f"{self.name}: unknown task type(s) {sorted(unknown)}")

    def __call__(self, y_true, y_pred, **params) -> float:
        return self.func(y_true, y_pred, **params)

    @property
    def best_value(self) -> float:
        return self.value_range[1] if self.greater_is_better else self.value_range[0]

    @property
    def param_names(self) -> tuple[str, ...]:
        """The keyword-only options ``func`` accepts (read from its code object:
        ``inspect`` would cost import time inside the sandbox)."""
        code = self.func.__code__
        start = code.co_argcount
        return code.co_varnames[start:start + code.co_kwonlyargcount]

    @property
    def option_names(self) -> tuple[str, ...]:
        """What ``ScoringSpec.metric_params`` may set: the function's options,
        plus ``pos_label`` for any label metric (the scorer resolves it to the
        positive class itself)."""
        extra = ("pos_label",) if self.input_kind in ("labels", "probabilities") else ()
        return tuple(dict.fromkeys(self.param_names + extra))

    def check_params(self, params: dict) -> None:
        """``ValueError`` naming any option of ``params`` this metric does not have."""
        unknown = sorted(set(params) - set(self.option_names))
        if unknown:
            allowed = ", ".join(self.option_names) or "none"
            raise ValueError(f"metric {self.name!r} has no option(s) {', '.join(unknown)}; options: {allowed}")

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""


# -- building blocks for resamplers -------------------------------------------------

def mean_resampler(row_stats: list[np.ndarray], finalize: Callable[..., np.ndarray]) -> RowScores | CellCounts:
    """Resampler of a metric that is a function of per-row means.

    ``row_stats`` are arrays of shape (n,) or (n, outputs); for a resample the
    metric is ``finalize(*means)``, each mean taken over the resampled rows.
    A single per-row term with few distinct values (accuracy's 0/1 hits,
    MAP@k with small k) becomes :class:`CellCounts` over those values.
    """

    def finish(means):
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(finalize(*means), dtype=np.float64)
        return values.mean(axis=-1) if values.ndim > 1 else values

    if len(row_stats) == 1 and row_stats[0].ndim == 1:
        values, cells = np.unique(row_stats[0], return_inverse=True)
        if len(values) <= max(2, len(cells) // 16):
            return CellCounts(cells.reshape(-1), len(values),
                              lambda counts: finish([counts @ values / counts.sum(axis=1)]))

    def score(idx: np.ndarray) -> np.ndarray:
        return finish([np.take(stat, idx, axis=0).mean(axis=1) for stat in row_stats])

    return RowScores(score, cost=sum(stat.size for stat in row_stats) / len(row_stats[0]))


def loop_resampler(func: Callable, y_true, y_pred, params: dict) -> Callable[[np.ndarray], np.ndarray]:  # noqa: ANN001
    """Score resamples one by one (for metrics with no batched form)."""

    def score(idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx))
        for i, rows in enumerate(idx):
            try:
                out[i] = func(None if y_true is None else y_true[rows], y_pred[rows], **params)
            except UndefinedMetric:
                out[i] = np.nan
        return out

    return score
