"""The web page, as a researcher uses it (a page object over Playwright).

Selectors live here and nowhere else; steps speak of what a researcher does
and sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .actors import PASSWORD

# A browser action on a page that is working takes well under this; past it the page is stuck.
PAGE_TIMEOUT_MS = 120_000


@dataclass
class ResearcherPage:
    context: object  # playwright BrowserContext
    page: object  # playwright Page
    frames: list[dict] = field(default_factory=list)  # every event frame the browser received, on every socket
    sockets: int = 0

    @classmethod
    async def open(cls, browsers, base_url: str) -> ResearcherPage:
        context = await browsers.new_context()
        page = await context.new_page()
        self = cls(context, page)
        page.on("websocket", self._watch)
        await page.goto(base_url + "/")
        return self

    def _watch(self, ws) -> None:
        self.sockets += 1
        ws.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    async def sign_in(self, username: str, password: str = PASSWORD) -> None:
        await self.page.fill("#username", username)
        await self.page.fill("#password", password)
        await self.page.click("#login")
        await self.page.wait_for_selector("#connection[data-state=live]")

    async def project_title(self) -> str:
        """The active project's name, once the page shows one."""
        await self.page.wait_for_function("document.querySelector('#project-title').textContent !== 'none'")
        return await self.page.locator("#project-title").text_content()

    async def markup_inside_title(self) -> int:
        return await self.page.locator("#project-title *").count()

    async def segment(self, model: str = "unet") -> int:
        """Start segmenting every image of the project; returns the batch's id."""
        await self.page.select_option("#model", model)
        await self.page.click("#segment")
        await self.page.wait_for_function("state.batchId !== null")
        return await self.page.evaluate("state.batchId")

    async def go_offline(self) -> None:
        """The network goes away: the open socket breaks and new ones cannot connect."""
        await self.context.set_offline(True)
        await self.page.evaluate("state.socket.close()")
        await self.page.wait_for_selector("#connection[data-state=offline]")

    async def go_online(self) -> None:
        await self.context.set_offline(False)
        await self.page.wait_for_selector("#connection[data-state=live]", timeout=30_000)

    async def progress_text(self) -> str:
        return await self.page.locator("#progress-text").text_content()

    async def wait_for_progress(self, text: str) -> None:
        """Until the batch's status line says ``text``."""
        await self.page.wait_for_function("(text) => document.querySelector('#progress-text')?.textContent.includes(text)",
                                          arg=text, timeout=PAGE_TIMEOUT_MS)

    async def screenshot(self) -> bytes:
        return await self.page.screenshot(full_page=True)

    async def close(self) -> None:
        await self.context.close()
