"""python -m system.inference: the stream-parallel inference server."""

from __future__ import annotations

import argparse
import asyncio

from ..common.serve import add_common_flags, env, serve_app, setup_logging
from .server import Settings, create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m system.inference", description="Segmentation inference server (docs/api.md section 2).")
    add_common_flags(p, default_port=8500)
    p.add_argument("--lanes", type=int, default=int(env("LANES", "4")), help="forward passes in flight at once (LANES)")
    p.add_argument("--max-batch", type=int, default=int(env("MAX_BATCH", "4")), help="micro-batch size limit (MAX_BATCH)")
    p.add_argument("--max-wait-ms", type=float, default=float(env("MAX_WAIT_MS", "2")), help="micro-batch gathering window (MAX_WAIT_MS)")
    p.add_argument("--max-queue", type=int, default=int(env("MAX_QUEUE", "64")), help="requests waiting beyond which 503 overloaded (MAX_QUEUE)")
    p.add_argument("--timeout", type=float, default=float(env("REQUEST_TIMEOUT", "30")), help="seconds before 504 timeout (REQUEST_TIMEOUT)")
    p.add_argument("--device", default=env("DEVICE", "cpu"), help="torch device, e.g. cpu or cuda:0 (DEVICE)")
    p.add_argument("--weights-dir", default=env("WEIGHTS_DIR"), help="folder of <model>.pt and manifest.json (WEIGHTS_DIR)")
    p.add_argument("--degraded-lanes", type=int, default=int(env("DEGRADED_LANES", "2")), help="lanes allowed after out of memory (DEGRADED_LANES)")
    p.add_argument("--recover-after", type=float, default=float(env("RECOVER_AFTER", "10")),
                   help="seconds without out of memory before stepping back up (RECOVER_AFTER)")
    p.add_argument("--enable-fault-injection", action="store_true", default=env("ENABLE_FAULT_INJECTION", "") == "1",
                   help="accept POST /v1/admin/faults (tests only; ENABLE_FAULT_INJECTION=1)")
    args = p.parse_args(argv)
    if args.lanes < 1 or args.max_batch < 1 or args.max_queue < 1 or args.timeout <= 0:
        p.error("--lanes, --max-batch and --max-queue must be >= 1 and --timeout > 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.log_level)
    settings = Settings(
        lanes=args.lanes,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        timeout_s=args.timeout,
        device=args.device,
        weights_dir=args.weights_dir,
        enable_fault_injection=args.enable_fault_injection,
        degraded_lanes=args.degraded_lanes,
        recover_after_s=args.recover_after,
    )
    asyncio.run(serve_app(create_app(settings), "inference", args.host, args.port))


if __name__ == "__main__":
    main()
