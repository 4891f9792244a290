"""Baseline: a single feature. Rank tumours by their mean radius, nothing learned.

Reads test.csv from the current folder, writes submission.csv. ROC AUC only
looks at the order of the scores, so any increasing function of a good feature
scores the same: scores need not be probabilities.
"""

import pandas as pd

test = pd.read_csv("test.csv")
pd.DataFrame({"id": test["id"], "malignant": test["mean_radius"]}).to_csv("submission.csv", index=False)
