"""Researchers in browsers: pages of their own, files on disk, and what the report keeps of them.

Every page is a browser context of one shared Chromium, recorded with
Playwright tracing from the start.  When a ``@ui`` scenario ends, each page's
screenshot is attached to the report; its trace is attached when the scenario
failed, or when the scenario asks for it (tag ``@trace``), with the content type
Allure's report opens in its Playwright trace viewer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.browser.files import image_files
from harness.browser.pages import PAGE_RETRY_MAX_S, ResearcherPage, axe_version, serious_violations
from harness.clients.api import ApiClient, ApiResponse
from harness.faults.halts import freeze_inference, resume_inference
from harness.faults.proxy import FaultProxy
from harness.lifetime import keep_for_scenario
from harness.report import attach
from harness.researchers.actors import PASSWORD, Researcher, everyone
from harness.researchers.seeded import wait_for_started
from harness.waiting import BATCH_TIMEOUT_S, async_wait_until
from system.inference import synthetic


async def open_page(context, label: str, base_url: str | None = None) -> ResearcherPage:
    """A page of its own (from ``base_url``, default the first API process), closed when the scenario ends."""
    page = await ResearcherPage.open(context.browsers, base_url or context.system.api_url, label)
    keep_for_scenario(context, page, page.close)
    context.state.pages.append(page)  # screenshots and traces when the scenario ends
    return page


async def page_signed_in(context, researcher: Researcher, base_url: str | None = None) -> ResearcherPage:
    """The researcher's page, signed in, their project open with its images listed (the page opens it on its own
    after signing in: a click before that finds no project); labelled by its place in the scenario (r1, r2, ...)."""
    page = await open_page(context, f"r{len(context.state.pages) + 1}", base_url)
    await page.sign_in(researcher.name)
    if researcher.images:
        await page.wait_rows(len(researcher.images))
    return page


async def researcher_in_browser(context, label: str, count: int, pixel_size_um: float | None = None,
                                page: ResearcherPage | None = None,
                                files: dict[Path, synthetic.Sample] | None = None) -> tuple[Researcher, ResearcherPage]:
    """A researcher who signs up, creates a project and uploads ``count`` images (or ``files``), all in the page (a
    new one unless given); the harness follows the same account through the API and its event stream, to
    check the page against."""
    files = files or image_files(context, label, count)
    page = page or await open_page(context, label)
    name = Researcher.new_name(label)
    await page.sign_up(name)
    await page.create_project(f"spheroids of {label}", pixel_size_um)
    await page.upload(list(files))
    researcher = await follow(context, name)
    await researcher.adopt({path.name: sample for path, sample in files.items()})
    return researcher, page


async def researchers_in_browsers(context, n: int, count: int) -> tuple[list[Researcher], list[ResearcherPage]]:
    """``n`` researchers at once, each in a browser context of their own."""
    pairs = await everyone(researcher_in_browser(context, f"r{i + 1}", count) for i in range(n))
    return [r for r, _ in pairs], [p for _, p in pairs]


async def listening(context, researcher: Researcher) -> Researcher:
    """The researcher's live events, from any API process, closed when the scenario ends."""
    await researcher.listen([p.address for p in context.system.apis], context.system.config.worker.max_attempts)
    keep_for_scenario(context, researcher, researcher.events.close)
    return researcher


async def follow(context, name: str) -> Researcher:
    """The harness's own view of an account made in the page: an API session and the live events."""
    return await listening(context, await Researcher.signed_in(context.system.api_url, context.http, name))


async def page_through_proxy(context, researcher: Researcher) -> tuple[ResearcherPage, FaultProxy]:
    """The researcher's page, reaching the service through a proxy the harness can cut."""
    proxy = FaultProxy("page", "127.0.0.1", int(context.system.api_url.rsplit(":", 1)[1])).start()
    keep_for_scenario(context, proxy, proxy.stop)
    return await page_signed_in(context, researcher, base_url=proxy.address()), proxy


async def page_caught_up(page: ResearcherPage, researcher: Researcher, timeout_s: float = BATCH_TIMEOUT_S) -> list[int]:
    """Until the page has received the researcher's last event; returns the seqs it received, in order.
    Fails at once when a frame breaks the order (a replay, a gap), and after ``timeout_s`` naming what was missing."""
    last = researcher.events.last_seq

    def seqs() -> list[int]:
        if page.broken is not None:
            raise AssertionError(page.broken)
        return [f["seq"] for f in page.frames]

    return await async_wait_until(seqs, until=lambda got: last in got, timeout=timeout_s, interval=0.1,
                                  describe=f"the web page to receive {researcher.name}'s event {last}")


async def scan(page: ResearcherPage, view: str) -> dict:
    """axe-core's findings on the page's current view, attached to the report and kept for the run's record."""
    found = await page.accessibility_scan()
    summary = {"view": view, "axe_core": axe_version(found), "url": found.get("url"),
               "violations": [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]), "help": v["help"]} for v in found["violations"]],
               "passes": len(found.get("passes", [])), "incomplete": len(found.get("incomplete", []))}
    attach.attach_json(f"axe-core {summary['axe_core']}: {view}", {"summary": summary, "violations": found["violations"]})
    attach.measured("axe", {"view": view, "axe_core": summary["axe_core"], "violations": len(found["violations"]),
                               "serious_or_critical": len(serious_violations(found)), "passes": summary["passes"]})
    return found


