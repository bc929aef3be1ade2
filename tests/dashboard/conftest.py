"""Browser fixtures: Debian's Chromium driven by Playwright against the app on a real HTTP port.

Every page a test opens is watched: a console error, an uncaught exception, or a request
leaving this machine (other than map tiles, which are answered with a blank image here)
fails the test. Screenshots go to ``tests/artifacts/dashboard/`` (kept by CI, ignored by git).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session

from crm.devices import Device
from crm.org import User
from crm.types import utcnow
from dashboard.maps import tile_hosts
from server.auth.service import issue_device_token
from server.config import Settings
from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# A 1×1 transparent PNG served for map tiles: tests never reach the internet.
BLANK_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def chromium_executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium on this machine (Debian package 'chromium'; .ci/run installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh temporary user-data-dir.
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageWatch:
    """What went wrong on a page: console errors, uncaught errors, requests off this machine."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(x in e for x in self.expected)]
        return unexpected + self.page_errors + [f"outside request: {u}" for u in self.outside_requests]


def _is_tile(url: str) -> bool:
    parts = urlsplit(url)
    return any(fnmatch(f"{parts.scheme}://{parts.netloc}", origin) for origin in tile_hosts())


@dataclass
class Browse:
    """Opens watched pages on the live server; ``problems`` is checked when the test ends."""

    browser: object
    base_url: str
    contexts: list[object] = field(default_factory=list)
    watches: list[PageWatch] = field(default_factory=list)

    def page(self, *, viewport: dict[str, int] = LAPTOP, **context_options: object):  # type: ignore[no-untyped-def]
        context = self.browser.new_context(viewport=viewport, base_url=self.base_url, **context_options)  # type: ignore[attr-defined]
        self.contexts.append(context)
        watch = PageWatch()
        self.watches.append(watch)

        def route(route):  # type: ignore[no-untyped-def]
            url = route.request.url
            if url.startswith(self.base_url) or url.startswith("data:") or url.startswith("blob:"):
                route.continue_()
            elif _is_tile(url):
                route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
            else:
                watch.outside_requests.append(url)
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda msg: msg.type == "error" and watch.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
        return page

    def expect_console(self, fragment: str) -> None:
        """A console error containing ``fragment`` is part of the test (e.g. a refused sign-in's 401)."""
        for watch in self.watches:
            watch.expected.append(fragment)

    def login(self, user: User, *, viewport: dict[str, int] = LAPTOP, **context_options: object):  # type: ignore[no-untyped-def]
        """A page signed in as ``user`` through the login form; it ends on the user's landing page."""
        page = self.page(viewport=viewport, **context_options)
        page.goto("/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browse(browser: object, live_server: str) -> Iterator[Browse]:
    session = Browse(browser=browser, base_url=live_server)
    yield session
    session.close()
    problems = [p for watch in session.watches for p in watch.problems()]
    assert not problems, "page problems:\n" + "\n".join(problems)


def wait_until(page, expression: str, timeout_s: float = 15.0) -> object:  # type: ignore[no-untyped-def]
    """Poll a JavaScript expression until it is truthy; returns its value.

    (Playwright's ``wait_for_function`` evaluates strings with ``eval``, which the pages'
    Content-Security-Policy forbids; ``evaluate`` is not subject to it.)
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression} (last value {value!r})")
        page.wait_for_timeout(100)


@pytest.fixture
def shot() -> Callable[..., Path]:
    """Save a screenshot of a page under tests/artifacts/dashboard/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, *, full_page: bool = False) -> Path:  # type: ignore[no-untyped-def]
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Track around the clock, so the tests do not depend on the hour they run at."""
    return settings.model_copy(update={"tracking_hours": "always", "tracking_days": "1-7"})


@dataclass
class Phones:
    """A rep's phone in the field: an enrolled device whose tracker posts OwnTracks fixes over HTTP."""

    session: Session
    base_url: str

    def phone(self, rep: User, serial: str | None = None) -> str:
        device = Device(
            serial=serial or f"SIM-{rep.id}",
            brand="Xiaomi",
            model="Redmi Note 12",
            division_id=rep.division_id,  # type: ignore[arg-type]
            rep_user_id=rep.id,
        )
        self.session.add(device)
        self.session.flush()
        token = issue_device_token(self.session, device=device, now=utcnow())
        self.session.commit()
        return token

    def fix(
        self, token: str, lat: float, lon: float, *, at: datetime | None = None, battery: int = 80
    ) -> None:
        when = at or utcnow()
        message = {
            "_type": "location",
            "lat": lat,
            "lon": lon,
            "acc": 10,
            "batt": battery,
            "bs": 1,
            "tst": int(when.timestamp()),
            "tid": "FC",
        }
        response = httpx.post(f"{self.base_url}/api/v1/trackers/owntracks", json=message, auth=("fc", token))
        assert response.status_code == 200, response.text

    def batch(self, token: str, points: list[tuple[datetime, float, float]]) -> None:
        """Fixes collected by the device agent, uploaded in one batch."""
        records = [
            {"time": when.isoformat(), "lat": lat, "lon": lon, "accuracy_m": 8} for when, lat, lon in points
        ]
        response = httpx.post(
            f"{self.base_url}/api/v1/ingest/locations",
            json={"records": records},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200 and response.json()["accepted"] == len(points), response.text

    def post(self, token: str, path: str, body: object, **headers: str) -> dict:
        response = httpx.post(
            f"{self.base_url}{path}", json=body, headers={"Authorization": f"Bearer {token}", **headers}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def recording(self, token: str, content: bytes, file_name: str, started_at: datetime) -> int:
        """Upload a call recording the way the agent does (declare, then send the bytes)."""
        state = self.post(
            token,
            "/api/v1/ingest/recording-uploads",
            {
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_bytes": len(content),
                "file_name": file_name,
                "started_at": started_at.isoformat(),
            },
        )
        if state["status"] == "upload":
            response = httpx.put(
                f"{self.base_url}/api/v1/ingest/recordings/{state['upload_id']}",
                content=content,
                headers={"Authorization": f"Bearer {token}", "Upload-Offset": "0"},
            )
            assert response.status_code == 200, response.text
            state = response.json()
        return state["recording_id"]


@pytest.fixture
def phones(session: Session, live_server: str) -> Phones:
    return Phones(session, live_server)
