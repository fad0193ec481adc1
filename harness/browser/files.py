"""The files a scenario's browsers read and leave behind: images to upload, screenshots, Playwright traces."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import allure
import numpy as np
from PIL import Image

from harness.browser.pages import ResearcherPage
from harness.lifetime import keep_for_scenario
from harness.report import attach
from harness.researchers.seeded import seed_block
from harness.waiting import async_wait_until
from system.inference import synthetic

# allure-python 2.16 has no name for it; the Allure 3 report shows attachments of this type in its trace viewer.
PLAYWRIGHT_TRACE = "application/vnd.allure.playwright-trace"
# A closed browser socket is seen by the server at once; one not in the log after this is not coming.
SOCKET_CLOSE_S = 30


def scenario_folder(context) -> Path:
    """A folder of the scenario's own (image files, traces), removed when the scenario ends."""
    if context.state.ui_folder is None:
        folder = context.state.ui_folder = Path(tempfile.mkdtemp(prefix="paraseg-ui-"))
        keep_for_scenario(context, folder, lambda: shutil.rmtree(folder, ignore_errors=True))
    return context.state.ui_folder


def image_files(context, label: str, count: int) -> dict[Path, synthetic.Sample]:
    """``count`` spheroid micrographs no model was trained on, as PNG files named after ``label``."""
    first = seed_block(context, count)
    folder = scenario_folder(context) / label
    folder.mkdir()
    files = {}
    for i in range(count):
        sample = synthetic.generate(first + i)
        path = folder / f"{label}-spheroid-{i + 1:02d}.png"
        path.write_bytes(synthetic.to_png(sample.image))
        files[path] = sample
    return files


# A 12-bit camera's range, written as 16-bit samples, as microscopes write it.
TWELVE_BIT = 4095


def twelve_bit(image: np.ndarray) -> np.ndarray:
    """An 8-bit micrograph as a 12-bit one: the same picture, values 0..4095 in 16-bit samples."""
    return np.round(image.astype(np.float32) * (TWELVE_BIT / 255.0)).astype(np.uint16)


def tiff(pages: list[np.ndarray]) -> bytes:
    """A TIFF of one page per array (a multi-page file: channels, a z-stack)."""
    frames = [Image.fromarray(p) for p in pages]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=len(frames) > 1, append_images=frames[1:])
    return out.getvalue()


def microscope_files(context, label: str) -> dict[Path, synthetic.Sample]:
    """Two microscope files of spheroids no model was trained on: a 12-bit grayscale TIFF (16-bit samples, values
    to 4095), and a 3-page 12-bit TIFF whose first page shows the spheroids and the others a dimmer channel and
    noise.  The truth of each is its first page's."""
    first = seed_block(context, 2)
    folder = scenario_folder(context) / label
    folder.mkdir()
    deep, paged = synthetic.generate(first), synthetic.generate(first + 1)
    rng = np.random.default_rng(first)
    dim = twelve_bit((paged.image * 0.4).astype(np.uint8))
    noise = rng.integers(0, TWELVE_BIT + 1, size=paged.image.shape, dtype=np.uint16)
    files = {folder / f"{label}-12bit.tif": (tiff([twelve_bit(deep.image)]), deep),
             folder / f"{label}-3pages.tif": (tiff([twelve_bit(paged.image), dim, noise]), paged)}
    for path, (data, _) in files.items():
        path.write_bytes(data)
    return {path: sample for path, (_, sample) in files.items()}


def keep_evidence(context, failed: bool, wants_trace: bool) -> None:
    """Each page's screenshot, and its Playwright trace when the scenario failed or asked for it."""
    for page in context.state.pages:
        try:
            attach.attach_png(f"page of {page.label}{' at failure' if failed else ''}", context.loop.run_until_complete(page.screenshot()))
        except Exception as exc:  # a page that died is evidence too
            attach.attach_text(f"page of {page.label}: no screenshot", repr(exc))
        keep = failed or wants_trace
        path = scenario_folder(context) / f"trace-{page.label}.zip" if keep else None
        try:
            saved = context.loop.run_until_complete(page.finish(path))
        except Exception as exc:
            attach.attach_text(f"trace of {page.label}: not recorded", repr(exc))
            continue
        if saved is not None:
            allure.attach.file(str(saved), name=f"Playwright trace of {page.label}", attachment_type=PLAYWRIGHT_TRACE, extension="zip")


async def page_left(context, page: ResearcherPage) -> None:
    """The page leaves the service (its sockets close) and each of its sockets' requests is in the API processes'
    logs: an access log writes a WebSocket's line when it closes, so only then can a log be searched for it."""
    await page.page.goto("about:blank")

    def logged() -> int:
        return sum(p.log_path.read_text(errors="replace").count("/api/events?token=") for p in context.system.apis)

    await async_wait_until(logged, until=lambda n: n >= len(page.socket_urls), timeout=SOCKET_CLOSE_S, interval=0.05,
                           describe=f"the {len(page.socket_urls)} socket(s) of the page to be in the API logs (seen: lines)")
