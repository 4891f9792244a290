"""Rare-tumour screening (scikit-learn's breast cancer set, made imbalanced): ROC AUC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import rng, shuffled, stratified_split, stratified_usage, write_prediction_files

SLUG = "tumour-screening"
MALIGNANT_KEPT = 40  # of 212: about one positive in ten rows


def build(out: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()
    features = pd.DataFrame(raw.data, columns=[c.replace(" ", "_") for c in raw.feature_names])
    # In scikit-learn's coding 0 is malignant; here the rare, interesting class is 1.
    malignant = (raw.target == 0).astype(int)
    keep = np.flatnonzero(malignant == 0).tolist()
    positives = np.flatnonzero(malignant == 1)
    keep += sorted(rng(7).choice(positives, MALIGNANT_KEPT, replace=False).tolist())
    frame = features.iloc[keep].round(6).reset_index(drop=True)
    frame["malignant"] = malignant[keep]
    frame = shuffled(frame, seed=8)
    frame.insert(0, "id", range(1, len(frame) + 1))
    train_rows, test_rows = stratified_split(frame["malignant"], 0.4, seed=9)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    solution = test[["id", "malignant"]].copy()
    solution["Usage"] = stratified_usage(solution["malignant"], 0.5, seed=10)
    sample = pd.DataFrame({"id": test["id"], "malignant": 0.1})
    write_prediction_files(out, train, test.drop(columns="malignant"), solution, sample)
