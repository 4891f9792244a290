"""A file written in the hidden run and rejected by the checker: what the learner reads of the verdict.

Code that read the hidden test set can try to smuggle it out through the checker's message, by writing an
invalid ``submission.csv`` whose bad value, header, id or label *is* a hidden row. Whatever the file holds, the
hidden run's verdict (``runner.visible.hidden_rejection``) says where the problem is (an expected column, line
numbers) and, when the checker's words would quote the file, only a fixed sentence. Each case below writes the
secret where that checker would quote it; the real checker judges the file, as the scoring stage does.
"""

from __future__ import annotations

import gzip
import json

import pytest

from heldout.challenges.errors import SubmissionError
from heldout.challenges.scoring import score_submission
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.validation import read_solution, read_submission
from heldout.runner.visible import hidden_rejection

SECRET = "H1DD3N-ROW"  # a hidden row's text
NUMBER = "31.41592"  # a hidden feature's value

REGRESSION = ScoringSpec(metric="rmse", id_dtype="int")
NONNEGATIVE = ScoringSpec(metric="rmsle", id_dtype="int")
PROBABILITY = ScoringSpec(metric="roc_auc", task_type="binary", probabilities=True, id_dtype="int")
MULTICLASS = ScoringSpec(metric="log_loss", task_type="multiclass", target_columns=["cat", "dog", "emu"],
                         solution_columns=["animal"], probabilities=True, rows_sum_to_one=True, id_dtype="int")
LABELS = ScoringSpec(metric="accuracy", task_type="multiclass", target_columns=["label"], labels=["a", "b"],
                     id_dtype="int")
UNDECLARED_LABELS = ScoringSpec(metric="accuracy", task_type="binary", target_columns=["label"], id_dtype="int")
STRING_IDS = ScoringSpec(metric="rmse", id_dtype="str")

SOLUTIONS = {
    "target": "id,target,Usage\n1,0.5,Public\n2,1.5,Private\n3,2.5,Public\n4,3.5,Private\n",
    "animal": "id,animal,Usage\n1,cat,Public\n2,dog,Private\n3,emu,Public\n4,cat,Private\n",
    "label": "id,label,Usage\n1,a,Public\n2,b,Private\n3,a,Public\n4,b,Private\n",
}

HOSTILE = {
    "a value that is not a number": (REGRESSION, f"id,target\n1,{SECRET}\n2,1\n3,1\n4,1\n"),
    "a probability out of range": (PROBABILITY, f"id,target\n1,{NUMBER}\n2,0.5\n3,0.5\n4,0.5\n"),
    "a negative value": (NONNEGATIVE, f"id,target\n1,-{NUMBER}\n2,1\n3,1\n4,1\n"),
    "rows that do not sum to one": (MULTICLASS, f"id,cat,dog,emu\n1,0,0,{NUMBER[:4]}\n2,1,0,0\n3,1,0,0\n4,1,0,0\n"),
    "an extra column": (REGRESSION, f"id,target,{SECRET}\n1,1,1\n2,1,1\n3,1,1\n4,1,1\n"),
    "a missing column": (REGRESSION, f"id,{SECRET}\n1,1\n2,1\n3,1\n4,1\n"),
    "a column twice": (REGRESSION, f"id,{SECRET},{SECRET}\n1,1,1\n"),
    "an id not in the test set": (STRING_IDS, f"id,target\n{SECRET},1\n2,1\n3,1\n4,1\n"),
    "an id that is not an integer": (REGRESSION, f"id,target\n{SECRET},1\n2,1\n3,1\n4,1\n"),
    "an integer id not in the test set": (REGRESSION, "id,target\n314159265,1\n2,1\n3,1\n4,1\n"),
    "a repeated id": (STRING_IDS, f"id,target\n{SECRET},1\n{SECRET},1\n1,1\n2,1\n"),
    "a label not allowed": (LABELS, f"id,label\n1,{SECRET}\n2,a\n3,a\n4,a\n"),
    "a label unknown to the scorer": (UNDECLARED_LABELS, f"id,label\n1,{SECRET}\n2,a\n3,a\n4,a\n"),
    "a broken quote": (REGRESSION, f'id,target\n1,"{SECRET}\n2,1\n'),
    "bytes that are not UTF-8": (REGRESSION, f"id,target\n1,{SECRET}".encode() + b"\xe9\n"),
    "a gzip that does not unpack": (REGRESSION, b"\x1f\x8b" + SECRET.encode()),
    "a row with too many fields": (REGRESSION, f"id,target\n1,1,{SECRET}\n2,1\n3,1\n4,1\n"),
}


