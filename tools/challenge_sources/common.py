"""Helpers shared by the challenge sources: deterministic splits and CSV writing.

Randomness comes from NumPy's legacy ``RandomState``, whose streams NumPy
promises never to change, so the shipped files can be rebuilt byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def rng(seed: int) -> np.random.RandomState:
    return np.random.RandomState(seed)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write without the index, with '\\n' line ends, so bytes do not depend on the platform."""
    frame.to_csv(path, index=False, lineterminator="\n")


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    return frame.iloc[rng(seed).permutation(len(frame))].reset_index(drop=True)


def stratified_usage(labels, public_fraction: float, seed: int) -> list[str]:
    """Public/Private per row, drawing the same fraction within each class.

    Rare classes (a few positives in an imbalanced test set) must reach both
    leaderboards, which a plain random draw does not guarantee.
    """
    labels = np.asarray(labels)
    usage = np.array(["Private"] * len(labels), dtype=object)
    state = rng(seed)
    for value in sorted(set(labels.tolist()), key=str):
        rows = np.flatnonzero(labels == value)
        rows = rows[state.permutation(len(rows))]
        n_public = max(1, int(round(len(rows) * public_fraction))) if len(rows) > 1 else 0
        usage[rows[:n_public]] = "Public"
    return usage.tolist()


def stratified_split(labels, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of train and test, with each class split in the same proportion."""
    labels = np.asarray(labels)
    state = rng(seed)
    train, test = [], []
    for value in sorted(set(labels.tolist()), key=str):
        rows = np.flatnonzero(labels == value)
        rows = rows[state.permutation(len(rows))]
        n_test = int(round(len(rows) * test_fraction))
        test.extend(rows[:n_test])
        train.extend(rows[n_test:])
    return np.sort(np.array(train)), np.sort(np.array(test))


def write_prediction_files(out: Path, train: pd.DataFrame, test: pd.DataFrame, solution: pd.DataFrame,
                           sample: pd.DataFrame) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_csv(train, out / "train.csv")
    write_csv(test, out / "test.csv")
    write_csv(solution, out / "solution.csv")
    write_csv(sample, out / "sample_submission.csv")
