"""The slot ledger's rule: a running job is named by its worker once the worker has reported since it started."""

from __future__ import annotations

import datetime as dt
import uuid

from harness.measure.ledger import Snapshot, held_by_nobody, lapsed

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def snapshot(slots: list[dict], workers: list[dict]) -> Snapshot:
    return Snapshot(slots, workers, None, at(10))


def slot(job: int, worker: str, started: float, token: uuid.UUID | None = None) -> dict:
    return {"job": job, "slot": job, "worker": worker, "started_at": at(started), "lease_token": str(token or uuid.uuid4())}


def worker(name: str, seen: float, holding: list[int], claiming: list[uuid.UUID] = ()) -> dict:
    return {"worker": name, "last_seen": at(seen), "holding": holding, "claiming": [str(t) for t in claiming]}


def test_named_jobs_and_jobs_newer_than_the_last_report_are_accounted_for():
    s = snapshot([slot(1, "w1", 1.0), slot(2, "w1", 8.5)], [worker("w1", seen=9.0, holding=[1])])
    assert held_by_nobody(s, margin_s=1.0) == []  # job 2 started within a poll interval of the report


def test_a_claim_whose_answer_is_unread_is_accounted_for_by_its_token():
    token = uuid.uuid4()
    s = snapshot([slot(3, "w2", 1.0, token)], [worker("w2", seen=9.0, holding=[], claiming=[token])])
    assert held_by_nobody(s, margin_s=1.0) == []


def test_a_slot_its_worker_does_not_name_is_held_by_nobody():
    s = snapshot([slot(4, "w1", 1.0), slot(5, "w2", 2.0)], [worker("w1", seen=9.0, holding=[]), worker("w2", seen=9.0, holding=[5])])
    assert [x["job"] for x in held_by_nobody(s, margin_s=1.0)] == [4]


def test_a_worker_that_has_not_reported_since_is_not_judged():
    s = snapshot([slot(6, "frozen", 5.0), slot(7, "unknown", 1.0)], [worker("frozen", seen=4.0, holding=[])])
    assert held_by_nobody(s, margin_s=1.0) == []


def test_a_lease_that_ran_out_while_its_worker_reports_was_not_renewed():
    ok = slot(8, "w1", 1.0) | {"lease_expires_at": at(12)}
    late = slot(9, "w1", 1.0) | {"lease_expires_at": at(9.5)}
    dead = slot(10, "gone", 1.0) | {"lease_expires_at": at(7)}  # its worker stopped reporting before: taken back, not a lapse
    s = snapshot([ok, late, dead], [worker("w1", seen=9.8, holding=[8, 9]), worker("gone", seen=4.0, holding=[10])])
    assert [x["job"] for x in lapsed(s, alive_s=2.0)] == [9]
