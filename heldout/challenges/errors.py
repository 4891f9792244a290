"""Errors raised while reading challenges and submissions.

Every error names *where* the problem is (file, field, column, rows) so that a
learner or organizer can act on it without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SubmissionError(Exception):
    """A submission file the learner must fix.

    ``rows`` are 1-based line numbers as the learner's editor shows them (the
    header is line 1, so the first data row is line 2). At most ten are kept.
    Never put values of the solution's private rows in ``message``.

    ``quotes_input`` says whether ``message`` may quote what the file (or a
    policy's answer) holds: a value, a header name, an id. The hidden run of a
    code submission shows such a message only as its column and rows, since the
    file was written by code that read hidden data; a message that only counts
    and names lines (``quotes_input=False``) is shown as it is.
    """

    message: str
    column: str | None = None
    rows: list[int] = field(default_factory=list)
    quotes_input: bool = True

    def __post_init__(self) -> None:
        super().__init__(self.message)
        self.rows = list(self.rows)[:10]

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.rows:
            where.append("row" + ("s " if len(self.rows) > 1 else " ") + ", ".join(map(str, self.rows)))
        return self.message + (f" ({'; '.join(where)})" if where else "")

    def to_dict(self) -> dict:
        return {"message": self.message, "column": self.column, "rows": self.rows, "text": str(self),
                "quotes_input": self.quotes_input}

    @classmethod
    def from_dict(cls, data: dict) -> "SubmissionError":
        return cls(message=str(data.get("message", "invalid submission")),
                   column=data.get("column"), rows=list(data.get("rows") or []),
                   quotes_input=data.get("quotes_input") is not False)


@dataclass
class BundleError(Exception):
    """A challenge bundle the organizer must fix: names the file and the field or row."""

    message: str
    file: str | None = None
    field: str | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.field) if p)
        if self.row is not None:
            where += f" row {self.row}"
        return f"{where}: {self.message}" if where else self.message


class BundleErrors(Exception):
    """Every problem found in one bundle, reported together."""

    def __init__(self, errors: list[BundleError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
