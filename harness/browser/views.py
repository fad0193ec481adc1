"""The results half of the page object: the viewer, the project overview and the downloads.

Mixed into :class:`harness.browser.pages.ResearcherPage` (``self.page`` is
Playwright's page); every control by its role and accessible name, as
docs/api.md section 4 names them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile


class Results:
    async def open_viewer(self, filename: str) -> None:
        await self.page.get_by_role("button", name=f"View {filename}", exact=True).click()
        await self.outlines(filename).wait_for()

    def outlines(self, filename: str):
        return self.page.get_by_role("img", name=f"Outlines of {filename}", exact=True)

    async def outlines_drawn(self, filename: str) -> list[str]:
        """The class (external / internal) of each outline the viewer draws over ``filename``."""
        return await self.outlines(filename).locator("polygon, path").evaluate_all("els => els.map(e => e.getAttribute('class'))")

    async def spheroids_outlined(self, filename: str) -> list[int]:
        """The spheroid (its index in the "Spheroids" table) each outer outline the viewer draws belongs to."""
        return await self.outlines(filename).locator("polygon.external").evaluate_all("els => els.map(e => Number(e.dataset.spheroid))")

    async def image_shown(self, filename: str) -> bool:
        image = self.page.get_by_role("img", name=filename, exact=True)
        return await image.evaluate("img => img.complete && img.naturalWidth > 0")

    async def spheroid_rows(self) -> list[list[str]]:
        return await self.page.get_by_role("table", name="Spheroids").locator("tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")

    async def download_measurements(self) -> list[dict]:
        """Click "Download measurements (CSV)"; returns the downloaded file's rows."""
        async with self.page.expect_download() as downloading:
            await self.page.get_by_role("link", name="Download measurements (CSV)").click()
        download = await downloading.value
        failure = await download.failure()
        if failure:
            raise AssertionError(f"the download failed: {failure}")
        with open(await download.path(), encoding="utf-8", newline="") as f:  # noqa: ASYNC230 - a small local file
            return list(csv.DictReader(f))


    async def shown_size(self, filename: str) -> tuple[int, int]:
        """The natural size of the picture the viewer shows of ``filename`` (0 x 0: nothing the browser could show)."""
        image = self.page.get_by_role("img", name=filename, exact=True)
        return tuple(await image.evaluate("img => [img.naturalWidth, img.naturalHeight]"))

    async def viewer_note(self) -> str:
        return (await self.page.get_by_role("region", name="Viewer").locator("#viewer-note").text_content()).strip()

    async def _download(self, name: str) -> bytes:
        async with self.page.expect_download() as downloading:
            await self.page.get_by_role("link", name=name).click()
        download = await downloading.value
        failure = await download.failure()
        if failure:
            raise AssertionError(f"the download {name!r} failed: {failure}")
        with open(await download.path(), "rb") as f:  # noqa: ASYNC230 - a small local file
            return f.read()

    async def download_masks(self) -> dict[str, bytes]:
        """Click "Download masks (ZIP)"; the archive's files by name."""
        with zipfile.ZipFile(io.BytesIO(await self._download("Download masks (ZIP)"))) as archive:
            return {n: archive.read(n) for n in archive.namelist()}

    async def download_geojson(self) -> dict:
        """In the viewer, click "Download outlines (GeoJSON)"; the FeatureCollection."""
        return json.loads(await self._download("Download outlines (GeoJSON)"))

    async def download_imagej_zip(self) -> bytes:
        """In the viewer, click "Download outlines (ImageJ ROI)"; the ROI set as Fiji opens it (a ZIP)."""
        return await self._download("Download outlines (ImageJ ROI)")

    async def download_imagej(self) -> dict[str, bytes]:
        """In the viewer, click "Download outlines (ImageJ ROI)"; the ROI files by name."""
        with zipfile.ZipFile(io.BytesIO(await self.download_imagej_zip())) as archive:
            return {n: archive.read(n) for n in archive.namelist()}

    def overview_chart(self, name: str):
        return self.page.get_by_role("region", name="Project overview").get_by_role("img", name=name, exact=True)

    async def overview(self) -> dict:
        """The project overview: bars of each chart, and the text the charts are described by."""
        region = self.page.get_by_role("region", name="Project overview")
        await region.wait_for()
        charts = {name: await self.overview_chart(name).locator("rect").count()
                  for name in ("Histogram of equivalent diameters", "Spheroids per image")}
        described = await self.overview_chart("Histogram of equivalent diameters").evaluate(
            "el => document.getElementById(el.getAttribute('aria-describedby')).textContent")
        return {"bars": charts, "text": described.strip()}
