"""Reading submission and solution files, and telling the learner exactly what is wrong.

:func:`read_submission` returns a :class:`Submission`: the ids and one NumPy
array per target column, already checked, and, when the solution's ids are
given, reordered to the solution's row order. Anything wrong raises a
:class:`~heldout.challenges.errors.SubmissionError` that names the column and
the first offending lines (1-based, the header being line 1, as an editor
shows them). :func:`read_solution` reads the organizer's answer key the same
way; its problems raise :class:`~heldout.challenges.errors.BundleError`.

Files are parsed with the standard library, not pandas: importing pandas
would cost more than scoring a typical submission inside the sandbox.
Numbers are parsed with Python's ``float``, which rounds correctly.
Accepted: UTF-8 with or without BOM, LF/CRLF/CR line ends, quoted fields,
gzip compression (recognised by its magic bytes), columns in any order,
blank lines (skipped). A pandas DataFrame is accepted in place of a file.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from itertools import repeat
from typing import cast

import numpy as np

from .errors import BundleError, SubmissionError
from .metrics import Metric, get_metric
from .metrics.inputs import paused_gc
from .spec import ScoringSpec

_READ_CHUNK = 1 << 20
_SHOWN_ROWS = 10
_NUMERIC_KINDS = ("values", "probabilities", "returns")
_NAMED_BINARIES = {
    b"PK\x03\x04": "a ZIP archive (or an Excel workbook)",
    b"PAR1": "a Parquet file",
    b"\x89HDF": "an HDF5 file",
    b"\x93NUMPY": "a NumPy .npy file",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"%PDF": "a PDF document",
}


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


# -- the table: header, columns of cells, line numbers ------------------------------------

@dataclass
class _Table:
    header: list[str]
    columns: list  # one list of str per column (or arrays, from a DataFrame)
    lines: np.ndarray  # line number of each data row
    header_line: int = 1

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def column(self, name: str):
        return self.columns[self.header.index(name)]


def _read_bytes(source, max_bytes: int) -> bytes:
    """All of ``source``, refusing to read past ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return data
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            return _read_limited(stream, max_bytes)
    return _read_limited(source, max_bytes)


def _read_limited(stream, max_bytes: int) -> bytes:
    # Counting while streaming stops an oversized (or endless) upload after
    # max_bytes instead of holding all of it in memory first.
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            return b"".join(parts)
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        parts.append(chunk)


def _too_large(max_bytes: int) -> SubmissionError:
    return SubmissionError(f"the file is larger than the limit of {max_bytes:,} bytes", quotes_input=False)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    import gzip
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            text = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SubmissionError(f"the file starts like gzip but cannot be decompressed ({exc})") from None
    if len(text) > max_bytes:
        raise SubmissionError(f"the file decompresses to more than the limit of {max_bytes:,} bytes",
                              quotes_input=False)
    return text


def _decode(data: bytes) -> str:
    for magic, what in _NAMED_BINARIES.items():
        if data.startswith(magic):
            raise SubmissionError(f"the file is {what}, not CSV text: upload a .csv file (it may be gzip-compressed)",
                                  quotes_input=False)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError("the file is UTF-16 encoded: save it as UTF-8 CSV", quotes_input=False)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SubmissionError("the file contains NUL bytes: it is binary, not CSV text", rows=[_line_of(data, nul)],
                              quotes_input=False)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise SubmissionError(f"the file is not valid UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): "
                              "save it as UTF-8", rows=[line]) from None


def _line_of(data: bytes, offset: int) -> int:
    """The line holding byte ``offset``, counting LF (or, in a file without LF, CR) line ends."""
    newline = b"\n" if b"\n" in data else b"\r"
    return data.count(newline, 0, offset) + 1


def _parse(text: str) -> _Table:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SubmissionError("the file is empty", quotes_input=False)
    if '"' in text:
        records, lines = _parse_quoted(text)
    else:
        records, lines = _parse_plain(text)
    header = [name.strip() for name in records[0]]
    return _Table(header, records[1:], lines[1:], header_line=int(lines[0]))


