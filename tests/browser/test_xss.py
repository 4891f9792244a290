"""Script payloads stored in every field a user can write, then every page that shows them opened in a
real browser: nothing may run, no dialog may open, and no payload element may reach the page.

The Content-Security-Policy would block an inline script even if escaping failed, so the test also
fails on any CSP violation report and on any injected element: escaping, not only the policy, must hold.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import zip_folder
from tests.bundles import perfect_predictions, write_tiny_bundle

pytestmark = pytest.mark.e2e

# At most 80 characters: it must fit a team name, a group name and a token name whole.
PAYLOAD = '"><img src=x onerror=window.__xss=1><script>window.__xss=2</script>'
# Had escaping failed, the payload's elements would be here with their handlers. (The description's own
# <img src="x"> may stay: the sanitiser keeps images and strips only their handlers.)
INJECTED = ("script:not([src]), [onerror], [onload], svg, iframe, a[href^='javascript'], [href^='javascript'], "
            "maction, math [style]")

DESCRIPTION = f"""# Overview {PAYLOAD}

<script>window.__xss = 3</script>
<img src="x" onerror="window.__xss = 4">
<a href="javascript:window.__xss=5">click me</a> and [a link](javascript:alert(1)).

Formulas carry no markup: $\\text{{<img src=x onerror=window.__xss=6>}}$ and
$$\\href{{javascript:window.__xss=7}}{{x}} + \\text{{<script>window.__xss=8</script>}}$$

<math><mi href="javascript:window.__xss=9">y</mi><maction actiontype="toggle"><mi>z</mi></maction></math>
"""


def _assert_inert(visitor, path: str) -> None:  # noqa: ANN001
    visitor.goto(path)
    page = visitor.page
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__xss") == "undefined", path
    assert page.locator(INJECTED).count() == 0, (path, page.locator(INJECTED).evaluate_all(
        "els => els.map(e => e.outerHTML)"))
    assert not visitor.dialogs, (path, visitor.dialogs)
    assert not visitor.errors, (path, visitor.errors)


def test_no_stored_payload_runs_on_any_page(live, visitors, tmp_path):
    live.ensure_worker()
    live.create_user("olgax", "--organizer")
    bundle = write_tiny_bundle(tmp_path / "bundle", slug="xss-stage")
    yaml = (bundle / "challenge.yaml").read_text()
    yaml = yaml.replace("title: Tiny regression", f"title: '{PAYLOAD} stage'")
    yaml = yaml.replace("summary: Predict y from x.", f"summary: '{PAYLOAD}'")
    (bundle / "challenge.yaml").write_text(yaml)
    (bundle / "description.md").write_text(DESCRIPTION)
    archive = tmp_path / "xss.zip"
    archive.write_bytes(zip_folder(bundle))

    organizer = visitors("olgax")
    organizer.log_in()
    organizer.goto("/organizer")
    organizer.page.get_by_label("Bundle (.zip)").set_input_files(str(archive))
    organizer.page.get_by_role("button", name="Check and upload").click()
    organizer.page.get_by_role("button", name="Publish").click()
    expect(organizer.page.get_by_text("Published: learners can see it now.")).to_be_visible()

    mallory = visitors("mallory")
    # The username itself: refused by its rules, and echoed back into the form harmlessly.
    mallory.goto("/register")
    mallory.page.get_by_label("Username").fill(PAYLOAD)
    mallory.page.get_by_label("Password (8 characters or more)").fill("correct horse battery")
    mallory.page.get_by_role("button", name="Create account").click()
    expect(mallory.page.get_by_text("Usernames are 3–40")).to_be_visible()
    assert mallory.page.evaluate("typeof window.__xss") == "undefined"
    mallory.register()
    page = mallory.page

    mallory.goto("/c/xss-stage/team")
    page.get_by_label(re.compile("Create a team named|Team name")).fill(PAYLOAD)
    page.get_by_role("button", name=re.compile("Create team|Rename")).click()

    mallory.goto("/c/xss-stage#submit")
    page.get_by_label("Your predictions").set_input_files(
        files=[{"name": f"{PAYLOAD[:40]}.csv", "mimeType": "text/csv", "buffer": perfect_predictions(bundle)}])
    page.get_by_label("Message (optional)").fill(PAYLOAD)
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    submission_path = page.url.removeprefix(live.base)
    expect(page.locator("#status")).to_have_text("scored", timeout=90_000)

    mallory.goto("/groups")
    page.get_by_label("Name", exact=True).fill(PAYLOAD)
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name=PAYLOAD)).to_be_visible()
    group_path = page.url.removeprefix(live.base)

    mallory.goto("/account")
    page.get_by_label("Name (what will use it)").fill(PAYLOAD)
    page.get_by_role("button", name="Create a token").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()

    for path in ("/", "/?tag=regression", "/?q=stage", "/c/xss-stage", "/c/xss-stage#data", "/c/xss-stage#evaluation",
                 "/c/xss-stage#leaderboard", "/c/xss-stage#my-submissions", "/c/xss-stage/leaderboard",
                 "/c/xss-stage/team", submission_path, "/account", "/groups", group_path):
        _assert_inert(mallory, path)
    expect(page.get_by_text(PAYLOAD).first).to_be_visible()  # shown, as text
    mallory.goto("/c/xss-stage#leaderboard")
    mallory.screenshot("5-xss-leaderboard")
    mallory.goto(submission_path)
    mallory.screenshot("5-xss-submission")

    for path in ("/organizer", "/organizer/c/xss-stage", "/c/xss-stage"):
        _assert_inert(organizer, path)
    organizer.screenshot("5-xss-challenge-page")
