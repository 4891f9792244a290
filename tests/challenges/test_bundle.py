"""Loading challenge bundles: a valid one loads; each kind of broken one is refused, naming where."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from heldout.challenges.bundle import Bundle, load_bundle, solution_as_submission, validate_bundle
from heldout.challenges.errors import BundleError, BundleErrors
from heldout.challenges.scoring import score_files

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "tiny-binary"


def tiny(tmp_path: Path, name: str = "tiny") -> Path:
    root = tmp_path / name
    shutil.copytree(TINY, root)
    return root


def edit_yaml(root: Path, change) -> None:
    """Apply ``change(doc)`` to the bundle's challenge.yaml."""
    doc = yaml.safe_load((root / "challenge.yaml").read_text())
    change(doc)
    (root / "challenge.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def errors_of(root: Path) -> list[BundleError]:
    errors = validate_bundle(root)
    assert errors, "the broken bundle was accepted"
    return errors


def only(errors: list[BundleError], **where) -> BundleError:
    """The one error matching ``where`` (file=..., field=...)."""
    found = [e for e in errors if all(getattr(e, k) == v for k, v in where.items())]
    assert len(found) == 1, f"expected one error at {where}, got: {[str(e) for e in errors]}"
    return found[0]


# -- a valid bundle ---------------------------------------------------------------------------------

def test_valid_bundle_loads_with_everything_the_platform_stores(tmp_path):
    with load_bundle(tiny(tmp_path)) as bundle:
        assert isinstance(bundle, Bundle)
        assert (bundle.slug, bundle.title, bundle.difficulty, bundle.task_type) == \
            ("tiny-binary", "Tiny binary", "beginner", "binary")
        assert bundle.description_md.startswith("# Tiny")
        assert bundle.metric == "log_loss" and bundle.greater_is_better is False
        assert bundle.spec.metric == "log_loss" and bundle.spec.id_dtype == "int"
        assert bundle.spec.probabilities and bundle.spec.labels == [0, 1]
        assert [f.name for f in bundle.files] == ["train.csv", "test.csv", "sample_submission.csv"]
        assert all(len(f.sha256) == 64 and f.size == f.path.stat().st_size for f in bundle.files)
        assert bundle.solution.name == "solution.csv" and bundle.solution_hash == bundle.solution.sha256
        assert bundle.rules.starts_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
        assert bundle.rules.daily_limit == 5 and bundle.rules.leaderboard.mode == "classic"
        assert bundle.baseline.script.name == "baseline.py" and bundle.baseline.accepts(0.6)
        json.dumps(bundle.rules.to_dict())  # storable as JSON
        json.dumps(bundle.spec.to_dict())


def test_loading_twice_gives_the_same_hashes_and_an_edit_changes_them(tmp_path):
    root = tiny(tmp_path)
    first = load_bundle(root)
    second = load_bundle(root)
    assert first.content_hash == second.content_hash and first.solution_hash == second.solution_hash
    (root / "description.md").write_text("# Tiny, reworded\n")
    third = load_bundle(root)
    assert third.content_hash != first.content_hash and third.solution_hash == first.solution_hash
    for b in (first, second, third):
        b.cleanup()


def test_junk_files_do_not_change_the_content_hash(tmp_path):
    root = tiny(tmp_path)
    before = load_bundle(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "baseline.cpython-311.pyc").write_bytes(b"\0")
    (root / ".DS_Store").write_bytes(b"\0")
    after = load_bundle(root)
    assert before.content_hash == after.content_hash
    before.cleanup()
    after.cleanup()


def test_cleanup_removes_temporary_files_and_is_idempotent(tmp_path):
    bundle = load_bundle(tiny(tmp_path))
    temp = bundle._tempdir
    assert temp is not None and temp.exists()
    with bundle:
        pass
    assert not temp.exists()
    bundle.cleanup()
    assert (tmp_path / "tiny" / "solution.csv").exists()  # a folder bundle's own files are never touched


def test_the_solution_as_a_submission_scores_perfectly(tmp_path):
    with load_bundle(tiny(tmp_path)) as bundle:
        result = score_files(solution_as_submission(bundle, tmp_path / "perfect.csv"), bundle.solution.path,
                             bundle.spec)
    assert result.public_score == pytest.approx(0.0, abs=1e-9)
    assert result.private_score == pytest.approx(0.0, abs=1e-9)


# -- challenge.yaml fields --------------------------------------------------------------------------

def test_yaml_syntax_error_names_the_line(tmp_path):
    root = tiny(tmp_path)
    (root / "challenge.yaml").write_text("slug: x\ntask: [unclosed\n")
    error = only(errors_of(root), file="challenge.yaml")
    assert "not valid YAML" in error.message and error.row is not None


def test_missing_yaml_is_reported(tmp_path):
    root = tiny(tmp_path)
    (root / "challenge.yaml").unlink()
    assert "no challenge.yaml" in only(errors_of(root), file="challenge.yaml").message


def test_missing_required_field_names_its_path(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["task"].pop("metric"))
    assert "required" in only(errors_of(root), field="task.metric").message


def test_unknown_field_names_its_path_and_suggests_the_right_one(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(daily_limit=3))
    error = only(errors_of(root), field="rules.daily_limit")
    assert "unknown field" in error.message and "daily_submission_limit" in error.message


def test_mistyped_fields_are_each_reported(tmp_path):
    root = tiny(tmp_path)

    def change(d):
        d["rules"]["daily_submission_limit"] = "five"
        d["tags"] = "binary"
        d["task"]["probabilities"] = "yes"
        d["difficulty"] = "expert"
        d["slug"] = "Tiny Binary!"

    edit_yaml(root, change)
    errors = errors_of(root)
    assert "integer" in only(errors, field="rules.daily_submission_limit").message
    assert "list of strings" in only(errors, field="tags").message
    assert "true or false" in only(errors, field="task.probabilities").message
    assert "beginner" in only(errors, field="difficulty").message
    assert "lowercase" in only(errors, field="slug").message


def test_unknown_metric_lists_the_known_ones(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["task"].update(metric="logloss"))
    message = only(errors_of(root), field="task.metric").message
    assert "unknown metric 'logloss'" in message and "log_loss" in message and "rmse" in message


def test_metric_must_suit_the_task_type(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["task"].update(metric="rmse"))
    message = only(errors_of(root), field="task.metric").message
    assert "does not suit task type 'binary'" in message


def test_unknown_metric_params_are_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["task"].update(metric_params={"k": 5}))
    assert "no option" in only(errors_of(root), field="task.metric_params").message


