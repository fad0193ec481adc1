"""Settings of the inference server: each field once, with its flag and variable (see system/common/settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..common.settings import setting


@dataclass(frozen=True)
class InferenceSettings:
    """``python -m system.inference``: the stream-parallel inference server."""

    host: str = setting("127.0.0.1", env="HOST", help="address to bind")
    port: int = setting(8500, env="PORT", at_least=0, help="port; 0 picks a free one")
    log_level: str = setting("INFO", env="LOG_LEVEL", help="logging level")
    lanes: int = setting(4, env="LANES", at_least=1, help="forward passes in flight at once")
    # Micro-batching helped on two CPU cores (benchmarks/inference_throughput.py:
    # 4 users, batch <= 4 vs 1); untested on a GPU in this project so far.
    max_batch: int = setting(4, env="MAX_BATCH", at_least=1, help="micro-batch size limit")
    max_wait_ms: float = setting(2.0, env="MAX_WAIT_MS", at_least=0, unit="ms", help="micro-batch gathering window")
    max_queue: int = setting(64, env="MAX_QUEUE", at_least=1, help="requests waiting beyond which 503 overloaded")
    timeout_s: float = setting(30.0, env="REQUEST_TIMEOUT", flag="--timeout", above=0, unit="s", help="seconds before 504 timeout")
    device: str = setting("cpu", env="DEVICE", help="torch device, e.g. cpu or cuda:0")
    weights_dir: str | None = setting(None, env="WEIGHTS_DIR", shown_default="the shipped weights",
                                      help="folder of <model>.pt and manifest.json")
    degraded_lanes: int = setting(2, env="DEGRADED_LANES", at_least=1, help="lanes allowed after out of memory")
    recover_after_s: float = setting(10.0, env="RECOVER_AFTER", flag="--recover-after", above=0, unit="s",
                                     help="seconds without out of memory before stepping back up")
    enable_fault_injection: bool = setting(False, env="ENABLE_FAULT_INJECTION", help="accept POST /v1/admin/faults (tests only)")
    max_bytes_in_flight: int = setting(256 * 1024 * 1024, env="MAX_BYTES_IN_FLIGHT", at_least=1,
                                       help="bytes of images held at once, read or being segmented; past that 503 overloaded before reading")
    max_body_bytes: int = setting(64 * 1024 * 1024, env="MAX_BODY_BYTES", internal=True, help="largest request body")
