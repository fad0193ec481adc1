"""Real PostgreSQL (the harness's provisioning, ``auto`` strategy) and real processes."""

from __future__ import annotations

import os

import pytest

from harness.stack.launcher import SystemUnderTest
from harness.stack.postgres import provision


@pytest.fixture(scope="session")
def database():
    with provision(os.environ.get("PARASEG_POSTGRES", "auto"), os.environ.get("DATABASE_URL")) as db:
        yield db


@pytest.fixture(scope="session")
def system(database, tmp_path_factory):
    sut = SystemUnderTest(database.url, tmp_path_factory.mktemp("logs")).start()
    yield sut
    sut.stop()
