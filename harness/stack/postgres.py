"""PostgreSQL for a test run: one interface, three strategies.

- ``external``: a ``DATABASE_URL`` the user gives; nothing is started or deleted.
- ``testcontainers``: PostgreSQL in a container (``harness/stack/containers.py``: the image built here, or
  the pinned public one), when a Docker engine answers.
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
from harness.stack.containers import PUBLIC_IMAGE, testcontainers, use_local_engine
from harness.stack.database import ProvisionedDatabase, ProvisioningError, server_version

POSTGRES_IMAGE = PUBLIC_IMAGE
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
    use_local_engine()
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
        cm = testcontainers(log_path)
    else:
        if find_pg_bin() is None:
            raise ProvisioningError(_NOTHING_WORKS.format(why="no Docker engine answers and no local PostgreSQL binaries were found", image=POSTGRES_IMAGE))
        cm = embedded(log_path)
    with cm as db:
        yield db
