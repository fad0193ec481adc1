"""python -m system.queue: the HTTP API and WebSocket of the segmentation queue."""

from __future__ import annotations

import asyncio

from ..common.serve import serve_app, setup_logging
from ..common.settings import parse
from .app import create_app
from .config import QueueSettings


def parse_args(argv: list[str] | None = None) -> QueueSettings:
    return parse(QueueSettings, "python -m system.queue", "Segmentation queue API (docs/api.md section 1).", argv)


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    setup_logging(settings.log_level)
    asyncio.run(serve_app(create_app(settings), "queue", settings.host, settings.port))


if __name__ == "__main__":
    main()
