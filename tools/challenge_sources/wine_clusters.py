"""Wine cultivars (scikit-learn's wine set) with the labels removed: clustering scored by ARI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import shuffled, stratified_usage, write_csv

SLUG = "wine-clusters"


def build(out: Path) -> None:
    from sklearn.datasets import load_wine

    raw = load_wine()
    frame = pd.DataFrame(raw.data, columns=[c.replace("/", "_") for c in raw.feature_names]).round(4)
    frame["cultivar"] = raw.target
    frame = shuffled(frame, seed=178)
    frame.insert(0, "id", range(1, len(frame) + 1))
    out.mkdir(parents=True, exist_ok=True)
    # Learners cluster every row: the features they get and the rows they label are the same file.
    write_csv(frame.drop(columns="cultivar"), out / "wines.csv")
    solution = frame[["id", "cultivar"]].rename(columns={"cultivar": "cluster"})
    solution["Usage"] = stratified_usage(solution["cluster"], 0.5, seed=179)
    write_csv(solution, out / "solution.csv")
    write_csv(pd.DataFrame({"id": frame["id"], "cluster": 0}), out / "sample_submission.csv")
