"""Researchers in browsers: pages of their own, files on disk, and what the report keeps of them.

Every page is a browser context of one shared Chromium, recorded with
Playwright tracing from the start.  When a ``@ui`` scenario ends, each page's
screenshot is attached to the report; its trace is attached when the scenario
failed, or when the scenario asks for it (tag ``@trace``), with the content type
Allure's report opens in its Playwright trace viewer.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import allure
import numpy as np

from system.contract import CSV_COLUMNS
from system.inference import synthetic

from . import reporting
from .actors import Researcher, everyone
from .pages import PAGE_RETRY_MAX_S, ResearcherPage, axe_version, serious_violations
from .proxy import FaultProxy
from .scenario import BATCH_TIMEOUT_S, freeze_inference, keep_for_scenario, resume_inference, seed_block
from .waiting import async_wait_until

# allure-python 2.16 has no name for it; the Allure 3 report shows attachments of this type in its trace viewer.
PLAYWRIGHT_TRACE = "application/vnd.allure.playwright-trace"


def scenario_folder(context) -> Path:
    """A folder of the scenario's own (image files, traces), removed when the scenario ends."""
    if getattr(context, "ui_folder", None) is None:
        folder = context.ui_folder = Path(tempfile.mkdtemp(prefix="paraseg-ui-"))
        keep_for_scenario(context, folder, lambda: shutil.rmtree(folder, ignore_errors=True))
    return context.ui_folder


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


async def open_page(context, label: str, base_url: str | None = None) -> ResearcherPage:
    """A page of its own (from ``base_url``, default the first API process), closed when the scenario ends."""
    page = await ResearcherPage.open(context.browsers, base_url or context.system.api_url, label)
    keep_for_scenario(context, page, page.close)
    context.pages.append(page)  # screenshots and traces when the scenario ends
    return page


async def page_signed_in(context, researcher: Researcher, base_url: str | None = None) -> ResearcherPage:
    """The researcher's page, signed in; labelled by its place in the scenario (r1, r2, ...), as the report shows it."""
    page = await open_page(context, f"r{len(context.pages) + 1}", base_url)
    await page.sign_in(researcher.name)
    return page


async def researcher_in_browser(context, label: str, count: int, pixel_size_um: float | None = None,
                                page: ResearcherPage | None = None) -> tuple[Researcher, ResearcherPage]:
    """A researcher who signs up, creates a project and uploads ``count`` images, all in the page (a new
    one unless given); the harness follows the same account through the API and its event stream, to
    check the page against."""
    files = image_files(context, label, count)
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
    await researcher.listen([p.address for p in context.system.apis], context.system.config.max_attempts)
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
    reporting.attach_json(f"axe-core {summary['axe_core']}: {view}", {"summary": summary, "violations": found["violations"]})
    reporting.measured("axe", {"view": view, "axe_core": summary["axe_core"], "violations": len(found["violations"]),
                               "serious_or_critical": len(serious_violations(found)), "passes": summary["passes"]})
    return found


def keep_evidence(context, failed: bool, wants_trace: bool) -> None:
    """Each page's screenshot, and its Playwright trace when the scenario failed or asked for it."""
    for page in getattr(context, "pages", []):
        try:
            reporting.attach_png(f"page of {page.label}{' at failure' if failed else ''}", context.loop.run_until_complete(page.screenshot()))
        except Exception as exc:  # a page that died is evidence too
            reporting.attach_text(f"page of {page.label}: no screenshot", repr(exc))
        keep = failed or wants_trace
        path = scenario_folder(context) / f"trace-{page.label}.zip" if keep else None
        try:
            saved = context.loop.run_until_complete(page.finish(path))
        except Exception as exc:
            reporting.attach_text(f"trace of {page.label}: not recorded", repr(exc))
            continue
        if saved is not None:
            allure.attach.file(str(saved), name=f"Playwright trace of {page.label}", attachment_type=PLAYWRIGHT_TRACE, extension="zip")


# ---------------------------------------------------------------- what researchers do in the page
async def segment_to_the_end(page: ResearcherPage, **choices) -> int:
    """Segment the active project (model and threshold as given, else the page's defaults) and wait
    until the page says the batch completed; returns the batch's id."""
    batch = await page.segment(**choices)
    await page.wait_for_progress("batch completed", timeout_s=BATCH_TIMEOUT_S)
    return batch


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


async def keyboard_session(context, page: ResearcherPage, researcher: Researcher, files: dict[Path, synthetic.Sample]) -> str:
    """Sign in, upload, segment and open a viewer with the keyboard alone; returns the file viewed."""
    await page.sign_in_by_keyboard(researcher.name)
    await page.upload_by_keyboard(list(files))
    await researcher.adopt({path.name: sample for path, sample in files.items()})
    await page.segment_by_keyboard()
    await page.wait_for_progress("batch completed", timeout_s=BATCH_TIMEOUT_S)
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
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
async def check_own_work(page: ResearcherPage, researcher: Researcher, count: int) -> None:
    """The page lists the researcher's one project and exactly their images, each succeeded with its spheroid count."""
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    projects = await researcher.api.projects()
    assert await page.project_names() == [p["name"] for p in projects], f"{page.label} lists {await page.project_names()}"
    rows = await page.rows()
    images = {i["filename"]: i for i in await researcher.api.images(researcher.project_id)}
    assert sorted(r["file"] for r in rows) == sorted(images) and len(rows) == count, f"{page.label} lists {[r['file'] for r in rows]}"
    for row in rows:
        segmentation = images[row["file"]]["segmentation"]
        assert row["status"] == "succeeded" == segmentation["status"], f"{page.label}: {row}"
        assert int(row["spheroids"]) == segmentation["spheroid_count"], f"{page.label}: {row} against {segmentation}"


