"""A fault's window: when it began and ended, and every request clients made meanwhile."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from harness.clients.api import ApiResponse, upload_form
from harness.researchers.actors import Researcher
from harness.researchers.misuse import spheroid_png


@dataclass
class Attempt:
    """One request a client made while the fault lasted."""

    sent: float
    answered: float
    status: int | None
    code: str | None
    retry_after: str | None
    error: str | None = None  # when no HTTP answer came at all

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


@dataclass
class FaultWindow:
    what: str
    started: float = 0.0  # time.time()
    ended: float = 0.0
    requests: list[Attempt] = field(default_factory=list)
    readiness: list[Attempt] = field(default_factory=list)  # GET /ready meanwhile
    terminated: int = 0  # connections a termination fault ended
    writes: bool | str = False  # meanwhile the clients make a project (True) or upload an image ("upload"), not read their queue

    def unavailable_answers(self) -> list[Attempt]:
        return [p for p in self.requests if p.status == 503 and p.code == "unavailable"]


async def _try_api(researcher: Researcher, window: FaultWindow, until: asyncio.Event) -> None:
    """Ask for the researcher's queue (or create a project, when the fault is about writes), and whether the
    service is ready, back to back, until the fault is over."""
    tries = itertools.count(1)
    while not until.is_set():
        n = next(tries)
        ask = (("POST", f"/api/projects/{researcher.project_id}/images", upload_form([(f"during-{n}.png", spheroid_png())]))
               if window.writes == "upload" else ("POST", "/api/projects", {"name": f"made during the fault {n}"}) if window.writes
               else ("GET", "/api/queue", None))
        for (method, path, body), into in ((ask, window.requests), (("GET", "/ready", None), window.readiness)):
            sent = time.time()
            try:
                form = isinstance(body, aiohttp.FormData)
                answer: ApiResponse = await researcher.api.request(method, path, **({"data": body} if form else {"json": body}))
                into.append(Attempt(sent, time.time(), answer.status, answer.error_code, answer.headers.get("Retry-After")))
            except Exception as exc:  # no answer at all is what the check must see, not a crash of the probe
                into.append(Attempt(sent, time.time(), None, None, None, f"{type(exc).__name__}: {exc}"))
        await asyncio.sleep(0.02)


async def during(window: FaultWindow, researchers: list[Researcher], fault: Callable[[], None]) -> None:
    """Run the (blocking) ``fault`` in a thread while the researchers' clients keep asking the API."""
    over = asyncio.Event()
    tries = [asyncio.create_task(_try_api(r, window, over)) for r in researchers[:2]]
    window.started = time.time()
    try:
        await asyncio.to_thread(fault)
    finally:
        window.ended = time.time()
        over.set()
        await asyncio.gather(*tries)
