"""PostgreSQL for a test run: one interface, three strategies.

- ``external``: a ``DATABASE_URL`` the user gives; nothing is started or deleted.
- ``testcontainers``: a pinned ``postgres:16`` image, when a Docker engine answers.
- ``embedded``: a throwaway cluster from the local PostgreSQL binaries, in a temp
  dir, on a free loopback port, run as the ``postgres`` user when we are root,
  deleted at the end.

``auto`` (the default) takes external if a URL is given, else Testcontainers if
Docker answers, else embedded.  Readiness is a real query answered, never a log
line.  Every strategy yields a :class:`ProvisionedDatabase` with a plain ``postgresql://``
URL (asyncpg wants no driver suffix) and the server's version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from harness.stack.cluster import embedded, find_pg_bin
from harness.stack.database import NOT_YET, ProvisionedDatabase, ProvisioningError, server_version
from harness.waiting import wait_until

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


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def external(url: str) -> Iterator[ProvisionedDatabase]:
    try:
        version = server_version(url)
    except Exception as exc:
        raise ProvisioningError(f"the DATABASE_URL given does not answer: {type(exc).__name__}: {exc}") from None
    yield ProvisionedDatabase(url, "external", version)


@contextlib.contextmanager
def testcontainers() -> Iterator[ProvisionedDatabase]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(POSTGRES_IMAGE, driver=None) as pg:
        url = pg.get_connection_url()
        version = wait_until(lambda: server_version(url), timeout=30, interval=0.2, describe=f"PostgreSQL in {POSTGRES_IMAGE} to answer a query",
                             ignore=NOT_YET)
        yield ProvisionedDatabase(url, "testcontainers", version, restart=lambda mode: _restart_container(pg, url, mode))


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
    wait_until(lambda: server_version(url), timeout=60, interval=0.1, describe="the restarted container's PostgreSQL", ignore=NOT_YET)


@contextlib.contextmanager
def provision(strategy: str = "auto", url: str | None = None, log_path: Path | None = None) -> Iterator[ProvisionedDatabase]:
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
