"""Handwritten digits (scikit-learn's 8x8 digits): image classification scored by accuracy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, stratified_split, stratified_usage, write_prediction_files

SLUG = "digit-images"


def build(out: Path) -> None:
    from sklearn.datasets import load_digits

    raw = load_digits()
    # Pixel (row r, column c) of the 8x8 image is column p{r}{c}: the name says where it sits.
    columns = [f"p{r}{c}" for r in range(8) for c in range(8)]
    frame = pd.DataFrame(raw.data.astype(int), columns=columns)
    frame["label"] = raw.target
    frame = shuffled(frame, seed=64)
    frame.insert(0, "id", range(1, len(frame) + 1))
    train_rows, test_rows = stratified_split(frame["label"], 0.33, seed=65)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    solution = test[["id", "label"]].copy()
    solution["Usage"] = stratified_usage(solution["label"], 0.5, seed=66)
    sample = pd.DataFrame({"id": test["id"], "label": 0})
    write_prediction_files(out, train, test.drop(columns="label"), solution, sample)
