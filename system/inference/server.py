"""The inference server's HTTP side (docs/api.md section 2)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from aiohttp import web
from aiohttp.web_urldispatcher import _default_expect_handler  # writes 100 Continue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from ..common.http import ApiError, error_middleware, error_response, read_json
from ..contract import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD, MODELS
from . import preprocess, tiles
from .admission import Admission
from .batcher import MicroBatcher, QueueFull, Request
from .faults import FaultInjector
from .gpu import GpuProbe
from .lanes import LanePool, LaneResult
from .models import INPUT_SIZE
from .registry import AVAILABLE, ModelEntry, ModelRegistry, ModelUnavailable
from .settings import InferenceSettings

log = logging.getLogger(__name__)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("inference_requests_total", "Segment requests by model asked and outcome", ["model", "outcome"], registry=r)
        self.fallbacks = Counter("inference_fallbacks_total", "Requests served by a fallback model", ["model", "fallback"], registry=r)
        self.failures = Counter("inference_failures_total", "Requests that got an error", ["model", "code"], registry=r)
        self.lanes_in_use = Gauge("inference_lanes_in_use", "Lanes running a forward pass now", registry=r)
        self.lanes_allowed = Gauge("inference_lanes_allowed", "Lanes allowed to take work", registry=r)
        self.oom_events = Counter("inference_oom_events_total", "Forward passes that ran out of memory", registry=r)
        self.queue_depth = Gauge("inference_queue_depth", "Requests waiting for a lane", registry=r)
        self.gpu_util = Gauge("inference_gpu_utilization_percent", "GPU utilisation (NVML)", registry=r)
        self.gpu_mem = Gauge("inference_gpu_memory_used_bytes", "GPU memory used (NVML)", registry=r)
        self.refused_unread = Counter("inference_refused_unread_total", "Requests refused before their body was read (admission)",
                                      registry=r)
        self.bytes_in_flight = Gauge("inference_bytes_in_flight", "Bytes of request bodies admitted and not yet answered", registry=r)
        self.gpu_present = Gauge("inference_gpu_present", "1 when NVML sees an NVIDIA GPU", registry=r)


class InferenceService:
    """Owns the registry, the batcher, the lanes and the CPU pool for pre/post-processing."""

    def __init__(self, settings: InferenceSettings) -> None:
        self.settings = settings
        self.device = torch.device(settings.device)
        kwargs = {"weights_dir": Path(settings.weights_dir)} if settings.weights_dir else {}
        self.registry = ModelRegistry(device=self.device, **kwargs)
        self.metrics = Metrics()
        self.gpu = GpuProbe.open()
        self.faults = FaultInjector(enabled=settings.enable_fault_injection)
        self.cpu_pool = ThreadPoolExecutor(max(2, settings.lanes), thread_name_prefix="prepost")
        self.batcher: MicroBatcher | None = None
        self.lanes: LanePool | None = None
        # what the queue can hold waiting and the lanes computing, in requests and in bytes of bodies
        self.admission = Admission(settings.max_queue + settings.lanes * settings.max_batch, settings.max_bytes_in_flight)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.cpu_pool, self.registry.load_all)
        self.batcher = MicroBatcher(self.settings.max_queue, self.settings.max_batch, self.settings.max_wait_ms / 1000)
        self.lanes = LanePool(self.batcher, self.settings.lanes, self.device, self.faults,
                              degraded_lanes=self.settings.degraded_lanes, recover_after_s=self.settings.recover_after_s,
                              on_oom=self.metrics.oom_events.inc)
        self.lanes.start()

    async def stop(self) -> None:
        self.faults.clear()  # a held forward pass must not keep its lane from stopping
        if self.lanes is not None:
            await self.lanes.stop()
        if self.batcher is not None:
            self.batcher.fail_all(ApiError(503, "overloaded", "the server is shutting down", {"Retry-After": "1"}))
        self.cpu_pool.shutdown(wait=False, cancel_futures=True)

    async def segment(self, name: str, data: bytes, threshold: float) -> dict:
        """One request through every stage: resolve the model, preprocess, forward pass, postprocess."""
        entry, fallback_used = self.resolve(name)
        if self.faults.enabled and self.faults.times_out(hashlib.sha256(data).hexdigest()):
            raise ApiError(504, "timeout", f"no answer within {self.settings.timeout_s:g} s (injected for this image)")
        deadline = time.monotonic() + self.settings.timeout_s
        loop = asyncio.get_running_loop()
        try:
            gray, tensor = await loop.run_in_executor(self.cpu_pool, preprocess.prepare, data, INPUT_SIZE)
        except preprocess.InvalidImage as exc:
            raise ApiError(400, "invalid_image", str(exc)) from None
        result = await self.infer(entry.module, tensor, deadline)
        height, width = gray.shape
        windows = 0
        if tiles.needs_windows(result.logits, height, width, threshold):  # a large field of small spheroids: look closer
            windows = len(tiles.windows(height, width))
            result, logits = await self.infer_windows(entry.module, gray, deadline, result)
            outlines, spheroids, png = await loop.run_in_executor(self.cpu_pool, preprocess.postprocess_mask, tiles.mask_of(logits, threshold))
        else:
            outlines, spheroids, png = await loop.run_in_executor(self.cpu_pool, preprocess.postprocess, result.logits, height, width, threshold)
        return {
            "model_used": entry.name,
            "fallback_used": fallback_used,
            "width": width,
            "height": height,
            "mask_png": base64.b64encode(png).decode("ascii"),
            "polygons": outlines,
            "spheroids": spheroids,
            "timings": {"queue_ms": round(result.queue_ms, 3), "compute_ms": round(result.compute_ms, 3),
                        "compute_started": result.started, "compute_finished": result.finished},
            "lane": result.lane,
            "batch_size": result.batch_size,
            "windows": windows,
        }

    def resolve(self, name: str) -> tuple[ModelEntry, bool]:
        """The model entry that serves ``name`` (its fallback where it cannot), counted."""
        if name not in MODELS:
            raise ApiError(404, "unknown_model", f"there is no model named {name!r}; known: {', '.join(MODELS)}")
        try:
            entry, fallback_used = self.registry.resolve(name)
        except ModelUnavailable as exc:
            raise ApiError(503, "model_unavailable", str(exc)) from None
        if fallback_used:
            self.metrics.fallbacks.labels(name, entry.name).inc()
        return entry, fallback_used

    async def infer_windows(self, module: torch.nn.Module, gray, deadline: float, first: LaneResult) -> tuple[LaneResult, object]:
        """The image again in overlapping windows (``tiles.py``), ``max_batch`` at a time (one micro-batch: a large
        image never fills the queue that other researchers' images wait in), blended into one logit map."""
        loop = asyncio.get_running_loop()
        height, width = gray.shape
        wins = tiles.windows(height, width)
        inputs = await loop.run_in_executor(self.cpu_pool, tiles.inputs, gray, wins, INPUT_SIZE)
        results = []
        for i in range(0, len(inputs), self.settings.max_batch):
            results += await asyncio.gather(*(self.infer(module, x, deadline) for x in inputs[i:i + self.settings.max_batch]))
        logits = await loop.run_in_executor(self.cpu_pool, tiles.blend, [r.logits for r in results], wins, height, width)
        summary = dataclasses.replace(first, compute_ms=first.compute_ms + sum(r.compute_ms for r in results),
                                      finished=max(r.finished for r in results))
        return summary, logits

    async def infer(self, module: torch.nn.Module, tensor: torch.Tensor, deadline: float) -> LaneResult:
        """Queue one input for the lanes and wait for its forward pass until ``deadline``."""
        request = Request(module=module, tensor=tensor)
        assert self.batcher is not None
        try:
            self.batcher.submit(request)
        except QueueFull:
            raise ApiError(503, "overloaded", "the inference queue is full; try again shortly", {"Retry-After": "1"}) from None
        try:
            return await asyncio.wait_for(asyncio.shield(request.future), deadline - time.monotonic())
        except TimeoutError:
            request.future.cancel()  # the lane drops it if it has not started
            raise ApiError(504, "timeout", f"no answer within {self.settings.timeout_s:g} s") from None


SERVICE = web.AppKey("service", InferenceService)


def parse_threshold(raw: str | None) -> float:
    if raw is None:
        return DEFAULT_THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "invalid_request", "threshold must be a number") from None
    if not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise ApiError(400, "invalid_request", f"threshold must be between {MIN_THRESHOLD} and {MAX_THRESHOLD}")
    return value