# ---------------------------------------------------------------- what researchers do in the page
async def segment_to_the_end(page: ResearcherPage, **choices) -> int:
    """Segment the active project (model and threshold as given, else the page's defaults) and wait
    until the page says the batch completed; returns the batch's id."""
    batch = await page.segment(**choices)
    await page.wait_for_progress("batch completed", timeout_s=BATCH_TIMEOUT_S)
    return batch


async def reload_mid_batch(context, page: ResearcherPage, researcher: Researcher, batch_id: int) -> None:
    """While the batch's first jobs run (the inference server frozen), the researcher reloads the tab; once the page
    follows the batch again, the inference server goes on and the page is followed to the batch's end."""
    await wait_for_started(researcher, min(context.system.config.worker.max_running, len(researcher.images)))
    await page.reload()
    await page.follows_batch(batch_id)
    resume_inference(context)
    await page.wait_for_progress("batch completed", timeout_s=BATCH_TIMEOUT_S)


async def cut(page: ResearcherPage, proxy: FaultProxy) -> None:
    """The network between the tab and the service goes: the open socket is reset, new ones refused."""
    proxy.refuse()
    await page.wait_connection("reconnecting", timeout_s=PAGE_RETRY_MAX_S)


async def restore(page: ResearcherPage, proxy: FaultProxy, researcher: Researcher) -> None:
    """The network is back: the page's next retry (at most ``PAGE_RETRY_MAX_S`` away) connects, and what it
    missed is replayed at once (``?after=``): the page holds the researcher's last event within one more retry period."""
    proxy.heal()
    await page.wait_connection("live", timeout_s=2 * PAGE_RETRY_MAX_S + 1)
    await page_caught_up(page, researcher, timeout_s=PAGE_RETRY_MAX_S)


async def masks(researcher: Researcher) -> dict[int, np.ndarray]:
    """The latest mask of each of the researcher's images, by image id."""
    arrays = await everyone(researcher.mask_of(i) for i in researcher.images)
    return {i.id: mask for i, mask in zip(researcher.images, arrays, strict=True)}


async def account_with_files(context, count: int) -> tuple[Researcher, dict[Path, synthetic.Sample]]:
    """A researcher with an account and an empty project (made through the API), and ``count`` image files."""
    researcher = await listening(context, await Researcher.sign_up(context.system.api_url, context.http, label="keyboard"))
    await researcher.create_project()
    return researcher, image_files(context, "keyboard", count)


# ---------------------------------------------------------------- the keyboard alone
async def upload_by_keyboard(page: ResearcherPage, researcher: Researcher, files: dict[Path, synthetic.Sample]) -> None:
    """Upload ``files`` with the keyboard; the researcher then knows them as their images."""
    await page.upload_by_keyboard(list(files))
    await researcher.adopt({path.name: sample for path, sample in files.items()})


async def segment_by_keyboard(page: ResearcherPage) -> None:
    """Start the batch with the keyboard, and wait until the page shows every image done."""
    await page.segment_by_keyboard()
    await page.wait_for_progress("batch completed", timeout_s=BATCH_TIMEOUT_S)
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)


async def open_first_image_by_keyboard(page: ResearcherPage, researcher: Researcher) -> str:
    """Open the viewer on the researcher's first image with the keyboard; returns its file name."""
    filename = researcher.images[0].filename
    await page.open_viewer_by_keyboard(filename)
    return filename


async def scan_three_views(context, page: ResearcherPage, count: int) -> dict[str, dict]:
    """axe-core on the sign-in view, on the workspace while a batch runs (the inference server held
    still, so it is still running when scanned), and on the viewer."""
    scans = {"sign-in view": await scan(page, "sign-in view")}
    researcher, _ = await researcher_in_browser(context, "a11y", count, pixel_size_um=0.5, page=page)
    freeze_inference(context)
    batch = await page.segment()
    await page.wait_for_progress("0 of")
    scans["workspace during a batch"] = await scan(page, "workspace during a batch")
    resume_inference(context)
    await researcher.wait_for_batch(batch, BATCH_TIMEOUT_S)
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    await page.open_viewer(researcher.images[0].filename)
    scans["viewer"] = await scan(page, "viewer")
    return scans


# ---------------------------------------------------------------- what the page shows, against the service




async def end_page_session(context, page: ResearcherPage) -> ApiResponse:
    """Sign the page's session out from elsewhere (another window, with the page's own token)."""
    tokens = page.secrets() - {PASSWORD}
    assert len(tokens) == 1, f"the page's sockets carried {len(tokens)} tokens"
    return await ApiClient(context.system.api_url, context.http, tokens.pop()).logout()


async def cancel_while_running(context, page: ResearcherPage, researcher: Researcher, batch_id: int) -> dict:
    """Once some of the batch's images run (the inference server frozen, so the rest stay queued), press
    "Cancel batch", then let the inference server go on; returns the batch as the service saw it at the press."""
    seen = await async_wait_until(lambda: researcher.api.batch(batch_id), until=lambda b: b["running"] > 0, timeout=BATCH_TIMEOUT_S,
                                  interval=0.1, describe=f"an image of batch {batch_id} to be running (seen: the batch)")
    await page.cancel_batch()
    resume_inference(context)
    await page.wait_for_progress("batch cancelled", timeout_s=BATCH_TIMEOUT_S)
    return seen
