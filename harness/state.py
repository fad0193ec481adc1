"""What a scenario carries from step to step, and what it holds until it ends.

Behave's ``context`` holds two kinds of thing.  What the whole run shares is
set once in ``before_all`` and stays on it: ``system``, ``http``, ``loop``,
``database``, ``proxies``, ``browsers``, ``gpu``, ``log_dir``, ``results_dir``.
What one scenario carries is a :class:`ScenarioState`, made new in
``before_scenario`` as ``context.state``: every field is listed below with
its type and who sets it, and a misspelt name fails at once (slots) instead of
making a new attribute that a later step reads as missing.

It names the types of every room, for annotations only, so it sits above them all: no room imports it
(only ``bdd.py`` makes one).  What a scenario holds until it ends is released by ``harness/lifetime.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the annotations only: this module sits above every room of the harness (none imports it)
    import numpy as np

    from harness.browser.pages import ResearcherPage
    from harness.clients.api import ApiResponse
    from harness.clients.events import EventStream
    from harness.clients.inference import InferenceClient
    from harness.faults.halts import Stopped
    from harness.faults.proxy import FaultProxy
    from harness.faults.window import FaultWindow
    from harness.measure.ledger import SlotLedger
    from harness.measure.metrics import Sampler
    from harness.report.attach import LogWindow
    from harness.researchers.actors import Researcher
    from harness.researchers.burst import Burst
    from harness.researchers.misuse import Guess
    from harness.stack.containers import WorkerContainer
    from harness.stack.processes import ManagedProcess
    from harness.workloads.soak import Soak
    from harness.workloads.unseen import Specimen
    from system.inference.synthetic import Sample


@dataclass(slots=True)
class ScenarioState:
    """Everything a scenario's steps hand each other; nothing outlives the scenario."""

    # --- made by before_scenario (harness/bdd.py)
    log_window: LogWindow | None = None  # the service logs written during the scenario
    inference_requests_before: int = 0  # segment requests the inference servers had answered when it began
    ledger: SlotLedger | None = None  # watched from the start when the scenario states a ledger rule
    # --- researchers (researcher_steps, harness/researchers/seeded.py)
    researchers: list[Researcher] = field(default_factory=list)
    researcher_slots: int = 0  # image-seed blocks handed out so far
    tabs: dict[str, list[EventStream]] = field(default_factory=dict)  # each researcher's extra event streams (scale_steps)
    retention_s: float = 0.0  # how long the scenario's API process keeps events (events_steps)
    large: Researcher | None = None  # the researcher with the large project (fairness)
    large_batch: int | None = None
    images: list[bytes] = field(default_factory=list)  # images a scenario made up for itself
    tiny_image: ApiResponse | None = None
    odd_project: int | None = None  # a project with an unusual name, and the name and upload
    odd_name: str = ""
    odd_upload: ApiResponse | None = None
    # --- what was sent and answered
    response: ApiResponse | None = None  # the one answer a step waits on
    answers: list[Any] = field(default_factory=list)  # answers to many requests (ApiResponse, or a step's tuples)
    answer: ApiResponse | None = None
    first: ApiResponse | None = None  # the first answer, where later ones are compared with it
    after_reload: list[ApiResponse] = field(default_factory=list)
    before: dict[str, dict] = field(default_factory=dict)  # each researcher's work before another one tried something
    jobs: list[dict] = field(default_factory=list)  # every job once, as exactly_once saw them
    cancelled_batch: ApiResponse | None = None
    started_before_cancel: set[int] = field(default_factory=set)
    burst: Burst | None = None
    burst_s: float = 0.0  # how long a burst of requests took
    guesses: list[Guess] = field(default_factory=list)  # logins someone tried
    outcomes: dict[str, int] = field(default_factory=dict)  # a burst's answers by kind
    ious: dict[str, list[float]] = field(default_factory=dict)  # each researcher's masks against the truth
    masks: dict[int, np.ndarray] = field(default_factory=dict)
    # --- models and inference (inference_steps, models_steps, harness/researchers/serving.py)
    model: str = "unet"
    samples: list[Sample] = field(default_factory=list)
    specimens: list[Specimen] = field(default_factory=list)  # images of the validation set (harness/workloads/unseen.py)
    server: InferenceClient | None = None  # an inference server of the scenario's own
    server_process: ManagedProcess | None = None  # and its process
    bursts: dict[int, tuple[list[ApiResponse], int]] = field(default_factory=dict)  # images sent at once -> answers, peak memory
    memory_before: int = 0  # the server's resident memory before the first burst
    weights: Path | None = None  # a copy of the weights the scenario may damage
    new_sha: str = ""
    reloaded: dict | None = None
    lane_sampler: Sampler | None = None
    lanes_rate: float = 0.0
    single_rate: float = 0.0
    gpu_rows: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)  # the model's best throughput in this process
    served: dict = field(default_factory=dict)  # and through the server
    comparison: dict = field(default_factory=dict)  # queue against direct (efficiency)
    soak: Soak | None = None
    # --- faults (chaos_steps, failure_steps, harness/faults/)
    fault: FaultWindow | None = None
    victim: str | ManagedProcess | None = None  # the worker killed (its name) or frozen (its process)
    victim_jobs: set[int] = field(default_factory=set)  # the jobs it held
    dropped: set[int] = field(default_factory=set)  # results the woken worker dropped
    slow_pass_s: float = 0.0
    stopped: Stopped | None = None  # a worker told to stop, and how it left
    containers: list[WorkerContainer] = field(default_factory=list)  # workers in containers of their own
    # --- the browser (ui_steps, harness/browser/)
    pages: list[ResearcherPage] = field(default_factory=list)  # every page opened: screenshots and traces at the end
    page: ResearcherPage | None = None
    page_proxy: FaultProxy | None = None  # the proxy between that page and the service
    ui_pages: list[ResearcherPage] = field(default_factory=list)
    ui_batch: int | None = None
    ui_batches: list[int] = field(default_factory=list)
    ui_folder: Path | None = None  # the scenario's files: images to upload, screenshots, traces
    files: dict[Path, Sample] = field(default_factory=dict)
    scans: dict[str, dict] = field(default_factory=dict)  # axe-core's findings per view
    viewed: str = ""
    frames_before_drop: int = 0
