"""A client of the inference server (docs/api.md section 2), including its test-only admin routes."""

from __future__ import annotations

from harness.clients.api import ApiClient, ApiResponse


class InferenceClient(ApiClient):
    async def segment(self, model: str, image: bytes, threshold: float | str | None = 0.5) -> ApiResponse:
        params = {} if threshold is None else {"threshold": str(threshold)}
        return await self.request("POST", f"/v1/models/{model}/segment", data=image, params=params,
                                  headers={"Content-Type": "application/octet-stream"})

    async def models(self) -> dict[str, dict]:
        return {m["name"]: m for m in await self.expect(200, "GET", "/v1/models")}

    async def reload(self, model: str) -> dict:
        return await self.expect(200, "POST", f"/v1/models/{model}/reload")

    async def arm_faults(self, **faults) -> dict:
        return await self.expect(200, "POST", "/v1/admin/faults", json=faults)

    async def clear_faults(self) -> dict:
        return await self.expect(200, "DELETE", "/v1/admin/faults")

