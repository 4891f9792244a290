"""Whole journeys through the site in a real browser, against real server and worker processes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import zip_folder
from tests.bundles import (
    FIT_SLOPE_BASELINE,
    LEAKING_PREDICT,
    assert_no_hidden_row,
    perfect_predictions,
    with_baseline,
    write_code_bundle,
    write_tiny_bundle,
)

pytestmark = pytest.mark.e2e

SCORING_TIMEOUT_MS = 90_000


def _submit_file(page, content: bytes, *, message: str = "", button: str = "Submit") -> None:  # noqa: ANN001
    page.locator("nav.tabs").get_by_role("link", name="Submit").click()
    page.get_by_label("Your predictions").set_input_files(
        files=[{"name": "predictions.csv", "mimeType": "text/csv", "buffer": content}])
    if message:
        page.get_by_label("Message (optional)").fill(message)
    page.get_by_role("button", name=button, exact=True).click()


def test_a_learner_downloads_the_data_submits_and_watches_the_score_arrive(live, visitors, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "bundle")
    live.load_bundle(bundle)
    live.stop_worker()  # so the submission is seen waiting in the queue first

    ada = visitors("ada")
    ada.register()
    page = ada.page
    expect(page.get_by_role("link", name="Tiny regression")).to_be_visible()
    ada.screenshot("1-challenge-list")
    page.get_by_role("link", name="Tiny regression").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    ada.screenshot("1-challenge-overview")

    page.locator("nav.tabs").get_by_role("link", name="Data").click()
    expect(page.get_by_role("heading", name="Submission format")).to_be_visible()
    expect(page.get_by_role("heading", name="Overview")).to_be_hidden()  # one tab at a time
    ada.screenshot("1-challenge-data")
    with page.expect_download() as download:
        page.get_by_role("link", name="train.csv").click()
    assert download.value.suggested_filename == "train.csv"
    assert Path(download.value.path()).read_text().startswith("id,x,y\n")

    _submit_file(page, perfect_predictions(bundle), message="a perfect fit")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    status = page.locator("#status")
    expect(status).to_have_text("queued")
    expect(page.get_by_text("number 1 in the queue")).to_be_visible()
    ada.screenshot("1-submission-queued")
    page.evaluate("window.__samePage = true")  # gone if the page reloads

    live.ensure_worker()
    expect(status).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    assert page.evaluate("window.__samePage") is True
    expect(page.locator("#public-score")).to_have_text("0.00000")
    expect(page.locator("#public-ci")).to_contain_text("95% interval")
    # The diagnostics arrived with the live refresh and were drawn without a reload.
    expect(page.get_by_role("heading", name=re.compile("Diagnostics"))).to_be_visible()
    page.wait_for_function("() => Boolean(window.Chart && window.Chart.getChart('residual-chart')"
                           " && window.Chart.getChart('residual-histogram'))")
    ada.screenshot("1-submission-scored")

    page.get_by_role("link", name="← Tiny regression").click()
    page.locator("nav.tabs").get_by_role("link", name="Leaderboard").click()
    row = page.locator("table.public-leaderboard tbody tr").filter(has_text="ada")
    expect(row).to_contain_text("0.00000")
    expect(row.locator("td").first).to_have_text("1")
    ada.screenshot("1-leaderboard")
    page.locator("nav.tabs").get_by_role("link", name="My submissions").click()
    expect(page.locator("#history-chart")).to_be_visible()
    page.wait_for_function("() => Boolean(window.Chart && window.Chart.getChart('history-chart'))")
    ada.screenshot("1-my-submissions-chart")


def test_a_broken_file_is_explained_by_row_and_column(live, visitors, tmp_path):
    bundle = write_tiny_bundle(tmp_path / "bundle", slug="broken-files")
    live.load_bundle(bundle)
    live.ensure_worker()
    lines = perfect_predictions(bundle).decode().splitlines()
    lines[3] = lines[3].split(",")[0] + ",not-a-number"
    broken = ("\n".join(lines) + "\n").encode()

    bea = visitors("bea", phone=True)
    bea.register()
    page = bea.page
    bea.goto("/c/broken-files#submit")
    expect(page.get_by_text("5 of 5 submissions left today")).to_be_visible()
    _submit_file(page, broken, button="Check my file")
    report = page.locator("#upload-status")
    expect(report).to_contain_text("(column 'y'; row 4)")
    expect(page.get_by_text("5 of 5 submissions left today")).to_be_visible()
    bea.screenshot("2-dry-run-phone")

    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.locator("#status")).to_have_text("failed", timeout=SCORING_TIMEOUT_MS)
    expect(page.locator("#error-column")).to_have_text("y")
    expect(page.locator("#error-rows")).to_contain_text("4")
    bea.screenshot("2-failed-submission-phone")


def test_code_is_checked_by_its_visible_run_and_its_hidden_run_prints_nothing(live, visitors, tmp_path):
    bundle = write_code_bundle(tmp_path / "code", slug="code-journey")
    live.load_bundle(bundle)
    live.ensure_worker()
    cleo = visitors("cleo", phone=True)
    cleo.register()
    page = cleo.page
    cleo.goto("/c/code-journey#submit")
    upload = page.get_by_label("Your predict.py, or a .zip with predict.py")
    upload.set_input_files(files=[{"name": "predict.py", "mimeType": "text/x-python",
                                   "buffer": b"print('reading')\nraise ValueError('no model yet')\n"}])
    page.get_by_role("button", name="Check my file", exact=True).click()
    expect(page.locator("#upload-status")).to_contain_text(
        "exited with status 1 in the visible run: ValueError: no model yet", timeout=SCORING_TIMEOUT_MS)
    expect(page.locator("#check-logs pre")).to_contain_text("Traceback (most recent call last)")
    cleo.screenshot("5-code-check-phone")

    upload.set_input_files(files=[{"name": "predict.py", "mimeType": "text/x-python",
                                   "buffer": LEAKING_PREDICT.encode()}])
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.locator("#status")).to_have_text("failed", timeout=SCORING_TIMEOUT_MS)
    expect(page.locator("#error")).to_contain_text("in the hidden run")
    expect(page.get_by_text("Logs of the visible run")).to_be_visible()
    cleo.screenshot("5-code-submission-phone")
    assert_no_hidden_row((bundle / "hidden" / "test.csv").read_text().splitlines()[1:], page.content())


def test_an_organizer_fixes_a_reported_bundle_error_publishes_and_sees_it_listed(live, visitors, tmp_path):
    live.create_user("olga", "--organizer")
    live.ensure_worker()  # runs the baseline check the upload queues
    bundle = with_baseline(write_tiny_bundle(tmp_path / "bundle", slug="organized"), FIT_SLOPE_BASELINE,
                           score_min=0, score_max=0.5)
    yaml = (bundle / "challenge.yaml").read_text()
    (bundle / "challenge.yaml").write_text(yaml.replace("title: Tiny regression", "title: Organized regression")
                                           .replace("metric: rmse", "metric: rmsee"))
    # A formula the organizer got wrong (an exponent left open): the page shows its source and everything after it.
    with open(bundle / "description.md", "a") as description:
        description.write("\nThe score: $$\\frac{1}{n}\\sum_i e_i^{$$\n\nwhere $n$ is the number of rows.\n")
    broken_zip, fixed_zip = tmp_path / "broken.zip", tmp_path / "fixed.zip"
    broken_zip.write_bytes(zip_folder(bundle))
    (bundle / "challenge.yaml").write_text((bundle / "challenge.yaml").read_text().replace("rmsee", "rmse"))
    fixed_zip.write_bytes(zip_folder(bundle))

    olga = visitors("olga")
    olga.log_in()
    page = olga.page
    page.get_by_role("link", name="Organize").click()
    page.get_by_label("Bundle (.zip)").set_input_files(str(broken_zip))
    page.get_by_role("button", name="Check and upload").click()
    report = page.locator("#bundle-report")
    expect(report).to_contain_text("The bundle has 1 problem; nothing was stored.")
    expect(report.locator("tbody tr td")).to_have_text(
        ["challenge.yaml", "task.metric", "—", re.compile(r"^unknown metric 'rmsee'; known metrics: accuracy")])
    olga.screenshot("3-bundle-report")

    page.get_by_label("Bundle (.zip)").set_input_files(str(fixed_zip))
    page.get_by_role("button", name="Check and upload").click()
    expect(page.get_by_text("It is a draft: preview it, then publish.")).to_be_visible()
    page.get_by_role("link", name="Open the challenge page").click()
    expect(page.get_by_text("Draft preview")).to_be_visible()
    expect(page.get_by_role("heading", level=1).locator("#draft-badge")).to_have_text("draft")
    bad_tex = page.locator("#overview code.tex-source")
    expect(bad_tex).to_have_text("$$\\frac{1}{n}\\sum_i e_i^{$$")
    expect(bad_tex).to_have_attribute("title", "This formula could not be typeset")
    expect(page.locator("#overview").get_by_text("is the number of rows.")).to_be_visible()
    expect(page.locator('#overview math[display="inline"]')).to_have_count(1)
    olga.screenshot("3-draft-preview")
    page.go_back()
    # The worker runs the baseline in the sandbox; until it has passed, Publish is disabled with the reason.
    _reload_until(page, page.locator("#baseline-state"), "passed")
    scores = page.locator("#baseline-scores tbody td")
    expect(scores.nth(0)).to_have_text(re.compile(r"^0\.\d+$"))
    expect(scores.nth(1)).to_have_text(re.compile(r"^0\.\d+$"))
    expect(scores.nth(2)).to_have_text("0 to 0.5")
    olga.screenshot("3-baseline-passed")
    phone = visitors("olga", phone=True)
    phone.log_in()
    phone.goto("/organizer/c/organized")
    expect(phone.page.locator("#baseline-scores")).to_be_visible()
    phone.screenshot("3-baseline-passed-phone")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: learners can see it now.")).to_be_visible()
    olga.screenshot("3-manage")

    visitor = visitors("anyone")
    visitor.goto("/?phase=active")
    expect(visitor.page.get_by_role("link", name="Organized regression")).to_be_visible()
    visitor.screenshot("3-listed")
    visitor.goto("/c/organized")
    expect(visitor.page.get_by_role("heading", name="Organized regression", level=1)).to_be_visible()
    expect(visitor.page.locator("#draft-badge")).to_have_count(0)


def _reload_until(page, locator, text: str, timeout_s: float = SCORING_TIMEOUT_MS / 1000) -> None:  # noqa: ANN001
    """The organizer's page does not poll: reload it as a person would until ``locator`` says ``text``."""
    deadline = time.monotonic() + timeout_s
    while text not in (locator.text_content() or "") and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        page.reload()
    expect(locator).to_contain_text(text)


