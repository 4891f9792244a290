"""Scoring a checked submission against the solution: public and private scores, public CI.

The pieces: :func:`~heldout.challenges.validation.read_solution` and
:func:`~heldout.challenges.validation.read_submission` read and check the
files; :func:`metric_inputs` turns the columns into what the metric takes
(labels become integer codes, the positive class a boolean); the metric
scores each split; :func:`~heldout.challenges.bootstrap.bootstrap_ci` gives
each score's 95% interval. The public one is shown with the public board; the
private one is kept for the statistical tie bands of a study group's grades
(heldout.leaderboard.ranking.tie_bands) and, like the private score, never shown
before the reveal.

Label conventions. Labels are matched by text, or by value when both sides
are numbers (``1.0`` is ``1``). The label list is ``spec.labels``, else
``metric_params["labels"]``, else the sorted labels of the solution (binary
challenges) or of both files (by value when all are numbers); a binary
challenge's submission may only use its labels. For binary metrics the
positive class is ``metric_params["pos_label"]`` when given, else the label
equal to 1 if there is one, else the last label. Ordinal kappas see every
declared label (distances count unused ratings). Multiclass probabilities:
the class names are ``spec.target_columns`` and the solution's label column
must use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import bootstrap_ci
from .diagnostics import public_diagnostics
from .errors import BundleError, SubmissionError
from .metrics import Metric, UndefinedMetric, get_metric
from .spec import ScoringSpec
from .csvfile import LabelTable, as_numbers
from .validation import Solution, Submission, read_solution, read_submission, truth_columns


class UnscorableSplit(Exception):
    """The metric is undefined on a whole split: the challenge, not the learner, must change."""


@dataclass
class ScoreResult:
    public_score: float | None  # None when the split has no rows
    private_score: float | None
    public_ci: tuple[float, float] | None  # 95% percentile bootstrap interval
    public_rows: int
    private_rows: int
    ci_resamples: int = 0  # bootstrap resamples behind public_ci
    diagnostics: dict | None = None  # public split only, see diagnostics.py
    private_ci: tuple[float, float] | None = None  # 95% percentile bootstrap interval of the private score

    def to_dict(self) -> dict:
        return {
            "public_score": self.public_score,
            "private_score": self.private_score,
            "public_ci": list(self.public_ci) if self.public_ci is not None else None,
            "public_rows": self.public_rows,
            "private_rows": self.private_rows,
            "ci_resamples": self.ci_resamples,
            "diagnostics": self.diagnostics,
            "private_ci": list(self.private_ci) if self.private_ci is not None else None,
        }


def score_files(submission_path, solution_path, spec: ScoringSpec) -> ScoreResult:
    """Read, check and score a submission file (path or binary file object) against the solution file."""
    solution = read_solution(solution_path, spec)
    return score_submission(read_submission(submission_path, spec, solution.ids), solution, spec)


def score_frames(submission, solution, spec: ScoringSpec) -> ScoreResult:
    """:func:`score_files` for pandas DataFrames (same checks, same errors)."""
    solution = read_solution(solution, spec)
    return score_submission(read_submission(submission, spec, solution.ids), solution, spec)


def score_submission(submission: Submission, solution: Solution, spec: ScoringSpec) -> ScoreResult:
    """Score a submission already aligned to the solution's rows."""
    metric = get_metric(spec.metric)
    prepared = prepare_inputs(metric, spec, solution, submission)
    y_true, y_pred, params = prepared.y_true, prepared.y_pred, prepared.params
    public = solution.public
    public_score = _split_score(metric, y_true, y_pred, params, public, "public")
    private_score = _split_score(metric, y_true, y_pred, params, ~public, "private")
    ci = _interval(metric, spec, y_true, y_pred, params, public)
    private_ci = _interval(metric, spec, y_true, y_pred, params, ~public)
    return ScoreResult(public_score, private_score, ci.as_tuple() if ci else None,
                       int(public.sum()), int((~public).sum()), ci.resamples if ci else 0,
                       public_diagnostics(prepared, metric.input_kind, spec.task_type, public),
                       private_ci=private_ci.as_tuple() if private_ci else None)


def _interval(metric: Metric, spec: ScoringSpec, y_true, y_pred, params: dict, mask: np.ndarray):
    if not mask.any():
        return None
    return bootstrap_ci(metric, _rows(y_true, mask), _rows(y_pred, mask), params=params,
                        resamples=spec.bootstrap_resamples, seed=spec.bootstrap_seed)


def _rows(values, mask: np.ndarray):
    return None if values is None else values[mask]


def _split_score(metric: Metric, y_true, y_pred, params: dict, mask: np.ndarray, split: str) -> float | None:
    if not mask.any():
        return None
    try:
        score = metric.func(_rows(y_true, mask), _rows(y_pred, mask), **params)
    except UndefinedMetric as exc:
        raise UnscorableSplit(f"metric {metric.name!r} is undefined on the {split} split "
                              f"({int(mask.sum())} rows): {exc}") from None
    if np.isnan(score):
        raise UnscorableSplit(f"metric {metric.name!r} gave NaN on the {split} split")
    if np.isinf(score):
        raise SubmissionError(f"the submission's values are too large to score: {metric.name} overflows")
    return float(score)


