"""``python -m heldout.challenges``: the contract the sandbox runner depends on.

Exit 0 with scores, exit 2 with the learner's error, exit 1 for everything
else (with nothing but ``{"ok": false, "internal": true}`` in OUT).
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from heldout.challenges.spec import ScoringSpec

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = "id,target,Usage\n" + "".join(f"{i},{i % 2},{'Public' if i % 3 else 'Private'}\n" for i in range(30))
SUBMISSION = "id,target\n" + "".join(f"{i},{0.6 if i % 2 else 0.3}\n" for i in range(30))


@pytest.fixture
def files(tmp_path):
    spec = tmp_path / "spec.json"
    ScoringSpec(metric="roc_auc", task_type="binary", probabilities=True, id_dtype="int").write(spec)
    (tmp_path / "solution.csv").write_text(SOLUTION)
    (tmp_path / "submission").write_text(SUBMISSION)
    return tmp_path


def run(*args):
    return subprocess.run([sys.executable, "-m", "heldout.challenges", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def score(files, submission=None, solution=None, spec=None):
    out = files / "out.json"
    result = run("score", "--spec", spec or files / "spec.json", "--submission", submission or files / "submission",
                 "--solution", solution or files / "solution.csv", "--out", out)
    payload = json.loads(out.read_text()) if out.exists() else None
    return result, payload


def test_a_good_submission_exits_0_with_finite_scores_and_timings(files):
    result, payload = score(files)
    assert result.returncode == 0, result.stderr
    assert payload["ok"] is True
    assert payload["public_score"] == 1.0 and payload["private_score"] == 1.0
    assert payload["public_rows"] == 20 and payload["private_rows"] == 10
    low, high = payload["public_ci"]
    assert math.isfinite(low) and math.isfinite(high)
    assert set(payload["timings"]) == {"import_s", "read_s", "score_s"}


def test_a_wrong_file_exits_2_with_the_error_for_the_learner(files):
    (files / "bad.csv").write_text(SUBMISSION.replace("\n4,0.3\n", "\n4,maybe\n"))
    result, payload = score(files, submission=files / "bad.csv")
    assert result.returncode == 2
    assert payload == {"ok": False, "error": {
        "message": "1 value(s) in column 'target' are not numbers: line 6 has 'maybe'",
        "column": "target", "rows": [6],
        "text": "1 value(s) in column 'target' are not numbers: line 6 has 'maybe' (column 'target'; row 6)",
        "quotes_input": True}}


def test_a_broken_solution_exits_1_with_a_traceback_and_nothing_in_out(files):
    (files / "broken.csv").write_text(SOLUTION.replace("Private", "Hidden"))
    result, payload = score(files, solution=files / "broken.csv")
    assert result.returncode == 1
    assert payload == {"ok": False, "internal": True}
    assert "Traceback" in result.stderr and "neither Public nor Private" in result.stderr


def test_a_score_undefined_on_a_split_exits_1_with_a_clear_message(files):
    (files / "one-class.csv").write_text(SOLUTION.replace(",0,Public", ",1,Public"))
    result, payload = score(files, solution=files / "one-class.csv")
    assert result.returncode == 1
    assert payload == {"ok": False, "internal": True}
    assert "undefined on the public split" in result.stderr


def test_an_unknown_metric_in_the_spec_exits_1(files):
    (files / "bad-spec.json").write_text(json.dumps({"metric": "auc"}))
    result, _ = score(files, spec=files / "bad-spec.json")
    assert result.returncode == 1 and "unknown metric 'auc'" in result.stderr


def test_a_usage_error_exits_1_not_2(files):
    result = run("score", "--spec", files / "spec.json")
    assert result.returncode == 1


def test_check_validates_without_a_solution_and_without_scoring(files):
    result = run("check", "--spec", files / "spec.json", "--submission", files / "submission")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["rows"] == 30 and "public_score" not in payload
    (files / "dup.csv").write_text(SUBMISSION + "3,0.5\n")
    result = run("check", "--spec", files / "spec.json", "--submission", files / "dup.csv",
                 "--solution", files / "solution.csv")
    assert result.returncode == 2 and "repeat an id" in json.loads(result.stdout)["error"]["message"]


def test_the_scorer_imports_neither_pandas_nor_sklearn_nor_scipy_nor_yaml():
    code = ("import sys, heldout.challenges.__main__; "
            "print([m for m in ('pandas', 'sklearn', 'scipy', 'yaml') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