def _parse_plain(text: str) -> tuple[list, np.ndarray]:
    """Split a file without quotes: every line is one record.

    Returns ``[header, column, column, ...]`` and the line numbers of the
    header and of every data row. Blank lines (empty, or spaces and tabs)
    are skipped; they turn up among the lines whose comma count is off, so
    a well-formed file is never scanned for them separately.
    """
    raw = text.split("\n")
    while not raw[-1].strip(" \t"):  # the file is not blank, so this stops at the header
        raw.pop()
    first = 0
    while not raw[first].strip(" \t"):
        first += 1
    width = raw[first].count(",") + 1
    counts = list(map(str.count, raw, repeat(",")))
    odd = [] if counts.count(width - 1) == len(raw) else [i for i, c in enumerate(counts) if c != width - 1]
    if width == 1 and "" in raw:  # an empty line has the same (zero) commas as a one-column header
        odd = sorted(set(odd) | {i for i, line in enumerate(raw) if not line})
    blank = {i for i in odd if not raw[i].strip(" \t")}
    wrong = [i for i in odd if i not in blank]
    if wrong:
        raise _field_count_error(width, [counts[i] + 1 for i in wrong], np.array(wrong) + 1)
    if blank:
        keep = [i for i in range(len(raw)) if i not in blank]
        raw = [raw[i] for i in keep]
        lines = np.array(keep, dtype=np.int64) + 1
        body = ",".join(raw[1:])
    else:
        lines = np.arange(1, len(raw) + 1)
        # The body straight from the text: every line string costs ~60 bytes
        # more than its characters, so the lines go before the fields come.
        body = text[len(raw[0]) + 1:].rstrip(" \t\n").replace("\n", ",")
    header = raw[0].split(",")
    del raw
    if len(lines) == 1:
        return [header], lines
    # With exactly width - 1 commas per line, the fields of all lines laid
    # end to end split into rows at every width-th field.
    flat = body.split(",")
    del body
    return [header] + [flat[j::width] for j in range(width)], lines


def _parse_quoted(text: str) -> tuple[list, np.ndarray]:
    # skipinitialspace: `1, "0.5"` (a space after the comma) is still a quoted field.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    records, starts, previous = [], [], 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record or (len(record) == 1 and not record[0].strip(" \t")):
                continue
            records.append(record)
            starts.append(start)
    except csv.Error as exc:
        line = reader.line_num
        raise SubmissionError(f"malformed CSV near line {line}: {exc} (check the quotes)", rows=[line]) from None
    lines = np.array(starts, dtype=np.int64)
    width = len(records[0])
    lengths = list(map(len, records))
    if lengths.count(width) != len(lengths):
        bad = [i for i, n in enumerate(lengths) if n != width]
        raise _field_count_error(width, [lengths[i] for i in bad], lines[bad])
    body = records[1:]
    columns = [list(column) for column in zip(*body)] if body else []
    return [records[0]] + columns, lines


def _field_count_error(width: int, found: list[int], lines: np.ndarray) -> SubmissionError:
    first = found[0]
    hint = ""
    if first > width:
        hint = " (a decimal comma, an unquoted comma in a value, or a trailing comma?)"
    return SubmissionError(f"{len(found)} line(s) do not have {width} fields like the header: "
                           f"line {int(lines[0])} has {first}{hint}", rows=_first(lines), quotes_input=False)


def _table_from_frame(frame) -> _Table:
    header = [str(name).strip() for name in frame.columns]
    columns = [frame.iloc[:, j].to_numpy() for j in range(len(header))]
    return _Table(header, columns, np.arange(2, len(frame) + 2))


def _read_table(source, max_bytes: int) -> _Table:
    if hasattr(source, "columns") and hasattr(source, "iloc"):
        return _table_from_frame(source)
    data = _read_bytes(source, max_bytes)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, max_bytes)
    text = _decode(data)
    del data  # the bytes are not needed past decoding; a large file's peak memory counts
    return _parse(text)


# -- cells to typed values ----------------------------------------------------------------

def _first(lines) -> list[int]:
    return [int(x) for x in np.asarray(lines)[:_SHOWN_ROWS]]


def _shown(value) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _strings(cells) -> list[str]:
    if isinstance(cells, np.ndarray):
        return ["" if v is None else str(v).strip() for v in cells.tolist()]
    return list(map(str.strip, cells))


