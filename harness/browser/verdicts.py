"""What a researcher's page shows, checked against what the service says."""

from __future__ import annotations

import datetime as dt

from harness.browser.pages import ResearcherPage
from harness.browser.sessions import page_caught_up
from harness.report import attach
from harness.researchers.actors import Researcher
from harness.waiting import BATCH_TIMEOUT_S
from system.contract import CSV_COLUMNS


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
    attach.measured("page_events", {"pages": figures})


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


def same_number(shown: str, value) -> bool:
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
        assert all(same_number(shown, value) for shown, value in zip(row[:5], numbers, strict=True)), f"row {row} against {s}"
        assert all(same_number(shown, s[k]) for shown, k in zip(row[7:], ("area_um2", "equivalent_diameter_um"), strict=True)), f"row {row} against {s}"
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
            same = row[column] == str(want[column]) if column in ("filename", "model_used") else same_number(row[column], want[column])
            assert same, f"CSV {column} of image {want['image_id']} spheroid {want['index']}: {row[column]!r}, the service says {want[column]!r}"
    attach.measured("measurements_csv", {"rows": len(rows), "images": len(researcher.images)})


def check_small_batch_first(page: ResearcherPage, small_batch: int, large: Researcher, large_batch: int) -> None:
    """The small batch's batch.completed (as the page received it) came before the large batch's last start."""
    completed = [f["ts"] for f in page.frames if f["type"] == "batch.completed" and f["batch_id"] == small_batch]
    starts = sorted(e["ts"] for e in large.events.bodies() if e["type"] == "job.started" and e["batch_id"] == large_batch)
    assert completed, f"the page never received the small batch's batch.completed ({len(page.frames)} events)"
    small_done, large_last = dt.datetime.fromisoformat(completed[0]), dt.datetime.fromisoformat(starts[-1])
    waited_for = sum(dt.datetime.fromisoformat(t) < small_done for t in starts)
    attach.measured("fair_share_in_page", {"large_batch_jobs_started_before_small_completed": waited_for, "large_batch_jobs": len(starts)})
    assert small_done < large_last, f"the small batch completed at {small_done}, after the large batch's last image started at {large_last}"


async def check_page_policy(session, base_url: str) -> dict[str, str]:
    """The page's answer tells the browser to run only the page's own script and style (by hash), never to show it
    in a frame, never to sniff a type, never to send a referrer; returns the headers it checked."""
    async with session.get(base_url + "/") as resp:
        headers = {k: resp.headers.get(k, "") for k in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")}
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";") if part.strip())
    assert policy.get("default-src") == "'none'" and policy.get("frame-ancestors") == "'none'", headers
    for directive in ("script-src", "style-src"):
        sources = policy.get(directive, "").split()
        assert sources and all(s.startswith("'sha256-") for s in sources), f"{directive} allows {sources}: only the page's own, by hash"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer", headers
    return headers


def check_nothing_refused(page: ResearcherPage) -> None:
    refused = [m for m in page.console if "Content Security Policy" in m or "Refused to" in m]
    assert not refused, f"the browser refused what the page did: {refused[:3]}"


async def check_cancelled(page: ResearcherPage, researcher: Researcher, batch_id: int, at_press: dict) -> None:
    """The page and the service agree: every image ended succeeded (it was running, or started before the press
    reached the service) or cancelled, at least one of each; the progress bar counts every image as ended."""
    batch = await researcher.api.batch(batch_id)
    rows = await page.rows()
    shown = sorted(r["status"] for r in rows)
    assert set(shown) == {"succeeded", "cancelled"}, f"the page shows {shown}"
    assert shown.count("succeeded") == batch["succeeded"] >= at_press["running"] and shown.count("cancelled") == batch["cancelled"] > 0, \
        (shown, batch, at_press)
    done, total = await page.progress()
    assert done == total == batch["total"], f"the progress bar reads {done} of {total}; the batch has {batch['total']}"
