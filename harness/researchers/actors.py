"""Simulated researchers: what a person does with the service, as API calls.

A :class:`Researcher` has an account, a project of synthetic spheroid images
whose ground truth it remembers, and a live event stream.  Steps drive
researchers; the checks compare what a researcher can observe with what it
knows to be true.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
from dataclasses import dataclass, field

import aiohttp
import numpy as np
from PIL import Image

from harness.clients.api import ApiClient, ApiResponse, reading_paths
from harness.clients.events import EventStream
from harness.stack.processes import RUN_ID
from system.inference import synthetic

_names = itertools.count(1)
_image_seeds = itertools.count(synthetic.EVAL_SEED_BASE + 10_000)
PASSWORD = "correct horse battery"
FINAL_EVENT_TYPES = {"job.succeeded", "job.failed", "job.cancelled"}
# batch.completed is committed in the transaction of its batch's last final event: it arrives with it.
BATCH_COMPLETED_S = 5.0


@dataclass
class UploadedImage:
    id: int
    filename: str
    width: int
    height: int
    truth: np.ndarray  # ground-truth mask, 0/255
    png: bytes = b""  # the bytes uploaded, where the harness made them


@dataclass
class Researcher:
    name: str
    api: ApiClient
    events: EventStream | None = None
    project_id: int | None = None
    images: list[UploadedImage] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)

    @staticmethod
    def new_name(label: str = "researcher") -> str:
        return f"{label}-{RUN_ID}-{next(_names)}"

    @classmethod
    async def sign_up(cls, base_url: str, session: aiohttp.ClientSession, label: str = "researcher") -> Researcher:
        name = cls.new_name(label)
        api = ApiClient(base_url, session)
        await api.register(name, PASSWORD)
        await api.login(name, PASSWORD)
        return cls(name, api)

    @classmethod
    async def signed_in(cls, base_url: str, session: aiohttp.ClientSession, name: str) -> Researcher:
        """A researcher whose account already exists (made in the web page), with the harness's own session."""
        api = ApiClient(base_url, session)
        await api.login(name, PASSWORD)
        return cls(name, api)

    async def adopt(self, samples: dict[str, synthetic.Sample]) -> None:
        """Take over the project and images the researcher made in the web page: the newest project,
        its images matched by file name to the ``samples`` they were drawn from."""
        projects = await self.api.projects()
        self.project_id = projects[-1]["id"]
        if self.events is not None:
            self.events.project_ids.add(self.project_id)
        for row in await self.api.images(self.project_id):
            self.images.append(UploadedImage(row["id"], row["filename"], row["width"], row["height"], samples[row["filename"]].mask))

    async def listen(self, events_urls: list[str] | None = None, max_attempts: int | None = None) -> None:
        """Open the live event stream on the first of ``events_urls`` (default: where the requests go);
        if it drops, it reconnects to the next of them.  ``max_attempts``: the system's, checked on arrival."""
        self.events = EventStream(events_urls or [self.api.base_url], self.api.token, max_attempts=max_attempts)
        await self.events.connect(after=0)

    async def create_project(self, name: str | None = None) -> int:
        self.project_id = (await self.api.create_project(name or f"spheroids of {self.name}"))["id"]
        if self.events is not None:
            self.events.project_ids.add(self.project_id)  # events about any other project break a rule on arrival
        return self.project_id

    async def upload_spheroids(self, count: int, first_seed: int | None = None) -> list[UploadedImage]:
        """Upload ``count`` synthetic micrographs no model was trained on: seeds ``first_seed`` on
        (the next unused ones when not given)."""
        seeds = range(first_seed, first_seed + count) if first_seed is not None else [next(_image_seeds) for _ in range(count)]
        samples = [(f"spheroid_{i + 1:03d}.png", synthetic.generate(seed)) for i, seed in enumerate(seeds)]
        pngs = [synthetic.to_png(s.image) for _, s in samples]
        stored = await self.api.upload(self.project_id, [(name, png) for (name, _), png in zip(samples, pngs, strict=True)])
        for row, (_, sample), png in zip(stored, samples, pngs, strict=True):
            self.images.append(UploadedImage(row["id"], row["filename"], row["width"], row["height"], sample.mask, png))
        return self.images[-count:]

    async def upload_tiny_image(self, side: int = 8) -> UploadedImage:
        """A valid PNG too small for any spheroid: accepted on upload, refused by inference."""
        array = np.full((side, side), 128, np.uint8)
        row = (await self.api.upload(self.project_id, [("tiny.png", synthetic.to_png(array))]))[0]
        image = UploadedImage(row["id"], row["filename"], row["width"], row["height"], np.zeros_like(array))
        self.images.append(image)
        return image

    def final_times(self, kind: str = "job.succeeded") -> list[float]:
        """When each of this researcher's jobs reached ``kind``, by the event's commit time, in order."""
        return sorted(ts(e) for e in self.events.bodies() if e["type"] == kind)

    def first_queued_time(self) -> float:
        return min(ts(e) for e in self.events.bodies() if e["type"] == "job.queued")

    async def segment(self, **options) -> dict:
        batch = await self.api.segment(self.project_id, **options)
        self.batches.append(batch)
        return batch

    async def wait_for_batch(self, batch_id: int, timeout: float) -> None:
        """Until the batch (one this researcher started anywhere, the web page included) has its batch.completed event."""
        await self.events.wait_for(lambda evs: any(e["type"] == "batch.completed" and e["batch_id"] == batch_id for e in evs), timeout,
                                   describe=f"batch.completed of {self.name}'s batch {batch_id}")

    async def wait_for_batches(self, timeout: float) -> None:
        """Until every job of every batch this researcher submitted has its final event (``timeout``),
        and then each batch its batch.completed - which is written with its last job's final event, so it
        must follow within ``BATCH_COMPLETED_S``, not after the whole bound."""
        wanted = {b["batch_id"] for b in self.batches}
        jobs = {j for b in self.batches for j in b["job_ids"]}
        await self.events.wait_for(lambda evs: jobs <= {e["job_id"] for e in evs if e["type"] in FINAL_EVENT_TYPES}, timeout,
                                   describe=f"a final event for each of {self.name}'s {len(jobs)} jobs")
        await self.events.wait_for(lambda evs: wanted <= {e["batch_id"] for e in evs if e["type"] == "batch.completed"}, BATCH_COMPLETED_S,
                                   describe=f"batch.completed of {self.name}'s batches {sorted(wanted)}, whose jobs have all ended")

    async def mask_of(self, image: UploadedImage) -> np.ndarray:
        png = await self.api.mask(image.id)
        with Image.open(io.BytesIO(png)) as img:
            if img.mode != "L":
                raise AssertionError(f"mask of {image.filename} has mode {img.mode}, not one channel")
            return np.asarray(img)

    def started_job_ids(self) -> set[int]:
        return {e["job_id"] for e in self.events.bodies() if e["type"] == "job.started"}

    def heard_job_ids(self) -> set[int]:
        """Every job this researcher's event stream mentioned."""
        return {e["job_id"] for e in self.events.bodies() if e["job_id"] is not None}

    async def look_at_work_of(self, other: Researcher) -> dict[str, ApiResponse]:
        """Try to read another researcher's project, image, mask, outlines, batch and job."""
        batch = other.batches[0]
        return await self.api.read(reading_paths(other.project_id, other.images[0].id, batch["batch_id"], batch["job_ids"][0]))

    def attempts_started(self, job_id: int) -> list[int]:
        """The attempt numbers of the job's job.started events, in order."""
        return [e["attempt"] for e in self.events.bodies() if e["job_id"] == job_id and e["type"] == "job.started"]

    async def snapshot(self) -> dict:
        """Everything this researcher can see of their own work."""
        projects = await self.api.projects()
        images = {p["id"]: await self.api.images(p["id"]) for p in projects}
        batches = [await self.api.batch(b["batch_id"]) for b in self.batches]
        return {"projects": projects, "images": images, "mine": (await self.api.queue())["mine"], "batches": batches}

    def own_job_ids(self) -> set[int]:
        return {j for b in self.batches for j in b["job_ids"]}


def ts(event: dict) -> float:
    return dt.datetime.fromisoformat(event["ts"]).timestamp()


async def everyone(coros) -> list:
    """Run the researchers' actions at the same moment; the first failure wins."""
    return await asyncio.gather(*coros)


async def four_sharing(api_url: str, session: aiohttp.ClientSession, images: list[bytes], label: str) -> list[Researcher]:
    """Four researchers, listening, each with a project of a quarter of ``images`` (a round-robin deal)."""
    researchers = await everyone(Researcher.sign_up(api_url, session, label) for _ in range(4))
    for i, r in enumerate(researchers):
        await r.listen()
        await r.create_project()
        await r.api.upload(r.project_id, [(f"img_{j:03d}.png", png) for j, png in enumerate(images[i::4])])
    return researchers