def _floats(cells, column: str, lines: np.ndarray) -> np.ndarray:
    """Numbers of a column; rejects text, empty cells, NaN and infinity."""
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "biuf":
        values = cells.astype(np.float64)
    else:
        texts = _strings(cells) if isinstance(cells, np.ndarray) else cells
        values = None
        joined = "".join(texts)
        # float() also takes "1_000" and non-ASCII digits; a CSV reader should not.
        if joined.isascii() and "_" not in joined:
            try:
                values = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
            except ValueError:
                pass
        if values is None:
            _raise_not_numbers(texts, column, lines)
    assert values is not None  # _raise_not_numbers raised
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise SubmissionError(f"{len(bad)} value(s) in column '{column}' are NaN or infinite "
                              f"(line {int(lines[bad[0]])}): every row needs a finite number",
                              column=column, rows=_first(lines[bad]), quotes_input=False)
    return values


def _is_number(text: str) -> bool:
    if not text.isascii() or "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _raise_not_numbers(texts: list[str], column: str, lines: np.ndarray):
    bad = [i for i, text in enumerate(texts) if not _is_number(text)]
    first = texts[bad[0]].strip()
    what = "is empty" if not first else f"has {_shown(first)}"
    raise SubmissionError(f"{len(bad)} value(s) in column '{column}' are not numbers: line {int(lines[bad[0]])} {what}",
                          column=column, rows=_first(lines[bad]))


def _ids(cells, id_dtype: str, column: str, lines: np.ndarray):
    """Ids per ``spec.id_dtype``: a list of ``str``, or an int64 array for ``int``
    (where integral floats like ``7.0`` count as ``7``)."""
    texts = _strings(cells)
    empty = [i for i, t in enumerate(texts) if not t] if "" in texts else []
    if empty:
        raise SubmissionError(f"{len(empty)} row(s) have an empty id (line {int(lines[empty[0]])})",
                              column=column, rows=_first(lines[empty]), quotes_input=False)
    if id_dtype == "str":
        return texts
    joined = "".join(texts)
    if joined.isascii() and "_" not in joined:
        try:
            return np.fromiter(map(int, texts), dtype=np.int64, count=len(texts))
        except (ValueError, OverflowError):
            pass
    numbers = list(map(_integer, texts))
    bad = [i for i, number in enumerate(numbers) if number is None or not -2**63 <= number < 2**63]
    if bad:
        raise SubmissionError(f"{len(bad)} id(s) are not integers (of at most 18 digits): line "
                              f"{int(lines[bad[0]])} has {_shown(texts[bad[0]])}", column=column,
                              rows=_first(lines[bad]))
    return np.array(numbers, dtype=np.int64)


def _integer(text: str) -> int | None:
    if not _is_number(text):
        return None
    try:
        return int(text)
    except ValueError:
        number = float(text)
        return int(number) if number.is_integer() else None


class LabelTable:
    """Maps label cells to positions in a label list.

    A cell matches a label when its text equals ``str(label)``, or when both
    are numbers of equal value (``"1.0"`` matches ``1``).
    """

    def __init__(self, labels: list):
        self.labels = list(labels)
        self._by_text: dict[str, int] = {}
        self._by_number: dict[float, int] = {}
        for code, label in enumerate(self.labels):
            self._by_text.setdefault(str(label).strip(), code)
            number = _as_number(label)
            if number is not None:
                self._by_number.setdefault(number, code)

    def codes(self, texts: list[str]) -> np.ndarray:
        """Positions of ``texts`` in the label list, -1 where none matches."""
        found = list(map(self._by_text.get, texts))
        if None in found:
            for i, code in enumerate(found):
                if code is None:
                    number = _as_number(texts[i])
                    found[i] = self._by_number.get(number, -1) if number is not None else -1
        return np.array(found, dtype=np.int64)


def as_numbers(texts: list[str]) -> list[float] | None:
    """The numbers the texts spell, or ``None`` if any is not a number."""
    numbers = [_as_number(text) for text in texts]
    return None if None in numbers else cast("list[float]", numbers)


def _as_number(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _is_number(value.strip()):
        return float(value)
    return None


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
