"""Baseline: seasonal naive. Each month of 1959 and 1960 repeats the same month of 1958.

Reads train.csv and test.csv from the current folder, writes submission.csv.
It captures the seasonality but not the growth from year to year.
"""

import pandas as pd

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
last_year = {month[5:]: value for month, value in zip(train["month"], train["passengers"])
             if month.startswith("1958")}
forecast = [last_year[month[5:]] for month in test["month"]]
pd.DataFrame({"month": test["month"], "passengers": forecast}).to_csv("submission.csv", index=False)
