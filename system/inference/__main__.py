"""python -m system.inference: the stream-parallel inference server."""

from __future__ import annotations

import asyncio

from ..common.serve import serve_app, setup_logging
from ..common.settings import parse
from .server import create_app
from .settings import InferenceSettings


def parse_args(argv: list[str] | None = None) -> InferenceSettings:
    return parse(InferenceSettings, "python -m system.inference", "Segmentation inference server (docs/api.md section 2).", argv)


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    setup_logging(settings.log_level)
    asyncio.run(serve_app(create_app(settings), "inference", settings.host, settings.port))


if __name__ == "__main__":
    main()
