"""Palmer penguins again, as hard labels scored by accuracy (same split as penguin-species)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import stratified_usage, write_prediction_files
from .penguins import penguin_frame, split

SLUG = "penguin-species-accuracy"


def build(out: Path) -> None:
    train, test = split(penguin_frame())
    solution = test[["id", "species"]].copy()
    solution["Usage"] = stratified_usage(solution["species"], 0.5, seed=2009)
    sample = pd.DataFrame({"id": test["id"], "species": train["species"].mode()[0]})
    write_prediction_files(out, train, test.drop(columns="species"), solution, sample)
