"""A code challenge's limits and entry point come from its bundle's rules, with one set of defaults."""

from __future__ import annotations

import zipfile

from heldout.challenges.bundle import load_bundle, rules_of_bundle
from heldout.challenges.code import POLICY_ENTRYPOINT, code_limits, entrypoint_of, unpack_code
from heldout.runner.execute import code_limits as sandbox_limits
from heldout.runner.queue import CHECK_TIME_LIMIT_S, check_time_limit_s
from tests.challenges.test_bundle import edit_yaml, tiny

MiB = 1024 * 1024


def code_rules_of_a_bundle_stating(tmp_path, code: dict) -> dict:
    root = tiny(tmp_path)
    edit_yaml(root, lambda d: d["rules"].update(kind="code", code={
        "data": {"train.csv": "train.csv", "test.csv": "test.csv"}, **code}))
    with load_bundle(root) as bundle:
        return rules_of_bundle(bundle)


def test_a_bundle_that_states_no_limits_runs_with_2048_mib_600_s_one_cpu_and_64_processes(tmp_path):
    rules = code_rules_of_a_bundle_stating(tmp_path, {})
    limits = sandbox_limits(rules)
    assert (limits.memory_bytes, limits.timeout_s, limits.cpus, limits.pids) == (2048 * MiB, 600.0, 1.0, 64)
    assert entrypoint_of(rules) == "predict.py"


def test_stored_rules_without_a_limit_get_the_same_defaults_as_a_bundle(tmp_path):
    # A challenge stored before a limit was kept, or rules with no code section at all: the bundle's defaults.
    from_bundle = sandbox_limits(code_rules_of_a_bundle_stating(tmp_path, {}))
    assert sandbox_limits({}) == sandbox_limits({"code": {}}) == from_bundle
    assert sandbox_limits({"code": {"time_limit_s": 30}}).memory_bytes == 2048 * MiB


def test_the_limits_a_bundle_states_are_the_ones_its_runs_get(tmp_path):
    rules = code_rules_of_a_bundle_stating(tmp_path, {"time_limit_s": 30, "memory_mb": 512, "cpus": 2,
                                                      "entrypoint": "main.py"})
    limits = sandbox_limits(rules)
    assert code_limits(rules).memory_bytes == limits.memory_bytes
    assert (limits.memory_bytes, limits.timeout_s, limits.cpus) == (512 * MiB, 30.0, 2.0)
    assert entrypoint_of(rules) == "main.py"


def test_a_policy_challenge_without_an_entry_point_runs_policy_py():
    assert entrypoint_of({"code": {}}, POLICY_ENTRYPOINT) == "policy.py"


def test_a_check_runs_with_the_challenges_time_limit_cut_to_thirty_seconds():
    assert check_time_limit_s({}) == CHECK_TIME_LIMIT_S == 30.0
    assert check_time_limit_s({"code": {"time_limit_s": 5}}) == 5.0


def test_an_upload_unpacks_to_its_entry_point_or_says_why_it_cannot(tmp_path):
    script = tmp_path / "upload.py"
    script.write_text("print('hi')\n")
    (tmp_path / "a").mkdir()
    assert unpack_code(script, "mine.py", tmp_path / "a", entrypoint="main.py") is None
    assert (tmp_path / "a" / "main.py").read_text() == "print('hi')\n"

    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("lib/helper.py", "x = 1\n")
    (tmp_path / "b").mkdir()
    assert unpack_code(archive, "mine.zip", tmp_path / "b") == "The zip has no predict.py at its top level."

    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escape.py", "x = 1\n")
    (tmp_path / "c").mkdir()
    assert unpack_code(archive, "mine.zip", tmp_path / "c") == "The zip contains an unsafe path: '../escape.py'."
    assert not (tmp_path / "escape.py").exists()

    (tmp_path / "d").mkdir()
    assert "must be a predict.py file or a .zip" in unpack_code(script, "mine.txt", tmp_path / "d")
