"""Settings of the queue service and its workers, from flags with environment defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..common.serve import env


@dataclass(frozen=True)
class Settings:
    database_url: str
    inference_urls: tuple[str, ...]
    pool_size: int = 50
    acquire_timeout: float = 5.0
    pool_idle_s: float = 10.0
    max_attempts: int = 3


def add_database_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", default=env("DATABASE_URL"), help="postgresql://... (DATABASE_URL)")
    p.add_argument(
        "--inference-url", default=env("INFERENCE_URL", "http://127.0.0.1:8500"),
        help="inference server base URL(s), comma separated (INFERENCE_URL)",
    )
    p.add_argument("--max-attempts", type=int, default=int(env("MAX_ATTEMPTS", "3")), help="attempts before a job ends failed (MAX_ATTEMPTS)")
    p.add_argument(
        "--pool-idle", type=float, default=float(env("POOL_IDLE_SECONDS", "10")),
        help="seconds an unused database connection stays open before the pool closes it (POOL_IDLE_SECONDS)",
    )


def inference_urls(raw: str) -> tuple[str, ...]:
    urls = tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())
    if not urls:
        raise SystemExit("INFERENCE_URL names no server")
    return urls


def require_database(p: argparse.ArgumentParser, url: str | None) -> str:
    if not url:
        p.error("no database: pass --database-url or set DATABASE_URL (postgresql://user:password@host:port/db)")
    return url