async def check_page_events(page: ResearcherPage, researcher: Researcher) -> None:
    """The page got every event the service sent its researcher, once each, in order, and only theirs."""
    received = await page_caught_up(page, researcher)
    sent = [e["seq"] for e in researcher.events.bodies()]
    assert received == sent, f"{page.label} received seqs {received}, the service sent {sent}"
    strangers = {f["project_id"] for f in page.frames} - {researcher.project_id}
    assert not strangers, f"{page.label} received events of projects {sorted(strangers)}"


def record_frames(pages: list[ResearcherPage], researchers: list[Researcher]) -> None:
    figures = [{"page": p.label, "events_received": len(p.frames), "events_sent": len(r.events.bodies()), "sockets": p.sockets}
               for p, r in zip(pages, researchers, strict=True)]
    reporting.measured("page_events", {"pages": figures})


async def check_outlines(page: ResearcherPage, researcher: Researcher, image) -> None:
    """The viewer shows the image, with one outline drawn per outline the service found."""
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    if not await page.outlines(image.filename).is_visible():
        await page.open_viewer(image.filename)
    drawn = await page.outlines_drawn(image.filename)
    found = [p["type"] for p in (await researcher.api.polygons(image.id))["polygons"]]
    assert found, f"the service found no outline in {image.filename}"
    assert drawn == found, f"{page.label}: drawn over {image.filename}: {drawn}; the service found {found}"
    assert await page.image_shown(image.filename), f"{page.label}: {image.filename} is not shown"


def _same_number(shown: str, value) -> bool:
    if value is None:
        return shown in ("", "–")
    return abs(float(shown) - float(value)) <= 1e-9 * max(1.0, abs(float(value)))


async def check_viewer_measurements(page: ResearcherPage, researcher: Researcher) -> None:
    """The "Spheroids" table of the viewer holds the service's measurements of the image, row by row."""
    image = researcher.images[0]
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    await page.open_viewer(image.filename)
    body = await researcher.api.measurements(image.id)
    rows = await page.spheroid_rows()
    assert body["spheroids"] and len(rows) == len(body["spheroids"]), f"the viewer shows {len(rows)} spheroids, the service {len(body['spheroids'])}"
    for row, s in zip(rows, body["spheroids"], strict=True):
        numbers = [s["index"], s["area_px"], s["perimeter_px"], s["equivalent_diameter_px"], s["circularity"]]
        assert all(_same_number(shown, value) for shown, value in zip(row[:5], numbers, strict=True)), f"row {row} against {s}"
        assert all(_same_number(shown, s[k]) for shown, k in zip(row[7:], ("area_um2", "equivalent_diameter_um"), strict=True)), f"row {row} against {s}"
        assert s["area_um2"] is not None and abs(s["area_um2"] - s["area_px"] * body["pixel_size_um"] ** 2) < 1e-2, s


async def check_downloaded_measurements(page: ResearcherPage, researcher: Researcher) -> None:
    """The CSV the page downloads has one row per spheroid of every image, with the service's numbers."""
    rows = await page.download_measurements()
    expected = []
    for image in researcher.images:
        body = await researcher.api.measurements(image.id)
        expected += [{"image_id": image.id, "filename": image.filename, "model_used": body["model_used"]} | s for s in body["spheroids"]]
    assert len(rows) == len(expected) > 0, f"the CSV has {len(rows)} rows; the service measured {len(expected)} spheroids"
    for row, want in zip(rows, expected, strict=True):
        assert list(row) == list(CSV_COLUMNS), f"the CSV's columns are {list(row)}"
        for column in CSV_COLUMNS:
            same = row[column] == str(want[column]) if column in ("filename", "model_used") else _same_number(row[column], want[column])
            assert same, f"CSV {column} of image {want['image_id']} spheroid {want['index']}: {row[column]!r}, the service says {want[column]!r}"
    reporting.measured("measurements_csv", {"rows": len(rows), "images": len(researcher.images)})


def check_small_batch_first(page: ResearcherPage, small_batch: int, large: Researcher, large_batch: int) -> None:
    """The small batch's batch.completed (as the page received it) came before the large batch's last start."""
    completed = [f["ts"] for f in page.frames if f["type"] == "batch.completed" and f["batch_id"] == small_batch]
    starts = sorted(e["ts"] for e in large.events.bodies() if e["type"] == "job.started" and e["batch_id"] == large_batch)
    assert completed, f"the page never received the small batch's batch.completed ({len(page.frames)} events)"
    small_done, large_last = dt.datetime.fromisoformat(completed[0]), dt.datetime.fromisoformat(starts[-1])
    waited_for = sum(dt.datetime.fromisoformat(t) < small_done for t in starts)
    reporting.measured("fair_share_in_page", {"large_batch_jobs_started_before_small_completed": waited_for, "large_batch_jobs": len(starts)})
    assert small_done < large_last, f"the small batch completed at {small_done}, after the large batch's last image started at {large_last}"
