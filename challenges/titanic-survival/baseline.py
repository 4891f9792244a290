"""Baseline: logistic regression on one-hot ticket class, age group and sex.

Reads train.csv and test.csv from the current folder, writes submission.csv
with a survival probability per passenger (never exactly 0 or 1).
"""

import pandas as pd
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
features = ["ticket_class", "age_group", "sex"]
both = pd.get_dummies(pd.concat([train[features], test[features]]))
X_train, X_test = both.iloc[: len(train)], both.iloc[len(train):]

model = LogisticRegression(max_iter=1000).fit(X_train, train["survived"])
probability = model.predict_proba(X_test)[:, 1]
pd.DataFrame({"passenger_id": test["passenger_id"], "survived": probability}).to_csv("submission.csv", index=False)
