"""Child processes that cannot outlive the harness.

Every child starts in its own session (so a Ctrl-C in the terminal reaches only
the harness, which then stops the children in order), with the parent-death
signal set (so even a SIGKILLed harness takes its children with it), and with
``PARASEG_RUN`` in its environment (so a test can find any that escaped).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import psutil

RUN_ID = os.environ.setdefault("PARASEG_RUN", uuid.uuid4().hex[:12])
_PR_SET_PDEATHSIG = 1
_READY = re.compile(r"ready on (\S+)")


def child_preexec() -> None:
    """Runs in the child between fork and exec: die with the parent."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


class ProcessFailed(RuntimeError):
    pass


class ManagedProcess:
    """A ``python -m`` service: started, watched for its ready line, logged, stopped."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.name, self.argv, self.log_path, self.cwd = name, list(argv), log_path, cwd
        self.env = dict(env) | {"PARASEG_RUN": RUN_ID, "PYTHONUNBUFFERED": "1"}
        self.address: str | None = None
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None
        self.paused = False

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=child_preexec,
        )
        _REGISTRY.add(self)
        self._reader = threading.Thread(target=self._read_output, name=f"log-{self.name}", daemon=True)
        self._reader.start()
        return self

    def _read_output(self) -> None:
        assert self.proc and self.proc.stdout
        with open(self.log_path, "ab") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                if not self._ready.is_set() and (m := _READY.search(line.decode(errors="replace"))):
                    self.address = m.group(1)
                    self._ready.set()
        self._ready.set()  # exited: stop anyone waiting

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float) -> str | None:
        """Block until the ready line was printed; raise with the log's tail if it exits or times out."""
        if not self._ready.wait(timeout):
            raise ProcessFailed(f"{self.name} printed no ready line within {timeout:g} s\n{self.tail()}")
        if not self.alive() and self.address is None:
            raise ProcessFailed(f"{self.name} exited with {self.proc.returncode} before it was ready\n{self.tail()}")
        return self.address

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"

    def signal(self, sig: int) -> None:
        if self.alive():
            with _suppress_lookup():
                os.killpg(self.pid, sig)

    def pause(self) -> None:
        """SIGSTOP: the process freezes, as a hung machine would; its sockets stay open."""
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.signal(signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """SIGKILL, as a power loss would: no cleanup in the child."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; always reaps.  Returns the exit code."""
        if self.proc is None:
            return None
        if self.paused:
            self.resume()
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        with _suppress_lookup():  # anything the child left in its session
            os.killpg(self.pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(5)
        _REGISTRY.discard(self)
        return self.proc.returncode


class _suppress_lookup:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        return exc_type is not None and issubclass(exc_type, (ProcessLookupError, PermissionError))


class _Registry:
    """Every process started and not yet stopped; stopped at exit whatever happened."""

    def __init__(self) -> None:
        self._procs: list[ManagedProcess] = []
        self._lock = threading.Lock()

    def add(self, p: ManagedProcess) -> None:
        with self._lock:
            self._procs.append(p)

    def discard(self, p: ManagedProcess) -> None:
        with self._lock:
            if p in self._procs:
                self._procs.remove(p)

    def stop_all(self) -> None:
        with self._lock:
            procs = list(reversed(self._procs))
        for p in procs:
            p.stop(timeout=10)


_REGISTRY = _Registry()
atexit.register(_REGISTRY.stop_all)


def stop_all() -> None:
    _REGISTRY.stop_all()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def leftover_processes(run_id: str = RUN_ID) -> list[psutil.Process]:
    """Processes still running with this run's marker in their environment."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == os.getpid():
            continue
        try:
            if proc.environ().get("PARASEG_RUN") == run_id and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def install_termination_handler() -> None:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt, so the same cleanup runs for both.

    SIGINT is set explicitly: a run started in the background by a
    non-interactive shell inherits SIGINT as *ignored*, and Python then never
    raises KeyboardInterrupt - the run would carry on as if nothing happened.
    """

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)