def test_a_study_group_shares_a_private_leaderboard_that_outsiders_cannot_see(live, visitors, tmp_path):
    """A lead imports a roster (one member has an account, one is invited by a personal link), makes the
    group's boards pseudonymous and downloads the grades; members see each other only by pseudonym."""
    live.ensure_worker()
    bundle = write_tiny_bundle(tmp_path / "bundle", slug="group-practice")
    (bundle / "challenge.yaml").write_text((bundle / "challenge.yaml").read_text()
                                           .replace("title: Tiny regression", "title: Group practice"))
    archive = tmp_path / "group.zip"
    archive.write_bytes(zip_folder(bundle))
    member = visitors("hugo")
    member.register()

    lead = visitors("gina")
    lead.register()
    page = lead.page
    lead.goto("/groups")
    page.get_by_label("Name", exact=True).fill("Thursday study group")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Thursday study group")).to_be_visible()
    group_url = page.url
    page.get_by_label("Or upload a challenge bundle").set_input_files(str(archive))
    page.get_by_role("button", name="Upload as a draft").click()
    # A draft of the group, on its organizer page: the lead publishes it (the bundle declares no baseline).
    page.get_by_role("button", name="Publish").click()
    page.goto(group_url)
    expect(page.get_by_role("link", name="Group practice")).to_be_visible()
    page.get_by_label("Members see each other by").select_option("pseudonyms")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#board-identity")).to_contain_text("the pseudonym each member chooses")
    lead.screenshot("4-group-lead")

    page.get_by_role("link", name="Roster").click()
    roster = b"username,email,display_name\nhugo,,Hugo Hale\n,jade@example.org,Jade Jones\n"
    page.get_by_label(re.compile("^Roster")).set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": roster}])
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#roster-result")).to_contain_text("1 added (they had an account), 1 invited")
    expect(page.locator("#roster-summary")).to_contain_text("1 of 2 joined; 1 not yet")
    personal = page.get_by_label("Invite link for jade@example.org").input_value()
    lead.screenshot("4-group-roster")

    member.goto(group_url.removeprefix(live.base))
    member.page.get_by_label(re.compile("^Your pseudonym")).fill("Night Owl")
    member.page.get_by_role("button", name="Save").click()
    expect(member.page.get_by_text("Saved your pseudonym.")).to_be_visible()
    member.page.get_by_role("link", name="Group practice").click()
    _submit_file(member.page, perfect_predictions(bundle))
    expect(member.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)

    invited = visitors("jade")
    invited.page.goto(personal)
    expect(invited.page.get_by_text("This invite is for the email address jade@example.org")).to_be_visible()
    invited.page.get_by_role("link", name="Create an account").click()
    expect(invited.page.get_by_label("Email (optional)")).to_have_value("jade@example.org")
    invited.page.get_by_label("Username").fill("jade")
    invited.page.get_by_label("Password (8 characters or more)").fill("correct horse battery")
    invited.page.get_by_role("button", name="Create account").click()
    invited.page.get_by_role("button", name="Join Thursday study group").click()
    expect(invited.page.get_by_role("heading", name="Thursday study group")).to_be_visible()
    invited.page.get_by_role("link", name="Group practice").click()
    _submit_file(invited.page, perfect_predictions(bundle))
    expect(invited.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)

    lead.goto("/c/group-practice/leaderboard")
    rows = lead.page.locator("table.public-leaderboard tbody tr")
    expect(rows.filter(has_text="hugo")).to_be_visible()
    member.goto("/c/group-practice/leaderboard")
    rows = member.page.locator("table.public-leaderboard tbody tr")
    expect(rows.filter(has_text="Night Owl")).to_be_visible()
    expect(rows.filter(has_text="Member #3")).to_be_visible()
    assert "jade" not in member.page.content()
    member.screenshot("4-group-leaderboard-member")

    lead.goto(group_url.removeprefix(live.base))
    with lead.page.expect_download() as download:
        lead.page.get_by_role("link", name="grades (CSV)").click()
    grades = Path(download.value.path()).read_text().splitlines()
    assert grades[0].startswith("username,display_name,team,best_public_score")
    assert sorted(line.split(",")[:2] for line in grades[1:]) == [["hugo", "Hugo Hale"], ["jade", "Jade Jones"]]

    outsider = visitors("ivan")
    outsider.register()
    for path in (group_url.removeprefix(live.base), "/c/group-practice", "/c/group-practice/leaderboard"):
        response = outsider.goto(path)
        assert response.status == 404, path
    expect(outsider.page.get_by_role("heading", name="Not found")).to_be_visible()
    outsider.screenshot("4-outsider-404")


