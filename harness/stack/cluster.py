"""A throwaway PostgreSQL cluster from the local binaries.

A temp dir, a free loopback port, run as the ``postgres`` user when we are root,
deleted at the end, and swept up by the next run after a crash.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness.stack.database import NOT_YET, ProvisionedDatabase, ProvisioningError, free_port, server_version
from harness.stack.processes import child_preexec
from harness.waiting import WaitTimeout, wait_until


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for d in candidates:
        if Path(d, "initdb").exists() and Path(d, "postgres").exists():
            return Path(d)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("postgres") else None


_EMBEDDED_PREFIX = "paraseg-pg-"


def sweep_stale_clusters() -> list[Path]:
    """Delete throwaway clusters whose harness was killed before it could (SIGKILL skips every cleanup)."""
    removed = []
    for root in Path(tempfile.gettempdir()).glob(f"{_EMBEDDED_PREFIX}*"):
        pidfile = root / "data" / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
        except (ValueError, IndexError, OSError):
            pid = None
        if pid is not None and _alive(pid):
            continue
        try:
            if time.time() - root.stat().st_mtime < 60:
                # Another run's cluster being made: initdb's bootstrap backends leave a postmaster.pid of a
                # process that has already exited (a parallel run's other shard had its initdb swept away).
                continue
        except FileNotFoundError:  # swept by another run meanwhile
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """The ``postgres`` process of a throwaway cluster, which a chaos scenario may stop and start again
    on the same port and data directory (as an operator's restart, or a crash, would)."""

    # How each shutdown mode is asked for (pg_ctl's -m): smart waits for clients, fast ends them, immediate crashes.
    SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}

    def __init__(self, bin_dir: Path, root: Path, port: int, log_path: Path, user_kw: dict, ready_timeout: float) -> None:
        self.bin_dir, self.root, self.port, self.log_path, self.user_kw = bin_dir, root, port, log_path, user_kw
        self.ready_timeout = ready_timeout
        self.url = f"postgresql://paraseg@127.0.0.1:{port}/postgres"
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        """Start the server and return its version once it answers a query."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.root / "data"), "-p", str(self.port), "-k", str(self.root / "sock"),
                 # fsync off: a test cluster need not survive the machine losing power.  synchronous_commit stays
                 # on: a crash of the server (the chaos features crash it) must not lose a commit it acknowledged.
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=on",
                 "-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=128MB"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.root, preexec_fn=child_preexec, **self.user_kw,
            )
        proc = self.proc

        def answers() -> str:
            if proc.poll() is not None:
                raise ProvisioningError(f"postgres exited with {proc.returncode}; see {self.log_path}")
            return server_version(self.url)

        try:
            return wait_until(answers, timeout=self.ready_timeout, interval=0.05, describe="the embedded PostgreSQL to answer a query",
                              ignore=NOT_YET)
        except WaitTimeout as exc:
            raise ProvisioningError(str(exc)) from None

    def stop(self, mode: str = "fast", timeout: float = 15.0) -> None:
        """Shut the server down in ``mode`` (smart, fast or immediate) and wait until it has exited."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.SIGNALS[mode])
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()


@contextlib.contextmanager
def embedded(log_path: Path | None = None, ready_timeout: float = 30.0) -> Iterator[ProvisionedDatabase]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise ProvisioningError("no initdb/postgres binaries found")
    as_user = None
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            as_user = pwd.getpwnam("postgres")
        except KeyError:
            raise ProvisioningError("running as root, and there is no 'postgres' user to run the server as") from None
    sweep_stale_clusters()
    root = Path(tempfile.mkdtemp(prefix=_EMBEDDED_PREFIX))
    sock = root / "sock"
    sock.mkdir()
    if as_user:
        for p in (root, sock):
            os.chown(p, as_user.pw_uid, as_user.pw_gid)
    user_kw = {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": []} if as_user else {}
    server = EmbeddedServer(bin_dir, root, free_port(), log_path or root / "postgres.log", user_kw, ready_timeout)

    def teardown() -> None:
        server.stop("fast")
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(teardown)  # also when an interrupt skips the finally below
    try:
        subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "paraseg", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, cwd=root, **user_kw,
        )
        version = server.start()
        yield ProvisionedDatabase(server.url, "embedded", version, restart=server.restart)
    except subprocess.CalledProcessError as exc:
        raise ProvisioningError(f"initdb failed: {exc.stderr.decode(errors='replace').strip()}") from None
    finally:
        teardown()
        atexit.unregister(teardown)
