"""Which models the server can serve, and in what state.

A model is ``available`` once its weights loaded and matched the sha256 in the
manifest; ``corrupted`` when the file is there but its checksum or contents are
wrong; ``unavailable`` when the file is missing; ``loading`` while it loads.
A request for a model that cannot serve goes to its configured fallback, and the
answer says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..contract import MODEL_STATUSES, MODELS
from .models import BUILDERS, INPUT_SIZE, build

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS_DIR = Path(__file__).with_name("weights")
AVAILABLE, LOADING, UNAVAILABLE, CORRUPTED = MODEL_STATUSES  # the contract's order

# Where a model's requests go when it cannot serve them.
DEFAULT_FALLBACKS = {"hrnet": "unet", "resunet_cbam": "unet", "unet": None}


class ModelUnavailable(Exception):
    """Neither the model nor its fallback can serve."""


@dataclass
class ModelEntry:
    name: str
    status: str
    sha256: str | None
    fallback: str | None
    module: nn.Module | None = None
    detail: str = ""

    def public(self) -> dict:
        return {"name": self.name, "status": self.status, "sha256": self.sha256, "fallback": self.fallback, "input_size": INPUT_SIZE}


@dataclass
class ModelRegistry:
    weights_dir: Path = DEFAULT_WEIGHTS_DIR
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    fallbacks: dict[str, str | None] = field(default_factory=lambda: dict(DEFAULT_FALLBACKS))
    entries: dict[str, ModelEntry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def manifest(self) -> dict:
        path = self.weights_dir / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def load_all(self) -> None:
        manifest = self.manifest()
        for name in MODELS:
            self.load(name, manifest)

    def load(self, name: str, manifest: dict | None = None) -> ModelEntry:
        """(Re)load one model; the old module keeps serving until the new one is ready."""
        manifest = self.manifest() if manifest is None else manifest
        expected = manifest.get(name, {}).get("sha256")
        previous = self.entries.get(name)
        with self._lock:
            if previous is None:
                self.entries[name] = ModelEntry(name, LOADING, expected, self.fallbacks.get(name))
        entry = self._read(name, expected)
        with self._lock:
            self.entries[name] = entry
        log.info("model %s: %s %s", name, entry.status, entry.detail)
        return entry

    def _read(self, name: str, expected: str | None) -> ModelEntry:
        fallback = self.fallbacks.get(name)
        path = self.weights_dir / f"{name}.pt"
        if name not in BUILDERS or not path.exists():
            return ModelEntry(name, UNAVAILABLE, expected, fallback, detail=f"no weight file {path.name}")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if expected is None or actual != expected:
            return ModelEntry(name, CORRUPTED, expected, fallback, detail=f"sha256 {actual[:12]} does not match the manifest")
        try:
            module = build(name)
            module.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
        except Exception as exc:  # a file with the right sum but the wrong contents
            return ModelEntry(name, CORRUPTED, expected, fallback, detail=f"cannot load: {type(exc).__name__}")
        module.to(self.device).eval()
        return ModelEntry(name, AVAILABLE, actual, fallback, module=module)

    def resolve(self, name: str) -> tuple[ModelEntry, bool]:
        """The entry that will serve ``name`` and whether it is a fallback.

        Raises ``KeyError`` for a name that is not a model at all, and
        ``ModelUnavailable`` when neither it nor its fallback is available.
        """
        entry = self.entries[name]
        if entry.status == AVAILABLE:
            return entry, False
        if entry.fallback is not None:
            fallback = self.entries.get(entry.fallback)
            if fallback is not None and fallback.status == AVAILABLE:
                return fallback, True
        raise ModelUnavailable(f"model {name} is {entry.status} and no fallback can serve it")
