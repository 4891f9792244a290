"""A bundle's topic on the practice roadmap: one of a fixed list, or none."""

from __future__ import annotations

from pathlib import Path

import yaml

from heldout.challenges.bundle import load_bundle
from heldout.challenges.bundle_schema import TOPICS, check_document
from tests.challenges.test_bundle import edit_yaml, errors_of, only, tiny

CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"


def test_the_topics_follow_the_seed_roadmaps_in_order():
    assert TOPICS == ("regression", "classification", "imbalanced classification", "multiclass", "images", "text",
                      "clustering", "time series", "leakage", "code and deployment", "reinforcement learning")


def test_a_declared_topic_is_loaded_and_none_means_off_the_roadmap(tmp_path):
    root = tiny(tmp_path)
    with load_bundle(root) as bundle:
        assert bundle.topic is None
    edit_yaml(root, lambda doc: doc.update(topic="imbalanced classification"))
    with load_bundle(root) as bundle:
        assert bundle.topic == "imbalanced classification"


def test_an_unknown_topic_names_the_field_and_lists_the_allowed_values(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda doc: doc.update(topic="deep learning"))
    error = only(errors_of(root), field="topic")
    assert "'deep learning' is not one of" in error.message
    assert all(topic in error.message for topic in TOPICS)


def test_a_topic_that_is_not_a_string_is_refused(tmp_path):
    root = tiny(tmp_path)
    edit_yaml(root, lambda doc: doc.update(topic=["regression"]))
    assert "must be a string" in only(errors_of(root), field="topic").message


def test_every_shipped_practice_challenge_declares_its_topic():
    topics = {}
    for path in sorted(CHALLENGES.glob("*/challenge.yaml")):
        doc, errors = check_document(yaml.safe_load(path.read_text()))
        assert not errors, errors
        topics[doc["slug"]] = doc["topic"]
    assert None not in topics.values(), topics
    # Every topic of the roadmap has at least one shipped challenge.
    assert set(topics.values()) == set(TOPICS)
    assert topics["tumour-screening"] == "imbalanced classification"
    assert topics["wage-panel-leakage"] == "leakage"
    assert topics["cartpole-balance"] == "reinforcement learning"