def test_a_host_tests_the_scorer_with_the_solution_and_the_best_learner_stays_first(live, visitors, tmp_path):
    live.ensure_worker()
    bundle = write_tiny_bundle(tmp_path / "bundle", slug="hosted-practice")
    live.load_bundle(bundle)
    live.create_user("hal", "--admin")
    perfect = perfect_predictions(bundle)
    off_by_one = b"id,y\n" + b"".join(f"{row},{float(y) + 1}\n".encode() for row, y in (
        line.split(",") for line in perfect.decode().splitlines()[1:]))

    hal = visitors("hal")
    hal.log_in()
    hal.goto("/c/hosted-practice")
    _submit_file(hal.page, perfect, message="the solution, to test the scorer")
    hal.page.wait_for_url(re.compile(r"/submissions/\d+$"))
    submission_path = hal.page.url.removeprefix(live.base)
    expect(hal.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    expect(hal.page.locator("h1 .host-badge")).to_have_text("host")
    expect(hal.page.locator("#host-note")).to_contain_text("never ranked on any leaderboard")
    expect(hal.page.locator("#public-score")).to_have_text("0.00000")
    expect(hal.page.get_by_role("button", name="Select as final")).to_have_count(0)
    hal.screenshot("5-host-submission")

    lea = visitors("lea")
    lea.register()
    lea.goto("/c/hosted-practice")
    _submit_file(lea.page, off_by_one)
    expect(lea.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    lea.goto("/c/hosted-practice/leaderboard")
    rows = lea.page.locator("table.public-leaderboard tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").nth(1)).to_have_text("lea (your team)")  # lea's own row, marked so
    expect(rows.first.locator("td").first).to_have_text("1")

    phone = visitors("hal", phone=True)
    phone.log_in()
    phone.goto(submission_path)
    expect(phone.page.locator("h1 .host-badge")).to_be_visible()
    phone.screenshot("5-host-submission-phone")
    phone.goto("/c/hosted-practice#my-submissions")
    expect(phone.page.locator("#my-submissions .host-badge")).to_have_text("host")


def test_a_learner_submits_late_to_a_closed_challenge_reads_where_it_would_have_placed_and_the_write_ups(
        live, visitors, tmp_path):
    live.ensure_worker()
    bundle = write_tiny_bundle(tmp_path / "bundle", slug="closed-practice")
    (bundle / "writeup.md").write_text("# How it was meant to be solved\n\nThe target is **3x** plus noise: "
                                       "a straight line fits it.\n")
    live.load_bundle(bundle)
    perfect = perfect_predictions(bundle)
    off_by_one = b"id,y\n" + b"".join(f"{row},{float(y) + 1}\n".encode() for row, y in (
        line.split(",") for line in perfect.decode().splitlines()[1:]))

    # In time: mia scores 1.0 and writes up her final submission; only her team reads it before the reveal.
    mia = visitors("mia")
    mia.register()
    mia.goto("/c/closed-practice")
    _submit_file(mia.page, off_by_one, message="a line, shifted")
    expect(mia.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    mia.goto("/c/closed-practice/team")
    mia.page.get_by_label("Your team's write-up").fill("We fitted a line but **forgot the intercept**.")
    mia.page.get_by_role("button", name="Save the write-up").click()
    expect(mia.page.get_by_text("write-up is saved")).to_be_visible()

    nia = visitors("nia")
    nia.register()
    nia.goto("/c/closed-practice")
    expect(nia.page.locator("nav.tabs").get_by_role("link", name="Write-ups")).to_have_count(0)
    expect(nia.page.get_by_text("forgot the intercept")).to_have_count(0)

    # The organizer closes the challenge.
    live.create_user("olive", "--admin")
    olive = visitors("olive")
    olive.log_in()
    olive.goto("/organizer/c/closed-practice")
    closed_at = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 120))
    olive.page.get_by_label("Closes (UTC; blank: never)").fill(closed_at)
    olive.page.get_by_role("button", name="Save timeline and limits").click()
    expect(olive.page.get_by_text("Timeline and limits saved.")).to_be_visible()

    # After the close, nia still submits: late, scored on both splits, never ranked.
    nia.goto("/c/closed-practice")
    nia.page.locator("nav.tabs").get_by_role("link", name="Submit").click()
    expect(nia.page.locator("#late-note")).to_contain_text("would have placed")
    nia.screenshot("6-late-submit-tab")
    _submit_file(nia.page, perfect, message="after the close")
    nia.page.wait_for_url(re.compile(r"/submissions/\d+$"))
    page = nia.page
    expect(page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    expect(page.locator("h1 .late-badge")).to_have_text("late")
    expect(page.locator("#public-score")).to_have_text("0.00000")
    expect(page.locator("#private-score")).to_have_text("0.00000")
    expect(page.locator("#placed-private")).to_have_text("#1")
    expect(page.locator("#placed-public")).to_have_text("#1")
    expect(page.locator("#would-have-placed")).to_contain_text("of 2 on the final private leaderboard")
    expect(page.get_by_role("button", name="Select as final")).to_have_count(0)
    nia.screenshot("6-late-submission-would-have-placed")

    # The boards did not move: mia is alone on both.
    nia.goto("/c/closed-practice/leaderboard")
    expect(page.locator("table.public-leaderboard tbody tr")).to_have_count(1)
    expect(page.locator("table.public-leaderboard tbody tr").first).to_contain_text("mia")

    page.go_back()
    page.get_by_role("link", name=re.compile("the write-ups")).click()
    writeups = page.locator("#writeups")
    expect(writeups.get_by_role("heading", name="How it was meant to be solved")).to_be_visible()
    expect(writeups.locator("strong").filter(has_text="forgot the intercept")).to_be_visible()
    expect(writeups.locator(".writeup-rank")).to_have_text(["#1"])
    nia.screenshot("6-write-ups")
    nia.goto("/c/closed-practice#my-submissions")
    expect(page.locator("#my-submissions .late-badge")).to_have_text("late")


def test_a_lead_runs_a_class_roster_clone_extension_submissions_and_grades(live, visitors, tmp_path):
    """A lead imports a roster of five, clones the Titanic practice challenge into the group, publishes it once
    its baseline passed, gives one member an extension and closes it for the others; members submit (in time,
    on the extension, late) and the lead downloads the grades."""
    import csv
    from datetime import datetime, timedelta, timezone

    shipped = Path(__file__).resolve().parents[2] / "challenges" / "titanic-survival"
    live.load_bundle(shipped)
    live.ensure_worker()
    students = ["stu1", "stu2", "stu3", "stu4", "stu5"]
    for name in ["lena", *students]:
        live.create_user(name)

    lena = visitors("lena")
    lena.log_in()
    page = lena.page
    lena.goto("/groups")
    page.get_by_label("Name", exact=True).fill("ML 101")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="ML 101")).to_be_visible()
    group_url = page.url.removeprefix(live.base)

    roster = tmp_path / "roster.csv"
    roster.write_text("username,display_name\n" + "".join(f"{n},Student {n[-1]}\n" for n in students))
    page.get_by_role("link", name="Roster").click()
    page.get_by_label("Roster (.csv").set_input_files(str(roster))
    page.get_by_role("button", name="Import").click()
    for name in students:
        expect(page.get_by_role("rowheader", name=name, exact=True)).to_be_visible()
    lena.screenshot("7-class-roster")

    lena.goto(group_url)
    page.get_by_label("Clone a challenge into the group").select_option(label="Titanic survival probabilities")
    page.locator("#clone-title").fill("Titanic, week 3")
    page.locator("#clone-slug").fill("titanic-week-3")
    lena.screenshot("7-class-clone-form")
    page.get_by_role("button", name="Clone into the group").click()
    page.wait_for_url(re.compile(r"/organizer/c/titanic-week-3$"))
    expect(page.locator("#group-only-badge")).to_be_visible()
    # The clone's own baseline check runs on the shared files; publishing waits for it.
    _reload_until(page, page.locator("#baseline-state"), "passed")
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    page.get_by_label("Closes (UTC").fill((now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save timeline and limits").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("Published: it is listed")).to_be_visible()

    sample = (shipped / "sample_submission.csv").read_bytes()
    stu3 = visitors("stu3")
    stu3.log_in()
    stu3.goto("/c/titanic-week-3")
    expect(stu3.page.locator("#group-only-badge")).to_be_visible()
    _submit_file(stu3.page, sample)
    expect(stu3.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)

    # stu1 gets a day more; then the lead closes the challenge for everyone else.
    lena.goto("/organizer/c/titanic-week-3")
    page.get_by_label("Member (username)").fill("stu1")
    page.get_by_label("Their end (UTC)").fill((now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Give the extension").click()
    expect(page.locator("#extensions-table")).to_contain_text("stu1")
    page.get_by_label("Closes (UTC").fill((now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save timeline and limits").click()
    expect(page.get_by_text("Timeline and limits saved")).to_be_visible()
    lena.goto("/organizer/c/titanic-week-3#extensions")
    lena.screenshot("7-class-extensions")

    stu1 = visitors("stu1")
    stu1.log_in()
    stu1.goto("/c/titanic-week-3")
    expect(stu1.page.locator("#my-extension")).to_be_visible()
    stu1.screenshot("7-class-my-extension")
    _submit_file(stu1.page, sample)
    expect(stu1.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    expect(stu1.page.locator(".late-badge")).to_have_count(0)

    stu2 = visitors("stu2")
    stu2.log_in()
    stu2.goto("/c/titanic-week-3")
    expect(stu2.page.locator("#my-extension")).to_have_count(0)  # stu1's extension is stu1's alone
    expect(stu2.page.locator("#late-note")).to_have_count(1)  # on the Submit tab: the challenge closed for stu2
    _submit_file(stu2.page, sample)
    expect(stu2.page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    expect(stu2.page.locator(".late-badge").first).to_be_visible()
    stu2.goto("/c/titanic-week-3/leaderboard")
    expect(stu2.page.get_by_text("until the last member's extension ends")).to_be_visible()
    stu2.screenshot("7-class-board-during-extension")

    lena.goto(group_url)
    with page.expect_download() as download:
        page.get_by_role("link", name="grades (CSV)").click()
    rows = {r["username"]: r for r in csv.DictReader(Path(download.value.path()).read_text().splitlines())}
    assert sorted(rows) == students
    assert {n: (r["display_name"], r["submissions"]) for n, r in rows.items()} == {
        "stu1": ("Student 1", "1"), "stu2": ("Student 2", "1"), "stu3": ("Student 3", "1"),
        "stu4": ("Student 4", "0"), "stu5": ("Student 5", "0")}
    assert (rows["stu1"]["on_extension"], rows["stu2"]["late"], rows["stu3"]["late"]) == ("yes", "yes", "no")
    assert all(r["provisional"] == "yes" for r in rows.values())  # the private board waits for stu1's end


def test_a_learner_follows_the_roadmap_and_charts_validation_against_a_rounded_board(live, visitors, tmp_path):
    from datetime import timedelta

    from sqlalchemy import select

    from heldout.db import make_engine, make_session_factory
    from heldout.models import Submission, SubmissionStatus, User

    bundle = write_tiny_bundle(tmp_path / "bundle", slug="tiny-practice")
    yaml_path = bundle / "challenge.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("title: Tiny regression", "title: Tiny practice").replace(
        "rules:\n", "topic: regression\nrules:\n  leaderboard: {mode: rounded, digits: 2}\n"))
    live.load_bundle(bundle)
    live.stop_worker()  # the scores below are set by hand: no worker may score the upload meanwhile

    vera = visitors("vera")
    vera.register()
    page = vera.page
    page.locator("main").get_by_role("link").first.click()  # the home page's first link: the roadmap
    page.wait_for_url(live.url("/practice"))
    entry = page.locator(".roadmap-topic", has=page.get_by_role("heading", name="1. Regression")).locator("li").filter(
        has_text="Tiny practice")
    expect(entry.locator(".progress")).to_have_text("not tried")
    vera.screenshot("8-practice-roadmap-not-tried")

    entry.get_by_role("link", name="Tiny practice").click()
    page.locator("nav.tabs").get_by_role("link", name="Submit").click()
    page.get_by_label("Your predictions").set_input_files(
        files=[{"name": "predictions.csv", "mimeType": "text/csv", "buffer": perfect_predictions(bundle)}])
    page.get_by_label("Your validation score (optional)").fill("0.80")
    page.get_by_label("How you validated (optional)").fill("5-fold CV")
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))

    # Three more attempts, scored as a worker would leave them (RMSE: lower is better).
    engine = make_engine(live.stack.env["HELDOUT_DATABASE_URL"])
    with make_session_factory(engine)() as s:
        first = s.scalar(select(Submission).join(User, User.id == Submission.user_id).where(User.username == "vera"))
        assert first.validation_score == 0.80 and first.validation_note == "5-fold CV"
        history = [(0.7412, 0.80), (0.7349, 0.79), (0.7049, 0.85), (0.7012, 0.83)]
        first.status, first.public_score, first.private_score = SubmissionStatus.SCORED, *history[0]
        for i, (public, validation) in enumerate(history[1:], start=1):
            s.add(Submission(challenge_id=first.challenge_id, team_id=first.team_id, user_id=first.user_id,
                             status=SubmissionStatus.SCORED, filename=f"attempt{i}.csv", file_key=first.file_key,
                             file_size=first.file_size, public_score=public, private_score=validation,
                             validation_score=validation, validation_note="time split",
                             created_at=first.created_at + timedelta(minutes=i),
                             queued_at=first.created_at + timedelta(minutes=i), attempts=1))
        s.commit()
    engine.dispose()

    vera.goto("/c/tiny-practice#my-submissions")
    section = page.locator("#validation")
    expect(section.locator("#validation-board-note")).to_contain_text("public scores are shown rounded to 2 decimals")
    expect(section).to_contain_text("Spearman correlation of")
    expect(section).to_contain_text("improved on the public board while your validation got worse")
    page.wait_for_function("() => Boolean(window.Chart && window.Chart.getChart('validation-chart'))")
    expect(page.locator("tr.public-up-validation-down")).to_have_count(1)
    assert "0.7012" not in page.content()  # the rounded board's digits stay withheld
    section.scroll_into_view_if_needed()
    vera.screenshot("8-validation-chart-rounded")

    page.get_by_role("link", name="Practice", exact=True).first.click()
    expect(entry.locator(".progress")).to_have_text("tried")
    vera.screenshot("8-practice-roadmap-tried")
