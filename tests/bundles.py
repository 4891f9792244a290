"""A tiny, valid challenge bundle for tests that need one loaded the real way."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_YAML = """\
slug: {slug}
title: Tiny regression
summary: Predict y from x.
description: description.md
tags: [regression]
task:
  type: regression
  metric: rmse
  id_column: id
  id_dtype: int
  target_columns: [y]
data:
  files: [train.csv, test.csv, sample_submission.csv]
  test: test.csv
  sample_submission: sample_submission.csv
  solution: solution.csv
rules:
  daily_submission_limit: {daily_limit}
"""


def write_tiny_bundle(root: Path, slug: str = "tiny-regression", *, rows: int = 40, daily_limit: int = 5,
                      shift: float = 0.0) -> Path:
    """A regression bundle with ``rows`` test rows; ``shift`` changes the solution (a new version)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows * 2)
    y = 3 * x + rng.normal(scale=0.1, size=rows * 2) + shift
    (root / "challenge.yaml").write_text(TINY_YAML.format(slug=slug, daily_limit=daily_limit))
    (root / "description.md").write_text("# Tiny regression\n\nPredict **y**. Scored by RMSE.\n")
    train = "\n".join(["id,x,y"] + [f"{i},{x[i]:.6f},{y[i]:.6f}" for i in range(rows)])
    test_ids = range(rows, 2 * rows)
    (root / "train.csv").write_text(train + "\n")
    (root / "test.csv").write_text("\n".join(["id,x"] + [f"{i},{x[i]:.6f}" for i in test_ids]) + "\n")
    (root / "sample_submission.csv").write_text("\n".join(["id,y"] + [f"{i},0.0" for i in test_ids]) + "\n")
    usage = ["Public" if i % 2 else "Private" for i in test_ids]
    (root / "solution.csv").write_text(
        "\n".join(["id,y,Usage"] + [f"{i},{y[i]:.6f},{u}" for i, u in zip(test_ids, usage)]) + "\n")
    return root


def perfect_predictions(bundle: Path) -> bytes:
    lines = (bundle / "solution.csv").read_text().splitlines()[1:]
    return ("id,y\n" + "\n".join(",".join(line.split(",")[:2]) for line in lines) + "\n").encode()


CODE_YAML = """\
slug: {slug}
title: Tiny code challenge
summary: Submit predict.py; it reads /data/test.csv and writes /output/submission.csv.
description: description.md
task:
  type: regression
  metric: rmse
  id_column: id
  id_dtype: int
  target_columns: [y]
data:
  files: [train.csv, example_test.csv, sample_submission.csv]
  test: hidden/test.csv
  sample_submission: sample_submission.csv
  solution: solution.csv
rules:
  kind: code
  daily_submission_limit: 20
  code:
    time_limit_s: {time_limit}
    memory_mb: 256
    data:
      test.csv: hidden/test.csv
      train.csv: train.csv
    example_data:
      test.csv: example_test.csv
"""

COPY_SAMPLE_PREDICT = """\
import csv
rows = list(csv.reader(open("/data/test.csv")))[1:]
with open("/output/submission.csv", "w") as out:
    out.write("id,y\\n")
    for row in rows:
        out.write(f"{row[0]},{3 * float(row[1])}\\n")
"""


EXAMPLE_ROWS = 5


def write_code_bundle(root: Path, slug: str = "tiny-code", *, time_limit: int = 30) -> Path:
    """A code challenge built on the tiny regression data: its test set hidden (``hidden/test.csv``), the
    visible run's stand-in ``example_test.csv`` holding the first training rows' features."""
    write_tiny_bundle(root, slug)
    (root / "challenge.yaml").write_text(CODE_YAML.format(slug=slug, time_limit=time_limit))
    (root / "hidden").mkdir()
    (root / "test.csv").rename(root / "hidden" / "test.csv")
    train = (root / "train.csv").read_text().splitlines()
    (root / "example_test.csv").write_text(
        "\n".join(["id,x"] + [line.rsplit(",", 1)[0] for line in train[1:EXAMPLE_ROWS + 1]]) + "\n")
    return root


# A predictions baseline as learners would run it: the downloads in its folder, submission.csv written there.
# Standard library only, so that it starts fast.
FIT_SLOPE_BASELINE = """\
import csv
train = list(csv.DictReader(open("train.csv")))
slope = sum(float(r["x"]) * float(r["y"]) for r in train) / sum(float(r["x"]) ** 2 for r in train)
print(f"fitted slope {slope:.2f}")
with open("submission.csv", "w") as out:
    out.write("id,y\\n")
    for r in csv.DictReader(open("test.csv")):
        out.write(f"{r['id']},{slope * float(r['x'])}\\n")
"""

CRASHING_BASELINE = """\
import csv
print("reading the training data")
rows = list(csv.reader(open("train_v2.csv")))
"""


def with_baseline(root: Path, script: str, *, name: str = "baseline.py", score_min: float = 0.0,
                  score_max: float = 0.5) -> Path:
    """Give a bundle a baseline section: ``script`` saved as ``name``, expected to score in [min, max]
    (the tiny bundles' RMSE for y = 3x is about 0.1)."""
    (root / name).write_text(script)
    with open(root / "challenge.yaml", "a") as yaml:
        yaml.write(f"baseline:\n  script: {name}\n  score: {{min: {score_min}, max: {score_max}}}\n")
    return root


# Prints every row it is given, twice; on the hidden test set (more rows than the example's five) it dies
# with a hidden row as its message. On the example it writes a valid file, so the hidden run does happen.
LEAKING_PREDICT = """\
import csv, sys
lines = open("/data/test.csv").read().splitlines()
for line in lines:
    print("ROW", line)
    print("ROW", line, file=sys.stderr)
rows = list(csv.reader(lines))[1:]
if len(rows) > 5:
    raise ValueError(lines[1])
with open("/output/submission.csv", "w") as out:
    out.write("id,y\\n" + "".join(f"{r[0]},{3 * float(r[1])}\\n" for r in rows))
"""


def assert_no_hidden_row(rows: list[str], *texts) -> None:
    """No hidden test row, whole or by its feature value, in any of ``texts``."""
    text = "\n".join(str(t) for t in texts if t)
    for row in rows:
        assert row not in text and row.split(",")[1] not in text, f"hidden row {row!r} leaked"
