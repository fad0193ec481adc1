"""procrastinate's side of the claim-throughput benchmark: a task that does nothing."""

from __future__ import annotations

import os

import procrastinate

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("DATABASE_URL", "")))


@app.task(name="noop")
async def noop() -> None:
    return None
