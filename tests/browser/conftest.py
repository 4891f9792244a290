"""A real browser against the real thing: Debian's Chromium, driven by Playwright, on `heldout serve`
(gunicorn) and `heldout worker` processes with PostgreSQL, Redis and the Docker sandbox (or bubblewrap, with
HELDOUT_TEST_BROWSER_SANDBOX=bubblewrap).

Each test module gets its own stack and stops it when it ends, so no worker of
ours is left listening on the shared test Redis while other tests run.
Screenshots go to test-output/browser/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import REDIS_URL, _truncate, require
from tests.e2e.test_end_to_end import Stack, _docker_ready, _free_port, _wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "browser"
PASSWORD = "correct horse battery"
# npm's axe-core, installed into a folder of the tests' own (`npm ci --prefix tests/browser/axe`, done by .ci/run
# and `make test`), served to the pages by the tests themselves.
AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# The sandbox the browser tests' worker scores in: Docker (what CI runs), or bubblewrap, which checks the same
# pages on a machine without a Docker engine (the sandboxes have tests of their own).
SANDBOX = os.environ.get("HELDOUT_TEST_BROWSER_SANDBOX", "docker")


@dataclass
class Live:
    """The running site: its address, its processes, and a few set-up shortcuts that skip the browser."""

    stack: Stack
    base: str
    work: Path
    worker: subprocess.Popen | None = field(default=None)

    def url(self, path: str) -> str:
        return self.base + path

    def ensure_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            self.worker = self.stack.start("worker", "worker", "--name", f"browser-{os.getpid()}-{id(self)}")

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # The cause seen in CI, RQ's minute-long wait for its pub/sub thread, is fixed (runner.worker.
                # ScoringWorker); should another appear, say so, and stop the worker so that the next module's
                # stack starts clean, its sandboxes gone with it.
                print(f"browser tests: worker {self.worker.pid} did not stop within 30 s of SIGTERM; killed")
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait(timeout=30)
                left = subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                                      capture_output=True, text=True, timeout=60).stdout.split()
                if left:
                    subprocess.run(["docker", "rm", "-f", *left], capture_output=True, timeout=120)
        self.worker = None

    def create_user(self, name: str, *roles: str) -> None:
        self.stack.run("users", "create", name, *roles, input=PASSWORD + "\n")

    def load_bundle(self, path: Path) -> None:
        self.stack.run("challenges", "load", str(path))


@pytest.fixture(scope="module")
def live(request, tmp_path_factory, postgres_database_url):  # noqa: ANN001
    url, reason = postgres_database_url
    require(url is not None, reason or "PostgreSQL unavailable")
    from redis import Redis

    redis = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        redis.ping()
    except Exception as exc:  # noqa: BLE001
        require(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    require(SANDBOX in ("docker", "bubblewrap"),
            f"HELDOUT_TEST_BROWSER_SANDBOX must be docker or bubblewrap, not {SANDBOX!r}")
    if SANDBOX == "docker":
        problem = _docker_ready()
        if problem is not None and "missing" in problem:
            # The image is tagged by a hash of the scoring code: after any change to it, build (cached, seconds).
            subprocess.run([sys.executable, "-m", "heldout.runner.sandbox.image", "build"], capture_output=True,
                           timeout=900, check=False)
            problem = _docker_ready()
        require(problem is None, f"the Docker sandbox is not ready: {problem}")
    else:
        from heldout.runner.sandbox import SandboxUnavailable, get_sandbox

        try:
            get_sandbox("bubblewrap").check()
        except SandboxUnavailable as exc:
            require(False, f"the bubblewrap sandbox is not ready: {exc}")
    _truncate(url)
    redis.flushdb()
    work = tmp_path_factory.mktemp("browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    env.update(HELDOUT_DATA_DIR=str(work / "data"), HELDOUT_DATABASE_URL=url, HELDOUT_REDIS_URL=REDIS_URL,
               HELDOUT_SANDBOX=SANDBOX, HELDOUT_SECRET_KEY="browser-secret")
    stack = Stack(env, work)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    site = Live(stack, base, work)
    try:
        stack.run("db", "upgrade")
        stack.start("web", "serve", "--port", str(port), "--workers", "2")

        def healthy() -> bool:
            try:
                # /healthz asks Docker too, which can take seconds on a busy machine.
                return requests.get(f"{base}/healthz", timeout=10).status_code == 200
            except requests.RequestException:
                return False

        _wait_for(healthy, 60, "the server's /healthz", stack)
        yield site
    finally:
        site.stop_worker()
        stack.stop()
        # The processes' logs, beside the screenshots, for whoever reads a failure.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for log in work.glob("*.log"):
            (SCREENSHOTS / f"{request.module.__name__.rsplit('.', 1)[-1]}-{log.name}").write_text(log.read_text())
        redis.flushdb()
        redis.close()


@pytest.fixture(scope="module")
def browser():
    require(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE_SCRIPT.exists() and shutil.which("npm"):
        subprocess.run(["npm", "ci", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund"], capture_output=True,
                       timeout=300, check=False)
    require(AXE_SCRIPT.exists(), f"axe-core is not installed: run 'npm ci --prefix {AXE_DIR}' (apt-get install npm)")
    return AXE_SCRIPT


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


class Visitor:
    """One person at one browser: their own cookies, their own page; JavaScript errors fail the test."""

    def __init__(self, browser, live: Live, name: str, *, phone: bool = False):  # noqa: ANN001
        self.live = live
        self.name = name
        # A time zone far from UTC, so local times visibly differ from the server's.
        self.context = browser.new_context(**(PHONE if phone else DESKTOP), locale="en-GB",
                                           timezone_id="Asia/Tokyo", accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _dialog(self, dialog) -> None:  # noqa: ANN001
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message) -> None:  # noqa: ANN001
        if "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def goto(self, path: str):  # noqa: ANN201
        return self.page.goto(self.live.url(path))

    def register(self) -> None:
        self.goto("/register")
        self.page.get_by_label("Username").fill(self.name)
        self.page.get_by_label("Password (8 characters or more)").fill(PASSWORD)
        self._send_and_arrive_home("Create account")

    def log_in(self) -> None:
        self.goto("/login")
        self.page.get_by_label("Username").fill(self.name)
        self.page.get_by_label("Password").fill(PASSWORD)
        self._send_and_arrive_home("Log in")

    def _send_and_arrive_home(self, button: str) -> None:
        """Send the form; a refusal (the form again, with its alert) fails at once with the site's own words,
        instead of a wait for a page that never comes."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button).click()
        if self.page.url != self.live.url("/"):
            said = " ".join(self.page.get_by_role("alert").all_inner_texts()) or "no message"
            raise AssertionError(f"{button!r} as {self.name!r} ended on {self.page.url}, not the home page: {said}")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()
        assert not self.errors, f"{self.name}'s browser reported: {self.errors}"


@pytest.fixture
def visitors(browser, live):
    """Make people with ``visitors("ada")``; their browsers close (and are checked) at the end of the test."""
    made: list[Visitor] = []

    def make(name: str, *, phone: bool = False) -> Visitor:
        made.append(Visitor(browser, live, name, phone=phone))
        return made[-1]

    yield make
    for visitor in made:
        visitor.close()


def zip_folder(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()
