"""python -m system.queue: the HTTP API and WebSocket of the segmentation queue."""

from __future__ import annotations

import argparse
import asyncio

from ..common.serve import add_common_flags, env, serve_app, setup_logging
from .app import create_app
from .config import Settings, add_database_flags, inference_urls, require_database


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Settings]:
    p = argparse.ArgumentParser(prog="python -m system.queue", description="Segmentation queue API (docs/api.md section 1).")
    add_common_flags(p, default_port=8080)
    add_database_flags(p)
    p.add_argument("--pool-size", type=int, default=int(env("POOL_SIZE", "50")), help="database connections at most (POOL_SIZE)")
    p.add_argument(
        "--acquire-timeout", type=float, default=float(env("POOL_ACQUIRE_TIMEOUT", "5")),
        help="seconds a request waits for a connection before 503 busy (POOL_ACQUIRE_TIMEOUT)",
    )
    args = p.parse_args(argv)
    if args.pool_size < 1 or args.acquire_timeout <= 0 or args.max_attempts < 1 or args.pool_idle <= 0:
        p.error("--pool-size and --max-attempts must be >= 1, --acquire-timeout and --pool-idle > 0")
    settings = Settings(
        database_url=require_database(p, args.database_url),
        inference_urls=inference_urls(args.inference_url),
        pool_size=args.pool_size,
        acquire_timeout=args.acquire_timeout,
        pool_idle_s=args.pool_idle,
        max_attempts=args.max_attempts,
    )
    return args, settings


def main(argv: list[str] | None = None) -> None:
    args, settings = parse_args(argv)
    setup_logging(args.log_level)
    asyncio.run(serve_app(create_app(settings), "queue", args.host, args.port))


if __name__ == "__main__":
    main()
