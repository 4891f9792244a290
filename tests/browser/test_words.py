"""Words that fit each challenge, in a real browser: the Data tab, the upload label and the file check name the
bundle's own entry point (never predict.py where it isn't), and a column error lists the columns the file had."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.bundles import write_code_bundle, write_tiny_bundle

pytestmark = pytest.mark.e2e

SHIPPED = Path(__file__).resolve().parents[2] / "challenges"


def _check(page, name: str, content: bytes, label: str) -> None:  # noqa: ANN001
    page.locator("nav.tabs").get_by_role("link", name="Submit").click()
    page.get_by_label(label).set_input_files(files=[{"name": name, "mimeType": "application/octet-stream",
                                                      "buffer": content}])
    page.get_by_role("button", name="Check my file").click()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_reinforcement_learning_challenge_asks_for_its_policy_never_for_predict_py(live, visitors, phone):
    live.load_bundle(SHIPPED / "cartpole-balance")  # the second time, a no-op
    learner = visitors("rl-" + ("phone" if phone else "desktop"), phone=phone)
    learner.register()
    page = learner.page
    learner.goto("/c/cartpole-balance")
    page.locator("nav.tabs").get_by_role("link", name="Data").click()
    data = page.locator("#data")
    expect(data).to_contain_text("Submit a policy.py that defines act(observation), returning an action")
    expect(data).not_to_contain_text("Columns, in order")  # the solution's columns are nothing to submit
    learner.screenshot(f"words-rl-data-{'phone' if phone else 'desktop'}")
    label = "Your policy.py defining act(), or a .zip with policy.py"
    _check(page, "predictions.csv", b"episode,return\n", label)
    expect(page.locator("#upload-status")).to_contain_text(
        "This is a code challenge: submit a policy.py file defining act(), or a .zip with policy.py.")
    learner.screenshot(f"words-rl-check-{'phone' if phone else 'desktop'}")
    for where in ("/c/cartpole-balance", "/c/cartpole-balance#submit"):
        learner.goto(where)
        assert "predict.py" not in page.locator("main").inner_text()


def test_a_code_challenge_asks_for_predict_py_and_a_column_error_lists_the_columns_found(live, visitors, tmp_path):
    live.load_bundle(write_code_bundle(tmp_path / "code"))
    live.load_bundle(write_tiny_bundle(tmp_path / "tiny", slug="column-words"))
    bo = visitors("bob")  # usernames are 3 to 40 characters
    bo.register()
    page = bo.page
    bo.goto("/c/tiny-code")
    page.locator("nav.tabs").get_by_role("link", name="Data").click()
    expect(page.locator("#data")).to_contain_text("Submit a predict.py, or a .zip holding it.")
    page.locator("nav.tabs").get_by_role("link", name="Submit").click()
    expect(page.get_by_label("Your predict.py, or a .zip with predict.py")).to_be_visible()

    bo.goto("/c/column-words")
    _check(page, "preds.csv", b"id,prediction\n40,1.0\n", "Your predictions (CSV, optionally gzipped)")
    expect(page.locator("#upload-status")).to_contain_text(
        "missing column(s) 'y'; the header must have exactly: id, y; the file has: id, prediction")
    bo.screenshot("words-column-error")
