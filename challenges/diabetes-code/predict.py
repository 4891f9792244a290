"""Baseline predict.py for the diabetes code challenge: ridge regression on all features.

The platform runs this file with the data mounted read-only at /data
(train.csv, test.csv) and expects /output/submission.csv. HELDOUT_DATA_DIR and
HELDOUT_OUTPUT_DIR name the same folders, so the script also runs on your
machine: HELDOUT_DATA_DIR=. HELDOUT_OUTPUT_DIR=. python predict.py
(with example_test.csv copied to test.csv).
"""

import os

import pandas as pd
from sklearn.linear_model import Ridge

data_dir = os.environ.get("HELDOUT_DATA_DIR", "/data")
output_dir = os.environ.get("HELDOUT_OUTPUT_DIR", "/output")

train = pd.read_csv(os.path.join(data_dir, "train.csv"))
test = pd.read_csv(os.path.join(data_dir, "test.csv"))
features = [c for c in test.columns if c != "id"]

model = Ridge(alpha=1.0).fit(train[features], train["progression"])
submission = pd.DataFrame({"id": test["id"], "progression": model.predict(test[features])})
submission.to_csv(os.path.join(output_dir, "submission.csv"), index=False)