def test_end_before_start_is_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(start="2025-06-01T00:00:00Z", end="2025-05-01T00:00:00Z"))
    assert "before it starts" in only(errors_of(root), field="rules.end").message


def test_a_team_merge_deadline_must_fall_inside_the_timeline(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(start="2025-05-01T00:00:00Z", end="2025-06-01T00:00:00Z",
                                                team_merge_deadline="2025-06-02T00:00:00Z"))
    assert "after the end" in only(errors_of(root), field="rules.team_merge_deadline").message


def test_a_team_merge_deadline_is_loaded(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(start="2025-05-01T00:00:00Z", end="2025-06-01T00:00:00Z",
                                                team_merge_deadline="2025-05-25T12:00:00Z"))
    with load_bundle(root) as bundle:
        assert bundle.rules.team_merge_deadline.isoformat() == "2025-05-25T12:00:00+00:00"
        assert bundle.rules.to_dict()["team_merge_deadline"] == "2025-05-25T12:00:00+00:00"


@pytest.mark.parametrize("value, words", [
    ("2025-06-01T00:00:00", "time zone"),
    ("next tuesday", "ISO-8601"),
    ("2025-06-01", "needs a time"),
])
def test_bad_times_are_refused(tmp_path, value, words):
    root = tiny(tmp_path)
    text = (root / "challenge.yaml").read_text().replace("start: 2025-01-01T00:00:00Z", f"start: {value}")
    (root / "challenge.yaml").write_text(text)
    assert words in only(errors_of(root), field="rules.start").message


def test_open_ended_times_are_allowed(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(start=None, end=None))
    with load_bundle(root) as bundle:
        assert bundle.rules.starts_at is None and bundle.rules.ends_at is None


def test_leaderboard_modes_need_their_parameter(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(leaderboard={"mode": "rounded"}))
    assert "digits" in only(errors_of(root), field="rules.leaderboard.digits").message
    edit_yaml(root, lambda d: d["rules"].update(leaderboard={"mode": "ladder", "digits": 3}))
    errors = errors_of(root)
    assert "step" in only(errors, field="rules.leaderboard.step").message
    assert "only applies" in only(errors, field="rules.leaderboard.digits").message
    edit_yaml(root, lambda d: d["rules"].update(leaderboard={"mode": "ladder", "step": 0.01}))
    with load_bundle(root) as bundle:
        assert bundle.rules.leaderboard.mode == "ladder" and bundle.rules.leaderboard.step == 0.01


