"""PostgreSQL for a test run: one interface, three strategies.

- ``external``: a ``DATABASE_URL`` the user gives; nothing is started or deleted.
- ``testcontainers``: a pinned ``postgres:16`` image, when a Docker engine answers.
- ``embedded``: a throwaway cluster from the local PostgreSQL binaries, in a temp
  dir, on a free loopback port, run as the ``postgres`` user when we are root,
  deleted at the end.

``auto`` (the default) takes external if a URL is given, else Testcontainers if
Docker answers, else embedded.  Readiness is a real query answered, never a log
line.  Every strategy yields a :class:`Database` with a plain ``postgresql://``
URL (asyncpg wants no driver suffix) and the server's version.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from .processes import child_preexec
from .waiting import WaitTimeout, wait_until

POSTGRES_IMAGE = "postgres:16.4"
STRATEGIES = ("auto", "external", "testcontainers", "embedded")
_NOTHING_WORKS = """\
No PostgreSQL could be provisioned ({why}).
Do one of these:
  - install the PostgreSQL server binaries (Debian: `apt-get install -y postgresql`;
    the harness looks in /usr/lib/postgresql/*/bin and on PATH for initdb and postgres),
  - start a Docker engine so Testcontainers can run {image},
  - or point the harness at a server you run: DATABASE_URL=postgresql://user:pass@host:port/db
    (or `behave -D database_url=...`)."""


class ProvisioningError(RuntimeError):
    pass


# What a server that is still starting answers instead of a query result.
_NOT_YET = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True)
class Database:
    url: str
    strategy: str
    version: str
    # restart(mode): stop the server ("fast" shutdown or "immediate", a crash) and start it again
    # where clients find it; None where the harness does not own the server (external).
    restart: Callable[[str], None] | None = None


async def query_version(url: str, timeout: float = 3.0) -> str:
    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def _version(url: str) -> str:
    # Not asyncio.run(): that would unset the caller's current event loop.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(query_version(url))
    finally:
        loop.close()


async def create_database(admin_url: str, name: str) -> None:
    """A new, empty database on the server ``admin_url`` reaches (the queue migrates it when it starts)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for d in candidates:
        if Path(d, "initdb").exists() and Path(d, "postgres").exists():
            return Path(d)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("postgres") else None


@contextlib.contextmanager
def external(url: str) -> Iterator[Database]:
    try:
        version = _version(url)
    except Exception as exc:
        raise ProvisioningError(f"the DATABASE_URL given does not answer: {type(exc).__name__}: {exc}") from None
    yield Database(url, "external", version)


@contextlib.contextmanager
def testcontainers() -> Iterator[Database]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(POSTGRES_IMAGE, driver=None) as pg:
        url = pg.get_connection_url()
        version = wait_until(lambda: _version(url), timeout=30, interval=0.2, describe=f"PostgreSQL in {POSTGRES_IMAGE} to answer a query",
                             ignore=_NOT_YET)
        yield Database(url, "testcontainers", version, restart=lambda mode: _restart_container(pg, url, mode))


def _restart_container(pg, url: str, mode: str) -> None:
    """``docker stop`` (the image's SIGINT: fast shutdown) or a SIGQUIT (a crash), then start, and wait for a query.

    Clients must find the server where it was: if Docker published it on another port, this says so.
    (Written for Docker hosts; never run on the machines this project is built on, which have no Docker engine.)"""
    container = pg.get_wrapped_container()
    port = pg.get_exposed_port(5432)
    if mode == "immediate":
        container.kill(signal="SIGQUIT")
        container.wait()
    else:
        container.stop(timeout=15)
    container.start()
    if pg.get_exposed_port(5432) != port:
        raise ProvisioningError(f"the restarted container publishes PostgreSQL on port {pg.get_exposed_port(5432)}, not {port}")
    wait_until(lambda: _version(url), timeout=60, interval=0.1, describe="the restarted container's PostgreSQL", ignore=_NOT_YET)


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
            return _version(self.url)

        try:
            return wait_until(answers, timeout=self.ready_timeout, interval=0.05, describe="the embedded PostgreSQL to answer a query",
                              ignore=_NOT_YET)
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
def embedded(log_path: Path | None = None, ready_timeout: float = 30.0) -> Iterator[Database]:
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
        yield Database(server.url, "embedded", version, restart=server.restart)
    except subprocess.CalledProcessError as exc:
        raise ProvisioningError(f"initdb failed: {exc.stderr.decode(errors='replace').strip()}") from None
    finally:
        teardown()
        atexit.unregister(teardown)


@contextlib.contextmanager
def provision(strategy: str = "auto", url: str | None = None, log_path: Path | None = None) -> Iterator[Database]:
    """Start (or reach) PostgreSQL by ``strategy``; stop and delete what was started."""
    if strategy not in STRATEGIES:
        raise ProvisioningError(f"unknown postgres strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "external" or (strategy == "auto" and url):
        if not url:
            raise ProvisioningError("the external strategy needs DATABASE_URL (or -D database_url=...)")
        cm = external(url)
    elif strategy == "testcontainers" or (strategy == "auto" and docker_answers()):
        if strategy == "testcontainers" and not docker_answers():
            raise ProvisioningError(_NOTHING_WORKS.format(why="testcontainers was asked for, but no Docker engine answers", image=POSTGRES_IMAGE))
        cm = testcontainers()
    else:
        if find_pg_bin() is None:
            raise ProvisioningError(_NOTHING_WORKS.format(why="no Docker engine answers and no local PostgreSQL binaries were found", image=POSTGRES_IMAGE))
        cm = embedded(log_path)
    with cm as db:
        yield db
