"""Settings of the queue's two processes, the API and the worker: each field once, with its flag and variable.

See ``system/common/settings.py`` for what is made from them (the command line,
the checks, docs/api.md's table, the environment the acceptance harness gives).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.settings import setting


def inference_urls(raw: str) -> tuple[str, ...]:
    return tuple(u.strip().rstrip("/") for u in raw.split(",") if u.strip())


@dataclass(frozen=True)
class QueueProcessSettings:
    """What both queue processes read: where the database and the inference servers are, and the retry rules."""

    database_url: str | None = setting(None, env="DATABASE_URL", required=True, shown_default="required",
                                       help="the queue's database, postgresql://user:password@host:port/db")
    inference_url: str = setting("http://127.0.0.1:8500", env="INFERENCE_URL",
                                 help="inference server base URL(s), comma separated")
    max_attempts: int = setting(3, env="MAX_ATTEMPTS", at_least=1, help="attempts before a job ends failed")
    pool_idle_s: float = setting(10.0, env="POOL_IDLE_SECONDS", flag="--pool-idle", above=0, unit="s",
                                 help="seconds an unused database connection stays open before the pool closes it")
    log_level: str = setting("INFO", env="LOG_LEVEL", help="logging level")

    @property
    def inference_urls(self) -> tuple[str, ...]:
        return inference_urls(self.inference_url)

    def problem(self) -> str | None:
        return None if self.inference_urls else f"--inference-url (INFERENCE_URL) names no server: {self.inference_url!r}"


@dataclass(frozen=True)
class QueueSettings(QueueProcessSettings):
    """``python -m system.queue``: the HTTP API and WebSocket."""

    host: str = setting("127.0.0.1", env="HOST", help="address to bind")
    port: int = setting(8080, env="PORT", at_least=0, help="port; 0 picks a free one")
    pool_size: int = setting(50, env="POOL_SIZE", at_least=1, help="database connections at most")
    writes_per_second: float = setting(20.0, env="WRITES_PER_SECOND", above=0,
                                       help="changes (POST, PUT, PATCH, DELETE) a researcher may make per second, after a burst")
    write_burst: int = setting(200, env="WRITE_BURST", at_least=1, help="changes a researcher may make at once")
    max_sockets_per_user: int = setting(8, env="MAX_SOCKETS_PER_USER", at_least=1,
                                        help="live event connections a researcher may hold open at once")
    session_s: float = setting(12 * 3600.0, env="SESSION_SECONDS", above=0, unit="s",
                               help="how long a token lives unused; each use with less than half of it left renews it")
    login_failures_per_account: int = setting(5, env="LOGIN_FAILURES_PER_ACCOUNT", at_least=1,
                                              help="failed logins for one account within the window before it is answered 429")
    login_failures_per_address: int = setting(50, env="LOGIN_FAILURES_PER_ADDRESS", at_least=1,
                                              help="failed logins from one address within the window before it is answered 429")
    login_window_s: float = setting(300.0, env="LOGIN_WINDOW_SECONDS", above=0, unit="s",
                                    help="the window failed logins are counted in, from the first")
    event_retention_days: float = setting(30.0, env="EVENT_RETENTION_DAYS", above=0, unit="days",
                                          help="how long a researcher's events are kept for replay (?after=); older ones are swept")
    acquire_timeout_s: float = setting(5.0, env="POOL_ACQUIRE_TIMEOUT", flag="--acquire-timeout", above=0, unit="s",
                                       help="seconds a request waits for a connection before 503 busy")


@dataclass(frozen=True)
class WorkerSettings(QueueProcessSettings):
    """``python -m system.queue.worker``: claims jobs and runs them on an inference server."""

    name: str | None = setting(None, env="WORKER_NAME", shown_default="host:pid", help="worker name shown on jobs")
    concurrency: int = setting(4, env="WORKER_CONCURRENCY", at_least=1, help="jobs this process runs at once")
    max_running: int = setting(4, env="MAX_RUNNING", at_least=1, help="jobs running at once across all workers")
    lease_s: float = setting(30.0, env="LEASE_SECONDS", flag="--lease", above=0, unit="s",
                             help="how long a claim holds a job without being renewed")
    poll_interval_s: float = setting(1.0, env="POLL_INTERVAL", flag="--poll-interval", above=0, unit="s",
                                     help="seconds between polls without a NOTIFY, and between heartbeats")
    retry_backoff_s: float = setting(0.5, env="RETRY_BACKOFF", flag="--retry-backoff", above=0, unit="s",
                                     help="first retry delay, doubling with each attempt")
    give_up_s: float = setting(300.0, env="GIVE_UP_SECONDS", flag="--give-up", above=0, unit="s",
                               help="how long one attempt may meet inference errors (server away, overloaded, past its deadline) "
                                    "before it is given up as failed")
    shutdown_grace_s: float = setting(10.0, env="SHUTDOWN_GRACE_SECONDS", flag="--shutdown-grace", above=0, unit="s",
                                      help="on SIGTERM, how long running jobs may finish before they are handed back, uncharged")
    inference_timeout_s: float = setting(60.0, env="INFERENCE_TIMEOUT", flag="--inference-timeout", above=0, unit="s",
                                         help="seconds per inference call")
