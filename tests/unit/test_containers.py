"""The testcontainers strategy's parts that need no engine: what it sweeps, what it runs."""

from __future__ import annotations

import socket

import pytest

from harness.stack import containers
from harness.stack.processes import RUN_ID


class FakeContainer:
    def __init__(self, name: str, run: str, owner: str | None = None) -> None:
        self.name, self.labels, self.removed = name, {containers.LABEL: run}, False
        if owner is not None:
            self.labels[containers.OWNER] = owner

    def remove(self, force: bool) -> None:
        self.removed = force


class FakeClient:
    def __init__(self, found: list[FakeContainer]) -> None:
        self.found = found
        self.containers = self

    def list(self, all: bool, filters: dict) -> list[FakeContainer]:  # noqa: A002 - docker's own keyword
        assert all and filters == {"label": containers.LABEL}
        return self.found


def test_a_crashed_runs_containers_are_swept_and_this_runs_kept():
    mine, stale = FakeContainer("mine", RUN_ID), FakeContainer("stale", "an-earlier-run")
    assert containers.sweep_stale_containers(FakeClient([mine, stale])) == ["stale"]
    assert stale.removed and not mine.removed


def test_another_live_runs_containers_are_left_alone():
    """A benchmark and a test suite at once on one machine: neither sweeps the other's database away."""
    live = FakeContainer("live", "another-run", containers.owner_label()[containers.OWNER])  # this very process owns it
    dead = FakeContainer("dead", "another-run", f"{socket.gethostname()}:{2**22 + 12345}")  # no such pid
    elsewhere = FakeContainer("elsewhere", "another-run", "some-other-host:1")
    assert containers.sweep_stale_containers(FakeClient([live, dead, elsewhere])) == ["dead", "elsewhere"]
    assert not live.removed and dead.removed and elsewhere.removed


def test_the_local_image_makes_its_cluster_once_and_listens_on_loopback_only():
    command = containers._command(54321, local=True)
    assert command[:2] == ["bash", "-c"] and "[ -f /tmp/pgdata/PG_VERSION ] || initdb" in command[2]
    assert "port=54321" in command[2] and "listen_addresses=127.0.0.1" in command[2]
    assert containers._command(54321, local=False)[0] == "postgres"


def test_the_local_image_is_tagged_by_its_recipe():
    assert containers.local_image_tag().startswith("paraseg-postgres:") and len(containers.local_image_tag().split(":")[1]) == 12


@pytest.mark.parametrize(("tag", "recipe"), [(containers.local_image_tag, containers.RECIPE), (containers.python_image_tag, containers.PYTHON_RECIPE)],
                         ids=["postgres", "python"])
def test_the_harness_names_the_tag_its_recipe_builds(tag, recipe):
    """The recipe tags its image with ``cat recipe debian_mirror.py | sha256sum``; the harness must name the same one."""
    import subprocess

    built = subprocess.run(["bash", "-c", 'cat "$1" "$2" | sha256sum | cut -c1-12', "-", str(recipe), str(containers.MIRROR_FINDER)],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert tag().split(":")[1] == built
