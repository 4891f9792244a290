"""Every page, on a phone and on a desktop, with the shipped challenges loaded as the demo loads them:
formulas typeset as MathML, nothing scrolls sideways at 390 px, and axe-core finds no serious or
critical accessibility violation. The README's two screenshots are taken here too (``make screenshots``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, Visitor

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHALLENGES = REPO / "challenges"
SHIPPED = sorted(p.name for p in CHALLENGES.iterdir() if (p / "challenge.yaml").is_file())
SCORING_TIMEOUT_MS = 90_000
AXE_PATH = "/__tests__/axe.min.js"  # answered by the test's own route, never by the server
# Set by `make screenshots`: the README's pictures go there instead of test-output/.
DOCS_SCREENSHOTS = os.environ.get("HELDOUT_TEST_SCREENSHOTS_TO")


@pytest.fixture(scope="module")
def demo(live):
    """The shipped challenges, loaded in one go as `heldout demo` loads them, and a worker to score."""
    live.stack.run("challenges", "load", *(str(CHALLENGES / slug) for slug in SHIPPED))
    live.create_user("olgaadmin", "--organizer", "--admin")
    live.ensure_worker()
    return live


def _predictions() -> bytes:
    """Titanic predictions from the training set's survival rate per kind of passenger: a fair first model."""
    with open(CHALLENGES / "titanic-survival" / "train.csv", newline="") as handle:
        rates: dict[tuple, list[int]] = defaultdict(list)
        for row in csv.DictReader(handle):
            rates[(row["ticket_class"], row["age_group"], row["sex"])].append(int(row["survived"]))
    out = io.StringIO()
    out.write("passenger_id,survived\n")
    with open(CHALLENGES / "titanic-survival" / "test.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            seen = rates.get((row["ticket_class"], row["age_group"], row["sex"]), [0, 1])
            out.write(f"{row['passenger_id']},{(sum(seen) + 1) / (len(seen) + 2):.4f}\n")
    return out.getvalue().encode()


def _submit(visitor: Visitor, slug: str, content: bytes, message: str) -> str:
    page = visitor.page
    visitor.goto(f"/c/{slug}#submit")
    page.get_by_label(re.compile("Your predictions")).set_input_files(
        files=[{"name": "predictions.csv", "mimeType": "text/csv", "buffer": content}])
    page.get_by_label("Message (optional)").fill(message)
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    expect(page.locator("#status")).to_have_text("scored", timeout=SCORING_TIMEOUT_MS)
    return page.url.removeprefix(visitor.live.base)


def _serve_axe(visitor: Visitor, axe_script: Path) -> None:
    visitor.page.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(axe_script),
                                                                      content_type="text/javascript"))


def _axe(visitor: Visitor) -> list[dict]:
    """axe-core's violations on the page as it stands, of every impact."""
    visitor.page.add_script_tag(url=visitor.live.url(AXE_PATH))
    found = visitor.page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return found


def _check_page(visitor: Visitor, path: str, report: dict) -> None:
    response = visitor.goto(path)
    page = visitor.page
    page.wait_for_load_state("load")
    # A new #fragment on the same page navigates without a response.
    assert response is None or response.status in (200, 404), (path, response.status)
    # The site's icon, named by every page (the browser would otherwise ask for a missing /favicon.ico).
    expect(page.locator('head link[rel="icon"]')).to_have_attribute("href", "/static/favicon.svg")
    fits = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    who = f"{visitor.name} at {fits[1]} px"
    report.setdefault(who, {})[path] = {"scroll_width": fits[0], "inner_width": fits[1],
                                                 "axe": _axe(visitor)}
    assert not visitor.errors, (path, visitor.errors)


def test_every_shipped_formula_is_typeset(demo, visitors):
    reader = visitors("reader")
    for slug in SHIPPED:
        reader.goto(f"/c/{slug}")
        overview = reader.page.locator("#overview")
        assert "$$" not in overview.inner_text(), slug
        assert overview.locator(".tex-source").count() == 0, slug
        block = overview.locator('math[display="block"]').first
        expect(block).to_be_visible()
        # Typeset, not a line of text: a fraction, sum or root stands taller than a line of body text.
        height = block.evaluate("m => m.getBoundingClientRect().height")
        line = overview.locator("p").first.evaluate("p => parseFloat(getComputedStyle(p).lineHeight)")
        assert height > line, (slug, height, line)
    reader.goto("/c/titanic-survival")
    reader.screenshot("6-formulas-titanic")


