"""python -m system.queue.worker: claims jobs and runs them on the inference server.

The loop: claim while this process has room (``--concurrency``), the
database-wide bound (``--max-running``) allows and the inference circuit is
closed; when nothing is claimable, sleep until a NOTIFY on ``paraseg_jobs`` or
the poll interval.  Beside it, once per poll interval whatever the loop is
doing, the upkeep: a heartbeat that says what this worker holds (the jobs it
runs, the claims whose answer it has not read), and taking back expired leases.
SIGTERM stops claiming and lets running jobs finish for at most
``--shutdown-grace`` seconds; the rest are handed back at once, queued again
with the attempt not charged (their owner hears ``job.queued``, reason
``worker_stopped``), and the process exits 0 within the grace period and
``SHUTDOWN_CLOSE_S`` more.

A claim carries a lease token the worker chose.  When its answer is lost (the
connection died after the commit), the worker asks the database whether a job
runs under that token and, if so, runs it: a lost answer costs the job nothing
and leaves no slot held by nobody.

Each job runs as a named task holding a lease, renewed every third of its
length.  A fault of the infrastructure is not the job's fault and costs it no
attempt:

- the inference server unreachable, overloaded or past its deadline: the job
  keeps its lease and is tried again, spaced by the circuit breaker
  (``circuit.py``), which also stops new claims until a probe succeeds;
- the database away, read-only or out of disk while a result (or a failure) is
  to be written: the worker keeps it and writes it again, backing off, for as
  long as its lease is valid.

Only what the job itself causes (an image the model refuses, a server error)
counts as a failed attempt.  A job whose lease was lost (this worker was too
slow or presumed dead) writes nothing: the database refuses its lease token,
so the worker that took it over wins.

A write the database acknowledged can still be lost: a failover to a replica
that lacked the last commits (asynchronous replication) keeps the job running
under the lease this worker wrote under, and nobody renews it.  So the worker
remembers what it wrote, for as long as such a lease could run, and each
heartbeat asks which of those jobs the database has running under that lease
again; it writes those again at once (it still has them) instead of leaving
them to stall until the lease runs out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import aiohttp
import asyncpg

from ..common.serve import setup_logging, stop_signal
from ..common.settings import parse
from ..contract import MAX_WRITE_BACKOFF_S, SHUTDOWN_CLOSE_S
from . import jobstore
from .circuit import CLOSED, Circuit
from .config import WorkerSettings
from .db import UNREACHABLE, database_away, pool_settings
from .listener import Listener
from .queries import migrate, q

log = logging.getLogger("worker")
JOBS_CHANNEL = "paraseg_jobs"  # NOTIFYed by jobs.sql (notify_jobs) when work becomes claimable


class JobFailed(Exception):
    """The job itself failed this attempt (counts against its attempts)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class InferenceUnavailable(Exception):
    """The inference server could not take the job now: not the job's fault."""


ASK_FIRST_BYTES = 1024 * 1024  # images larger than this are announced before they are sent


class InferenceTimedOut(InferenceUnavailable):
    """The inference server answered, but not this image within its deadline: perhaps the image's doing, so it is
    tried again (spaced, bounded) without counting against the circuit the other jobs go through."""


class LeaseLost(Exception):
    """This worker no longer holds the job (or cannot know that it still does)."""


class Lease:
    """This worker's view of a job's lease: renewed in the background, lost when the database says so
    or when it has not been renewed for a whole lease period (then another worker may hold it)."""

    def __init__(self, length_s: float, started: float | None = None) -> None:
        self.length_s = length_s
        self.valid_until = (time.monotonic() if started is None else started) + length_s
        self.lost = asyncio.Event()

    def renewed(self, at: float) -> None:
        self.valid_until = at + self.length_s

    def check(self) -> None:
        if self.lost.is_set() or time.monotonic() >= self.valid_until:
            raise LeaseLost

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake (with LeaseLost) if the lease is lost meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.lost.wait(), seconds)
        self.check()


