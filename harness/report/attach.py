"""Allure: the environment block, attachments, and service logs on failure.

``allure.attach`` is a no-op when the Allure formatter is not active, so steps
and hooks may call these helpers unconditionally.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import allure

from harness.stack.processes import ManagedProcess


def write_environment(results_dir: Path, facts: dict[str, str]) -> None:
    """The report's Environment block (``environment.properties``)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={str(value).replace(chr(10), ' ')}" for key, value in sorted(facts.items())]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n")


def base_facts() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__}


# Every figure measured in this run, in order: written once at the end of the run (write_measured),
# so scripts/trend.py can keep them across runs and flag one that got worse.
MEASURED: list[dict] = []


def measured(name: str, figures: dict) -> None:
    """A measurement: attached to the report, printed past behave's output capture, kept for the trend."""
    attach_json(name, figures)
    MEASURED.append({"name": name, "figures": figures})
    print(f"MEASURED {name}: {json.dumps(figures, default=str)}", file=sys.__stderr__, flush=True)


def write_measured(path: Path, run_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id, "measured": MEASURED}, indent=1, default=str) + "\n")


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_json(name: str, data) -> None:
    allure.attach(json.dumps(data, indent=2, default=str), name=name, attachment_type=allure.attachment_type.JSON)


def attach_png(name: str, png: bytes) -> None:
    allure.attach(png, name=name, attachment_type=allure.attachment_type.PNG)


def attach_timeline(researchers, title: str) -> None:
    """Completions per researcher over time, from the first job queued, as a PNG."""
    from harness.measure.analysis import timeline_png

    t0 = min(r.first_queued_time() for r in researchers)
    attach_png("timeline", timeline_png({r.name.split("-")[-1]: r.final_times() for r in researchers}, title, t0))


class LogWindow:
    """Remembers where each process's log stood, to attach only what a scenario added."""

    def __init__(self, processes: list[ManagedProcess]) -> None:
        self._start = {p.name: _size(p.log_path) for p in processes}
        self._procs = processes

    def attach(self) -> None:
        for proc in self._procs:
            try:
                with open(proc.log_path, "rb") as f:
                    f.seek(self._start.get(proc.name, 0))
                    text = f.read().decode(errors="replace")
            except FileNotFoundError:
                continue
            attach_text(f"log: {proc.name}", text[-200_000:] or "(nothing logged during this scenario)")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
