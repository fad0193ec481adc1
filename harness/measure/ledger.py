"""The queue's running slots against what the workers say they hold.

A running job holds one of the ``MAX_RUNNING`` slots until it ends.  With every
heartbeat (each poll interval) a worker writes down what it holds: the jobs it
runs and the lease tokens of claims whose answer it has not read yet
(docs/api.md, Processes).  The two accounts must agree: a job that runs under a
worker that has reported since it started - by more than a poll interval, the
time a claim's answer may take to be read - yet does not name it, holds a slot
nobody works on until its lease runs out (a claim whose answer was lost, a
slot handed back too early).  And a running job whose lease has run out while
its worker still reports every poll interval was not renewed in time: the worker
is alive, yet the next expiry sweep takes the job from it.

:class:`SlotLedger` reads both accounts in one statement (one snapshot), as
often as asked, from outside the system, and keeps the first disagreement with
both lists; ``settled`` waits until the queue is quiet and every live worker
says it holds nothing.  It reaches the database directly, not through a fault
proxy, and rides out the faults it watches (a sample that fails is skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field

import asyncpg

from harness.waiting import async_wait_until

# What a fault does to the ledger's own connection (a restart, pg_terminate_backend, a crash): asyncpg
# may also find the protocol of a connection the server ended broken (InternalClientError, asyncpg #1069).
CONNECTION_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)

# The steps that check the ledger; a scenario that holds one is watched from its first step (harness/bdd.py).
LEDGER_STEP = "no image was left claimed by a worker that was not working on it"
LEASE_STEP = "every job's lease was renewed before it ran out"
LEDGER_STEPS = (LEDGER_STEP, LEASE_STEP)

SNAPSHOT = """
SELECT (SELECT coalesce(json_agg(json_build_object('job', j.id, 'slot', j.slot, 'worker', j.worker, 'started_at', j.started_at,
                                                   'lease_token', j.lease_token, 'lease_expires_at', j.lease_expires_at) ORDER BY j.slot), '[]')
        FROM jobs j WHERE j.status = 'running') AS slots,
       (SELECT coalesce(json_agg(json_build_object('worker', w.name, 'last_seen', w.last_seen, 'holding', w.holding,
                                                   'claiming', w.claiming) ORDER BY w.name), '[]')
        FROM workers w) AS workers,
       (SELECT max(finished_at) FROM jobs) AS last_finished,
       now() AS at
