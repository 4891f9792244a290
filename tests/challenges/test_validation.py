"""Reading submissions: what is accepted, and a precise error for every way a file can be wrong.

Errors name the column and the first offending lines, numbered as an editor
shows them (the header is line 1).
"""

import gzip
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heldout.challenges.errors import BundleError, SubmissionError
from heldout.challenges.spec import ScoringSpec
from heldout.challenges.validation import read_solution, read_submission
from tests.malformed import csv_like_text, mutated

REGRESSION = ScoringSpec(metric="rmse", id_dtype="int")
PROBABILITY = ScoringSpec(metric="roc_auc", task_type="binary", probabilities=True, id_dtype="int")
MULTICLASS = ScoringSpec(metric="log_loss", task_type="multiclass", target_columns=["cat", "dog", "emu"],
                         solution_columns=["animal"], probabilities=True, rows_sum_to_one=True, id_dtype="int")
LABELS = ScoringSpec(metric="accuracy", task_type="multiclass", target_columns=["label"], labels=[1, 2, 3],
                     id_dtype="int")
STRING_IDS = ScoringSpec(metric="rmse", id_dtype="str")
IDS = [1, 2, 3, 4]
GOOD = "id,target\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n"


def read(content, spec=REGRESSION, ids=IDS):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return read_submission(data, spec, ids)


def rejection(content, spec=REGRESSION, ids=IDS) -> SubmissionError:
    with pytest.raises(SubmissionError) as info:
        read(content, spec, ids)
    return info.value


# -- accepted -----------------------------------------------------------------------------

def test_a_plain_file_gives_ids_values_and_line_numbers():
    submission = read(GOOD)
    assert list(submission.ids) == IDS
    assert submission.values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]
    assert submission.lines.tolist() == [2, 3, 4, 5]


def test_rows_in_any_order_are_put_in_the_solution_order():
    submission = read("id,target\n3,2.5\n1,0.5\n4,3.5\n2,1.5\n")
    assert submission.values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]
    assert submission.lines.tolist() == [3, 5, 2, 4]


def test_columns_in_any_order_are_accepted():
    assert read("target,id\n0.5,1\n1.5,2\n2.5,3\n3.5,4\n").values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]


@pytest.mark.parametrize("variant", [
    pytest.param(lambda text: "\ufeff" + text, id="utf-8 BOM"),
    pytest.param(lambda text: text.replace("\n", "\r\n"), id="CRLF"),
    pytest.param(lambda text: text.replace("\n", "\r"), id="CR"),
    pytest.param(lambda text: text.rstrip("\n"), id="no final newline"),
    pytest.param(lambda text: text.replace(",", " , "), id="spaces around fields"),
    pytest.param(lambda text: text + "\n\n", id="trailing blank lines"),
    pytest.param(lambda text: '"id","target"\n"1","0.5"\n2,1.5\n3,"2.5"\n"4",3.5\n', id="quoted fields"),
])
def test_common_file_variants_read_the_same(variant):
    assert read(variant(GOOD)).values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_gzip_is_recognised_by_its_magic_bytes_whatever_the_name(tmp_path):
    path = tmp_path / "submission.csv"  # no .gz
    path.write_bytes(gzip.compress(GOOD.encode()))
    assert read_submission(path, REGRESSION, IDS).values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_paths_file_objects_and_dataframes_are_accepted(tmp_path):
    pd = pytest.importorskip("pandas")
    path = tmp_path / "s.csv"
    path.write_text(GOOD)
    for source in (path, str(path), io.BytesIO(GOOD.encode()), pd.read_csv(io.StringIO(GOOD))):
        assert read_submission(source, REGRESSION, IDS).values["target"].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_quoted_labels_may_hold_commas_and_newlines():
    spec = ScoringSpec(metric="accuracy", task_type="multiclass", target_columns=["label"], id_dtype="int")
    submission = read('id,label\n1,"a, b"\n2,"two\nlines"\n3,c\n4,d\n', spec)
    assert submission.values["label"].tolist() == ["a, b", "two\nlines", "c", "d"]
    assert submission.lines.tolist() == [2, 3, 5, 6]


def test_without_solution_ids_the_file_order_is_kept():
    assert list(read("id,target\n9,1\n7,2\n", ids=None).ids) == [9, 7]


# -- the file as a whole ---------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n", b"\r\n"])
def test_an_empty_file_is_rejected(content):
    assert "empty" in rejection(content).message


@pytest.mark.parametrize("content", [b'""', b'""\n""\n', b' \n""\n'])
def test_a_file_of_empty_quoted_fields_only_is_rejected_for_its_missing_header(content):
    assert "no header row" in rejection(content).message


