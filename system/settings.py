"""Every process's settings class, and docs/api.md's tables of them.

It sits above the settings helpers (``system/common/settings.py``) and the classes made with them
(``system/queue/config.py``, ``system/inference/settings.py``), so the helpers import none of the classes.

    python -m system.settings      prints docs/api.md's settings tables
"""

from __future__ import annotations

from .common.settings import markdown_table
from .inference.settings import InferenceSettings
from .queue.config import QueueSettings, WorkerSettings


def processes() -> dict[str, type]:
    """Every process's settings class, by the module that runs it."""
    return {"system.queue": QueueSettings, "system.queue.worker": WorkerSettings, "system.inference": InferenceSettings}


def docs_section() -> str:
    """docs/api.md's settings tables, one per process."""
    parts = []
    for module, cls in processes().items():
        parts.append(f"`python -m {module}` ({cls.__name__}):\n\n{markdown_table(cls)}")
    return "\n\n".join(parts)


if __name__ == "__main__":
    print(docs_section())
