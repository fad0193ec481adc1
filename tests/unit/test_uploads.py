from __future__ import annotations

import pytest

from system.common.http import ApiError
from system.queue.uploads import clean_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("cells.png", "cells.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\data\\a.tif", "a.tif"),
        ("/abs/b.jpg", "b.jpg"),
        ("'; DROP TABLE images; --.png", "'; DROP TABLE images; --.png"),
        ("<script>alert(1)<\\script>.png", "script>.png"),  # a backslash separates folders too
        ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
    ],
)
def test_keeps_the_base_name_only_and_the_text_as_is(raw, clean):
    assert clean_filename(raw, 0) == clean


@pytest.mark.parametrize("raw", ["..", "a/..", "x" * 256, "bad\x00name.png", "tab\tname.png"])
def test_refuses_unusable_names(raw):
    with pytest.raises(ApiError) as err:
        clean_filename(raw, 0)
    assert err.value.status == 400 and err.value.code == "invalid_request"


def test_missing_name_gets_a_default():
    assert clean_filename(None, 2) == "image-3"


def test_percent_encoded_separators_count_as_folders():
    assert clean_filename("..%2F..%2Fetc%2Fpasswd.png", 0) == "passwd.png"
    assert clean_filename("100%25 spheroid.png", 0) == "100% spheroid.png"


async def _upload_status(body: bytes, boundary: str = "b0undary") -> tuple[int, dict]:
    """POST ``body`` as multipart to a one-route app that reads uploads the way the API does."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from system.common.http import error_middleware
    from system.queue.uploads import read_uploads

    async def handler(request):
        return web.json_response([u.filename for u in await read_uploads(request)])

    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/upload", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/upload", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return resp.status, await resp.json()


@pytest.mark.parametrize("body", [
    b"--b0undary\r\n2.81335044600903e+16--b0undary--\r\n",  # a part whose header line is no header (schemathesis found a 500)
    b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nno closing boundary",
    b"--b0undary\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n\r\nx\r\n--b0undary--\r\n",
    b"",
])
async def test_a_broken_multipart_body_is_a_400_never_a_500(body):
    status, answer = await _upload_status(body)
    assert status == 400 and answer["error"]["code"] == "invalid_request", (status, answer)
