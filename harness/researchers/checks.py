"""Checks of what researchers observed against what the contract promises.

Each raises AssertionError with a sentence a reader can act on; steps call
them and add nothing but the phrase.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from harness.measure.analysis import latency_figures
from harness.report.attach import measured
from harness.researchers.actors import Researcher, everyone
from system.contract import FINAL_JOB_STATUSES
from system.inference.synthetic import iou

FINAL_EVENTS = {f"job.{status}" for status in FINAL_JOB_STATUSES}

# A mask belongs to its image when it overlaps that image's true spheroids this
# well; a mask of another image overlaps them far less.  The model itself
# reaches IoU >= 0.9 (tests/integration/test_model_quality.py).
MATCHING_IOU = 0.8


def event_stream(name: str, events: list[dict], own_jobs: set[int]) -> None:
    """Every event of the researcher's jobs, in order, exactly once, and nothing else."""
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"{name}: seq not strictly increasing: {seqs[:20]}..."
    assert seqs == list(range(1, len(seqs) + 1)), f"{name}: events missing from the stream (seqs {seqs[:5]}..{seqs[-5:]})"
    heard = {e["job_id"] for e in events if e["job_id"] is not None}
    assert heard <= own_jobs, f"{name} heard about jobs {sorted(heard - own_jobs)} that are not theirs"
    for job_id in own_jobs:
        kinds = [e["type"] for e in events if e["job_id"] == job_id]
        assert kinds and kinds[0] == "job.queued", f"{name}: job {job_id} events start with {kinds[:1]}"
        finals = [k for k in kinds if k in FINAL_EVENTS]
        assert len(finals) == 1 and kinds[-1] == finals[0], f"{name}: job {job_id} events {kinds}"
        middle = kinds[1:-1]
        # a job handed back by a stopping worker is queued again, and started again
        assert all(k == "job.started" or (k == "job.queued" and after == "job.started") for k, after in zip(middle, [*middle[1:], None], strict=True)), \
            f"{name}: job {job_id} events {kinds}"
        assert middle or kinds[-1] == "job.cancelled", f"{name}: job {job_id} ended without starting: {kinds}"


def researchers_streams(researchers: list[Researcher]) -> None:
    """Each researcher's stream is complete and their own, with one batch.completed per batch."""
    for r in researchers:
        assert not r.events.violations, f"{r.name}: {r.events.violations[:3]}"
        event_stream(r.name, r.events.bodies(), r.own_job_ids())
        completed = {e["batch_id"] for e in r.events.bodies() if e["type"] == "batch.completed"}
        assert completed == {b["batch_id"] for b in r.batches}, f"{r.name}: batch.completed for {completed}"


def events_delivered_within(researchers: list[Researcher], bound_s: float) -> dict:
    """Every job's final event reached its researcher within ``bound_s`` of the change it reports (its ``ts``);
    the figures are recorded (``MEASURED``) before the check.  A late event is named with its seq, job and lateness, and whether the
    researcher's stream was reconnecting then."""
    received = [(r, e) for r in researchers for e in r.events.events if e.body["type"] in FINAL_EVENTS]
    figures = latency_figures([e.latency_s for _, e in received], bound_s)
    measured("event latency (final status committed -> client)", figures)
    late = sorted(((e.latency_s, r, e) for r, e in received if e.latency_s > bound_s), key=lambda x: -x[0])
    described = [f"{r.name} seq {e.body['seq']} {e.body['type']} job {e.body['job_id']}: {lat * 1000:.0f} ms"
                 + (" (its stream was reconnecting)" if any(a <= e.received_at and b >= e.received_at - lat for a, b in r.events.gaps) else "")
                 for lat, r, e in late[:5]]
    assert not late, (f"{len(late)} of {len(received)} events reached their researcher later than {bound_s:g} s after the change "
                      f"(max {figures['max_ms']:.0f} ms): {'; '.join(described)}. {connection_story(*late[0])}")
    return figures


