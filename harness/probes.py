"""Requests a researcher should not be able to make succeed, by plain-language name.

``ISOLATION`` maps an action on another researcher's work to the request that
attempts it; ``BAD_REQUESTS`` maps a kind of bad input to the request that
sends it.  Feature files name the actions; steps look them up here.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Awaitable, Callable

import aiohttp
import numpy as np
from PIL import Image

from system.inference import synthetic

from .actors import Researcher
from .api_client import ApiResponse

# action -> (method, path template, body); the template is filled from the owner's work.
ISOLATION: dict[str, tuple[str, str, str | None]] = {
    "see the project": ("GET", "/api/projects/{project}", None),
    "list the project's images": ("GET", "/api/projects/{project}/images", None),
    "upload images to the project": ("POST", "/api/projects/{project}/images", "upload"),
    "segment the project": ("POST", "/api/projects/{project}/segmentations", "segment"),
    "segment one of the images from their own project": ("POST", "/api/projects/{own_project}/segmentations", "segment_foreign_image"),
    "see an image": ("GET", "/api/images/{image}", None),
    "download an image's file": ("GET", "/api/images/{image}/file", None),
    "download an image's mask": ("GET", "/api/images/{image}/mask", None),
    "see an image's outlines": ("GET", "/api/images/{image}/polygons", None),
    "see the batch": ("GET", "/api/batches/{batch}", None),
    "cancel the batch": ("POST", "/api/batches/{batch}/cancel", None),
    "see a job": ("GET", "/api/jobs/{job}", None),
}


def png(array: np.ndarray) -> bytes:
    return synthetic.to_png(array)


def spheroid_png(seed: int = synthetic.EVAL_SEED_BASE + 777) -> bytes:
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


def upload_form(files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form


Sender = Callable[[Researcher, Researcher], Awaitable[ApiResponse]]


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


_truncated = spheroid_png()[:-200]

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
    "a truncated PNG": _upload(lambda: [("truncated.png", _truncated)]),
    "an image of zero pixels": _upload(lambda: [("empty.png", zero_pixel_png())]),
    "an image wider than 4096 pixels": _upload(lambda: [("wide.png", wide_png(4097, 8))]),
    "an image larger than 20 MiB": _upload(lambda: [("huge.tif", b"II*\x00" + b"\x00" * (20 * 1024 * 1024 + 1))]),
    "a text file as an image": _upload(lambda: [("notes.png", b"these are my notes, not an image")]),
    "101 images at once": _upload(lambda: [(f"s{i}.png", spheroid_png()) for i in range(101)]),
    "a good image together with a corrupt one": _upload(lambda: [("good.png", spheroid_png()), ("bad.png", _truncated)]),
    "a file name of 300 characters": _upload(lambda: [("x" * 296 + ".png", spheroid_png())]),
    "no file at all": _upload(lambda: []),
}
