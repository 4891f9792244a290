"""Baseline: ridge regression on one-hot characteristics (person_id deliberately left out).

Reads train.csv and test.csv from the current folder, writes submission.csv.
It also prints two cross-validation estimates of the same model: one from a
random row split (leaky: a man's other years sit in the training folds) and
one from GroupKFold by person_id (honest). Compare them with the leaderboard.
"""

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold, cross_val_score

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
features = ["year", "school", "exper", "union", "ethn", "married", "health", "industry", "occupation", "residence"]
both = pd.get_dummies(pd.concat([train[features], test[features]]).astype({"year": str}))
X_train, X_test = both.iloc[: len(train)], both.iloc[len(train):]
y = train["log_wage"]

model = Ridge(alpha=1.0)
leaky = KFold(5, shuffle=True, random_state=0).split(X_train)
honest = GroupKFold(5).split(X_train, y, groups=train["person_id"])
for name, folds in (("random KFold", leaky), ("GroupKFold", honest)):
    scores = -cross_val_score(model, X_train, y, cv=list(folds), scoring="neg_root_mean_squared_error")
    print(f"{name:12s} RMSE {scores.mean():.4f}")

model.fit(X_train, y)
pd.DataFrame({"id": test["id"], "log_wage": model.predict(X_test)}).to_csv("submission.csv", index=False)