def connection_story(latency_s: float, researcher: Researcher, event) -> str:
    """What the researcher's stream went through between a late event's change and its arrival (times from the change)."""
    changed = event.received_at - latency_s
    told = [f"+{(t - changed) * 1000:.0f} ms {what}" for t, what in researcher.events.timeline if changed - 1.0 <= t <= event.received_at]
    return f"{researcher.name}'s stream from that change on: {'; '.join(told) or 'connected throughout, nothing closed or refused'}"


async def masks(researcher: Researcher) -> list[float]:
    """Each image's mask: its own size, only 0 and 255; returns the IoU with the truth, per image."""
    scores = []
    for image in researcher.images:
        mask = await researcher.mask_of(image)
        assert mask.shape == (image.height, image.width), f"{image.filename}: mask {mask.shape[::-1]} for an image of {image.width}x{image.height}"
        assert set(np.unique(mask)) <= {0, 255}, f"{image.filename}: mask holds values other than 0 and 255"
        scores.append(iou(mask, image.truth))
    return scores


async def everyones_masks(researchers: list[Researcher]) -> dict[str, list[float]]:
    scores = await everyone(masks(r) for r in researchers)
    return {r.name: s for r, s in zip(researchers, scores, strict=True)}


def masks_match(scores: dict[str, list[float]]) -> None:
    for name, values in scores.items():
        worst = min(values)
        assert worst >= MATCHING_IOU, f"{name}: a mask overlaps its image's spheroids with IoU {worst:.3f} < {MATCHING_IOU}"


async def outlines(researcher: Researcher) -> None:
    for image in researcher.images:
        body = await researcher.api.polygons(image.id)
        assert any(p["type"] == "external" for p in body["polygons"]), f"{image.filename}: no outline"
        assert all(len(p["points"]) >= 3 for p in body["polygons"]), f"{image.filename}: an outline has fewer than 3 points"


async def segmentation_statuses(researchers: list[Researcher]) -> list[str | None]:
    statuses = []
    for r in researchers:
        statuses += [(img["segmentation"] or {}).get("status") for img in await r.api.images(r.project_id)]
    return statuses


def attempt_spans(researcher: Researcher, job_id: int) -> list[float]:
    """How long each attempt of a job lasted, from its job.started to the next event of that job (s)."""
    events = [e for e in researcher.events.bodies() if e["job_id"] == job_id]
    starts = [i for i, e in enumerate(events) if e["type"] == "job.started"]
    return [_ts(events[i + 1]["ts"]) - _ts(events[i]["ts"]) if i + 1 < len(events) else float("inf") for i in starts]


def handed_back(researcher: Researcher, jobs: set[int]) -> None:
    """Each of ``jobs`` was announced queued again because its worker stopped, then started again at the same attempt."""
    assert jobs, "the stopped worker held no job: the stop missed the work"
    for job_id in sorted(jobs):
        events = [e for e in researcher.events.bodies() if e["job_id"] == job_id]
        requeued = [e for e in events if e["type"] == "job.queued" and e.get("reason") == "worker_stopped"]
        attempts = [e["attempt"] for e in events if e["type"] == "job.started"]
        assert len(requeued) == 1 and attempts == [1, 1], f"job {job_id}: handed back {len(requeued)} time(s), started at attempts {attempts}"


def told_unavailable(attempts: list, bound_s: float) -> None:
    """Requests made during an outage: each answered as usual (2xx) or 503 ``unavailable`` with ``Retry-After``,
    at least one of them the latter, and none waited longer than ``bound_s`` (the pool's own wait)."""
    wrong = [a for a in attempts if not (a.status is not None and 200 <= a.status < 300)
             and not (a.status == 503 and a.code == "unavailable" and a.retry_after)]
    assert attempts and not wrong, f"answers other than success or 503 unavailable with Retry-After: {wrong[:5]}"
    unavailable = [a for a in attempts if a.status == 503]
    assert unavailable, f"no request met the outage ({len(attempts)} requests, all answered as usual)"
    assert max(a.seconds for a in attempts) <= bound_s, f"a request waited {max(a.seconds for a in attempts):.1f} s, more than {bound_s:g} s"


def described(answer) -> str:
    """An answer as a failure message shows it: the status and the JSON, or what kind of bytes came."""
    if isinstance(answer.body, (bytes, bytearray)):
        return f"{answer.status} with {len(answer.body)} bytes of {answer.headers.get('Content-Type', 'unknown type')}"
    text = repr(answer.body)
    return f"{answer.status} {text if len(text) <= 300 else text[:300] + '...'}"