# -- columns to metric inputs ----------------------------------------------------------------

@dataclass
class MetricInputs:
    """What the metric takes, plus the label names behind integer codes (for diagnostics)."""

    y_true: object
    y_pred: object
    params: dict
    labels: list | None = None  # label names, position = code; None when the inputs are not labels
    positive: int | None = None  # code of the positive class, for binary probabilities


def metric_inputs(metric: Metric, spec: ScoringSpec, solution: Solution,
                  submission: Submission) -> tuple:
    """``(y_true, y_pred, params)`` for ``metric.func``, in the solution's row order."""
    prepared = prepare_inputs(metric, spec, solution, submission)
    return prepared.y_true, prepared.y_pred, prepared.params


def prepare_inputs(metric: Metric, spec: ScoringSpec, solution: Solution, submission: Submission) -> MetricInputs:
    """:func:`metric_inputs` with the label names kept."""
    metric.check_params(spec.metric_params)
    params = dict(spec.metric_params)
    kind = metric.input_kind
    # The scorer resolves pos_label (a label of the files) itself, for every label metric.
    pos_label = params.pop("pos_label", None)
    targets = list(spec.target_columns)
    truths = truth_columns(spec)
    if kind == "returns":
        return MetricInputs(None, submission.values[targets[0]], params)
    if kind == "values":
        if len(truths) != len(targets):
            raise BundleError(f"{len(targets)} target column(s) but {len(truths)} solution column(s)",
                              field="solution_columns")
        if len(targets) == 1:
            return MetricInputs(solution.truth[truths[0]], submission.values[targets[0]], params)
        return MetricInputs(np.column_stack([solution.truth[c] for c in truths]), submission.matrix(targets), params)
    truth = solution.truth[truths[0]]
    if kind == "ranked_lists":
        return MetricInputs(truth, submission.values[targets[0]], params)
    if kind == "clusters":
        return MetricInputs(_factorize(truth), _factorize(submission.values[targets[0]]), params)
    if kind == "probabilities" and len(targets) > 1:  # the class columns are the labels, in their order
        codes = _codes(LabelTable(targets), truth, truths[0])
        params["labels"] = np.arange(len(targets))
        return MetricInputs(codes, submission.matrix(targets), params, labels=targets)
    predicted = submission.values[targets[0]]
    # Labels may be declared in the spec or in the metric's options; either
    # way they are labels of the files, turned into codes here.
    declared = spec.labels if spec.labels is not None else params.get("labels")
    params.pop("labels", None)
    # A binary challenge without declared labels takes the solution's two;
    # otherwise predictions may name labels the truth never uses (just wrong).
    closed = declared is not None or kind == "probabilities" or spec.task_type == "binary"
    table = LabelTable(declared if declared is not None else
                       _sorted_labels(truth) if closed else _sorted_labels(truth, predicted))
    positive = _positive_code(table, pos_label)
    if kind == "probabilities":
        return MetricInputs(_codes(table, truth, truths[0]) == positive, predicted, params,
                            labels=table.labels, positive=positive)
    y_true, y_pred = _codes(table, truth, truths[0]), table.codes(list(predicted))
    unknown = np.flatnonzero(y_pred < 0)
    if len(unknown):
        lines = submission.lines[unknown]
        raise SubmissionError(f"{len(unknown)} label(s) in column '{targets[0]}' are not labels of this challenge "
                              f"({', '.join(map(str, table.labels[:20]))}): line {int(lines[0])} has "
                              f"{str(predicted[unknown[0]])[:40]!r}", column=targets[0],
                              rows=[int(x) for x in lines[:10]])
    if "pos_label" in metric.param_names and positive is not None:
        params["pos_label"] = positive
    if metric.declared_labels and declared is not None:
        params["labels"] = np.arange(len(table.labels))
    return MetricInputs(y_true, y_pred, params, labels=table.labels, positive=positive)


def _codes(table: LabelTable, truth: np.ndarray, column: str) -> np.ndarray:
    codes = table.codes(list(truth))
    if (codes < 0).any():
        raise BundleError(f"{int((codes < 0).sum())} solution label(s) are not among the labels "
                          f"{table.labels[:20]}", file="solution.csv", field=column)
    return codes


def _sorted_labels(*columns) -> list:
    """Distinct labels of the columns, by value if all are numbers, else by text."""
    distinct = sorted(set().union(*map(set, columns)))
    numbers = as_numbers(distinct)
    if numbers is None:
        return distinct
    by_value: dict = {}
    for text, value in sorted(zip(distinct, numbers), key=lambda pair: pair[1]):
        by_value.setdefault(value, text)
    return list(by_value.values())


def _positive_code(table: LabelTable, pos_label) -> int | None:
    if pos_label is not None:
        code = int(table.codes([str(pos_label)])[0])
        if code < 0:
            raise BundleError(f"pos_label {pos_label!r} is not one of the labels {table.labels[:20]}",
                              field="metric_params")
        return code
    if not table.labels:
        return None
    one = int(table.codes(["1"])[0])
    return one if one >= 0 else len(table.labels) - 1


def _factorize(texts: np.ndarray) -> np.ndarray:
    codes: dict = {}
    return np.fromiter((codes.setdefault(t, len(codes)) for t in texts), dtype=np.int64, count=len(texts))
