"""Requests a researcher should not be able to make succeed, by plain-language name.

``ISOLATION`` maps an action on another researcher's work to the request that
attempts it; ``BAD_REQUESTS`` maps a kind of bad input to the request that
sends it; ``BAD_INFERENCE_INPUT`` maps a kind of bad input to what is sent to
the inference server.  Feature files name them; steps look them up here.
Bodies are built when a scenario sends them, never at import.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import numpy as np
import websockets
from PIL import Image

from harness.clients.api import ApiResponse, upload_form
from harness.researchers.actors import PASSWORD, Researcher
from system.inference import synthetic


def png(array: np.ndarray) -> bytes:
    return synthetic.to_png(array)


SPHEROID_SEED = synthetic.EVAL_SEED_BASE + 777  # a 64 x 64 micrograph no model was trained on


def spheroid_png(seed: int = SPHEROID_SEED) -> bytes:
    return png(synthetic.generate(seed, size=(64, 64)).image)


def zero_pixel_png() -> bytes:
    """A PNG whose header declares 0 x 0 pixels (no encoder writes one; built by hand)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def wide_png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


Sender = Callable[[Researcher, Researcher], Awaitable[ApiResponse]]


def _as_other(method: str, path: Callable[[Researcher, Researcher], str], body: Callable[[Researcher, Researcher], dict] | None = None) -> Sender:
    """``me`` (the other researcher) sends ``method path`` about ``owner``'s work."""
    async def send(me: Researcher, owner: Researcher) -> ApiResponse:
        kwargs = body(me, owner) if body else {}
        return await me.api.request(method, path(me, owner), **kwargs)
    return send


def _image(o: Researcher) -> int:
    return o.images[0].id


ISOLATION: dict[str, Sender] = {
    "see the project": _as_other("GET", lambda me, o: f"/api/projects/{o.project_id}"),
    "list the project's images": _as_other("GET", lambda me, o: f"/api/projects/{o.project_id}/images"),
    "upload images to the project": _as_other("POST", lambda me, o: f"/api/projects/{o.project_id}/images",
                                              lambda me, o: {"data": upload_form([("intruder.png", spheroid_png())])}),
    "segment the project": _as_other("POST", lambda me, o: f"/api/projects/{o.project_id}/segmentations", lambda me, o: {"json": {}}),
    "segment one of the images from their own project": _as_other(
        "POST", lambda me, o: f"/api/projects/{me.project_id}/segmentations", lambda me, o: {"json": {"image_ids": [_image(o)]}}),
    "see an image": _as_other("GET", lambda me, o: f"/api/images/{_image(o)}"),
    "download an image's file": _as_other("GET", lambda me, o: f"/api/images/{_image(o)}/file"),
    "download an image's mask": _as_other("GET", lambda me, o: f"/api/images/{_image(o)}/mask"),
    "see an image's outlines": _as_other("GET", lambda me, o: f"/api/images/{_image(o)}/polygons"),
    "see the batch": _as_other("GET", lambda me, o: f"/api/batches/{o.batches[0]['batch_id']}"),
    "cancel the batch": _as_other("POST", lambda me, o: f"/api/batches/{o.batches[0]['batch_id']}/cancel"),
    "see a job": _as_other("GET", lambda me, o: f"/api/jobs/{o.batches[0]['job_ids'][0]}"),
}


def _post_json(path: str, body) -> Sender:
    async def send(me: Researcher, other: Researcher) -> ApiResponse:
        return await me.api.request("POST", path.format(project=me.project_id), json=body)
    return send


def _raw(path: str, data: bytes) -> Sender:
    async def send(me: Researcher, other: Researcher) -> ApiResponse:
        return await me.api.request("POST", path.format(project=me.project_id), data=data, headers={"Content-Type": "application/json"})
    return send


def _upload(files: Callable[[], list[tuple[str, bytes]]]) -> Sender:
    async def send(me: Researcher, other: Researcher) -> ApiResponse:
        return await me.api.request("POST", f"/api/projects/{me.project_id}/images", data=upload_form(files()))
    return send


async def _foreign_image(me: Researcher, other: Researcher) -> ApiResponse:
    return await me.api.request("POST", f"/api/projects/{me.project_id}/segmentations", json={"image_ids": [other.images[0].id]})


def _truncated() -> bytes:
    return spheroid_png()[:-200]