def test_code_kind_needs_code_rules_and_predictions_kind_refuses_them(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(kind="code"))
    assert "rules.code" in only(errors_of(root), field="rules.code").message
    edit_yaml(root, lambda d: d["rules"].update(kind="predictions", code={"time_limit_s": 10}))
    assert "only applies" in only(errors_of(root), field="rules.code").message


def test_code_rules_load_with_their_mounts(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(kind="code", code={
        "entrypoint": "predict.py", "time_limit_s": 30, "memory_mb": 512, "cpus": 1,
        "data": {"train.csv": "train.csv", "test.csv": "test.csv"}}))
    with load_bundle(root) as bundle:
        assert bundle.kind == "code" and bundle.rules.code.time_limit_s == 30
        assert [f.name for f in bundle.runtime_files] == ["test.csv", "train.csv"]


def test_code_mount_of_the_solution_or_a_missing_file_is_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(kind="code", code={
        "data": {"answers.csv": "solution.csv", "extra.csv": "nowhere.csv", "../up.csv": "train.csv"}}))
    errors = errors_of(root)
    assert "never be mounted" in only(errors, file="solution.csv").message
    assert "missing" in only(errors, file="nowhere.csv").message
    assert ".." in only(errors, field="rules.code.data").message


def test_a_hidden_mount_needs_a_public_stand_in_for_the_visible_run(tmp_path):
    root = tiny(tmp_path)
    (root / "hidden").mkdir()
    (root / "hidden" / "test.csv").write_text((root / "test.csv").read_text())
    edit_yaml(root, lambda d: d["rules"].update(kind="code", code={
        "data": {"train.csv": "train.csv", "test.csv": "hidden/test.csv"}}))
    assert "rules.code.example_data.test.csv" in only(errors_of(root), field="rules.code.data.test.csv").message
    # The stand-in itself must be a learner download: its run's logs are shown.
    edit_yaml(root, lambda d: d["rules"]["code"].update(example_data={"test.csv": "hidden/test.csv"}))
    assert "data.files" in only(errors_of(root), field="rules.code.example_data.test.csv").message
    edit_yaml(root, lambda d: d["rules"]["code"].update(example_data={"test.csv": "test.csv", "extra.csv": "test.csv"}))
    assert "does not mount" in only(errors_of(root), field="rules.code.example_data.extra.csv").message
    edit_yaml(root, lambda d: d["rules"]["code"].update(example_data={"test.csv": "test.csv"}))
    with load_bundle(root) as bundle:
        visible = {f.name: f.path.name for f in bundle.example_files}
        hidden = {f.name: str(f.path.relative_to(root)) for f in bundle.runtime_files}
        assert visible == {"test.csv": "test.csv", "train.csv": "train.csv"}
        assert hidden == {"test.csv": "hidden/test.csv", "train.csv": "train.csv"}


def test_baseline_range_must_be_ordered(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["baseline"].update(score={"min": 0.9, "max": 0.1}))
    assert "greater than max" in only(errors_of(root), field="baseline.score").message


def test_every_problem_is_reported_at_once(tmp_path):
    root = tiny(tmp_path)

    def change(d):
        d["task"]["metric"] = "nope"
        d["rules"]["max_team_size"] = 0
        d["data"]["files"].append("missing.csv")

    edit_yaml(root, change)
    with pytest.raises(BundleErrors) as caught:
        load_bundle(root)
    fields = {(e.file, e.field) for e in caught.value.errors}
    assert ("challenge.yaml", "task.metric") in fields
    assert ("challenge.yaml", "rules.max_team_size") in fields
    assert ("missing.csv", "data.files") in fields
    assert "task.metric" in str(caught.value)  # the exception text lists them all


# -- files ------------------------------------------------------------------------------------------

def test_missing_referenced_files_are_named(tmp_path):
    root = tiny(tmp_path)
    (root / "test.csv").unlink()
    (root / "description.md").unlink()
    errors = errors_of(root)
    assert "missing" in only(errors, file="test.csv", field="data.test").message
    assert "missing" in only(errors, file="description.md").message


def test_paths_outside_the_bundle_are_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["data"].update(files=["/etc/passwd", "../secret.csv"]))
    errors = [e for e in errors_of(root) if e.field == "data.files"]
    assert any("absolute" in e.message for e in errors) and any("outside" in e.message for e in errors)


