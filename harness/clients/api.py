"""An HTTP client of the queue API (docs/api.md section 1), as an outside client sees it."""

from __future__ import annotations

import json as json_module
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


class ApiError(AssertionError):
    def __init__(self, what: str, response: ApiResponse) -> None:
        super().__init__(f"{what}: HTTP {response.status} {response.body!r}")
        self.response = response


class ApiClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, token: str | None = None) -> None:
        self.base_url, self.session, self.token = base_url.rstrip("/"), session, token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, *, json: Any = None, data: Any = None, params: dict | None = None,
                      headers: dict | None = None) -> ApiResponse:
        async with self.session.request(method, self.base_url + path, json=json, data=data, params=params,
                                        headers=self.headers() | (headers or {})) as resp:
            raw = await resp.read()
            body: Any = raw
            if resp.content_type == "application/json":
                body = json_module.loads(raw)
            return ApiResponse(resp.status, body, dict(resp.headers), raw)

    async def expect(self, status: int, method: str, path: str, **kw) -> Any:
        response = await self.request(method, path, **kw)
        if response.status != status:
            raise ApiError(f"{method} {path} expected {status}", response)
        return response.body

    # --------------------------------------------------------- the contract's routes
    async def register(self, username: str, password: str) -> dict:
        return await self.expect(201, "POST", "/api/auth/register", json={"username": username, "password": password})

    async def login(self, username: str, password: str) -> dict:
        body = await self.expect(200, "POST", "/api/auth/login", json={"username": username, "password": password})
        self.token = body["token"]
        return body

    async def logout(self) -> ApiResponse:
        return await self.request("POST", "/api/auth/logout")

    async def create_project(self, name: str, pixel_size_um: float | None = None) -> dict:
        body = {"name": name} if pixel_size_um is None else {"name": name, "pixel_size_um": pixel_size_um}
        return await self.expect(201, "POST", "/api/projects", json=body)

    async def upload(self, project_id: int, files: list[tuple[str, bytes]]) -> list[dict]:
        return await self.expect(201, "POST", f"/api/projects/{project_id}/images", data=upload_form(files))

    async def segment(self, project_id: int, **body) -> dict:
        return await self.expect(202, "POST", f"/api/projects/{project_id}/segmentations", json=body)

    async def batch(self, batch_id: int) -> dict:
        return await self.expect(200, "GET", f"/api/batches/{batch_id}")

    async def job(self, job_id: int) -> dict:
        return await self.expect(200, "GET", f"/api/jobs/{job_id}")

    async def image(self, image_id: int) -> dict:
        return await self.expect(200, "GET", f"/api/images/{image_id}")

    async def images(self, project_id: int) -> list[dict]:
        return await self.expect(200, "GET", f"/api/projects/{project_id}/images")

    async def mask(self, image_id: int) -> bytes:
        response = await self.request("GET", f"/api/images/{image_id}/mask")
        if response.status != 200 or response.headers.get("Content-Type") != "image/png":
            raise ApiError(f"mask of image {image_id}", response)
        return response.raw

    async def polygons(self, image_id: int) -> dict:
        return await self.expect(200, "GET", f"/api/images/{image_id}/polygons")

    async def measurements(self, image_id: int) -> dict:
        return await self.expect(200, "GET", f"/api/images/{image_id}/measurements")

    async def measurements_csv(self, project_id: int) -> ApiResponse:
        return await self.request("GET", f"/api/projects/{project_id}/measurements.csv")

    async def cancel(self, batch_id: int) -> dict:
        return await self.expect(200, "POST", f"/api/batches/{batch_id}/cancel")

    async def projects(self) -> list[dict]:
        return await self.expect(200, "GET", "/api/projects")

    async def queue(self) -> dict:
        return await self.expect(200, "GET", "/api/queue")

    async def me(self) -> dict:
        return await self.expect(200, "GET", "/api/me")

    async def read(self, paths: dict[str, str]) -> dict[str, ApiResponse]:
        """GET each path as it is, whatever it answers."""
        return {name: await self.request("GET", path) for name, path in paths.items()}


def reading_paths(project: int, image: int, batch: int, job: int) -> dict[str, str]:
    """The routes that read one researcher's work, by what they read."""
    return {
        "project": f"/api/projects/{project}", "project's images": f"/api/projects/{project}/images",
        "image": f"/api/images/{image}", "image file": f"/api/images/{image}/file", "mask": f"/api/images/{image}/mask",
        "outlines": f"/api/images/{image}/polygons", "measurements": f"/api/images/{image}/measurements",
        "project's measurements": f"/api/projects/{project}/measurements.csv", "batch": f"/api/batches/{batch}", "job": f"/api/jobs/{job}",
    }


def upload_form(files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    """A multipart body with one part named ``file`` per (name, bytes)."""
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return form