def test_a_header_without_rows_is_rejected():
    assert "no data rows" in rejection("id,target\n").message


def test_a_file_over_the_size_limit_is_rejected():
    spec = ScoringSpec(metric="rmse", id_dtype="int", max_bytes=20)
    assert "larger than the limit of 20 bytes" in rejection(GOOD, spec).message


class EndlessUpload(io.RawIOBase):
    """A stream that never ends, counting what is read from it."""

    def __init__(self):
        self.served = 0

    def readable(self):
        return True

    def read(self, size=-1):
        size = 1 << 16 if size is None or size < 0 else size
        self.served += size
        return b"1," * (size // 2)


def test_the_size_limit_is_enforced_while_streaming_not_after_reading_everything():
    stream = EndlessUpload()
    spec = ScoringSpec(metric="rmse", id_dtype="int", max_bytes=3 << 20)
    with pytest.raises(SubmissionError, match="larger than the limit"):
        read_submission(stream, spec, IDS)
    assert stream.served <= (3 << 20) + (1 << 20)


def test_a_gzip_bomb_is_stopped_at_the_size_limit():
    bomb = gzip.compress(b"id,target\n" + b"1,0.5\n" * 1_000_000)
    spec = ScoringSpec(metric="rmse", id_dtype="int", max_bytes=len(bomb) * 2)
    assert "decompresses to more than the limit" in rejection(bomb, spec).message


@pytest.mark.parametrize("content, expected", [
    (b"\x1f\x8b\x08\x00garbage", "cannot be decompressed"),
    (gzip.compress(GOOD.encode(), mtime=0)[:-12], "cannot be decompressed"),
    (b"PK\x03\x04\x14\x00\x00\x00", "ZIP archive"),
    (b"\xff\xfei\x00d\x00", "UTF-16"),
    (b"PAR1\x00\x00", "Parquet"),
])
def test_archives_and_other_formats_are_named(content, expected):
    assert expected in rejection(content).message


def test_binary_junk_is_rejected_with_the_line_of_the_first_nul():
    error = rejection(b"id,target\n1,0.5\n2,\x00\x01\x02\n")
    assert "binary" in error.message and error.rows == [3]


def test_text_that_is_not_utf8_names_the_byte_and_line():
    error = rejection("id,target\n1,0.5\n2,caf\xe9\n".encode("latin-1"))
    assert "not valid UTF-8" in error.message and "0xe9" in error.message and error.rows == [3]


def test_a_malformed_quote_is_reported_with_its_line():
    error = rejection('id,target\n1,0.5\n2,"1.5\n3,2.5\n')
    assert "malformed CSV" in error.message and "quotes" in error.message


# -- the header ----------------------------------------------------------------------------------

def test_a_missing_column_is_named():
    error = rejection("id,prediction\n1,0.5\n")
    assert "missing column(s) 'target'" in error.message and error.column == "target" and error.rows == [1]


def test_a_column_error_lists_the_columns_the_file_had():
    assert "the header must have exactly: id, target; the file has: id, prediction" in \
        rejection("id,prediction\n1,0.5\n").message
    assert "the file has: id, target, notes" in rejection("id,target,notes\n1,0.5,x\n").message
    assert "the file has: id, target, id" in rejection("id,target,id\n1,0.5,1\n").message
    wide = rejection("id," + ",".join(f"f{i}" for i in range(30)) + "\n1" + ",0" * 30 + "\n").message
    assert "the file has: id, f0, f1," in wide and "f18, … (31 in all)" in wide and "f19" not in wide


def test_a_column_named_in_the_wrong_case_gets_a_hint():
    assert "case-sensitive, use 'target'" in rejection("id,Target\n1,0.5\n").message


def test_a_file_without_header_gets_a_hint():
    assert "needs a header line" in rejection("1,0.5\n2,1.5\n").message


def test_an_extra_column_is_named():
    error = rejection("id,target,notes\n1,0.5,x\n")
    assert "unexpected column(s) 'notes'" in error.message and error.column == "notes"


@pytest.mark.parametrize("header", [",id,target", "Unnamed: 0,id,target"])
def test_a_saved_dataframe_index_gets_a_hint(header):
    assert "index=False" in rejection(header + "\n0,1,0.5\n").message


def test_a_repeated_column_is_rejected():
    error = rejection("id,target,target\n1,0.5,0.5\n")
    assert "appears twice" in error.message and error.column == "target"


def test_lines_with_the_wrong_number_of_fields_are_listed():
    error = rejection("id,target\n1,0.5\n2,1,5\n3,2.5\n4\n")
    assert "do not have 2 fields" in error.message and error.rows == [3, 5]
    assert "decimal comma" in error.message


# -- ids -----------------------------------------------------------------------------------------

def test_duplicate_ids_name_both_lines():
    error = rejection("id,target\n1,0.5\n2,1.5\n2,2.5\n4,3.5\n")
    assert "'2' is on line 3 and again on line 4" in error.message
    assert error.column == "id" and error.rows == [4]


def test_unknown_ids_are_listed():
    error = rejection("id,target\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n99,1\n")
    assert "not in the test set" in error.message and "'99'" in error.message
    assert "5 rows submitted, 4 expected" in error.message and error.rows == [6]


def test_missing_ids_are_listed_with_the_row_counts():
    error = rejection("id,target\n1,0.5\n3,2.5\n")
    assert "2 id(s) of the test set are missing" in error.message
    assert "2 rows submitted, 4 expected" in error.message and "'2', '4'" in error.message


def test_string_ids_compare_as_text_so_leading_zeros_matter():
    error = rejection("id,target\n7,1\n", STRING_IDS, ids=["007"])
    assert "not in the test set" in error.message
    assert read("id,target\n007,1\n", STRING_IDS, ids=["007"]).ids == ["007"]


def test_integer_ids_compare_as_numbers():
    assert list(read("id,target\n007,1\n", ids=[7]).ids) == [7]
    assert list(read("id,target\n7.0,1\n", ids=[7]).ids) == [7]


@pytest.mark.parametrize("bad", ["7.5", "seven", "1_0", "\u0667", "1" * 30])
def test_integer_ids_must_be_integers(bad):  # and fit in 64 bits
    error = rejection(f"id,target\n1,1\n{bad},2\n", ids=[1, 2])
    assert "not integers" in error.message and error.rows == [3]


def test_an_empty_id_is_rejected():
    error = rejection("id,target\n1,1\n,2\n", STRING_IDS, ids=["1", "2"])
    assert "empty id" in error.message and error.rows == [3]


# -- values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, shown", [("abc", "has 'abc'"), ("", "is empty"), ("1_000", "has '1_000'"),
                                        ("\u0661", "has '\u0661'"), ("0x1p3", "has '0x1p3'")])