def test_the_solution_may_never_be_a_download(tmp_path):
    root = tiny(tmp_path)
    shutil.copy(root / "solution.csv", root / "answers_copy.csv")
    edit_yaml(root, lambda d: d["data"]["files"].extend(["solution.csv", "answers_copy.csv"]))
    errors = errors_of(root)
    assert "hidden solution" in only(errors, file="solution.csv").message
    assert "hidden solution" in only(errors, file="answers_copy.csv").message


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_in_a_folder_bundle_are_refused(tmp_path):
    root = tiny(tmp_path)
    (root / "train.csv").unlink()
    (root / "train.csv").symlink_to(TINY / "train.csv")
    errors = errors_of(root)
    assert any(e.file == "train.csv" and "symbolic link" in e.message for e in errors)


# -- the solution and the other tables -------------------------------------------------------------

def test_solution_ids_differing_from_test_are_named_with_rows(tmp_path):
    root = tiny(tmp_path)
    text = (root / "solution.csv").read_text().replace("105,1,Public", "905,1,Public")
    (root / "solution.csv").write_text(text)
    errors = errors_of(root)
    in_solution = only(errors, file="solution.csv", field="id")
    assert "905" in in_solution.message and in_solution.row == 6 and "test.csv" in in_solution.message
    in_test = only(errors, file="test.csv", field="id")
    assert "105" in in_test.message and in_test.row == 6


def test_duplicate_ids_are_named_with_rows(tmp_path):
    root = tiny(tmp_path)
    text = (root / "solution.csv").read_text().replace("104,0,Private", "103,0,Private")
    (root / "solution.csv").write_text(text)
    error = only(errors_of(root), file="solution.csv", field="id")
    assert "duplicate id 103" in error.message and "line 4" in error.message and error.row == 5