"""


@dataclass
class Snapshot:
    slots: list[dict]  # running jobs: job, slot, worker, started_at, lease_token
    workers: list[dict]  # worker, last_seen, holding, claiming
    last_finished: dt.datetime | None
    at: dt.datetime

    def __repr__(self) -> str:  # what a wait that timed out shows as the last thing it saw
        return self.describe()

    def describe(self) -> str:
        slots = [(s["slot"], s["job"], s["worker"]) for s in self.slots]
        workers = [(w["worker"], w["holding"], len(w["claiming"]), w["last_seen"].strftime("%H:%M:%S.%f")[:-3]) for w in self.workers]
        return f"slots held (slot, job, worker): {slots}; workers' own account (worker, jobs, claims unanswered, last report): {workers}"


def parse(row) -> Snapshot:
    def times(items: list[dict], *keys: str) -> list[dict]:
        return [item | {k: dt.datetime.fromisoformat(item[k]) for k in keys} for item in items]

    return Snapshot(times(json.loads(row["slots"]), "started_at", "lease_expires_at"), times(json.loads(row["workers"]), "last_seen"),
                    row["last_finished"], row["at"])


def held_by_nobody(snapshot: Snapshot, margin_s: float) -> list[dict]:
    """Running jobs whose worker reported more than ``margin_s`` after the job started and named neither it nor its claim."""
    by_name = {w["worker"]: w for w in snapshot.workers}
    margin = dt.timedelta(seconds=margin_s)
    unknown = []
    for s in snapshot.slots:
        w = by_name.get(s["worker"])
        if w is None or s["started_at"] >= w["last_seen"] - margin:
            continue  # no report since the job started: nothing to compare yet
        if s["job"] not in w["holding"] and s["lease_token"] not in w["claiming"]:
            unknown.append(s)
    return unknown


def lapsed(snapshot: Snapshot, alive_s: float) -> list[dict]:
    """Running jobs whose lease has run out though their worker reported within ``alive_s``: not renewed in time.
    (A worker that died or froze stops reporting before its leases run out: renewals come every third of one.)"""
    alive = {w["worker"] for w in live_workers(snapshot, alive_s)}
    return [s for s in snapshot.slots if s["worker"] in alive and s["lease_expires_at"] < snapshot.at]


def live_workers(snapshot: Snapshot, within_s: float) -> list[dict]:
    return [w for w in snapshot.workers if w["last_seen"] >= snapshot.at - dt.timedelta(seconds=within_s)]


@dataclass
class SlotLedger:
    database_url: str
    poll_interval_s: float
    every_s: float = 0.2
    samples: int = 0
    first_disagreement: str | None = None
    first_lapse: str | None = None
    _conn: asyncpg.Connection | None = None
    _task: asyncio.Task | None = None
    _errors: list[str] = field(default_factory=list)

    async def snapshot(self) -> Snapshot:
        """Both accounts, read in one statement; a connection the fault broke is dropped, the next read opens another."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self.database_url, timeout=5)
            return parse(await self._conn.fetchrow(SNAPSHOT, timeout=5))
        except CONNECTION_LOST:
            if self._conn is not None:
                self._conn.terminate()
            self._conn = None
            raise

    async def _watch(self) -> None:
        while True:
            try:
                snapshot = await self.snapshot()
            except CONNECTION_LOST as exc:  # the fault being watched: skip this sample
                self._errors.append(repr(exc))
            else:
                self.samples += 1
                unknown = held_by_nobody(snapshot, self.poll_interval_s)
                if (late := lapsed(snapshot, alive_s=2 * self.poll_interval_s)) and self.first_lapse is None:
                    jobs = [(s["job"], s["worker"], s["lease_expires_at"].strftime("%H:%M:%S.%f")[:-3]) for s in late]
                    self.first_lapse = (f"at {snapshot.at:%H:%M:%S.%f}, jobs {jobs} (job, worker, lease ran out at) were running past "
                                        f"their lease while their worker kept reporting. {snapshot.describe()}")
                if unknown and self.first_disagreement is None:
                    jobs = [(s["job"], s["worker"], s["started_at"].strftime("%H:%M:%S.%f")[:-3]) for s in unknown]
                    self.first_disagreement = (f"at {snapshot.at:%H:%M:%S.%f}, jobs {jobs} (job, worker, started) held a running slot "
                                               f"that their worker, reporting since, did not name. {snapshot.describe()}")
            await asyncio.sleep(self.every_s)

    def start(self, loop: asyncio.AbstractEventLoop) -> SlotLedger:
        self._task = loop.create_task(self._watch(), name="slot-ledger")
        return self

    async def _stop_watching(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def stop(self) -> None:
        await self._stop_watching()
        if self._conn is not None:
            self._conn.terminate()

    async def check(self, lease_s: float) -> Snapshot:
        """No disagreement was seen while the scenario ran, and the queue settles: the slot ledger's rule.
        (The watch ends here: the settled state is read on the same connection.)"""
        await self._stop_watching()
        assert self.samples, f"the slot ledger never read the database ({len(self._errors)} failed reads: {self._errors[-1:]})"
        assert self.first_disagreement is None, f"a running slot was held by nobody: {self.first_disagreement}"
        return await self.settled(timeout_s=lease_s + 3 * self.poll_interval_s)

    async def check_leases(self) -> None:
        """No job's lease ran out while its worker was alive, reporting, and working on it."""
        await self._stop_watching()
        assert self.samples, f"the slot ledger never read the database ({len(self._errors)} failed reads: {self._errors[-1:]})"
        assert self.first_lapse is None, f"a lease was not renewed in time: {self.first_lapse}"

    async def settled(self, timeout_s: float) -> Snapshot:
        """Until no job runs and every live worker, reporting after the last job ended, holds nothing."""
        def quiet(s: Snapshot) -> bool:
            workers = live_workers(s, within_s=3 * self.poll_interval_s)
            return not s.slots and bool(workers) and all(
                not w["holding"] and not w["claiming"] and (s.last_finished is None or w["last_seen"] > s.last_finished) for w in workers)

        return await async_wait_until(self.snapshot, until=quiet, timeout=timeout_s, interval=0.1, ignore=CONNECTION_LOST,
                                      describe="no running slot left, and every live worker, reporting after the last job ended, holding nothing")
