"""Hypothesis strategies for malformed prediction files: random bytes, CSV-like text, and a valid file with a few
bytes inserted, deleted or replaced (sometimes gzip-compressed). The validation suite reads them in process; the
warm scorer's tests send thousands through its children."""

from __future__ import annotations

import gzip

from hypothesis import strategies as st

CSV_ALPHABET = st.sampled_from(list('0123456789.,-+e"\n\r \tidtargetcatdogemulabelnaNIfyUsage')
                               + ["\ufeff", "\x00", "é"])


def csv_like_text(max_size: int = 200) -> st.SearchStrategy[bytes]:
    return st.lists(CSV_ALPHABET, max_size=max_size).map("".join).map(lambda text: text.encode("utf-8"))


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with one to four single-byte edits, gzip-compressed half the time."""
    raw = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.integers(0, 255))
        if action == "insert":
            raw.insert(position, byte)
        elif position < len(raw):
            if action == "delete":
                del raw[position]
            else:
                raw[position] = byte
    if draw(st.booleans()):
        raw = bytearray(gzip.compress(bytes(raw)))
    return bytes(raw)


def malformed_files(valid: bytes) -> st.SearchStrategy[bytes]:
    """Any of the three kinds, around the valid file ``valid``."""
    return st.binary(max_size=300) | csv_like_text() | mutated(valid)
