"""A real browser for the race page's tests and bench: Debian's ``chromium`` driven by Selenium
through ``chromium-driver`` (both installed by ``infra/local/system-deps.sh``), headless, with its
profile in a temporary directory; and where its screenshots go."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "artifacts" / "browser"  # the browser tests' artifact folder


class Chromium(webdriver.Chrome):
    """``webdriver.Chrome`` whose ``quit`` also removes the temporary profile it ran with (each
    browser's is about 3 MB, and they were left behind in /tmp)."""

    def __init__(self, profile: Path, options: webdriver.ChromeOptions, service: Service) -> None:
        super().__init__(options=options, service=service)
        self.profile = profile

    def quit(self) -> None:
        try:
            super().quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def chromium(width: int = 1280, height: int = 900) -> Chromium:
    """A headless Chromium; ``quit`` it when done."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise FileNotFoundError(f"{CHROMIUM} or {CHROMEDRIVER} is missing: run `make setup` (Debian chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    profile = Path(tempfile.mkdtemp(prefix="alleycat-chromium-"))
    options.add_argument(f"--user-data-dir={profile}")
    try:
        return Chromium(profile, options, Service(str(CHROMEDRIVER)))
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise


def color_scheme(driver: webdriver.Chrome, scheme: str) -> None:
    """Emulate ``prefers-color-scheme: scheme`` (``light`` or ``dark``) through the DevTools protocol."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the top of the page as ``build/artifacts/browser/<name>.png``; returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def update_figures(driver: WebDriver) -> list[dict[str, Any]]:
    """The page's own record of each live update: ``{kind, ms, parseMs, layoutMs, bytes, rows}``
    (``window.alleycatPerf``; kind: "snapshot" or "changes")."""
    updates: list[dict[str, Any]] = driver.execute_script("return window.alleycatPerf.updates")
    return updates


def wait_for(what: str, done: Callable[[], Any], timeout_s: float = 15) -> Any:
    """``done()``'s first truthy value, asked every 0.1 s; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (value := done()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)
    return value