def test_values_that_are_not_numbers_are_shown(bad, shown):
    error = rejection(f"id,target\n1,0.5\n2,{bad}\n3,2.5\n4,{bad}\n")
    assert "2 value(s) in column 'target' are not numbers" in error.message and shown in error.message
    assert error.column == "target" and error.rows == [3, 5]


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_nan_and_infinity_are_rejected(bad):
    error = rejection(f"id,target\n1,0.5\n2,1.5\n3,{bad}\n4,3.5\n")
    assert "NaN or infinite" in error.message and error.rows == [4]


def test_at_most_ten_rows_are_listed():
    body = "".join(f"{i},x\n" for i in range(1, 31))
    error = rejection("id,target\n" + body, ids=list(range(1, 31)))
    assert error.rows == list(range(2, 12)) and "30 value(s)" in error.message


def test_line_numbers_count_blank_lines_like_an_editor():
    error = rejection("id,target\n\n1,0.5\n\n2,oops\n3,2.5\n4,3.5\n")
    assert error.rows == [5]


def test_line_numbers_count_multiline_quoted_fields_like_an_editor():
    spec = ScoringSpec(metric="accuracy", task_type="multiclass", target_columns=["label"], labels=["a", "b"],
                       id_dtype="int")
    error = rejection('id,label\n1,"a"\n2,"b\n"\n3,c\n4,a\n', spec)
    assert error.rows == [5]


def test_probabilities_must_lie_between_0_and_1():
    error = rejection("id,target\n1,0.5\n2,1.2\n3,-0.1\n4,1\n", PROBABILITY)
    assert "not probabilities between 0 and 1" in error.message and error.rows == [3, 4]


def test_log_loss_needs_probabilities_even_if_the_spec_does_not_say_so():
    spec = ScoringSpec(metric="log_loss", task_type="binary", id_dtype="int")
    assert "not probabilities" in rejection("id,target\n1,0.5\n2,3\n3,0.5\n4,0.5\n", spec).message


def test_rmsle_rejects_negative_predictions_naming_the_column_and_rows():
    spec = ScoringSpec(metric="rmsle", id_dtype="int")
    error = rejection("id,target\n1,0.5\n2,-1.5\n3,2.5\n4,-0.1\n", spec)
    assert "negative" in error.message and "rmsle" in error.message
    assert error.column == "target" and error.rows == [3, 5]


MULTICLASS_OK = "id,cat,dog,emu\n1,0.2,0.3,0.5\n2,1,0,0\n3,0.1,0.1,0.8\n4,0.3333333,0.3333333,0.3333334\n"


