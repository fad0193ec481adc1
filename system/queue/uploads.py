"""Multipart image uploads: all or nothing, every file checked before anything is stored.

The body is streamed part by part; a file stops being read the moment it passes
the size limit, so an oversized upload costs little memory.
"""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from ..common import images
from ..common.http import ApiError
from ..contract import IMAGE_TYPES, MAX_FILE_BYTES, MAX_FILENAME, MAX_FILES


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    width: int
    height: int
    data: bytes
    pages: int = 1  # a multi-page TIFF's pages; its first is segmented and shown


def clean_filename(raw: str | None, index: int) -> str:
    """The base name only; no directories, no control characters, at most 255 characters.

    Clients may percent-encode the name (RFC 7578, 4.2; aiohttp does), so it is
    decoded first: an encoded ``%2F`` separates folders like a plain ``/``.
    """
    if not raw:
        return f"image-{index + 1}"
    name = PurePosixPath(unquote(raw).replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise ApiError(400, "invalid_request", f"file {index + 1} has no usable file name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ApiError(400, "invalid_request", f"file {index + 1}: the file name contains control characters")
    if len(name) > MAX_FILENAME:
        raise ApiError(400, "invalid_request", f"file {index + 1}: the file name is longer than {MAX_FILENAME} characters")
    return name


async def _read_limited(part: BodyPartReader, name: str) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise ApiError(413, "too_large", f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_uploads(request: web.Request) -> list[Upload]:
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "invalid_request", "send the images as multipart/form-data, one part named 'file' per image")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, HttpProcessingError):
        raise ApiError(400, "invalid_request", "the multipart body cannot be read") from None
    raw: list[tuple[str, bytes]] = []
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                raise ApiError(400, "invalid_request", "every part must be a file named 'file'")
            if len(raw) >= MAX_FILES:
                raise ApiError(413, "too_large", f"at most {MAX_FILES} files may be sent at once")
            name = clean_filename(part.filename, len(raw))
            raw.append((name, await _read_limited(part, name)))
    except (ValueError, HttpProcessingError):  # a part's headers or framing are broken
        raise ApiError(400, "invalid_request", "the multipart body is malformed") from None
    if not raw:
        raise ApiError(400, "invalid_request", "no file was sent")
    return await asyncio.to_thread(_check_all, raw)


def _check_all(raw: list[tuple[str, bytes]]) -> list[Upload]:
    uploads = []
    for name, data in raw:
        try:
            fmt, width, height, pages = images.inspect_pages(data)
        except images.UnsupportedType:
            raise ApiError(415, "unsupported_type", f"{name} is not a PNG, JPEG or TIFF image") from None
        except images.InvalidImage as exc:
            raise ApiError(400, "invalid_image", f"{name}: {exc}") from None
        uploads.append(Upload(name, IMAGE_TYPES[fmt], width, height, data, pages))
    return uploads
