"""Reading a CSV file (or a DataFrame) into columns of cells, and cells into typed values.

The reading half of :mod:`heldout.challenges.validation`, which checks what is
read against a challenge's spec. Anything unreadable raises a
:class:`~heldout.challenges.errors.SubmissionError` that names the column and
the first offending lines (1-based, the header being line 1, as an editor shows
them).

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

from .errors import SubmissionError
from .upload import TooLarge, read_bounded

_SHOWN_ROWS = 10
_NAMED_BINARIES = {
    b"PK\x03\x04": "a ZIP archive (or an Excel workbook)",
    b"PAR1": "a Parquet file",
    b"\x89HDF": "an HDF5 file",
    b"\x93NUMPY": "a NumPy .npy file",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"%PDF": "a PDF document",
}


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
    try:
        return read_bounded(stream, max_bytes)
    except TooLarge:
        raise _too_large(max_bytes) from None


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
    if not records:  # every record was an empty quoted field, such as a file holding only ""
        raise SubmissionError("the file has no header row: its only fields are empty", quotes_input=False)
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
