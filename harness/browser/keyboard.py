"""What a researcher does in the page with the keyboard alone: Tab to a control, then a key.

Mixed into :class:`harness.browser.pages.ResearcherPage`, whose locators it uses;
a control that Tab does not reach within ``MAX_TABS`` presses fails the step.
"""

from __future__ import annotations

from pathlib import Path

from harness.researchers.actors import PASSWORD

# Tab presses to reach a control before the harness calls it unreachable by keyboard.
MAX_TABS = 60


class ByKeyboard:
    """The keyboard half of the page object (``self.page`` is Playwright's page)."""

    async def tab_to(self, locator) -> None:
        """Press Tab until ``locator`` has the focus; fails if it is not reached within ``MAX_TABS`` presses."""
        for _ in range(MAX_TABS):
            if await locator.evaluate("el => el === document.activeElement"):
                return
            await self.page.keyboard.press("Tab")
        described = await locator.evaluate("el => el.outerHTML.slice(0, 120)")
        raise AssertionError(f"{MAX_TABS} presses of Tab never reached {described}")

    async def press_on(self, locator, key: str) -> None:
        await self.tab_to(locator)
        await self.page.keyboard.press(key)

    async def type_into(self, locator, text: str) -> None:
        await self.tab_to(locator)
        await self.page.keyboard.type(text)

    async def sign_in_by_keyboard(self, username: str, password: str = PASSWORD) -> None:
        await self.type_into(self.page.get_by_role("textbox", name="Username"), username)
        await self.type_into(self.page.get_by_label("Password"), password)
        await self.page.keyboard.press("Enter")
        await self.wait_connection("live")

    async def upload_by_keyboard(self, files: list[Path]) -> None:
        before = await self.image_rows().count()
        async with self.page.expect_file_chooser() as chooser:
            await self.press_on(self.file_field(), "Space")
        await (await chooser.value).set_files([str(f) for f in files])
        await self.press_on(self.page.get_by_role("button", name="Upload"), "Enter")
        await self.wait_rows(before + len(files))

    async def segment_by_keyboard(self) -> int:
        await self.press_on(self.page.get_by_role("button", name="Segment all images"), "Enter")
        return await self.batch_id()

    async def open_viewer_by_keyboard(self, filename: str) -> None:
        await self.press_on(self.page.get_by_role("button", name=f"View {filename}", exact=True), "Enter")
        await self.outlines(filename).wait_for()

    async def download_by_keyboard(self, name: str) -> bytes:
        """Tab to the link named ``name`` and press Enter; the file it saves."""
        async with self.page.expect_download() as downloading:
            await self.press_on(self.page.get_by_role("link", name=name), "Enter")
        download = await downloading.value
        if failure := await download.failure():
            raise AssertionError(f"the download {name!r} failed: {failure}")
        with open(await download.path(), "rb") as f:  # noqa: ASYNC230 - a small local file
            return f.read()

    async def focus_is_in_viewer(self) -> bool:
        return await self.page.get_by_role("region", name="Viewer").evaluate("el => el.contains(document.activeElement)")
