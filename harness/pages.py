"""The web page, as a researcher uses it (a page object over Playwright)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .actors import PASSWORD


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
        return await self.page.locator("#project-title").text_content()

    async def markup_inside_title(self) -> int:
        return await self.page.locator("#project-title *").count()

    async def segment(self, model: str = "unet") -> None:
        await self.page.select_option("#model", model)
        await self.page.click("#segment")
        await self.page.wait_for_function("state.batchId !== null")

    async def batch_id(self) -> int:
        return await self.page.evaluate("state.batchId")

    async def go_offline(self) -> None:
        """The network goes away: the open socket breaks and new ones cannot connect."""
        await self.context.set_offline(True)
        await self.page.evaluate("state.socket.close()")
        await self.page.wait_for_selector("#connection[data-state=offline]")

    async def go_online(self) -> None:
        await self.context.set_offline(False)
        await self.page.wait_for_selector("#connection[data-state=live]", timeout=30_000)

    async def wait_for_text(self, selector: str, text: str, timeout_ms: int = 120_000) -> None:
        await self.page.wait_for_function(
            "([sel, text]) => document.querySelector(sel)?.textContent.includes(text)", arg=[selector, text], timeout=timeout_ms
        )

    async def close(self) -> None:
        await self.context.close()
