"""GPU facts through NVML, or a plain statement that there is no GPU."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GpuProbe:
    available: bool
    reason: str
    name: str | None = None
    _handle: object | None = None

    @classmethod
    def open(cls, index: int = 0) -> GpuProbe:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
        except Exception as exc:  # NVMLError_LibraryNotFound on machines without a driver
            return cls(False, f"no NVIDIA GPU seen: {type(exc).__name__}: {exc}")
        return cls(True, "", name=name if isinstance(name, str) else name.decode(), _handle=handle)

    def sample(self) -> dict:
        """Utilisation (percent) and memory (bytes) now, or why there are none."""
        if not self.available:
            return {"gpu": None, "reason": self.reason}
        import pynvml

        util = pynvml.nvmlDeviceGetUtilizationRates(self._handle)
        mem = pynvml.nvmlDeviceGetMemoryInfo(self._handle)
        return {"gpu": self.name, "utilization_percent": util.gpu, "memory_used_bytes": mem.used, "memory_total_bytes": mem.total}