@dataclass
class Written:
    """A result or failure this worker wrote, kept while the lease it was written under could still be running."""

    job: jobstore.ClaimedJob  # without its image
    what: str
    write: Callable[[asyncpg.Connection], Awaitable[object]]
    until: float  # time.monotonic()
    again: bool = False  # being written again now


# How many written results a worker keeps to write again (each a mask and its outlines: tens of kB); past this the
# oldest are let go, and a failover that lost them leaves those jobs to their lease's end, as before.
KEEP_WRITTEN = 2000


class Worker:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.name = settings.name or f"{socket.gethostname()}:{os.getpid()}"
        self.urls = itertools.cycle(settings.inference_urls)
        self.slots = asyncio.Semaphore(settings.concurrency)
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.running: dict[asyncio.Task, jobstore.ClaimedJob] = {}  # each job's task, and the job
        self.held: set[int] = set()  # the jobs this process runs, each holding one of its slots
        self.claiming: set[uuid.UUID] = set()  # lease tokens of claims sent whose answer is not read yet
        self.written: OrderedDict[uuid.UUID, Written] = OrderedDict()  # by the lease token each was written under
        self.writing_again: set[asyncio.Task] = set()  # held until done: the loop keeps only weak references to tasks
        self.circuit = Circuit()

    async def run(self) -> None:
        stop = stop_signal()
        async with contextlib.AsyncExitStack() as resources:  # released in reverse, whatever happens
            self.pool = await asyncpg.create_pool(self.settings.database_url, min_size=1, max_size=self.settings.concurrency + 2,
                                                  timeout=self.settings.poll_interval_s * 5,
                                                  max_inactive_connection_lifetime=self.settings.pool_idle_s, **pool_settings())
            resources.push_async_callback(self._close_pool)
            async with self.pool.acquire() as conn:
                await migrate(conn)
            listener = Listener(self.settings.database_url, JOBS_CHANNEL, lambda _payload: self.wake.set(), on_connected=self.wake.set)
            listener.start()
            resources.push_async_callback(listener.stop)
            self.http = await resources.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.inference_timeout_s)))
            print(f"worker {self.name} ready on {self.settings.database_url.rsplit('@', 1)[-1]}", flush=True)
            upkeep = asyncio.create_task(self._upkeep(), name="upkeep")
            loop_task = asyncio.create_task(self._loop(), name="claim-loop")
            try:
                await stop.wait()
                log.info("stopping: no new claims, %d job(s) finishing", len(self.running))
            finally:
                self.stopping.set()
                self.wake.set()
                await loop_task
                await self._finish_or_hand_back()
                upkeep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upkeep
            with contextlib.suppress(*UNREACHABLE):
                async with self.pool.acquire() as conn:
                    await conn.execute(q("forget_worker"), self.name)

    async def _finish_or_hand_back(self) -> None:
        """Let running jobs finish for at most the grace period; hand the rest back, uncharged, at once."""
        if not self.running:
            return
        _, late = await asyncio.wait(list(self.running), timeout=self.settings.shutdown_grace_s)
        jobs = [self.running[task] for task in late]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        handed = 0
        for job in jobs:
            try:
                async with asyncio.timeout(SHUTDOWN_CLOSE_S / 2), self.pool.acquire() as conn:
                    handed += await jobstore.hand_back(conn, job)
            except Exception as exc:  # the database away: the job comes back when its lease runs out
                log.warning("job %d: could not hand it back (%r); it is taken back when its lease runs out", job.id, exc)
        log.info("stopping: %d job(s) not finished within %g s; %d handed back uncharged", len(jobs), self.settings.shutdown_grace_s, handed)

    async def _close_pool(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), SHUTDOWN_CLOSE_S / 2)
        except TimeoutError:
            self.pool.terminate()  # connections that do not close in time are cut

    async def _upkeep(self) -> None:
        """Once per poll interval, also while the claim loop waits for a free slot: the heartbeat, saying
        what this worker holds, and taking back leases that ran out (within lease + poll interval)."""
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await conn.execute(q("heartbeat"), self.name, sorted(self.held), list(self.claiming))
                    await jobstore.requeue_expired(conn, self.settings.retry_backoff_s)
                    await self._write_lost_again(conn)
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("database error in the upkeep: %r", exc)
            await asyncio.sleep(self.settings.poll_interval_s)

    def _remember(self, job: jobstore.ClaimedJob, what: str, write: Callable[[asyncpg.Connection], Awaitable[object]]) -> None:
        self.written[job.lease_token] = Written(job, what, write, time.monotonic() + self.settings.lease_s)
        self.written.move_to_end(job.lease_token)
        while len(self.written) > KEEP_WRITTEN:
            self.written.popitem(last=False)

    async def _write_lost_again(self, conn: asyncpg.Connection) -> None:
        """Write again, at once, what the database acknowledged and then lost (a failover to a replica that lacked
        the last commits): the jobs it has running again under the lease this worker wrote them under."""
        now = time.monotonic()
        for token in [t for t, w in self.written.items() if w.until <= now]:
            del self.written[token]
        if not self.written:
            return
        ids, tokens = zip(*((w.job.id, t) for t, w in self.written.items()), strict=True)
        for row in await conn.fetch(q("written_but_running"), list(ids), list(tokens)):
            written = self.written.get(row["lease_token"])
            if written is not None and not written.again:
                written.again = True
                log.warning("job %d: the database has it running again under the lease its %s was written under (it lost that "
                            "commit: a failover); writing it again", written.job.id, written.what)
                task = asyncio.create_task(self._write_again(written), name=f"again-{written.job.id}")
                self.writing_again.add(task)
                task.add_done_callback(self.writing_again.discard)

    async def _write_again(self, written: Written) -> None:
        try:
            async with self.pool.acquire() as conn:
                done = await written.write(conn)
            log.info("job %d: its %s written again (%s)", written.job.id, written.what, done)
        except Exception as exc:  # the next heartbeat asks again, while the lease could still run
            log.warning("job %d: could not write its %s again (%r)", written.job.id, written.what, exc)
        finally:
            written.again = False

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                claimed = await self._claim_while_room()
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("database error in the claim loop: %r", exc)
                claimed = False
            if not claimed:
                self.wake.clear()
                wait = max(self.circuit.wait_s(), 0.0) or self.settings.poll_interval_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), min(wait, self.settings.poll_interval_s))

    async def _claim_while_room(self) -> bool:
        """Claim until this process is full, nothing can start, or the inference servers are away; True if anything was claimed."""
        claimed_any = False
        while not self.stopping.is_set() and self._may_claim():
            if not await self._slot_unless_stopping():
                break
            job, sent = None, time.monotonic()
            try:
                job = await self._claim(sent)
            finally:
                if job is None:
                    self.slots.release()
            if job is None:
                return claimed_any
            claimed_any = True
            task = asyncio.create_task(self._run_job(job, sent), name=f"job-{job.id}")
            self.running[task] = job
            task.add_done_callback(lambda done: self.running.pop(done, None))
        return claimed_any

    async def _slot_unless_stopping(self) -> bool:
        """Wait for a free slot of this process; False (holding none) once it is told to stop - a full worker
        waits here for as long as its jobs run, and must still hear SIGTERM."""
        acquire = asyncio.ensure_future(self.slots.acquire())
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not acquire.done():
            acquire.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquire
        if acquire.done() and not acquire.cancelled() and self.stopping.is_set():
            self.slots.release()
            return False
        return acquire.done() and not acquire.cancelled()

    async def _claim(self, sent: float) -> jobstore.ClaimedJob | None:
        """One claim under a lease token of our own (``sent``: when it began, the earliest its lease can have
        started); when its answer is lost, the job it started, if any."""
        token = uuid.uuid4()
        self.claiming.add(token)
        try:
            try:
                async with self.pool.acquire() as conn:
                    for _ in range(5):  # a concurrent claim took our slot: pick another
                        with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
                            job = await jobstore.claim(conn, self.name, self.settings.max_running, self.settings.lease_s, token)
                            break
                    else:
                        job = None
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("claim: %r; asking whether it went through", exc)
                job = await self._claimed_meanwhile(token, sent)
            if job is not None:
                self.held.add(job.id)  # before the token leaves `claiming`: the heartbeat always names it
            return job
        finally:
            self.claiming.discard(token)

    async def _claimed_meanwhile(self, token: uuid.UUID, sent: float) -> jobstore.ClaimedJob | None:
        """The job a claim with an unknown outcome started (None: it did not commit).  Asked until the lease such
        a claim would hold runs out; past that the job, if there is one, is taken back as any expired lease is."""
        backoff = 0.05
        while time.monotonic() < sent + self.settings.lease_s:
            try:
                async with self.pool.acquire() as conn:
                    job = await jobstore.claimed_with(conn, token)
                if job is not None:
                    log.info("job %d: its claim went through though the answer was lost; running it", job.id)
                return job
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not ask whether a claim went through (%r); asking again", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_WRITE_BACKOFF_S)
        log.warning("could not learn within a lease whether a claim went through; a job it started is taken back when its lease runs out")
        return None

    def _may_claim(self) -> bool:
        """While the inference servers are away, claim nothing new - except one job to probe with
        when no held job is left to do it."""
        return self.circuit.state == CLOSED or (not self.running and self.circuit.wait_s() == 0)

    async def _run_job(self, job: jobstore.ClaimedJob, claimed_at: float) -> None:
        lease = Lease(self.settings.lease_s, started=claimed_at)  # it runs from when the claim was sent
        renewer = asyncio.create_task(self._renew(job, lease), name=f"lease-{job.id}")
        try:
            log.debug("job %d attempt %d/%d (model %s)", job.id, job.attempts, job.max_attempts, job.model)
            try:
                if job.image is None:  # deleted meanwhile: nothing to ask the inference server, whose circuit it is not
                    raise JobFailed("image_missing", "the image was deleted")
                result = await self._infer_until_answered(job, lease)
            except JobFailed as failure:
                await self._fail(job, lease, failure.code, failure.message)
                return
            mask = base64.b64decode(result["mask_png"])
            done = replace(job, image=b"")  # what the write needs of the job: not its image, which may be kept a while
            stored = await self._write_while_leased(done, lease, "result", lambda conn: jobstore.complete(
                conn, done, result["model_used"], mask, result["polygons"], result["spheroids"]))
            if stored is False:
                # either another worker took the job over, or an earlier try whose answer was lost stored it already
                log.warning("job %d: the database no longer takes a result under this lease (taken over, or stored by an earlier "
                            "try whose answer was lost)", job.id)
        except LeaseLost:
            log.warning("job %d: lease lost; leaving the job to whoever holds it now", job.id)
        except Exception:
            log.exception("job %d failed unexpectedly", job.id)
            with contextlib.suppress(Exception):
                await self._fail(job, lease, "worker_error", "the worker failed unexpectedly")
        finally:
            renewer.cancel()
            self.held.discard(job.id)
            self.slots.release()
            self.wake.set()  # room for another claim

    async def _fail(self, job: jobstore.ClaimedJob, lease: Lease, code: str, message: str) -> None:
        job_id, token = job.id, job.lease_token
        status = await self._write_while_leased(replace(job, image=b""), lease, "failure", lambda conn: jobstore.fail_attempt(
            conn, job_id, token, code, message, self.settings.retry_backoff_s))
        log.info("job %d attempt %d failed (%s): now %s", job.id, job.attempts, code, status)

    async def _write_while_leased(self, job: jobstore.ClaimedJob, lease: Lease, what: str,
                                  write: Callable[[asyncpg.Connection], Awaitable[object]]) -> object:
        """Run ``write`` until the database takes it; while it is away, keep the data and try again,
        backing off, as long as the lease is valid."""
        backoff = 0.05
        while True:
            lease.check()
            try:
                async with self.pool.acquire() as conn:
                    done = await write(conn)
                if done not in (None, False):  # taken: remembered, in case a failover loses it (_write_lost_again)
                    self._remember(job, what, write)
                return done
            except Exception as exc:
                if not database_away(exc):
                    raise
                log.warning("job %d: could not write its %s (%r); keeping it and trying again", job.id, what, exc)
            await lease.sleep(backoff)
            backoff = min(backoff * 2, MAX_WRITE_BACKOFF_S)

    async def _renew(self, job: jobstore.ClaimedJob, lease: Lease) -> None:
        """Renew the lease every third of its length (the first time a third after the claim was sent);
        set ``lease.lost`` when the database says it is gone."""
        wait = max(0.0, lease.valid_until - 2 * self.settings.lease_s / 3 - time.monotonic())
        while True:
            await asyncio.sleep(wait)
            wait = self.settings.lease_s / 3
            asked = time.monotonic()
            try:
                async with self.pool.acquire() as conn:
                    if not await jobstore.renew(conn, job, self.settings.lease_s):
                        lease.lost.set()
                        return
                lease.renewed(asked)
            except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job %d: could not renew its lease: %r", job.id, exc)

    async def _infer_until_answered(self, job: jobstore.ClaimedJob, lease: Lease) -> dict:
        """The inference server's answer for the job, retried while it cannot take it: spaced by the circuit
        (the server away) or a backoff of the job's own (the server answered, but not this image in time), and
        given up as a failed attempt once the job has met such errors for ``--give-up`` seconds."""
        first_error, tries, backoff, last = None, 0, 0.05, None
        while True:
            lease.check()
            if first_error is not None and time.monotonic() - first_error > self.settings.give_up_s:
                code = "timeout" if isinstance(last, InferenceTimedOut) else "inference_unavailable"
                raise JobFailed(code, f"the inference server did not segment this image in {self.settings.give_up_s:g} s "
                                      f"({tries} tries); the last: {last}")
            if not self.circuit.allow():
                await lease.sleep(max(self.circuit.wait_s(), 0.05))
                continue
            try:
                answer = await self._infer(job)
            except InferenceTimedOut as exc:
                first_error, tries, last = first_error or time.monotonic(), tries + 1, exc
                log.warning("job %d: %s; trying again in %.2f s", job.id, exc, backoff)
                await lease.sleep(backoff)
                backoff = min(backoff * 2, MAX_WRITE_BACKOFF_S)
                continue
            except InferenceUnavailable as exc:
                first_error, tries, last = first_error or time.monotonic(), tries + 1, exc
                self.circuit.failed()
                log.warning("job %d: inference unavailable (%s); trying again (circuit %s)", job.id, exc, self.circuit.state)
                continue
            except JobFailed:
                self.circuit.succeeded()  # it answered; what it said is the job's business
                raise
            except BaseException:
                self.circuit.failed()  # every way out reports, so a probe never leaves the circuit half-open
                raise
            self.circuit.succeeded()
            return answer

    async def _infer(self, job: jobstore.ClaimedJob) -> dict:
        data = job.image  # read by the claim itself
        url = f"{next(self.urls)}/v1/models/{job.model}/segment"
        try:
            # a large image asks first (Expect: 100-continue): a server that cannot take it now says so before it is
            # sent; a small one is cheaper sent at once than asked about (one round trip less)
            async with self.http.post(url, params={"threshold": str(job.threshold)}, data=data, expect100=len(data) > ASK_FIRST_BYTES,
                                      headers={"Content-Type": "application/octet-stream"}) as resp:
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise InferenceUnavailable(f"{url} did not answer ({type(exc).__name__})") from None
        if resp.status == 200:
            return body
        err = body.get("error") if isinstance(body, dict) else None
        err = err if isinstance(err, dict) else {}  # an answer not in the contract's shape still gets a clear code
        code, message = str(err.get("code", f"http_{resp.status}")), str(err.get("message", f"inference answered {resp.status}"))
        if resp.status == 504:
            raise InferenceTimedOut(f"{url} answered {resp.status} {code}")
        if resp.status in (502, 503) and code != "model_unavailable":
            raise InferenceUnavailable(f"{url} answered {resp.status} {code}")
        raise JobFailed(code, message)


def parse_args(argv: list[str] | None = None) -> WorkerSettings:
    return parse(WorkerSettings, "python -m system.queue.worker", "Segmentation queue worker (docs/api.md section 3).", argv)


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    setup_logging(settings.log_level)
    asyncio.run(Worker(settings).run())


if __name__ == "__main__":
    main()
