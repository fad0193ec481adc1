"""Steps about live events: order, exactness, isolation, latency."""

from __future__ import annotations

from behave import then

from harness.analysis import percentile
from harness.reporting import measured

FINAL = {"job.succeeded", "job.failed", "job.cancelled"}


def check_stream(name: str, events: list[dict], own_jobs: set[int]) -> None:
    """Every event of the researcher's jobs, in order, exactly once, and nothing else."""
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"{name}: seq not strictly increasing: {seqs[:20]}..."
    assert seqs == list(range(1, len(seqs) + 1)), f"{name}: events missing from the stream (seqs {seqs[:5]}..{seqs[-5:]})"
    heard = {e["job_id"] for e in events if e["job_id"] is not None}
    assert heard <= own_jobs, f"{name} heard about jobs {sorted(heard - own_jobs)} that are not theirs"
    for job_id in own_jobs:
        kinds = [e["type"] for e in events if e["job_id"] == job_id]
        assert kinds and kinds[0] == "job.queued", f"{name}: job {job_id} events start with {kinds[:1]}"
        finals = [k for k in kinds if k in FINAL]
        assert len(finals) == 1 and kinds[-1] == finals[0], f"{name}: job {job_id} events {kinds}"
        middle = kinds[1:-1]
        assert all(k == "job.started" for k in middle), f"{name}: job {job_id} events {kinds}"
        assert middle or kinds[-1] == "job.cancelled", f"{name}: job {job_id} ended without starting: {kinds}"


@then("each researcher saw, live, every event of their own jobs in order and none of anyone else's")
def step_events_in_order_and_own(context):
    for r in context.researchers:
        check_stream(r.name, r.events.bodies(), r.own_job_ids())
        batches = {e["batch_id"] for e in r.events.bodies() if e["type"] == "batch.completed"}
        assert batches == {b["batch_id"] for b in r.batches}, f"{r.name}: batch.completed for {batches}"


@then("the events reached the researchers within a second of the change they report")
def step_event_latency(context):
    latencies = [e.latency_s for r in context.researchers for e in r.events.events if e.body["type"] in FINAL]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    figures = {"events": len(latencies), "p50_ms": round(p50 * 1000, 1), "p99_ms": round(p99 * 1000, 1), "max_ms": round(max(latencies) * 1000, 1)}
    measured("event latency (final status committed -> client)", figures)
    assert p99 < 1.0, f"p99 event latency {p99:.3f} s is not under 1 s"
