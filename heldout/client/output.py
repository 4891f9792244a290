"""Printing results: a readable table by default, or CSV or JSON for pipelines.

Tables are for people (scores rounded, times shortened); CSV and JSON carry
the values exactly as the API sent them, with the same column names, so
``heldout leaderboard SLUG --csv | sort -t, -k3`` and ``... --json | jq`` work.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from tabulate import tabulate

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    show: Callable[[object], str] | None = None  # how the table shows a value; CSV and JSON keep it raw

    def cell(self, row: dict) -> object:
        value = row.get(self.key)
        if self.show is not None and value is not None:
            return self.show(value)
        return "" if value is None else value


def score(value: object) -> str:
    return f"{value:.5f}" if isinstance(value, (int, float)) else str(value)


def host(value: object) -> str:
    # Only a host's own submissions say so; everyone else's column stays empty.
    return "host" if value is True else ""


def late(value: object) -> str:
    # Only late submissions say so (made after the end: never ranked).
    return "late" if value is True else ""


def when(value: object) -> str:
    # ISO timestamps to "2026-01-01 12:00"; they are UTC.
    return str(value).replace("T", " ")[:16]


def print_rows(rows: list[dict], columns: list[Column], fmt: str, *, out: TextIO | None = None,
               empty: str = "nothing to show") -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps([{c.key: row.get(c.key) for c in columns} for row in rows], indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for row in rows:
            writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    elif not rows:
        out.write(empty + "\n")
    else:
        out.write(tabulate([[c.cell(row) for c in columns] for row in rows], headers=[c.header for c in columns],
                           disable_numparse=True) + "\n")


def print_json(value: object, *, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(json.dumps(value, indent=2) + "\n")


def print_record(record: dict, fields: list[Column], fmt: str, *, out: TextIO | None = None) -> None:
    """One object: its fields as name/value lines for people, the whole object for JSON."""
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(record, indent=2) + "\n")
    elif fmt == "csv":
        print_rows([record], fields, "csv", out=out)
    else:
        out.write(tabulate([[c.header, c.cell(record)] for c in fields], tablefmt="plain",
                           disable_numparse=True) + "\n")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '102nd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_placing(placed: dict) -> list[str]:
    """Where a late submission would have placed (the API's ``would_have_placed``), as a line for people."""
    boards = [f"{ordinal(placed[board])} on the {board} leaderboard" for board in ("private", "public")
              if placed.get(board) is not None]
    if not boards:
        return []
    return [f"late: never ranked; it would have placed {' and '.join(boards)}, of {placed['of']} teams"]


def describe_standing(standing: dict) -> list[str]:
    """Where a scored submission leaves its team (the API's ``standing``), as lines for people."""
    if standing["holds_row"]:
        place = f"#{standing['rank']} of {standing['teams']} teams on the public leaderboard"
    else:
        place = (f"your team stays #{standing['team_rank']} (another submission is its best); "
                 f"were this one its best: #{standing['rank']} of {standing['teams']}")
    if standing["previous_best"] is None:
        change = "your team's first score"
    elif not standing["change"]:
        change = f"the same as your team's previous best ({score(standing['previous_best'])})"
    else:
        better = "better" if standing["improved"] else "worse"
        change = f"{score(abs(standing['change']))} {better} than your team's previous best " \
                 f"({score(standing['previous_best'])})"
    return [f"where you stand: {place}; {change}", f"leaderboard: {standing['leaderboard_url']}"]
