"""Checking submission and solution files against a challenge's spec, and telling the learner exactly what is
wrong (:mod:`heldout.challenges.csvfile` reads them).

:func:`read_submission` returns a :class:`Submission`: the ids and one NumPy
array per target column, already checked, and, when the solution's ids are
given, reordered to the solution's row order. Anything wrong raises a
:class:`~heldout.challenges.errors.SubmissionError` that names the column and
the first offending lines (1-based, the header being line 1, as an editor
shows them). :func:`read_solution` reads the organizer's answer key the same
way; its problems raise :class:`~heldout.challenges.errors.BundleError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np

from .csvfile import (  # the reading half; these are shared within the package
    _first,
    _floats,
    _ids,
    _is_number,
    LabelTable,
    _read_table,
    _shown,
    _strings,
    _Table,
)
from .errors import BundleError, SubmissionError
from .metrics import Metric, get_metric
from .metrics.inputs import paused_gc
from .spec import ScoringSpec

_NUMERIC_KINDS = ("values", "probabilities", "returns")


@dataclass
class Submission:
    """A checked submission.

    ``ids`` and every array in ``values`` (one per target column, float64 for
    numeric metrics, object arrays of stripped strings otherwise) follow the
    solution's row order when the solution's ids were given, else the file's.
    ``lines`` are the rows' line numbers in the file, in the same order.
    """

    ids: list | np.ndarray  # int64 array for ``id_dtype="int"``, list of str otherwise
    values: dict[str, np.ndarray]
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def matrix(self, columns: list[str]) -> np.ndarray:
        return np.column_stack([self.values[c] for c in columns])


@dataclass
class Solution:
    """The answer key: ``ids``, a ``public`` row mask, and the truth columns."""

    ids: list | np.ndarray  # int64 array for ``id_dtype="int"``, list of str otherwise
    public: np.ndarray
    truth: dict[str, np.ndarray]
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


# -- the submission -------------------------------------------------------------------------

def read_submission(source, spec: ScoringSpec, solution_ids=None) -> Submission:
    """Read and check a submission.

    ``source`` is a path, bytes, a binary file object or a pandas DataFrame.
    Checks the columns (exactly ``spec.id_column`` and
    ``spec.target_columns``, in any order), ids (no empty or duplicate one;
    with ``solution_ids`` also none missing or unknown, which also fixes the
    row count) and values (by the metric: finite numbers, probabilities in
    [0, 1], multiclass rows summing to 1 within ``spec.sum_tolerance`` unless
    ``spec.renormalize`` says to rescale them, no negative value for RMSLE,
    labels among ``spec.labels``). Raises :class:`SubmissionError`.
    """
    metric = get_metric(spec.metric)
    with paused_gc():
        return _checked_submission(_read_table(source, spec.max_bytes), spec, metric, solution_ids)


def _checked_submission(table: _Table, spec: ScoringSpec, metric: Metric, solution_ids) -> Submission:
    _check_columns(table, spec)
    ids = _ids(table.column(spec.id_column), spec.id_dtype, spec.id_column, table.lines)
    order = _align(ids, table.lines, spec.id_column, solution_ids)
    values = {name: _submitted_values(table, name, spec, metric) for name in spec.target_columns}
    if metric.input_kind == "probabilities" and len(spec.target_columns) > 1:
        _check_row_sums(values, spec, table.lines)
    lines = table.lines
    if order is not None:
        ids = solution_ids
        values = {name: column[order] for name, column in values.items()}
        lines = lines[order]
    return Submission(ids, values, lines)


def _check_columns(table: _Table, spec: ScoringSpec) -> None:
    expected = [spec.id_column] + list(spec.target_columns)
    seen = set()
    for name in table.header:
        if name in seen:
            raise SubmissionError(f"column '{name}' appears twice in the header; {_had(table)}", column=name,
                                  rows=[table.header_line])
        seen.add(name)
    missing = [name for name in expected if name not in seen]
    extra = [name for name in table.header if name not in expected]
    if missing:
        raise SubmissionError(_missing_message(missing, extra, table, expected), column=missing[0],
                              rows=[table.header_line])
    if extra:
        hint = ""
        if any(name == "" or name.startswith("Unnamed") for name in extra):
            hint = " (a saved DataFrame index? write the CSV with index=False)"
        raise SubmissionError(f"unexpected column(s) {', '.join(map(repr, extra))}{hint}; "
                              f"the header must have exactly: {', '.join(expected)}; {_had(table)}",
                              column=extra[0], rows=[table.header_line])
    if table.n_rows == 0:
        raise SubmissionError("the file has a header but no data rows", quotes_input=False)


def _had(table: _Table, shown: int = 20) -> str:
    """The columns the file had, as the learner wrote them: "the file has: id, Target" (long headers cut)."""
    names = [repr(name) if name == "" or name != name.strip() else name[:40] + ("…" if len(name) > 40 else "")
             for name in table.header]
    if not names:
        return "the file has no columns"
    more = f", … ({len(names)} in all)" if len(names) > shown else ""
    return f"the file has: {', '.join(names[:shown])}{more}"


def _missing_message(missing: list[str], extra: list[str], table: _Table, expected: list[str]) -> str:
    message = (f"missing column(s) {', '.join(map(repr, missing))}; the header must have exactly: "
               f"{', '.join(expected)}; {_had(table)}")
    by_folded = {name.casefold(): name for name in extra}
    near = [(by_folded[name.casefold()], name) for name in missing if name.casefold() in by_folded]
    if near:
        found, wanted = near[0]
        return message + f" (found '{found}': column names are case-sensitive, use '{wanted}')"
    if table.header and all(_is_number(name) for name in table.header if name):
        return message + " (the first line looks like data: the file needs a header line)"
    return message


def _align(ids, lines: np.ndarray, column: str, solution_ids) -> np.ndarray | None:
    """Indices that put the submission's rows in the solution's order (``None``: already there)."""
    if solution_ids is None:
        if _has_repeats(ids):
            _raise_duplicates(ids, lines, column)
        return None
    if _same_ids(ids, solution_ids):
        return None
    rows = _positions(ids, solution_ids)
    unknown = np.flatnonzero(rows < 0)
    if len(unknown):
        raise SubmissionError(f"{len(unknown)} id(s) are not in the test set, e.g. {_shown(ids[unknown[0]])} "
                              f"on line {int(lines[unknown[0]])} ({len(ids)} rows submitted, "
                              f"{len(solution_ids)} expected)", column=column, rows=_first(lines[unknown]))
    hits = np.bincount(rows, minlength=len(solution_ids))
    if (hits > 1).any():
        _raise_duplicates(ids, lines, column)
    if len(rows) != len(solution_ids):
        absent = np.flatnonzero(hits == 0)
        missing = [solution_ids[i] for i in absent[:5]]
        raise SubmissionError(f"{len(absent)} id(s) of the test set are missing ({len(ids)} rows submitted, "
                              f"{len(solution_ids)} expected), e.g. {', '.join(map(_shown, missing))}", column=column)
    order = np.empty(len(rows), dtype=np.int64)
    order[rows] = np.arange(len(rows))
    return order


def _same_ids(ids, solution_ids) -> bool:
    if isinstance(ids, np.ndarray):
        return len(ids) == len(solution_ids) and bool(np.array_equal(ids, np.asarray(solution_ids)))
    return ids == list(solution_ids)


def _has_repeats(ids) -> bool:
    if isinstance(ids, np.ndarray):
        ordered = np.sort(ids)
        return bool((ordered[1:] == ordered[:-1]).any())
    return len(set(ids)) != len(ids)


def _positions(ids, solution_ids) -> np.ndarray:
    """Row of each id in the solution, -1 for ids it does not have."""
    if isinstance(ids, np.ndarray):  # integer ids: by sorting, in C
        known = np.asarray(solution_ids, dtype=np.int64)
        order = np.argsort(known)
        ordered = known[order]
        mine = np.argsort(ids)
        if len(ids) == len(known) and np.array_equal(ids[mine], ordered):  # the usual case: same ids, any order
            rows = np.empty(len(ids), dtype=np.int64)
            rows[mine] = order
            return rows
        at = np.minimum(np.searchsorted(ordered, ids), len(ordered) - 1)
        return np.where(ordered[at] == ids, order[at], -1)
    position = {key: i for i, key in enumerate(solution_ids)}
    return np.fromiter(map(position.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))


def _raise_duplicates(ids, lines: np.ndarray, column: str):
    ids = ids.tolist() if isinstance(ids, np.ndarray) else ids
    first_line, repeats = {}, []
    for i, key in enumerate(ids):
        if key in first_line:
            repeats.append(i)
        else:
            first_line[key] = int(lines[i])
    key = ids[repeats[0]]
    raise SubmissionError(f"{len(repeats)} row(s) repeat an id already used: {_shown(key)} is on line "
                          f"{first_line[key]} and again on line {int(lines[repeats[0]])}",
                          column=column, rows=_first(lines[repeats]))


def _submitted_values(table: _Table, name: str, spec: ScoringSpec, metric: Metric) -> np.ndarray:
    cells, lines = table.column(name), table.lines
    if metric.input_kind not in _NUMERIC_KINDS:
        texts = _strings(cells)
        if metric.input_kind != "ranked_lists":
            _check_labels(texts, name, spec, metric, lines)
        return np.array(texts, dtype=object)
    values = _floats(cells, name, lines)
    if spec.probabilities or metric.requires_probabilities:
        bad = np.flatnonzero((values < 0) | (values > 1))
        if len(bad):
            raise SubmissionError(f"{len(bad)} value(s) in column '{name}' are not probabilities between 0 and 1: "
                                  f"line {int(lines[bad[0]])} has {float(values[bad[0]])!r}", column=name,
                                  rows=_first(lines[bad]))
    if metric.requires_nonnegative:
        bad = np.flatnonzero(values < 0)
        if len(bad):
            raise SubmissionError(f"{len(bad)} value(s) in column '{name}' are negative, which {metric.name} cannot "
                                  f"score: line {int(lines[bad[0]])} has {float(values[bad[0]])!r}", column=name,
                                  rows=_first(lines[bad]))
    return values


def _check_labels(texts: list[str], name: str, spec: ScoringSpec, metric: Metric, lines: np.ndarray) -> None:
    empty = [i for i, t in enumerate(texts) if not t] if "" in texts else []
    if empty:
        raise SubmissionError(f"{len(empty)} row(s) have no label in column '{name}' (line {int(lines[empty[0]])})",
                              column=name, rows=_first(lines[empty]), quotes_input=False)
    if spec.labels is None or metric.input_kind != "labels":
        return
    bad = np.flatnonzero(LabelTable(spec.labels).codes(texts) < 0)
    if len(bad):
        allowed = ", ".join(map(str, spec.labels[:20])) + (", ..." if len(spec.labels) > 20 else "")
        raise SubmissionError(f"{len(bad)} label(s) in column '{name}' are not among the allowed labels "
                              f"({allowed}): line {int(lines[bad[0]])} has {_shown(texts[bad[0]])}",
                              column=name, rows=_first(lines[bad]))


def _check_row_sums(values: dict[str, np.ndarray], spec: ScoringSpec, lines: np.ndarray) -> None:
    names = list(values)
    sums = np.sum([values[name] for name in names], axis=0)
    if spec.renormalize:
        bad = np.flatnonzero(sums <= 0)
        if len(bad):
            raise SubmissionError(f"{len(bad)} row(s) have probabilities summing to 0, which cannot be rescaled "
                                  f"(line {int(lines[bad[0]])})", rows=_first(lines[bad]), quotes_input=False)
        for name in names:
            values[name] = values[name] / sums
        return
    if not spec.rows_sum_to_one:
        return
    bad = np.flatnonzero(np.abs(sums - 1.0) > spec.sum_tolerance)
    if len(bad):
        raise SubmissionError(f"{len(bad)} row(s) have class probabilities ({', '.join(names)}) that do not sum to 1 "
                              f"within {spec.sum_tolerance:g}: line {int(lines[bad[0]])} sums to "
                              f"{float(sums[bad[0]])!r}",
                              rows=_first(lines[bad]))


# -- the solution ---------------------------------------------------------------------------

def truth_columns(spec: ScoringSpec) -> list[str]:
    return list(spec.solution_columns if spec.solution_columns is not None else spec.target_columns)


def read_solution(source, spec: ScoringSpec, name: str = "solution.csv") -> Solution:
    """Read the answer key: ids, the public/private split and the truth columns.

    Problems raise :class:`BundleError` naming ``name``: they are the
    organizer's to fix, and never reported to a learner.
    """
    metric = get_metric(spec.metric)
    with paused_gc():
        return _checked_solution(source, spec, metric, name)


def _checked_solution(source, spec: ScoringSpec, metric: Metric, name: str) -> Solution:
    try:
        table = _read_table(source, max(spec.max_bytes, 1 << 34))
    except SubmissionError as exc:
        raise BundleError(str(exc), file=name, row=exc.rows[0] if exc.rows else None) from None
    wanted = truth_columns(spec)
    optional = metric.input_kind == "returns"
    for column in [spec.id_column, spec.usage_column] + ([] if optional else wanted):
        if column not in table.header:
            raise BundleError(f"missing column '{column}' (columns: {', '.join(table.header)})", file=name,
                              field=column)
    if table.n_rows == 0:
        raise BundleError("no data rows", file=name)
    try:
        ids = _ids(table.column(spec.id_column), spec.id_dtype, spec.id_column, table.lines)
        _align(ids, table.lines, spec.id_column, None)
        truth = {column: _truth(table, column, metric) for column in wanted if column in table.header}
    except SubmissionError as exc:
        raise BundleError(exc.message, file=name, field=exc.column, row=exc.rows[0] if exc.rows else None) from None
    return Solution(ids, _usage(table, spec.usage_column, name), truth, table.lines)


def read_test_ids(source, spec: ScoringSpec, name: str = "test.csv") -> list | np.ndarray:
    """The ids of a test file (the rows a submission for it must have), in file order.

    For the visible run of a code submission, whose output must cover the
    public example's rows. Problems raise :class:`BundleError` naming ``name``.
    """
    try:
        table = _read_table(source, max(spec.max_bytes, 1 << 34))
        if spec.id_column not in table.header:
            raise BundleError(f"missing column '{spec.id_column}' (columns: {', '.join(table.header)})",
                              file=name, field=spec.id_column)
        ids = _ids(table.column(spec.id_column), spec.id_dtype, spec.id_column, table.lines)
        _align(ids, table.lines, spec.id_column, None)
    except SubmissionError as exc:
        raise BundleError(exc.message, file=name, field=exc.column, row=exc.rows[0] if exc.rows else None) from None
    return ids


def _truth(table: _Table, column: str, metric: Metric) -> np.ndarray:
    if metric.input_kind == "values":
        return _floats(table.column(column), column, table.lines)
    return np.array(_strings(table.column(column)), dtype=object)


def _usage(table: _Table, column: str, name: str) -> np.ndarray:
    usage = [text.casefold() for text in _strings(table.column(column))]
    public = np.array([u == "public" for u in usage], dtype=bool)
    private = np.array([u == "private" for u in usage], dtype=bool)
    bad = np.flatnonzero(~(public | private))
    if len(bad):
        raise BundleError(f"{len(bad)} row(s) are neither Public nor Private", file=name, field=column,
                          row=int(table.lines[bad[0]]))
    return public
