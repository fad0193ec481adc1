"""Fault injection for the inference server, for tests only.

Enabled only by ``--enable-fault-injection``; otherwise the admin route refuses.
An injected out-of-memory error is a real ``torch.cuda.OutOfMemoryError`` raised
where the forward pass would raise it, so the server handles the injected and
the real error on one code path.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import torch


@dataclass
class FaultInjector:
    enabled: bool = False
    oom_left: int = 0
    delay_left: int = 0
    delay_s: float = 0.0
    held: bool = False  # every forward pass waits at its start until the hold is released
    time_out_images: set[str] = field(default_factory=set)  # sha256 of images answered 504 timeout, every time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._released.set()

    def arm(self, oom: int = 0, delay_ms: float = 0.0, delay_count: int = 0, hold: bool = False, time_out: str | None = None) -> dict:
        with self._lock:
            if time_out:
                self.time_out_images.add(time_out)
            self.oom_left += oom
            if delay_count:
                self.delay_left, self.delay_s = delay_count, delay_ms / 1000
            if hold:
                self.held = True
                self._released.clear()
            return self.state()

    def clear(self) -> dict:
        """Disarm everything, and let every held forward pass go on."""
        with self._lock:
            self.oom_left = self.delay_left = 0
            self.delay_s = 0.0
            self.held = False
            self.time_out_images.clear()
            self._released.set()
            return self.state()

    def state(self) -> dict:
        return {"enabled": self.enabled, "oom_left": self.oom_left, "delay_left": self.delay_left, "delay_ms": self.delay_s * 1000,
                "held": self.held, "time_out": sorted(self.time_out_images)}

    def times_out(self, digest: str) -> bool:
        """Whether the image with this sha256 is to be answered as though its deadline had passed."""
        return self.enabled and digest in self.time_out_images

    def before_forward(self) -> None:
        """Called in a lane's thread just before each forward pass."""
        if not self.enabled:
            return
        self._released.wait()  # a hold: the lane is busy until the test releases it
        with self._lock:
            delay = self.delay_s if self.delay_left > 0 else 0.0
            self.delay_left = max(0, self.delay_left - 1)
            oom = self.oom_left > 0
            self.oom_left = max(0, self.oom_left - 1)
        if delay:
            time.sleep(delay)
        if oom:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected by the fault injector)")
