"""Diabetes progression (scikit-learn's diabetes set) as a code challenge: MAE.

Learners never download the test features: their predict.py runs in the
sandbox with /data/train.csv and the hidden /data/test.csv mounted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, write_csv

SLUG = "diabetes-code"
TRAIN_ROWS = 300


def build(out: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    frame = shuffled(frame.round(4), seed=442)
    frame.insert(0, "id", range(1, len(frame) + 1))
    train, test = frame.iloc[:TRAIN_ROWS], frame.iloc[TRAIN_ROWS:]
    out.mkdir(parents=True, exist_ok=True)
    write_csv(train, out / "train.csv")
    # Same columns as the hidden test, rows taken from train: shows the format, leaks nothing.
    write_csv(train.drop(columns="progression").head(5), out / "example_test.csv")
    (out / "hidden").mkdir(exist_ok=True)
    write_csv(test.drop(columns="progression"), out / "hidden" / "test.csv")
    solution = test[["id", "progression"]]
    write_csv(solution, out / "hidden" / "solution.csv")
    write_csv(pd.DataFrame({"id": test["id"], "progression": float(train["progression"].median())}),
              out / "sample_submission.csv")