BAD_REQUESTS: dict[str, Sender] = {
    "malformed JSON": _raw("/api/projects", b'{"name": "unclosed'),
    "a JSON list instead of an object": _post_json("/api/projects", ["name"]),
    "a project name that is a number": _post_json("/api/projects", {"name": 42}),
    "an empty project name": _post_json("/api/projects", {"name": ""}),
    "a project name of 201 characters": _post_json("/api/projects", {"name": "x" * 201}),
    "a threshold of 0.99": _post_json("/api/projects/{project}/segmentations", {"threshold": 0.99}),
    "a threshold given as text": _post_json("/api/projects/{project}/segmentations", {"threshold": "0.5"}),
    "an unknown model": _post_json("/api/projects/{project}/segmentations", {"model": "segment-anything"}),
    "an empty list of images": _post_json("/api/projects/{project}/segmentations", {"image_ids": []}),
    "image ids that are not numbers": _post_json("/api/projects/{project}/segmentations", {"image_ids": ["1"]}),
    "another researcher's image id": _foreign_image,
    "a corrupt image": _upload(lambda: [("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)]),
    "a truncated PNG": _upload(lambda: [("truncated.png", _truncated())]),
    "an image of zero pixels": _upload(lambda: [("empty.png", zero_pixel_png())]),
    "an image wider than 4096 pixels": _upload(lambda: [("wide.png", wide_png(4097, 8))]),
    "an image larger than 20 MiB": _upload(lambda: [("huge.tif", b"II*\x00" + b"\x00" * (20 * 1024 * 1024 + 1))]),
    "a text file as an image": _upload(lambda: [("notes.png", b"these are my notes, not an image")]),
    "101 images at once": _upload(lambda: [(f"s{i}.png", spheroid_png()) for i in range(101)]),
    "a good image together with a corrupt one": _upload(lambda: [("good.png", spheroid_png()), ("bad.png", _truncated())]),
    "a file name of 300 characters": _upload(lambda: [("x" * 296 + ".png", spheroid_png())]),
    "no file at all": _upload(lambda: []),
}


# ------------------------------------------------------------------ the inference server
# kind of bad input -> (model, body, threshold), built only when a scenario sends it
# (the 65 MiB body, for one, is not kept in memory for the whole run).
BAD_INFERENCE_INPUT: dict[str, Callable[[], tuple[str, bytes, float | str]]] = {
    "bytes that are not an image": lambda: ("unet", b"definitely not an image", 0.5),
    "a truncated PNG": lambda: ("unet", spheroid_png()[:-300], 0.5),
    "an empty body": lambda: ("unet", b"", 0.5),
    "an image of 4097 by 8 pixels": lambda: ("unet", wide_png(4097, 8), 0.5),
    "an image of 8 by 8 pixels": lambda: ("unet", png(np.zeros((8, 8), np.uint8)), 0.5),
    "an image for a model that does not exist": lambda: ("segment-anything", spheroid_png(), 0.5),
    "a threshold of 7": lambda: ("unet", spheroid_png(), 7),
    "a threshold that is not a number": lambda: ("unet", spheroid_png(), "high"),
    "a body of 65 MiB": lambda: ("unet", b"\x89PNG" + b"\x00" * (65 * 1024 * 1024), 0.5),
    "a zero-pixel image": lambda: ("unet", zero_pixel_png(), 0.5),
}


# ------------------------------------------------------------------ no token
def _owned_paths(project_id: int) -> tuple[str, ...]:
    return (f"/api/projects/{project_id}", f"/api/projects/{project_id}/images", "/api/queue")


async def token_in_link(base_url: str, project_id: int, real_token: str) -> list[tuple[str, int, str]]:
    """(what, status, error code) of asking for a project, its images and the queue with the researcher's
    real token in the URL instead of a header: a URL ends up in histories and logs, so only the browser's
    WebSocket (which cannot send a header) may carry it there."""
    answers = []
    async with aiohttp.ClientSession() as session:
        for path in _owned_paths(project_id):
            async with session.get(base_url + path, params={"token": real_token}) as resp:
                answers.append((path + "?token=<theirs>", resp.status, (await resp.json())["error"]["code"]))
    return answers


async def without_token(base_url: str, project_id: int) -> list[tuple[str, int, str]]:
    """(what, status, error code) of asking for a project, its images, the queue and the events
    with no token and with a made-up one."""
    answers = []
    async with aiohttp.ClientSession() as session:
        for token in (None, "not-a-token"):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for path in _owned_paths(project_id):
                async with session.get(base_url + path, headers=headers) as resp:
                    answers.append((path, resp.status, (await resp.json())["error"]["code"]))
    ws_url = base_url.replace("http://", "ws://") + "/api/events"
    for query in ("", "?token=not-a-token"):
        try:
            async with websockets.connect(ws_url + query):
                answers.append(("/api/events" + query, 101, "upgraded"))
        except websockets.InvalidStatus as exc:
            answers.append(("/api/events" + query, exc.response.status_code, json.loads(exc.response.body)["error"]["code"]))
    return answers


# ---------------------------------------------------------------- guessing passwords
@dataclass
class Guess:
    status: int
    code: str | None
    retry_after: str | None
    seconds: float


async def guess(base_url: str, username: str, passwords: list[str]) -> list[Guess]:
    """Log in as ``username`` with each of ``passwords`` in turn, as someone guessing would."""
    guesses = []
    async with aiohttp.ClientSession() as session:
        for password in passwords:
            started = time.perf_counter()
            async with session.post(f"{base_url}/api/auth/login", json={"username": username, "password": password}) as resp:
                body = await resp.json()
                guesses.append(Guess(resp.status, (body.get("error") or {}).get("code"), resp.headers.get("Retry-After"),
                                     time.perf_counter() - started))
    return guesses


def wrong_passwords(n: int) -> list[str]:
    return [f"not the password {i}" for i in range(n)]


async def guess_times(base_url: str, session: aiohttp.ClientSession, tries: int) -> tuple[float, float]:
    """The median time of a wrong password for a new account and for a name no account has, alternating,
    fewer than the account's limit each: (existing, missing) in seconds."""
    account = await Researcher.sign_up(base_url, session, "guessed")
    known, unknown = [], []
    for password in wrong_passwords(tries):
        known += await guess(base_url, account.name, [password])
        unknown += await guess(base_url, f"{account.name}-nobody", [password])
    assert all(g.code == "invalid_credentials" for g in known + unknown), [(g.status, g.code) for g in known + unknown]
    return statistics.median(g.seconds for g in known), statistics.median(g.seconds for g in unknown)


# ---------------------------------------------------------------- sessions
async def with_token(base_url: str, project_id: int, token: str) -> list[tuple[str, int, str]]:
    """(what, status, error code) of asking for a project, its images and the queue with ``token`` in the header."""
    answers = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for path in _owned_paths(project_id):
            async with session.get(base_url + path) as resp:
                body = await resp.json()
                answers.append((path, resp.status, body["error"]["code"] if isinstance(body, dict) and "error" in body else "answered"))
    return answers


async def sessions_used_and_not(base_url: str, session: aiohttp.ClientSession) -> tuple[ApiResponse, ApiResponse]:
    """Two researchers sign in at an API process with short sessions (its SESSION_SECONDS); one leaves the
    session unused, the other asks for the queue every tenth of a session; after two sessions' time both ask
    again.  The session's length is read from the login's ``expires_in``; the wait is measured from there."""
    idle = await Researcher.sign_up(base_url, session, "idle")
    busy = await Researcher.sign_up(base_url, session, "busy")
    lasts = float((await idle.api.login(idle.name, PASSWORD))["expires_in"])
    await busy.api.login(busy.name, PASSWORD)
    until = time.monotonic() + 2 * lasts
    while time.monotonic() < until:
        await busy.api.queue()
        await asyncio.sleep(lasts / 10)
    return await idle.api.request("GET", "/api/queue"), await busy.api.request("GET", "/api/queue")


# ---------------------------------------------------------------- one researcher against the limits
async def many_changes(researcher: Researcher, n: int) -> tuple[list[ApiResponse], float]:
    """``n`` changes (project creations with a body that is not JSON, so nothing is stored) at once; the answers,
    and how long the burst took (s)."""
    started = time.monotonic()
    answers = await asyncio.gather(*(researcher.api.request("POST", "/api/projects", data=b"{not json") for _ in range(n)))
    return list(answers), time.monotonic() - started


async def one_change(researcher: Researcher) -> ApiResponse:
    """An ordinary change: a new project."""
    return await researcher.api.request("POST", "/api/projects", json={"name": "made meanwhile"})


async def many_sockets(researcher: Researcher, n: int) -> tuple[int, list[int]]:
    """Open ``n`` event sockets at once at the researcher's API process, keep them until all are answered, close
    them; returns how many opened and the statuses of those refused."""
    url = researcher.api.base_url.replace("http://", "ws://", 1) + "/api/events"
    headers = {"Authorization": f"Bearer {researcher.api.token}"}

    async def one():
        try:
            return await websockets.connect(url, additional_headers=headers, open_timeout=10)
        except websockets.InvalidStatus as exc:
            return exc.response.status_code

    outcomes = await asyncio.gather(*(one() for _ in range(n)))
    opened = [o for o in outcomes if not isinstance(o, int)]
    for ws in opened:
        await ws.close()
    return len(opened), [o for o in outcomes if isinstance(o, int)]
