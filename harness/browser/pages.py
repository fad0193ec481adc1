"""The web page, as a researcher uses it (a page object over Playwright).

Every control is found by its role and accessible name, as the contract names
them (docs/api.md, "The web page") and as a screen reader announces them; this
module is the only place that knows them.  Steps speak of what a researcher
does and sees.

Each page is a browser context of its own (its own cookies, storage and
socket), recorded with Playwright tracing from the start; ``finish`` stops the
recording and hands the trace over for the report.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import expect

from harness.browser.keyboard import ByKeyboard
from harness.browser.secrets import scrub_zip
from harness.browser.views import Results
from harness.researchers.actors import PASSWORD
from harness.waiting import async_wait_until
from system.contract import PAGE_RETRY_MAX_MS

# A browser action on a page that works takes well under this; past it the page is stuck.
PAGE_TIMEOUT_MS = 120_000
# The page retries a lost socket after at most this long (the contract's; the page is filled from it).
PAGE_RETRY_MAX_S = PAGE_RETRY_MAX_MS / 1000
AXE_IMPACTS_THAT_FAIL = ("serious", "critical")


# A job ends once: the statuses a row of the "Images" table never leaves (the page's FINAL_STATUS).
FINAL_ROW_STATUSES = ("succeeded", "failed", "cancelled")


@dataclass
class ResearcherPage(ByKeyboard, Results):
    browser_context: object  # playwright BrowserContext (behave's context is another thing)
    page: object  # playwright Page
    label: str = "researcher"
    frames: list[dict] = field(default_factory=list)  # every event frame the browser received, on every socket
    sockets: int = 0
    console: list[str] = field(default_factory=list)  # the browser's console errors (a refused script or style among them)
    socket_urls: list[str] = field(default_factory=list)
    finished: tuple[Path | None] | None = None  # where the trace went, once recording stopped
    # The first frame that broke "every event once, in order" (the frames, across sockets, are seqs 1, 2, 3 ...);
    # every wait on the page fails with it at once.
    broken: str | None = None

    @classmethod
    async def open(cls, browsers, base_url: str, label: str = "researcher") -> ResearcherPage:
        browser_context = await browsers.new_context()
        browser_context.set_default_timeout(PAGE_TIMEOUT_MS)
        await browser_context.tracing.start(title=label, screenshots=True, snapshots=True)
        page = await browser_context.new_page()
        self = cls(browser_context, page, label)
        page.on("websocket", self._watch)
        page.on("console", lambda message: self.console.append(message.text) if message.type == "error" else None)
        await page.goto(base_url + "/")
        return self

    def _watch(self, ws) -> None:
        self.socket_urls.append(ws.url)
        self.sockets += 1
        socket = self.sockets
        after = int(parse_qs(urlsplit(ws.url).query).get("after", ["0"])[0])
        ws.on("framereceived", lambda payload: self._received(socket, json.loads(payload), after))

    def _received(self, socket: int, frame: dict, after: int = 0) -> None:
        """A socket that asked for the events after a seq beyond the last the page received starts a new run there (a
        reload, a new sign-in: the page reads what came before from the service); otherwise it continues the run."""
        due = max(self.frames[-1]["seq"] if self.frames else 0, after) + 1
        if frame["seq"] != due and self.broken is None:
            what = "an event it already had, again" if frame["seq"] < due else f"events {due}..{frame['seq'] - 1} never came"
            self.broken = f"{self.label}'s page received seq {frame['seq']} ({frame['type']}) on socket {socket} where {due} was due: {what}"
        self.frames.append(frame)

    async def unless_broken(self, waiting: Awaitable, describe: str):
        """Await ``waiting``, but fail at once, naming the frame, if the page's events break their order meanwhile."""
        task = asyncio.ensure_future(waiting)
        while not task.done():
            await asyncio.wait({task}, timeout=0.1)
            if self.broken is not None and not task.done():
                task.cancel()
                raise AssertionError(f"while waiting for {describe}: {self.broken}")
        return task.result()

    # ------------------------------------------------------------ accounts
    async def _credentials(self, username: str, password: str) -> None:
        await self.page.get_by_role("textbox", name="Username").fill(username)
        await self.page.get_by_label("Password").fill(password)

    async def sign_in(self, username: str, password: str = PASSWORD) -> None:
        await self._credentials(username, password)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.wait_connection("live")

    async def sign_up(self, username: str, password: str = PASSWORD) -> None:
        await self._credentials(username, password)
        await self.page.get_by_role("button", name="Create account").click()
        await self.wait_connection("live")

    async def reload(self) -> None:
        """Reload the tab, as a researcher does; until its stream is live again."""
        await self.page.reload()
        await self.wait_connection("live")

    def address(self) -> str:
        return self.page.url

    async def sign_out(self) -> None:
        await self.page.get_by_role("button", name="Sign out").click()
        await self.page.get_by_role("button", name="Sign in").wait_for()

    async def wait_asked_to_sign_in(self, timeout_s: float) -> None:
        """Until the page shows the sign-in form again (its session ended)."""
        await self.page.get_by_role("button", name="Sign in").wait_for(timeout=timeout_s * 1000)

    async def type_project_name(self, name: str) -> None:
        await self.page.get_by_role("textbox", name="New project name").fill(name)

    async def typed_project_name(self) -> str:
        return await self.page.get_by_role("textbox", name="New project name").input_value()

    async def connection(self) -> str:
        return (await self.page.get_by_role("status", name="Connection").text_content()).strip()

    async def wait_connection(self, state: str, timeout_s: float = PAGE_TIMEOUT_MS / 1000) -> None:
        status = self.page.get_by_role("status", name="Connection")
        await status.filter(has_text=re.compile(f"^{state}$")).wait_for(timeout=timeout_s * 1000)

    async def error(self) -> str:
        return (await self.page.get_by_role("alert").text_content()).strip()

    # ------------------------------------------------------------ projects and images
    async def create_project(self, name: str, pixel_size_um: float | None = None) -> None:
        await self.page.get_by_role("textbox", name="New project name").fill(name)
        if pixel_size_um is not None:
            await self.page.get_by_role("spinbutton", name="Pixel size (µm)").fill(str(pixel_size_um))
        await self.page.get_by_role("button", name="Create project").click()
        await self.projects_list().get_by_role("button", name=name, exact=True).wait_for()

    def projects_list(self):
        return self.page.get_by_role("list", name="Projects")

    async def project_names(self) -> list[str]:
        return [t.strip() for t in await self.projects_list().get_by_role("listitem").all_text_contents()]

    async def project_title(self) -> str:
        """The active project's name (the workspace's heading)."""
        await self.projects_list().get_by_role("listitem").first.wait_for()
        return (await self.project_heading().text_content()).strip()

    def project_heading(self):
        """The workspace's heading: the active project's name."""
        return self.page.get_by_role("region", name="Workspace").get_by_role("heading", level=2)

    async def markup_inside_title(self) -> int:
        """Elements inside the project's heading (a name shown as text has none)."""
        return await self.project_heading().locator("*").count()

    async def upload(self, files: list[Path]) -> None:
        """Choose ``files`` in the file chooser the "Images" field opens, and upload them."""
        before = await self.image_rows().count()
        async with self.page.expect_file_chooser() as chooser:
            await self.file_field().click()
        await (await chooser.value).set_files([str(f) for f in files])
        await self.page.get_by_role("button", name="Upload").click()
        await self.wait_rows(before + len(files))

    def file_field(self):
        """The file input labelled "Images" (the results table is named "Images" too)."""
        return self.page.get_by_label("Images", exact=True).and_(self.page.locator("input[type=file]"))

    def image_rows(self):
        return self.page.get_by_role("table", name="Images").locator("tbody tr")

    async def wait_rows(self, n: int) -> None:
        await expect(self.image_rows()).to_have_count(n, timeout=PAGE_TIMEOUT_MS)

    async def rows(self) -> list[dict]:
        """The "Images" table as the researcher reads it: file, size, status, spheroid count."""
        cells = await self.image_rows().evaluate_all("rows => rows.map(r => [...r.cells].slice(0, 4).map(c => c.textContent.trim()))")
        return [dict(zip(("file", "size", "status", "spheroids"), row, strict=True)) for row in cells]

    # ------------------------------------------------------------ segmentation and progress
    async def choose(self, model: str | None = None, threshold: float | None = None) -> None:
        if model is not None:
            await self.page.get_by_role("combobox", name="Model").select_option(model)
        if threshold is not None:
            await self.page.get_by_role("spinbutton", name="Threshold").fill(f"{threshold:g}")

    async def segment(self, model: str | None = None, threshold: float | None = None) -> int:
        """Start segmenting every image of the active project; returns the batch's id."""
        await self.choose(model, threshold)
        await self.page.get_by_role("button", name="Segment all images").click()
        return await self.batch_id()

    async def batch_id(self) -> int:
        bar = self.progressbar()
        await expect(bar).to_have_attribute("data-batch-id", re.compile(r"^\d+$"), timeout=PAGE_TIMEOUT_MS)
        return int(await bar.get_attribute("data-batch-id"))

    async def follows_batch(self, batch_id: int) -> None:
        """Until the progress bar follows ``batch_id`` (its data-batch-id)."""
        await expect(self.progressbar()).to_have_attribute("data-batch-id", str(batch_id), timeout=PAGE_TIMEOUT_MS)

    def progressbar(self):
        return self.page.get_by_role("progressbar", name="Batch progress")

    async def progress(self) -> tuple[int, int]:
        """``(aria-valuenow, aria-valuemax)`` of the batch's progress bar."""
        bar = self.progressbar()
        return int(await bar.get_attribute("aria-valuenow")), int(await bar.get_attribute("aria-valuemax"))

    async def cancel_batch(self) -> None:
        await self.page.get_by_role("button", name="Cancel batch").click()

    async def progress_text(self) -> str:
        return (await self.batch_status().text_content()).strip()

    def batch_status(self):
        return self.page.get_by_role("status", name="Batch status")

    async def wait_for_progress(self, text: str, timeout_s: float = PAGE_TIMEOUT_MS / 1000) -> None:
        """Until the batch's status line says ``text`` (failing at once if the page's events break their order)."""
        await self.unless_broken(self.batch_status().filter(has_text=text).wait_for(timeout=timeout_s * 1000),
                                 f"the page's batch status to say {text!r}")

    async def wait_all_rows(self, status: str, timeout_s: float) -> None:
        """Until every row of the "Images" table has ``status`` and a spheroid count; failing at once when a row
        shows another end (a job's final status is never left, so waiting on would only run out the bound)."""
        def arrived(rows: list[dict]) -> bool:
            other_end = [f"{r['file']}: {r['status']}" for r in rows if r["status"] in FINAL_ROW_STATUSES and r["status"] != status]
            assert not other_end, f"while waiting for every image's row to say {status!r}, rows ended otherwise: {other_end[:5]}"
            return bool(rows) and all(r["status"] == status and r["spheroids"] for r in rows)

        await async_wait_until(self.rows, until=arrived, timeout=timeout_s, interval=0.1,
                               describe=f"every image's row to say {status!r} with a spheroid count")

    # ------------------------------------------------------------ evidence
    async def accessibility_scan(self) -> dict:
        """axe-core's findings on the page as it is now (axe-playwright-python, which bundles axe-core)."""
        from axe_playwright_python.async_playwright import Axe

        results = await Axe().run(self.page)
        return results.response

    async def screenshot(self) -> bytes:
        return await self.page.screenshot(full_page=True)

    def secrets(self) -> set[str]:
        """What the page was trusted with: the password it typed and the token its sockets carried."""
        tokens = {parse_qs(urlsplit(url).query).get("token", [""])[0] for url in self.socket_urls}
        return {PASSWORD} | (tokens - {""})

    async def finish(self, trace_path: Path | None) -> Path | None:
        """Stop recording (once; a second call answers as the first did); the trace goes to ``trace_path`` (None:
        discarded) with every secret the page was trusted with replaced by ``[redacted]``."""
        if self.finished is not None:
            return self.finished[0] if trace_path is not None else None
        if trace_path is None:
            await self.browser_context.tracing.stop()
            self.finished = (None,)
            return None
        await self.browser_context.tracing.stop(path=str(trace_path))
        scrub_zip(trace_path, self.secrets())
        self.finished = (trace_path,)
        return trace_path

    async def close(self) -> None:
        await self.browser_context.close()


def serious_violations(scan: dict) -> list[dict]:
    return [v for v in scan.get("violations", []) if v.get("impact") in AXE_IMPACTS_THAT_FAIL]


def axe_version(scan: dict) -> str:
    return scan.get("testEngine", {}).get("version", "unknown")


