"""python -m system.queue.worker: claims jobs and runs them on the inference server.

The loop: take back expired leases, then claim while this process has room
(``--concurrency``) and the database-wide bound (``--max-running``) allows;
when nothing is claimable, sleep until a NOTIFY on ``paraseg_jobs`` or the poll
interval.  Each job runs as a named task that renews its lease; a job whose
lease was lost (this worker was too slow or presumed dead) is abandoned without
writing anything, so the worker that took it over wins.  SIGTERM stops
claiming and lets running jobs finish.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import logging
import os
import socket

import aiohttp
import asyncpg

from ..common.serve import env, setup_logging, stop_signal
from . import jobstore
from .config import add_database_flags, inference_urls, require_database
from .sql import migrate, q

log = logging.getLogger("worker")
JOBS_CHANNEL = "paraseg_jobs"  # NOTIFYed by jobs.sql (notify_jobs) when work becomes claimable


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.name = args.name or f"{socket.gethostname()}:{os.getpid()}"
        self.urls = itertools.cycle(inference_urls(args.inference_url))
        self.slots = asyncio.Semaphore(args.concurrency)
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.running: set[asyncio.Task] = set()

    async def run(self) -> None:
        stop = stop_signal()
        async with contextlib.AsyncExitStack() as resources:  # released in reverse, whatever happens
            self.pool = await asyncpg.create_pool(self.args.database_url, min_size=1, max_size=self.args.concurrency + 2)
            resources.push_async_callback(self.pool.close)
            async with self.pool.acquire() as conn:
                await migrate(conn)
            listener = await asyncpg.connect(self.args.database_url)
            resources.push_async_callback(listener.close)
            await listener.add_listener(JOBS_CHANNEL, lambda *_: self.wake.set())
            self.http = await resources.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.args.inference_timeout)))
            print(f"worker {self.name} ready on {self.args.database_url.rsplit('@', 1)[-1]}", flush=True)
            loop_task = asyncio.create_task(self._loop(), name="claim-loop")
            try:
                await stop.wait()
                log.info("stopping: no new claims, %d job(s) finishing", len(self.running))
            finally:
                self.stopping.set()
                self.wake.set()
                await loop_task
                if self.running:
                    await asyncio.wait(self.running)
            async with self.pool.acquire() as conn:
                await conn.execute(q("forget_worker"), self.name)

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(q("heartbeat"), self.name)
                    await jobstore.requeue_expired(conn, self.args.retry_backoff)
                claimed = await self._claim_while_room()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("database error in the claim loop: %r", exc)
                claimed = False
            if not claimed:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.args.poll_interval)

    async def _claim_while_room(self) -> bool:
        """Claim until this process is full or nothing can start; True if anything was claimed."""
        claimed_any = False
        while not self.stopping.is_set():
            await self.slots.acquire()
            if self.stopping.is_set():
                self.slots.release()
                break
            job = None
            try:
                async with self.pool.acquire() as conn:
                    for _ in range(5):  # a concurrent claim took our slot: pick another
                        with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                            job = await jobstore.claim(conn, self.name, self.args.max_running, self.args.lease)
                            break
            finally:
                if job is None:
                    self.slots.release()
            if job is None:
                return claimed_any
            claimed_any = True
            task = asyncio.create_task(self._run_job(job), name=f"job-{job.id}")
            self.running.add(task)
            task.add_done_callback(self.running.discard)
        return claimed_any

    async def _run_job(self, job: jobstore.ClaimedJob) -> None:
        renewer = asyncio.create_task(self._renew(job), name=f"lease-{job.id}")
        try:
            log.info("job %d attempt %d/%d (model %s)", job.id, job.attempts, job.max_attempts, job.model)
            result = await self._infer(job)
            if renewer.done():  # the lease was lost while inference ran
                log.warning("job %d: lease lost, result dropped", job.id)
                return
            async with self.pool.acquire() as conn:
                mask = base64.b64decode(result["mask_png"])
                if not await jobstore.complete(conn, job, result["model_used"], mask, result["polygons"]):
                    log.warning("job %d: lease lost before completion, result dropped", job.id)
        except JobFailed as exc:
            await self._fail(job, exc.code, exc.message)
        except Exception as exc:
            log.exception("job %d failed unexpectedly", job.id)
            await self._fail(job, "worker_error", f"{type(exc).__name__}: {exc}")
        finally:
            renewer.cancel()
            self.slots.release()
            self.wake.set()  # room for another claim

    async def _fail(self, job: jobstore.ClaimedJob, code: str, message: str) -> None:
        with contextlib.suppress(Exception):
            async with self.pool.acquire() as conn:
                status = await jobstore.fail_attempt(conn, job.id, job.lease_token, code, message, self.args.retry_backoff)
            log.info("job %d attempt %d failed (%s): now %s", job.id, job.attempts, code, status)

    async def _renew(self, job: jobstore.ClaimedJob) -> None:
        """Renew the lease every third of its length; return when it is lost."""
        while True:
            await asyncio.sleep(self.args.lease / 3)
            try:
                async with self.pool.acquire() as conn:
                    if not await jobstore.renew(conn, job, self.args.lease):
                        return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job %d: could not renew lease: %r", job.id, exc)

    async def _infer(self, job: jobstore.ClaimedJob) -> dict:
        data = job.image  # read by the claim itself
        if data is None:
            raise JobFailed("image_missing", "the image was deleted")
        url = f"{next(self.urls)}/v1/models/{job.model}/segment"
        try:
            async with self.http.post(url, params={"threshold": str(job.threshold)}, data=data,
                                      headers={"Content-Type": "application/octet-stream"}) as resp:
                body = await resp.json(content_type=None)
                if resp.status != 200:
                    err = body.get("error", {}) if isinstance(body, dict) else {}
                    raise JobFailed(err.get("code", f"http_{resp.status}"), err.get("message", f"inference answered {resp.status}"))
                return body
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JobFailed("inference_unreachable", f"the inference server did not answer ({type(exc).__name__})") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m system.queue.worker", description="Segmentation queue worker.")
    add_database_flags(p)
    p.add_argument("--name", default=env("WORKER_NAME"), help="worker name shown on jobs (WORKER_NAME; default host:pid)")
    p.add_argument("--concurrency", type=int, default=int(env("WORKER_CONCURRENCY", "4")), help="jobs this process runs at once (WORKER_CONCURRENCY)")
    p.add_argument("--max-running", type=int, default=int(env("MAX_RUNNING", "4")), help="jobs running at once across all workers (MAX_RUNNING)")
    p.add_argument("--lease", type=float, default=float(env("LEASE_SECONDS", "30")), help="lease length in seconds (LEASE_SECONDS)")
    p.add_argument("--poll-interval", type=float, default=float(env("POLL_INTERVAL", "1")), help="seconds between polls without a NOTIFY (POLL_INTERVAL)")
    p.add_argument("--retry-backoff", type=float, default=float(env("RETRY_BACKOFF", "0.5")), help="first retry delay in seconds, doubling (RETRY_BACKOFF)")
    p.add_argument("--inference-timeout", type=float, default=float(env("INFERENCE_TIMEOUT", "60")), help="seconds per inference call (INFERENCE_TIMEOUT)")
    p.add_argument("--log-level", default=env("LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    args.database_url = require_database(p, args.database_url)
    if min(args.concurrency, args.max_running, args.max_attempts) < 1 or args.lease <= 0 or args.poll_interval <= 0:
        p.error("--concurrency, --max-running and --max-attempts must be >= 1; --lease and --poll-interval > 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.log_level)
    asyncio.run(Worker(args).run())


if __name__ == "__main__":
    main()
