"""Palmer penguins: species probabilities scored by multiclass log-loss."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, stratified_split, stratified_usage, write_prediction_files

SLUG = "penguin-species"
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def penguin_frame() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    frame = load_penguins()
    frame = frame.astype({"species": str, "island": str})
    frame = shuffled(frame, seed=2007)
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train_rows, test_rows = stratified_split(frame["species"], 0.35, seed=2008)
    return frame.iloc[train_rows], frame.iloc[test_rows]


def build(out: Path) -> None:
    frame = penguin_frame()
    train, test = split(frame)
    solution = test[["id", "species"]].copy()
    solution["Usage"] = stratified_usage(solution["species"], 0.5, seed=2009)
    prior = train["species"].value_counts(normalize=True)
    sample = pd.DataFrame({"id": test["id"]})
    for name in SPECIES:
        sample[name] = round(float(prior[name]), 4)
    # Rounded priors may not sum to one exactly: put the remainder on the first class.
    sample[SPECIES[0]] = round(1.0 - sum(round(float(prior[n]), 4) for n in SPECIES[1:]), 4)
    write_prediction_files(out, train, test.drop(columns="species"), solution, sample)
