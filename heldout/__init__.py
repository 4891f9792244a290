"""Heldout: a self-hosted, Kaggle-style practice-competition platform."""
