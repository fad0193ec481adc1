"""Each process's settings, written once: flags, variables, checks and the environment a launcher gives."""

from __future__ import annotations

import pytest

from system.common.settings import from_args, parser, replace, to_env
from system.inference.settings import InferenceSettings
from system.queue.config import QueueSettings, WorkerSettings
from system.settings import processes


def parse(cls, argv, monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return from_args(cls, parser(cls, "test", "test"), argv)


def test_a_flag_wins_over_the_variable_and_the_variable_over_the_default(monkeypatch):
    s = parse(WorkerSettings, ["--database-url", "postgresql://x", "--lease", "7"], monkeypatch, LEASE_SECONDS="9", POLL_INTERVAL="0.25")
    assert (s.lease_s, s.poll_interval_s, s.retry_backoff_s) == (7.0, 0.25, WorkerSettings().retry_backoff_s)


@pytest.mark.parametrize("cls", list(processes().values()), ids=lambda c: c.__name__)
def test_the_environment_a_launcher_gives_is_read_back_as_the_same_settings(cls, monkeypatch):
    for name in [m.env for _, m in __import__("system.common.settings", fromlist=["fields"]).fields(cls)]:
        monkeypatch.delenv(name, raising=False)
    changed = {"database_url": "postgresql://u@h/db"} if hasattr(cls(), "database_url") else {}
    changed |= {"port": 0} if hasattr(cls(), "port") else {"lease_s": 2.5, "name": "w-1"}
    changed |= {"enable_fault_injection": True, "lanes": 1} if cls is InferenceSettings else {}
    wanted = replace(cls(), **changed)
    assert parse(cls, [], monkeypatch, **to_env(wanted)) == wanted


@pytest.mark.parametrize("argv, says", [
    (["--database-url", "postgresql://x", "--lease", "0"], "--lease must be more than 0"),
    (["--database-url", "postgresql://x", "--concurrency", "0"], "--concurrency must be at least 1"),
    (["--database-url", "postgresql://x", "--inference-url", " , "], "names no server"),
    ([], "--database-url (or DATABASE_URL) is required"),
])
def test_a_bad_setting_ends_the_process_before_it_starts_and_names_the_flag(argv, says, monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as stop:
        parse(WorkerSettings, argv, monkeypatch)
    assert stop.value.code == 2 and says in capsys.readouterr().err


def test_a_value_that_is_not_a_number_is_refused_by_its_variable(monkeypatch):
    with pytest.raises(SystemExit, match="POOL_SIZE: 'many' is not an integer"):
        parse(QueueSettings, ["--database-url", "postgresql://x"], monkeypatch, POOL_SIZE="many")


def test_replace_refuses_a_setting_the_process_does_not_have():
    with pytest.raises(TypeError, match="has no setting"):
        replace(QueueSettings(), lease_s=1.0)
