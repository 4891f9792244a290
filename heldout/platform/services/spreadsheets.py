"""Cells of the CSV files leads download and open in a spreadsheet."""

from __future__ import annotations


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a team name like ``=HYPERLINK(...)`` is chosen by a member
    and opened by the lead, so a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a ``'``.

    >>> spreadsheet_text("=1+1"), spreadsheet_text("ada")
    ("'=1+1", 'ada')
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