def test_every_page_fits_a_phone_and_passes_axe(demo, visitors, axe_script):
    report: dict = {}
    ada = visitors("ada", phone=True)
    ada.register()
    _serve_axe(ada, axe_script)
    submission = _submit(ada, "titanic-survival", _predictions(), "survival rate per kind of passenger")
    expect(ada.page.locator("#standing-rank")).to_have_text("#1")
    ada.screenshot("6-submission-phone")
    ladder = _submit(ada, "tumour-screening", (CHALLENGES / "tumour-screening" / "sample_submission.csv").read_bytes(),
                     "a constant")
    expect(ada.page.locator("#diagnostics-withheld")).to_be_visible()
    _submit(ada, "wine-clusters", (CHALLENGES / "wine-clusters" / "sample_submission.csv").read_bytes(), "one cluster")
    expect(ada.page.locator("#diagnostics-none")).to_contain_text("No charts on a clustering challenge")
    ada.screenshot("6-clustering-phone")
    ada.goto("/groups")
    ada.page.get_by_label("Name", exact=True).fill("Thursday study group")
    ada.page.get_by_role("button", name="Create group").click()
    expect(ada.page.get_by_role("heading", name="Thursday study group")).to_be_visible()
    group = ada.page.url.removeprefix(demo.base)
    ada.goto(f"{group}/roster")  # the lead's roster, with one row invited (its link in the table)
    ada.page.get_by_label(re.compile("^Roster")).set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": b"email,display_name\nbea@example.org,Bea\n"}])
    ada.page.get_by_role("button", name="Import").click()
    expect(ada.page.locator("#roster-result")).to_contain_text("1 invited")
    ada.goto("/c/titanic-survival/team")
    invite = ada.page.get_by_label("Invite link").input_value()  # a team of one has a link to share

    learner_pages = [
        "/", "/?tag=beginner", "/?phase=active", "/c/titanic-survival", "/c/titanic-survival#data",
        "/c/titanic-survival#evaluation", "/c/titanic-survival#leaderboard", "/c/titanic-survival#my-submissions",
        "/c/titanic-survival#submit", "/c/titanic-survival/leaderboard", "/c/titanic-survival/team", submission,
        ladder, "/c/tumour-screening#evaluation", "/c/cartpole-balance#data", "/c/language-id",
        "/account", "/practice", "/groups", group, f"{group}/roster", "/c/no-such-challenge",
    ] + [f"/c/{slug}" for slug in SHIPPED]
    for path in learner_pages:
        _check_page(ada, path, report)

    grace = visitors("grace", phone=True)
    grace.register()
    _serve_axe(grace, axe_script)
    _check_page(grace, invite.removeprefix(demo.base), report)
    grace.page.context.clear_cookies()
    for path in ("/login", "/register", "/", "/c/titanic-survival", "/c/titanic-survival/leaderboard"):
        _check_page(grace, path, report)

    olga = visitors("olgaadmin", phone=True)
    olga.log_in()
    _serve_axe(olga, axe_script)
    for path in ("/organizer", "/organizer/c/titanic-survival", "/admin/workers"):
        _check_page(olga, path, report)

    desk = visitors("ada")
    desk.log_in()
    _serve_axe(desk, axe_script)
    for path in ("/", "/c/titanic-survival", "/c/titanic-survival/leaderboard", submission, "/account"):
        _check_page(desk, path, report)

    icon = ada.page.request.get(demo.url("/static/favicon.svg"))
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml") and b"<svg" in icon.body()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "axe-report.json").write_text(json.dumps(report, indent=2))
    wide = [(who, path, r["scroll_width"], r["inner_width"]) for who, pages in report.items()
            for path, r in pages.items() if r["scroll_width"] > r["inner_width"]]
    found = [(who, path, v["id"], v["impact"], v["targets"]) for who, pages in report.items()
             for path, r in pages.items() for v in r["axe"]]
    violations = [v for v in found if v[3] in ("serious", "critical")]
    pages = sum(len(p) for p in report.values())
    by_impact = {impact: sum(v[3] == impact for v in found) for impact in ("critical", "serious", "moderate", "minor")}
    print(f"\naxe-core on {pages} page visits: {len(violations)} serious or critical violations; by impact {by_impact}; "
          f"rules: {sorted({v[2] for v in found})}")
    assert not wide, f"pages wider than the phone: {wide}"
    assert not violations, violations


def test_the_leaderboard_starts_within_a_phones_first_screen(demo, visitors):
    bea = visitors("bea", phone=True)
    bea.register()
    _submit(bea, "titanic-survival", (CHALLENGES / "titanic-survival" / "sample_submission.csv").read_bytes(),
            "0.5 for everyone")
    bea.goto("/c/titanic-survival/leaderboard")
    first_row = bea.page.locator("table.public-leaderboard tbody tr").first
    box = first_row.bounding_box()
    assert box is not None and box["y"] + box["height"] <= bea.page.viewport_size["height"], box
    mine = bea.page.locator("tr#my-team")
    expect(mine).to_have_class("mine")
    expect(mine).to_contain_text("(your team)")
    # The menu: one row on a phone, links behind a button that says whether it is open.
    header = bea.page.locator("header.site-header")
    assert header.bounding_box()["height"] < 80
    toggle = bea.page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(bea.page.locator("#site-links")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(bea.page.locator("#site-links").get_by_role("link", name="Challenges")).to_be_visible()
    bea.screenshot("6-leaderboard-phone-menu")


def test_the_readme_screenshots(demo, visitors):
    """A challenge page and a scored submission with its diagnostics, at a desktop's width."""
    cleo = visitors("cleo")
    cleo.register()
    submission = _submit(cleo, "titanic-survival", _predictions(), "survival rate per kind of passenger")
    cleo.page.wait_for_function("() => Boolean(window.Chart && window.Chart.getChart('calibration-chart')"
                                " && window.Chart.getChart('confusion-chart'))")
    expect(cleo.page.locator("#standing")).to_be_visible()
    cleo.page.wait_for_timeout(2000)  # let the charts' grow-in animation finish before the picture
    target = Path(DOCS_SCREENSHOTS) if DOCS_SCREENSHOTS else SCREENSHOTS
    target.mkdir(parents=True, exist_ok=True)
    cleo.page.screenshot(path=str(target / "screenshot-submission.png"), full_page=True)
    cleo.goto("/c/titanic-survival")
    expect(cleo.page.locator("#rules")).to_be_visible()
    formula = cleo.page.locator('#overview math[display="block"]').first.bounding_box()
    # From the top to just past the first formula: the rules panel and the typeset log-loss.
    cleo.page.screenshot(path=str(target / "screenshot-challenge.png"), full_page=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": formula["y"] + formula["height"] + 40})
    assert submission