def test_non_integer_ids_are_refused_for_int_ids(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text((root / "solution.csv").read_text().replace("101,1", "A1,1"))
    error = only(errors_of(root), file="solution.csv", field="id")
    assert "not an integer" in error.message and error.row == 2


@pytest.mark.parametrize("replace, words", [
    ("Private", "no Private rows"),
    ("Public", "no Public rows"),
])
def test_usage_needs_both_public_and_private_rows(tmp_path, replace, words):
    root = tiny(tmp_path)
    other = "Public" if replace == "Private" else "Private"
    (root / "solution.csv").write_text((root / "solution.csv").read_text().replace(replace, other))
    assert any(words in e.message for e in errors_of(root) if e.field == "Usage")


def test_usage_with_other_values_is_refused(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text((root / "solution.csv").read_text().replace("102,0,Private", "102,0,Hidden"))
    error = [e for e in errors_of(root) if e.field == "Usage"][0]
    assert "'Hidden'" in error.message and error.row == 3


def test_missing_usage_column_without_a_split_is_refused(tmp_path):
    root = tiny(tmp_path)
    lines = (root / "solution.csv").read_text().splitlines()
    (root / "solution.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    assert "data.split" in only(errors_of(root), file="solution.csv", field="Usage").message


def test_a_declared_split_is_drawn_deterministically(tmp_path):
    root = tiny(tmp_path)
    lines = (root / "solution.csv").read_text().splitlines()
    (root / "solution.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    edit_yaml(root, lambda d: d["data"].update(split={"public_fraction": 0.25, "seed": 7}))
    with load_bundle(root) as first, load_bundle(root) as second:
        derived = first.solution.path.read_text()
        assert derived == second.solution.path.read_text()
        assert first.solution_hash == second.solution_hash
        usage = [line.rsplit(",", 1)[1] for line in derived.splitlines()[1:]]
        assert usage.count("Public") == 3 and usage.count("Private") == 9
        assert first.solution.path.parent == first._tempdir  # never written into the bundle
    assert "Usage" not in (root / "solution.csv").read_text()


def test_a_split_and_a_usage_column_together_are_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["data"].update(split={"public_fraction": 0.5, "seed": 1}))
    assert "keep one" in only(errors_of(root), file="solution.csv", field="Usage").message


def test_missing_truth_column_and_bad_labels_are_refused(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text((root / "solution.csv").read_text().replace("103,1,", "103,7,"))
    error = only(errors_of(root), file="solution.csv", field="y")
    assert "task.labels" in error.message and error.row == 4
    edit_yaml(root, lambda d: d["task"].update(target_columns=["z"]))
    assert "missing" in only(errors_of(root), file="solution.csv", field="z").message


def test_sample_submission_must_pass_submission_checks(tmp_path):
    root = tiny(tmp_path)
    lines = (root / "sample_submission.csv").read_text().splitlines()
    (root / "sample_submission.csv").write_text("\n".join(lines[:-2]) + "\n")  # two ids short
    error = only(errors_of(root), file="sample_submission.csv")
    assert "submission checks" in error.message


def test_sample_submission_with_invalid_probabilities_is_refused(tmp_path):
    root = tiny(tmp_path)
    (root / "sample_submission.csv").write_text(
        (root / "sample_submission.csv").read_text().replace("101,0.5", "101,1.5"))
    assert only(errors_of(root), file="sample_submission.csv")


def test_sample_submission_without_the_target_column_is_refused(tmp_path):
    root = tiny(tmp_path)
    (root / "sample_submission.csv").write_text((root / "sample_submission.csv").read_text().replace("id,y", "id,p"))
    assert "submission column" in only(errors_of(root), file="sample_submission.csv", field="y").message


def test_unreadable_tables_are_reported(tmp_path):
    root = tiny(tmp_path)
    (root / "test.csv").write_bytes(b"")
    (root / "solution.csv").write_bytes(b"id,y,Usage\n\xff\xfe,1,Public\n")
    errors = errors_of(root)
    assert "empty" in only(errors, file="test.csv").message
    assert "UTF-8" in only(errors, file="solution.csv").message


# -- task types -------------------------------------------------------------------------------------

def test_multiclass_probabilities_need_a_label_column(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["task"].update(type="multiclass", target_columns=["a", "b"], labels=None,
                                               rows_sum_to_one=True))
    assert "one label column" in only(errors_of(root), field="task.solution_columns").message


def test_multiclass_probability_bundle_loads_and_its_perfect_submission_is_one_hot(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text(
        (root / "solution.csv").read_text().replace("id,y,", "id,animal,").replace(",1,", ",cat,").replace(",0,", ",dog,"))
    (root / "sample_submission.csv").write_text(
        "id,cat,dog\n" + "".join(f"{i},0.5,0.5\n" for i in range(101, 113)))
    edit_yaml(root, lambda d: d["task"].update(type="multiclass", target_columns=["cat", "dog"],
                                               solution_columns=["animal"], labels=None, rows_sum_to_one=True))
    with load_bundle(root) as bundle:
        perfect = solution_as_submission(bundle, tmp_path / "perfect.csv")
        assert perfect.read_text().splitlines()[:2] == ["id,cat,dog", "101,1,0"]
        assert score_files(perfect, bundle.solution.path, bundle.spec).public_score == pytest.approx(0, abs=1e-9)


def test_a_regression_bundle_needs_test_and_sample_files(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: (d["data"].pop("test"), d["data"].pop("sample_submission")))
    errors = errors_of(root)
    assert "required" in only(errors, field="data.test").message
    assert "required" in only(errors, field="data.sample_submission").message


def test_reinforcement_needs_a_known_environment_and_code_kind(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text("episode,seed,Usage\n0,11,Public\n1,12,Private\n")

    def change(d):
        d["task"] = {"type": "reinforcement", "metric": "mean_episode_return", "id_column": "episode",
                     "id_dtype": "int", "environment": {"name": "mountain-car"}}
        d["data"] = {"files": ["baseline.py"], "solution": "solution.csv"}

    edit_yaml(root, change)
    errors = errors_of(root)
    assert "unknown environment" in only(errors, field="task.environment.name").message
    assert "code" in only(errors, field="rules.kind").message


def test_reinforcement_bundle_loads(tmp_path):
    root = tiny(tmp_path)
    (root / "solution.csv").write_text("episode,seed,Usage\n0,11,Public\n1,12,Private\n")

    def change(d):
        d["task"] = {"type": "reinforcement", "metric": "mean_episode_return", "id_column": "episode",
                     "id_dtype": "int", "environment": {"name": "cartpole", "params": {"max_steps": 50}}}
        d["data"] = {"files": ["baseline.py"], "solution": "solution.csv"}
        d["rules"].update(kind="code", code={"entrypoint": "policy.py"})

    edit_yaml(root, change)
    with load_bundle(root) as bundle:
        assert bundle.environment.name == "cartpole" and bundle.environment.params == {"max_steps": 50}
        assert bundle.spec.target_columns == ["return"] and bundle.sample_submission is None


def test_not_a_bundle_at_all(tmp_path):
    with pytest.raises(BundleErrors) as caught:
        load_bundle(tmp_path / "nothing-here")
    assert "no such folder" in str(caught.value)


def test_a_bundle_names_the_same_leaderboard_modes_as_the_platform():
    # The bundle schema spells the modes out (it runs in the sandbox, without the models); they must agree.
    from heldout.challenges.bundle_schema import LEADERBOARD_MODES
    from heldout.models import LeaderboardMode

    assert LEADERBOARD_MODES == tuple(mode.value for mode in LeaderboardMode)
