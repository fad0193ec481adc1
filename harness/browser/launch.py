"""Chromium for Playwright: find one, and launch it with the flags this machine needs.

Search order: the Chromium Playwright downloaded itself, then the system's
(Debian's ``chromium``).  ``python -m harness.browser.launch`` prints the executable
found, or exits 1; the setup script uses it to decide whether to install one.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SYSTEM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Closed network: without these Chromium keeps trying to reach Google's hosts.
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]


def playwright_chromium() -> str | None:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).exists() else None


def find_chromium() -> str | None:
    own = playwright_chromium()
    if own:
        return own
    for candidate in SYSTEM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def launch(playwright):
    """A headless Chromium browser from an async Playwright instance."""
    path = find_chromium()
    if path is None:
        raise RuntimeError("no Chromium found: run `make setup`, or `apt-get install -y chromium`")
    return await playwright.chromium.launch(executable_path=path, headless=True, args=LAUNCH_ARGS)


if __name__ == "__main__":
    found = find_chromium()
    if found is None:
        sys.exit(1)
    print(found)


class BrowserPool:
    """One Chromium for the whole run, started on first use; a fresh context per page."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None

    async def new_context(self):
        if self._browser is None:
            from playwright.async_api import async_playwright

            self._playwright = await async_playwright().start()
            self._browser = await launch(self._playwright)
        return await self._browser.new_context()

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None