def checkers_verdict(spec: ScoringSpec, content: str | bytes) -> SubmissionError:
    """What the scoring stage reports for ``content``: reading it against the solution, then scoring it."""
    solution_csv = SOLUTIONS[(spec.solution_columns or spec.target_columns)[0]]
    data = content.encode() if isinstance(content, str) else content
    solution = read_solution(solution_csv.encode(), spec)
    with pytest.raises(SubmissionError) as rejected:
        score_submission(read_submission(data, spec, solution.ids), solution, spec)
    return rejected.value


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hidden_runs_rejected_file_is_described_without_a_byte_it_holds(case):
    spec, content = HOSTILE[case]
    verdict = checkers_verdict(spec, content)
    expected = [spec.id_column, *spec.target_columns]
    text, detail = hidden_rejection(verdict.to_dict(), expected)
    shown = text + json.dumps(detail)
    for smuggled in (SECRET, NUMBER, NUMBER[:4], "314159265", "0xe9"):
        assert smuggled not in shown, (case, text)
    assert detail["column"] in (*expected, None)
    assert all(isinstance(row, int) for row in detail["rows"])
    assert detail["text"] == text and detail["quotes_input"] is False


def test_the_fixed_sentence_replaces_a_message_that_would_quote_the_file_and_keeps_where():
    verdict = checkers_verdict(REGRESSION, f"id,target\n1,1\n2,{SECRET}\n3,1\n4,1\n")
    assert SECRET in str(verdict)  # the checker's own words quote it, as a learner's own upload should be told
    text, detail = hidden_rejection(verdict.to_dict(), ["id", "target"])
    assert text.startswith("it is not in the expected format (the checker's own message would quote what your code "
                           "wrote from the hidden data, so it is not shown")
    assert text.endswith("(column 'target'; line 3)") and detail["rows"] == [3]


def test_a_message_that_quotes_nothing_is_kept_with_its_counts_and_lines():
    verdict = checkers_verdict(REGRESSION, f"id,target\n1,1,{SECRET}\n2,1\n3,1\n4,1\n")
    text, _ = hidden_rejection(verdict.to_dict(), ["id", "target"])
    assert text == "1 line(s) do not have 2 fields like the header: line 2 has 3 (a decimal comma, an unquoted " \
                   "comma in a value, or a trailing comma?) (line 2)"


def test_a_column_the_challenge_does_not_expect_is_never_named_and_rows_must_be_numbers():
    forged = {"message": "x", "quotes_input": False, "column": SECRET, "rows": [2, SECRET, True, 3.5, 4]}
    text, detail = hidden_rejection(forged, ["id", "target"])
    assert SECRET not in text + json.dumps(detail)
    assert detail["column"] is None and detail["rows"] == [2, 4]


def test_a_gzip_that_unpacks_to_hidden_rows_is_judged_like_plain_text():
    verdict = checkers_verdict(REGRESSION, gzip.compress(f"id,target\n1,{SECRET}\n2,1\n3,1\n4,1\n".encode()))
    text, _ = hidden_rejection(verdict.to_dict(), ["id", "target"])
    assert SECRET not in text and "column 'target'; line 2" in text
