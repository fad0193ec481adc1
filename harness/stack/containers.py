"""PostgreSQL in a container, started by Testcontainers, for the ``testcontainers`` strategy.

The image is the one ``scripts/containers/postgres_image.sh`` builds here from
Debian's packages (no registry is needed), tagged by the recipe's hash; where
it is not built and a registry answers, the pinned public ``postgres`` image.
The container runs with the host's network (no bridge, no address of its own)
on a free loopback port, labelled with the run's id; the harness removes it
when the run ends, and removes any a crashed run left (as the embedded strategy
sweeps stale clusters).  Testcontainers' reaper (Ryuk) needs an image of its
own that cannot be pulled here, so it is off and the label does its work.  The
restart and crash faults go through the engine: SIGINT (a fast shutdown) or
SIGKILL, then start, on the same port.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from harness.stack.database import NOT_YET, ProvisionedDatabase, ProvisioningError, free_port, server_version
from harness.stack.processes import RUN_ID
from harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "scripts" / "containers" / "postgres_image.sh"
MIRROR_FINDER = ROOT / "scripts" / "containers" / "debian_mirror.py"  # part of every local image's recipe
ENGINE_SOCKET = Path("/run/paraseg-docker/docker.sock")  # scripts/containers/engine.sh
PUBLIC_IMAGE = "postgres:16.4"
LABEL = "org.paraseg.run"
OWNER = "org.paraseg.owner"  # host:pid of the harness process that started it
DATA = "/tmp/pgdata"
READY_S = 60.0


def use_local_engine() -> None:
    """Point Docker clients at the engine ``scripts/containers/engine.sh`` runs, unless told otherwise."""
    if "DOCKER_HOST" not in os.environ and ENGINE_SOCKET.exists():
        os.environ["DOCKER_HOST"] = f"unix://{ENGINE_SOCKET}"
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def recipe_tag(name: str, recipe: Path) -> str:
    """The tag a recipe gives its image: the hash of the recipe and the mirror finder it runs (``cat | sha256sum``)."""
    return f"{name}:{hashlib.sha256(recipe.read_bytes() + MIRROR_FINDER.read_bytes()).hexdigest()[:12]}"


def local_image_tag() -> str:
    return recipe_tag("paraseg-postgres", RECIPE)


def image(client) -> str:
    """The image to run: the one built here if it is, else the pinned public one (pulled by Testcontainers)."""
    import docker.errors

    try:
        client.images.get(local_image_tag())
        return local_image_tag()
    except docker.errors.ImageNotFound:
        return PUBLIC_IMAGE


def owner_label() -> dict[str, str]:
    """The labels of a container this process starts: its run, and this process (host and pid)."""
    return {LABEL: RUN_ID, OWNER: f"{socket.gethostname()}:{os.getpid()}"}


def _owner_alive(labels: dict[str, str]) -> bool:
    """Whether the harness process that started the container still runs here (then it is not left over: another
    run on this machine - a benchmark, a second suite - is using it)."""
    host, _, pid = labels.get(OWNER, "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return psutil.pid_exists(int(pid))


def sweep_stale_containers(client) -> list[str]:
    """Remove the containers earlier runs labelled and left (a crash, a kill -9) - those of another run whose harness
    process no longer runs; returns their names."""
    stale = [c for c in client.containers.list(all=True, filters={"label": LABEL})
             if c.labels.get(LABEL) != RUN_ID and not _owner_alive(c.labels)]
    for container in stale:
        with contextlib.suppress(Exception):
            container.remove(force=True)
    return [c.name for c in stale]


def _command(port: int, local: bool) -> list[str]:
    settings = ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                "-c", "max_connections=300", "-c", "shared_buffers=128MB"]
    if not local:  # the public image's entrypoint makes the cluster; it takes the server's settings as arguments
        return ["postgres", *settings]
    start = f"[ -f {DATA}/PG_VERSION ] || initdb -D {DATA} -U postgres --auth=trust >/dev/null; exec postgres -D {DATA} " + " ".join(settings)
    return ["bash", "-c", start]


@contextlib.contextmanager
def testcontainers(log_path: Path | None = None) -> Iterator[ProvisionedDatabase]:
    use_local_engine()
    import docker
    from testcontainers.core.container import DockerContainer

    client = docker.from_env(timeout=10)
    sweep_stale_containers(client)
    name, port = image(client), free_port()
    local = name != PUBLIC_IMAGE
    container = (DockerContainer(name).with_command(_command(port, local))
                 .with_kwargs(network_mode="host", labels=owner_label(), **({"user": "postgres"} if local else {}))
                 .with_env("POSTGRES_HOST_AUTH_METHOD", "trust"))
    started = time.monotonic()
    container.start()
    try:
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        version = wait_until(lambda: server_version(url), timeout=READY_S, interval=0.1, ignore=NOT_YET,
                             describe=f"PostgreSQL in a container of {name} to answer a query on port {port}")
        wrapped = container.get_wrapped_container()
        print(f"PostgreSQL container of {name} (image {wrapped.image.short_id}) ready in {time.monotonic() - started:.1f} s", flush=True)
        yield ProvisionedDatabase(url, "testcontainers", f"{version} (container of {name}, image {wrapped.image.short_id})",
                                  restart=lambda mode: restart(wrapped, url, mode))
    finally:
        with contextlib.suppress(Exception):
            if log_path is not None:
                log_path.write_bytes(container.get_wrapped_container().logs())
        container.stop()


def restart(container, url: str, mode: str) -> None:
    """A fast shutdown (SIGINT) or a crash (SIGKILL), then start again where clients find it; until it answers."""
    container.kill(signal="SIGKILL" if mode == "immediate" else "SIGINT")
    container.wait(timeout=60)
    container.start()
    try:
        wait_until(lambda: server_version(url), timeout=READY_S, interval=0.1, describe="the restarted container's PostgreSQL", ignore=NOT_YET)
    except Exception as exc:
        raise ProvisioningError(f"the container did not come back: {exc}") from None


# ---------------------------------------------------------------- the system's own processes in containers
PYTHON_RECIPE = ROOT / "scripts" / "containers" / "python_image.sh"
CONTAINER_READY_S = 60.0


def python_image_tag() -> str:
    return recipe_tag("paraseg-python", PYTHON_RECIPE)


def why_no_worker_containers() -> str | None:
    """Why workers cannot run in containers here (None when they can): an engine and the Python image are needed."""
    use_local_engine()
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.images.get(python_image_tag())
        client.close()
    except Exception as exc:
        return (f"workers in containers need a Docker engine and the image {python_image_tag()} "
                f"(scripts/setup.sh as root builds it): {type(exc).__name__}")
    return None


class WorkerContainer:
    """A queue worker in a container of the Python image: the checkout and its virtualenv mounted read-only at
    their own paths, the host's network, Debian's Python 3.11 running ``python -m system.queue.worker`` with the
    settings given as its environment.  Labelled with the run's id; ``remove`` keeps its log."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path, system_root: Path) -> None:
        self.name, self.env, self.log_path, self.system_root = name, env, log_path, system_root
        self.container = None

    def start(self) -> WorkerContainer:
        use_local_engine()
        import docker

        client = docker.from_env(timeout=10)
        venv = (ROOT / ".venv").resolve()  # a worktree may link it from elsewhere: mount where it really is
        site = venv / "lib" / "python3.11" / "site-packages"
        mounts = {str(p): {"bind": str(p), "mode": "ro"} for p in {ROOT, self.system_root, venv}}
        self.container = client.containers.run(
            python_image_tag(), ["python3.11", "-m", "system.queue.worker"], detach=True, network_mode="host",
            name=f"paraseg-{RUN_ID}-{self.name}", labels=owner_label(), volumes=mounts, working_dir=str(self.system_root),
            environment=self.env | {"PYTHONPATH": f"{self.system_root}:{site}", "PYTHONUNBUFFERED": "1"})
        wait_until(lambda: (self.container.reload(), self.container.status, self.container.logs().decode(errors="replace"))[1:],
                   until=lambda s: "ready on" in s[1] or s[0] == "exited", timeout=CONTAINER_READY_S, interval=0.1,
                   describe=f"worker container {self.name} to print its ready line (seen: status, log)")
        if self.container.status == "exited":
            raise ProvisioningError(f"worker container {self.name} exited: {self.container.logs().decode(errors='replace')[-2000:]}")
        return self

    def kill(self) -> None:
        self.container.kill()  # SIGKILL: a machine that died

    def pause(self) -> None:
        self.container.pause()  # the cgroup freezer: a machine that hangs

    def resume(self) -> None:
        self.container.unpause()

    def restart(self, timeout_s: float) -> None:
        """``docker restart``: SIGTERM (the worker hands back what it cannot finish), then start again."""
        self.container.restart(timeout=int(timeout_s) + 1)

    def remove(self) -> None:
        if self.container is None:
            return
        with contextlib.suppress(Exception):
            self.container.reload()
            if self.container.status == "paused":
                self.container.unpause()
        with contextlib.suppress(Exception):
            self.log_path.write_bytes(self.container.logs())
        with contextlib.suppress(Exception):
            self.container.remove(force=True)
