"""Baseline: bag of whole words with multinomial naive Bayes.

Reads train.csv and test.csv from the current folder, writes submission.csv.
Whole words fail on words never seen in training; character n-grams do not.
"""

import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

train = pd.read_csv("train.csv", keep_default_na=False)
test = pd.read_csv("test.csv", keep_default_na=False)

model = make_pipeline(CountVectorizer(), MultinomialNB()).fit(train["text"], train["language"])
pd.DataFrame({"id": test["id"], "language": model.predict(test["text"])}).to_csv("submission.csv", index=False)