def test_multiclass_rows_summing_to_one_are_accepted():
    assert read(MULTICLASS_OK, MULTICLASS).matrix(["cat", "dog", "emu"]).shape == (4, 3)


def test_multiclass_rows_must_sum_to_one_within_the_tolerance():
    error = rejection(MULTICLASS_OK.replace("2,1,0,0", "2,0.5,0.2,0.2"), MULTICLASS)
    assert "do not sum to 1" in error.message and error.rows == [3]


def test_multiclass_rows_are_rescaled_when_the_spec_renormalizes():
    spec = ScoringSpec(**{**MULTICLASS.to_dict(), "renormalize": True})
    submission = read(MULTICLASS_OK.replace("2,1,0,0", "2,0.4,0.2,0.2"), spec)
    assert submission.matrix(["cat", "dog", "emu"])[1].tolist() == [0.5, 0.25, 0.25]
    error = rejection(MULTICLASS_OK.replace("2,1,0,0", "2,0,0,0"), spec)
    assert "summing to 0" in error.message and error.rows == [3]


def test_labels_must_be_among_the_declared_labels():
    error = rejection("id,label\n1,1\n2,2\n3,4\n4,1\n", LABELS)
    assert "not among the allowed labels (1, 2, 3)" in error.message and error.rows == [4]
    assert error.column == "label"


def test_numeric_labels_match_by_value():
    assert read("id,label\n1,1.0\n2,2\n3,3.00\n4,1\n", LABELS).values["label"].tolist() == ["1.0", "2", "3.00", "1"]


def test_an_empty_label_is_rejected():
    assert "no label" in rejection("id,label\n1,1\n2,\n3,3\n4,1\n", LABELS).message


# -- the solution is the organizer's: its problems are not the learner's ---------------------------

SOLUTION = "id,target,Usage\n1,0.5,Public\n2,1.5,private\n3,2.5,PUBLIC\n4,3.5,Private\n"


def test_the_solution_gives_ids_the_public_mask_and_the_truth():
    solution = read_solution(SOLUTION.encode(), REGRESSION)
    assert list(solution.ids) == IDS
    assert solution.public.tolist() == [True, False, True, False]
    assert solution.truth["target"].tolist() == [0.5, 1.5, 2.5, 3.5]


@pytest.mark.parametrize("content, expected", [
    (SOLUTION.replace("private", "hidden"), "neither Public nor Private"),
    (SOLUTION.replace(",Usage", ",Split"), "missing column 'Usage'"),
    (SOLUTION.replace("2,1.5", "1,1.5"), "repeat an id"),
    (SOLUTION.replace("2.5", "n/a"), "not numbers"),
    (b"\x00\x01", "binary"),
])
def test_a_broken_solution_raises_a_bundle_error_not_a_submission_error(content, expected):
    data = content.encode() if isinstance(content, str) else content
    with pytest.raises(BundleError, match=expected) as info:
        read_solution(data, REGRESSION)
    assert not isinstance(info.value, SubmissionError)
    assert info.value.file == "solution.csv"


# -- whatever the bytes, the validator accepts or explains ---------------------------------------

SPECS = [REGRESSION, PROBABILITY, MULTICLASS, LABELS, STRING_IDS]


def accepts_or_explains(data: bytes, spec: ScoringSpec, ids) -> None:
    try:
        read_submission(data, spec, ids)
    except SubmissionError as error:
        assert error.message and all(isinstance(row, int) and row >= 1 for row in error.rows)
        assert len(error.rows) <= 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(SPECS), st.booleans())
def test_random_bytes_are_accepted_or_explained(data, spec, with_ids):
    ids = (["1", "2", "3", "4"] if spec.id_dtype == "str" else IDS) if with_ids else None
    accepts_or_explains(data, spec, ids)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_like_text(), st.sampled_from(SPECS))
def test_random_csv_like_text_is_accepted_or_explained(data, spec):
    accepts_or_explains(data, spec, IDS if spec.id_dtype == "int" else ["1", "2", "3", "4"])


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([(REGRESSION, GOOD), (MULTICLASS, MULTICLASS_OK),
                                   (LABELS, "id,label\n1,1\n2,2\n3,3\n4,1\n")]))
def test_mutated_valid_files_are_accepted_or_explained(data, case):
    spec, text = case
    accepts_or_explains(data.draw(mutated(text.encode())), spec, IDS)


def test_a_large_file_round_trips_exactly():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50_000) * 10.0 ** rng.integers(-30, 30, 50_000)
    text = "id,target\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(values.tolist()))
    submission = read_submission(text.encode(), REGRESSION, list(range(50_000)))
    assert np.array_equal(submission.values["target"], values)
