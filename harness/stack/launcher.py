"""Starts the system under test: inference server(s), queue API(s), worker(s).

Each service runs as its own ``python -m`` process on a free loopback port
(port 0: the service picks one and prints it in its ready line), and counts
as started only when its ``/ready`` answers 200 within a bounded time.  Logs
go to one file per process under the run's log folder.
"""

from __future__ import annotations

import itertools
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.measure.metrics import scrape, total
from harness.stack.processes import ManagedProcess, ProcessFailed, python_module
from harness.waiting import WaitTimeout, wait_until
from system.common import settings
from system.common.settings import to_env
from system.inference.settings import InferenceSettings
from system.queue.config import QueueSettings, WorkerSettings

ROOT = Path(__file__).resolve().parents[2]  # the project root (harness/stack/launcher.py)
# Where the services' code is imported from (their working directory): the checkout, or a scratch
# copy with a seeded defect (scripts/mutants.py).
SYSTEM_ROOT = Path(os.environ.get("PARASEG_SYSTEM_ROOT", ROOT))


def http_status(url: str, timeout: float = 2.0) -> int:
    """The status a GET of ``url`` answers (an error status too); OSError when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass(frozen=True)
class SystemConfig:
    """The system the harness starts: how many of each process, and each process's settings.

    The settings are the services' own classes (``system/common/settings.py``):
    their defaults are the production defaults, and the environment each
    process is given is made from them, so no default is written twice.
    Build one with :meth:`of`.
    """

    apis: int = 1
    workers: int = 1
    ready_timeout_s: float = 120.0
    queue: QueueSettings = field(default_factory=QueueSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    inference: InferenceSettings = field(default_factory=InferenceSettings)

    @classmethod
    def of(cls, apis: int = 1, workers: int = 1, ready_timeout_s: float = 120.0, **setting) -> SystemConfig:
        """Each keyword is a settings field, given to every process that has it (``max_attempts``: the API
        and the worker alike); a keyword no process has is an error."""
        made = {}
        for name, default in (("queue", QueueSettings()), ("worker", WorkerSettings()), ("inference", InferenceSettings())):
            own = {k: v for k, v in setting.items() if hasattr(default, k)}
            made[name] = settings.replace(default, **own)
        unknown = {k for k in setting if not any(hasattr(s, k) for s in made.values())}
        if unknown:
            raise TypeError(f"no process has the setting(s) {sorted(unknown)}")
        return cls(apis, workers, ready_timeout_s, **made)


class SystemUnderTest:
    """The running system; ``stop()`` stops every process it started, in reverse order."""

    def __init__(self, database_url: str, log_dir: Path, config: SystemConfig | None = None,
                 route_inference: Callable[[str], str] | None = None, direct_database_url: str | None = None) -> None:
        """``route_inference`` maps an inference server's address to the one the queue's processes are
        given (a fault proxy in front of it, say); by default they reach it directly.  ``direct_database_url``:
        the system's database as the harness reaches it when the system's own link passes through a proxy."""
        self.database_url, self.log_dir = database_url, log_dir
        self.direct_database_url = direct_database_url or database_url
        self.config = config or SystemConfig()
        self.route_inference = route_inference or (lambda address: address)
        self.inference: list[ManagedProcess] = []
        self.apis: list[ManagedProcess] = []
        self.workers: list[ManagedProcess] = []
        self.extras: list[ManagedProcess] = []  # stand-alone servers a scenario needs for itself
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ start
    def _spawn(self, name: str, module: str, env: dict[str, str]) -> ManagedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "INFERENCE_URL", "PORT", "HOST"))}
        proc = ManagedProcess(name, python_module(module), base | env, self.log_dir / f"{name}.log", SYSTEM_ROOT)
        return proc.start()

    def _await_http(self, proc: ManagedProcess) -> str:
        """Until the service's ``/ready`` answers 200 (it serves, and what it depends on answers)."""
        address = proc.wait_ready(self.config.ready_timeout_s)

        def ready_status() -> int:
            if not proc.alive():
                raise ProcessFailed(f"{proc.name} exited with {proc.proc.returncode}\n{proc.tail()}")
            return http_status(f"{address}/ready")

        try:
            wait_until(ready_status, timeout=self.config.ready_timeout_s, interval=0.1, until=lambda s: s == 200,
                       describe=f"{proc.name} at {address} to answer /ready with 200", ignore=(OSError,))
        except WaitTimeout as exc:
            raise ProcessFailed(f"{exc}\n{proc.tail()}") from None
        return address

    def start(self) -> SystemUnderTest:
        try:
            self.start_inference()
            for _ in range(self.config.apis):
                self.start_api()
            for _ in range(self.config.workers):
                self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def start_inference(self, **env: str) -> ManagedProcess:
        proc = self._spawn(f"inference-{len(self.inference) + 1}", "system.inference",
                           to_env(settings.replace(self.config.inference, host="127.0.0.1", port=0)) | env)
        self.inference.append(proc)
        self._await_http(proc)
        return proc

    def start_standalone_inference(self, **env: str) -> ManagedProcess:
        """An inference server outside the queue's configuration (its own lanes, weights, faults).

        The caller stops it with :meth:`stop_standalone`; :meth:`heal` stops any left over."""
        own = settings.replace(self.config.inference, host="127.0.0.1", port=0, enable_fault_injection=False)
        proc = self._spawn(f"inference-extra-{len(self.extras) + 1}", "system.inference", to_env(own) | env)
        self.extras.append(proc)
        self._await_http(proc)
        return proc

    def stop_standalone(self, proc: ManagedProcess) -> None:
        proc.stop()
        if proc in self.extras:
            self.extras.remove(proc)

    @property
    def inference_urls(self) -> str:
        return ",".join(self.route_inference(p.address) for p in self.inference if p.address)

    def start_api(self, **env: str) -> ManagedProcess:
        own = settings.replace(self.config.queue, host="127.0.0.1", port=0, database_url=self.database_url,
                               inference_url=self.inference_urls)
        proc = self._spawn(f"queue-{len(self.apis) + 1}", "system.queue", to_env(own) | env)
        self.apis.append(proc)
        self._await_http(proc)
        return proc

    def start_worker(self, **env: str) -> ManagedProcess:
        n = next(self._ids)
        own = settings.replace(self.config.worker, name=f"worker-{n}", database_url=self.database_url,
                               inference_url=self.inference_urls)
        proc = self._spawn(f"worker-{n}", "system.queue.worker", to_env(own) | env)
        self.workers.append(proc)
        proc.wait_ready(self.config.ready_timeout_s)
        return proc

    def restart(self, proc: ManagedProcess, *, kill: bool = True) -> ManagedProcess:
        """Kill (SIGKILL, as a crash would) or stop ``proc`` and start its replacement on the same port,
        as an operator's supervisor would: clients find it where it was.  Returns the new process."""
        if proc in self.inference:
            group, start = self.inference, self.start_inference
        elif proc in self.apis:
            group, start = self.apis, self.start_api
        else:
            raise ValueError(f"{proc.name} is neither an inference server nor an API process of this system")
        index, port = group.index(proc), urllib.parse.urlsplit(proc.address).port
        if kill:
            proc.kill()
        else:
            proc.stop()
        group.remove(proc)
        replacement = start(PORT=str(port))  # appended and ready
        group.insert(index, group.pop())
        return replacement

    def scale_workers(self, n: int) -> None:
        """At least ``n`` workers; :meth:`heal` brings them back to the configured number."""
        while len(self.workers) < n:
            self.start_worker()

    @property
    def api_url(self) -> str:
        return self.apis[0].address

    # ------------------------------------------------------------ faults
    def heal(self) -> list[str]:
        """Replace every process a scenario killed, so the next scenario finds the configured system."""
        restarted = []
        for proc in self.extras:
            proc.stop()
        self.extras.clear()
        for proc in self.processes():
            if proc.paused:
                proc.resume()
        for group, start, wanted in ((self.inference, self.start_inference, 1), (self.apis, self.start_api, self.config.apis),
                                     (self.workers, self.start_worker, self.config.workers)):
            alive = [p for p in group if p.alive()]
            for proc in [p for p in group if p not in alive[:wanted]]:
                proc.stop()  # the dead are reaped; extras a scenario added are stopped
                group.remove(proc)
            while len(group) < wanted:
                restarted.append(start().name)
        return restarted

    async def inference_requests(self, session) -> float:
        """Segment requests the system's inference servers have answered so far (their /metrics)."""
        counted = 0.0
        for proc in self.inference:
            counted += total(await scrape(session, proc.address), "inference_requests_total")
        return counted

    def api_at(self, base_url: str) -> ManagedProcess:
        for proc in self.apis:
            if proc.address == base_url.rstrip("/"):
                return proc
        raise KeyError(f"no API process at {base_url}; have {[p.address for p in self.apis]}")

    def worker_named(self, name: str) -> ManagedProcess:
        for proc in self.workers:
            if proc.name == name:
                return proc
        raise KeyError(f"no worker named {name!r}; have {[p.name for p in self.workers]}")

    # ------------------------------------------------------------ stop
    def processes(self) -> list[ManagedProcess]:
        return [*self.inference, *self.apis, *self.workers, *self.extras]

    def stop(self) -> dict[str, int | None]:
        """Workers first (they finish their jobs), then APIs, then inference."""
        codes = {}
        for proc in [*reversed(self.extras), *reversed(self.workers), *reversed(self.apis), *reversed(self.inference)]:
            codes[proc.name] = proc.stop()
        return codes