def declared_size(request: web.Request) -> int:
    """The body's size as the request declares it; undeclared (chunked) counts as the largest allowed."""
    limit = request.app[SERVICE].settings.max_body_bytes
    size = request.content_length if request.content_length is not None else limit
    if size > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    return size


def overloaded(service: InferenceService) -> ApiError:
    service.metrics.refused_unread.inc()
    return ApiError(503, "overloaded", "the server holds as many images as it can take; try again shortly", {"Retry-After": "1"})


async def expect_admission(request: web.Request) -> web.StreamResponse | None:
    """``Expect: 100-continue``: refuse before the client sends the body when it would not be admitted."""
    service = request.app[SERVICE]
    try:
        if not service.admission.would_admit(declared_size(request)):
            raise overloaded(service)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    return await _default_expect_handler(request)


async def segment(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    name = request.match_info["name"]
    outcome = "error"
    try:
        threshold = parse_threshold(request.query.get("threshold"))
        with service.admission.admit(declared_size(request)) as admitted:
            if not admitted:
                raise overloaded(service)  # the body stays unread
            data = await request.read()
            body = await service.segment(name, data, threshold)
        outcome = "fallback" if body["fallback_used"] else "ok"
        return web.json_response(body)
    except ApiError as exc:
        service.metrics.failures.labels(name, exc.code).inc()
        raise
    finally:
        service.metrics.requests.labels(name, outcome).inc()


async def reload_model(request: web.Request) -> web.Response:
    """Load the model's weight file again; requests in flight finish on the module they started with."""
    service = request.app[SERVICE]
    name = request.match_info["name"]
    if name not in MODELS:
        raise ApiError(404, "unknown_model", f"there is no model named {name!r}")
    loop = asyncio.get_running_loop()
    entry = await loop.run_in_executor(service.cpu_pool, service.registry.load, name)
    return web.json_response(entry.public() | {"detail": entry.detail})


async def faults(request: web.Request) -> web.Response:
    """Arm faults: ``{"oom": n}`` fails the next n forward passes with out-of-memory; ``{"time_out": sha256}``
    answers that image 504 timeout every time;
    ``{"delay_ms": x, "count": n}`` delays the next n passes by x ms; ``{"hold": true}`` holds every
    pass at its start (its lane busy) until DELETE, which disarms them all and releases the held passes."""
    service = request.app[SERVICE]
    if not service.faults.enabled:
        raise ApiError(403, "fault_injection_disabled", "start the server with --enable-fault-injection to use this route")
    if request.method == "GET":
        return web.json_response(service.faults.state())
    if request.method == "DELETE":
        return web.json_response(service.faults.clear())
    body = await read_json(request)
    oom, delay_ms, count, hold = body.get("oom", 0), body.get("delay_ms", 0), body.get("count", 0), body.get("hold", False)
    time_out = body.get("time_out")
    valid = type(oom) is int and type(count) is int and type(delay_ms) in (int, float) and type(hold) is bool
    valid = valid and (time_out is None or (isinstance(time_out, str) and len(time_out) == 64 and all(c in "0123456789abcdef" for c in time_out)))
    if not valid or not all(0 <= v <= 100_000 for v in (oom, delay_ms, count)):
        raise ApiError(400, "invalid_request", "oom and count must be integers, delay_ms a number, all from 0 to 100000; hold true or false; "
                                               "time_out an image's sha256 in hex")
    return web.json_response(service.faults.arm(oom=oom, delay_ms=float(delay_ms), delay_count=count, hold=hold, time_out=time_out))


async def list_models(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    gpu = service.gpu.sample()
    return web.json_response([entry.public() | {"device": str(service.device), "gpu": gpu} for entry in service.registry.entries.values()])


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    serving = [e.name for e in service.registry.entries.values() if e.status == AVAILABLE]
    if service.lanes is None or not serving:
        reasons = [f"{e.name}: {e.status} {e.detail}".strip() for e in service.registry.entries.values()] or ["models not loaded"]
        return web.json_response({"status": "not_ready", "reasons": reasons}, status=503)
    return web.json_response({"status": "ready", "models": serving, "lanes": service.lanes.size})


async def metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    m = service.metrics
    if service.lanes is not None:
        m.lanes_in_use.set(service.lanes.busy)
        m.lanes_allowed.set(service.lanes.allowed)
    if service.batcher is not None:
        m.queue_depth.set(service.batcher.qsize())
    m.bytes_in_flight.set(service.admission.bytes)
    gpu = service.gpu.sample()
    m.gpu_present.set(1 if service.gpu.available else 0)
    if service.gpu.available:
        m.gpu_util.set(gpu["utilization_percent"])
        m.gpu_mem.set(gpu["memory_used_bytes"])
    body = generate_latest(m.registry)
    if not service.gpu.available:
        body += f"# no GPU: {service.gpu.reason}\n".encode()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(settings: InferenceSettings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)
    service = InferenceService(settings)
    app[SERVICE] = service

    async def lifecycle(app: web.Application):
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/v1/models", list_models)
    app.router.add_post("/v1/models/{name}/segment", segment, expect_handler=expect_admission)
    app.router.add_post("/v1/models/{name}/reload", reload_model)
    app.router.add_route("*", "/v1/admin/faults", faults)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app