def refused_with(answer, code: str, errors: dict[str, int]) -> None:
    """The answer is the documented error ``code``, with the status the contract gives it (``errors``: a
    service's table in system/contract.py) and a message a person can read."""
    status = errors[code]
    assert answer.status == status and answer.error_code == code, f"expected {status} {code} (docs/api.md), got {described(answer)}"
    message = answer.body["error"].get("message") if isinstance(answer.body, dict) and isinstance(answer.body.get("error"), dict) else None
    assert isinstance(message, str) and message, f"the {code} answer has no message: {answer.body!r}"


async def exactly_once(researchers: list[Researcher], first_attempt: bool = False) -> list[dict]:
    """Every job of the researchers succeeded, each told exactly once by one job.succeeded event, none by
    job.failed; with ``first_attempt``, each at its first attempt.  Returns the jobs as the API reports them."""
    jobs = await jobs_of(researchers)
    wrong = [(j["id"], j["status"], j["attempts"], (j["error"] or {}).get("code")) for j in jobs
             if j["status"] != "succeeded" or (first_attempt and j["attempts"] != 1)]
    assert not wrong, (f"{len(wrong)} of {len(jobs)} jobs not run to success{' at their first attempt' if first_attempt else ''} "
                       f"(id, status, attempts, error): {wrong[:10]}")
    for r in researchers:
        told = [e["job_id"] for e in r.events.bodies() if e["type"] == "job.succeeded"]
        twice = sorted({j for j in told if told.count(j) > 1})
        missing = sorted(r.own_job_ids() - set(told))
        assert not twice and not missing, f"{r.name}: job.succeeded twice for jobs {twice}, never for jobs {missing}"
        failed = [(e["seq"], e["job_id"]) for e in r.events.bodies() if e["type"] == "job.failed"]
        assert not failed, f"{r.name}: job.failed events (seq, job): {failed}"
    return jobs


async def jobs_of(researchers: list[Researcher]) -> list[dict]:
    jobs = []
    for r in researchers:
        jobs += await everyone(r.api.job(j) for j in sorted(r.own_job_ids()))
    return jobs


async def batches_completed(researchers: list[Researcher]) -> list[dict]:
    """Every batch reads as completed, with nothing left in it, and a finish time no earlier than its last job's."""
    seen = []
    for r in researchers:
        for b in r.batches:
            batch = await r.api.batch(b["batch_id"])
            jobs = [await r.api.job(j) for j in b["job_ids"]]
            assert batch["status"] == "completed" and batch["queued"] == batch["running"] == 0, f"{r.name}: batch {batch}"
            assert batch["succeeded"] + batch["failed"] == batch["total"] == len(jobs), f"{r.name}: batch counts {batch}"
            assert batch["finished_at"] is not None, f"{r.name}: batch {batch['id']} completed without a finish time"
            last_job = max(_ts(j["finished_at"]) for j in jobs)
            assert _ts(batch["finished_at"]) >= last_job, f"{r.name}: batch {batch['id']} finished at {batch['finished_at']}, before its last job"
            seen.append(batch)
    return seen


def masks_nested(high: dict[int, np.ndarray], low: dict[int, np.ndarray]) -> None:
    """Each image's mask at the higher threshold lies inside its mask at the lower one, and is smaller:
    the threshold a researcher picks is the one the model's output was cut at."""
    assert high.keys() == low.keys() and high, f"masks of images {sorted(high)} at one threshold, {sorted(low)} at the other"
    for image_id in high:
        outside = int(np.count_nonzero((high[image_id] > 0) & (low[image_id] == 0)))
        assert outside == 0, f"image {image_id}: {outside} pixels are spheroid at the higher threshold but not at the lower"
        sizes = int(np.count_nonzero(high[image_id])), int(np.count_nonzero(low[image_id]))
        assert sizes[0] < sizes[1], f"image {image_id}: the masks at both thresholds cover {sizes[0]} and {sizes[1]} pixels"


def _ts(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()
