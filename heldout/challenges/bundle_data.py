"""Checks of a bundle's tables: the hidden solution, test.csv and the sample submission.

Tables are read with every cell as text, so ids such as ``007`` survive and a
problem can quote exactly what the organizer wrote. Row numbers in errors are
line numbers as an editor shows them: the header is line 1, the first data
row line 2.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pandas as pd

from .errors import BundleError
from .split import USAGE_VALUES, usage_problems

_SHOW = 5  # how many offending ids or rows an error names


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def line_of(index: int) -> int:
    """The editor line of 0-based data row ``index`` (header on line 1)."""
    return index + 2


def read_table(path: Path, label: str) -> tuple[pd.DataFrame | None, list[BundleError]]:
    """The CSV at ``path`` as text cells, or the reason it cannot be read."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        return None, [BundleError("file is missing", label)]
    except UnicodeDecodeError:
        return None, [BundleError("is not UTF-8 text", label)]
    except pd.errors.EmptyDataError:
        return None, [BundleError("is empty: a CSV needs a header line and rows", label)]
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        return None, [BundleError(f"cannot be read as CSV: {exc}", label)]
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        return None, [BundleError(f"has duplicate column(s) {', '.join(dup)}", label)]
    return frame, []


def normalized_ids(frame: pd.DataFrame, id_column: str, id_dtype: str) -> list:
    """Ids as they are compared: ints for ``int`` ids (so ``07`` is ``7``), else the exact text."""
    values = frame[id_column].tolist()
    if id_dtype == "int":
        return [int(v) for v in values]
    return values


def check_ids(frame: pd.DataFrame, id_column: str, id_dtype: str, label: str) -> list[BundleError]:
    """The id column exists, is filled, has the declared type and no repeats."""
    if id_column not in frame.columns:
        return [BundleError(f"has no id column {id_column!r} (columns: {', '.join(map(str, frame.columns))})",
                            label, id_column)]
    errors = []
    values = frame[id_column].tolist()
    empty = [k for k, v in enumerate(values) if not str(v).strip()]
    for k in empty[:_SHOW]:
        errors.append(BundleError("empty id", label, id_column, line_of(k)))
    if id_dtype == "int":
        for k, v in enumerate(values):
            try:
                int(v)
            except ValueError:
                if str(v).strip():
                    errors.append(BundleError(f"id {v!r} is not an integer (task.id_dtype is int)",
                                              label, id_column, line_of(k)))
                    break
    if errors:
        return errors
    seen: dict = {}
    for k, v in enumerate(normalized_ids(frame, id_column, id_dtype)):
        if v in seen:
            errors.append(BundleError(f"duplicate id {v!r} (first on line {line_of(seen[v])})",
                                      label, id_column, line_of(k)))
            if len(errors) >= _SHOW:
                break
        else:
            seen[v] = k
    return errors


def compare_ids(reference: pd.DataFrame, ref_label: str, other: pd.DataFrame, other_label: str,
                id_column: str, id_dtype: str) -> list[BundleError]:
    """Errors naming ids present in one table and not the other (with their lines)."""
    ref_ids = normalized_ids(reference, id_column, id_dtype)
    other_ids = normalized_ids(other, id_column, id_dtype)
    ref_set, other_set = set(ref_ids), set(other_ids)
    errors = []
    only_ref = [(k, v) for k, v in enumerate(ref_ids) if v not in other_set]
    only_other = [(k, v) for k, v in enumerate(other_ids) if v not in ref_set]
    if only_ref:
        shown = ", ".join(f"{v!r} (line {line_of(k)})" for k, v in only_ref[:_SHOW])
        errors.append(BundleError(
            f"{len(only_ref)} id(s) are not in {other_label}: {shown}", ref_label, id_column, line_of(only_ref[0][0])))
    if only_other:
        shown = ", ".join(f"{v!r} (line {line_of(k)})" for k, v in only_other[:_SHOW])
        errors.append(BundleError(
            f"{len(only_other)} id(s) are not in {ref_label}: {shown}", other_label, id_column,
            line_of(only_other[0][0])))
    return errors


def check_columns(frame: pd.DataFrame, columns: list[str], label: str, what: str) -> list[BundleError]:
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return []
    return [BundleError(f"{what} column(s) {', '.join(missing)} missing (columns: "
                        f"{', '.join(map(str, frame.columns))})", label, missing[0])]


def check_usage(frame: pd.DataFrame, usage_column: str, label: str) -> list[BundleError]:
    values = frame[usage_column].tolist()
    errors = [BundleError(p, label, usage_column) for p in usage_problems(values)]
    bad = [k for k, v in enumerate(values) if v not in USAGE_VALUES]
    if bad:
        errors[0].row = line_of(bad[0])
    return errors


def check_solution_values(frame: pd.DataFrame, columns: list[str], task_type: str, labels: list | None,
                          label: str) -> list[BundleError]:
    """Truth values the metric can use: filled, numeric for numeric tasks, within the label set."""
    errors = []
    for column in columns:
        values = frame[column].tolist()
        empty = [k for k, v in enumerate(values) if not str(v).strip()]
        if empty:
            errors.append(BundleError(f"{len(empty)} empty truth value(s)", label, column, line_of(empty[0])))
            continue
        if task_type in ("regression", "forecasting"):
            for k, v in enumerate(values):
                try:
                    float(v)
                except ValueError:
                    errors.append(BundleError(f"{v!r} is not a number", label, column, line_of(k)))
                    break
        if labels is not None:
            allowed = {str(x) for x in labels}
            for k, v in enumerate(values):
                if v not in allowed:
                    errors.append(BundleError(f"{v!r} is not one of task.labels", label, column, line_of(k)))
                    break
    return errors


def write_with_usage(source: Path, target: Path, usage: list[str], usage_column: str) -> None:
    """Copy the CSV ``source`` to ``target`` with a Usage column appended, cells untouched."""
    with open(source, newline="", encoding="utf-8") as src, open(target, "w", newline="", encoding="utf-8") as out:
        reader = csv.reader(src)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(next(reader) + [usage_column])
        # pandas skips blank lines when it reads the table, so skip them here too.
        for row, value in zip((r for r in reader if r), usage):
            writer.writerow(row + [value])
