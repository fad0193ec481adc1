"""behave integration: the fixtures and hooks that ``environment.py`` hands off to.

Expensive resources live for the whole run (event loop, database, the system's
processes, the HTTP session); what a scenario needs is cheap and fresh (new
researchers with new accounts and projects).  Every resource is a ``@fixture``
generator: it starts, yields, and always cleans up, also when a step fails or
the run is interrupted.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import urllib.parse
from pathlib import Path

import aiohttp
from behave import fixture, use_fixture
from behave.model import Feature, Scenario

from harness.browser import files
from harness.browser.launch import BrowserPool
from harness.faults.proxy import FaultProxy, Proxies
from harness.measure.ledger import LEDGER_STEPS, SlotLedger
from harness.report import attach
from harness.stack.database import ProvisioningError, create_database, drop_database
from harness.stack.launcher import ROOT, SystemConfig, SystemUnderTest
from harness.stack.postgres import provision
from harness.stack.processes import RUN_ID, install_termination_handler, stop_all
from harness.state import ScenarioState
from system.inference.gpu import GpuProbe

REPORTS = ROOT / "reports"
# The system the features run on: two API processes (every event crosses processes), short leases and
# backoffs so that a fault's recovery takes seconds, a stopping worker's grace under its lease, giving up on
# an image after longer than the longest outage a feature puts in (ten seconds), and the inference server's
# test-only faults.  Everything else is the production default.
TEST_STACK = SystemConfig.of(apis=2, lease_s=4.0, retry_backoff_s=0.2, shutdown_grace_s=1.0, give_up_s=12.0, enable_fault_injection=True)


def userdata(context, key: str, env: str, default: str | None = None) -> str | None:
    value = context.config.userdata.get(key)
    return value if value not in (None, "") else os.environ.get(env, default)


# ---------------------------------------------------------------- fixtures
@fixture
def event_loop(context):
    """One event loop for the run; behave runs ``async def`` steps on it."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    context.loop = loop
    yield loop
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


@fixture
def database(context):
    strategy = userdata(context, "postgres", "PARASEG_POSTGRES", "auto")
    url = userdata(context, "database_url", "DATABASE_URL")
    try:
        with provision(strategy, url, log_path=context.log_dir / "postgres.log") as db:
            print(f"PostgreSQL: {db.strategy} strategy, server {db.version}", flush=True)
            context.database = db
            yield db
    except ProvisioningError as exc:
        print(f"PostgreSQL could not be provided: {exc}", file=sys.stderr, flush=True)  # behave's hook error hides the message
        raise SystemExit(str(exc)) from None


@fixture
def running_system(context, config: SystemConfig | None = None):
    started = time.perf_counter()
    system = SystemUnderTest(context.database.url, context.log_dir, config).start()
    print(f"system started in {time.perf_counter() - started:.1f} s: queue {system.api_url}, inference {system.inference_urls}", flush=True)
    context.system = system
    try:
        yield system
    finally:
        system.stop()


@fixture
def system_of_its_own(context, purpose: str, proxied: bool, config: SystemConfig | None = None):
    """For a feature that breaks things or measures: a system of its own, on a database of its own (the
    run's other workers never see its jobs, and whatever a fault leaves behind goes with it).  With
    ``proxied``, its database and inference links pass through fault proxies.  ``config``: the
    chaos features' settings (short lease, fault injection) unless given."""
    name = f"{purpose}_{RUN_ID}"
    admin_url = context.database.url
    context.loop.run_until_complete(create_database(admin_url, name))
    parts = urllib.parse.urlsplit(admin_url)
    host, port = parts.hostname, parts.port
    proxies = Proxies(database=FaultProxy("postgres", host, port).start()) if proxied else None
    via = f"127.0.0.1:{proxies.database.port}" if proxied else f"{host}:{port}"
    url = admin_url.rsplit("/", 1)[0].replace(f"{host}:{port}", via) + f"/{name}"
    system = SystemUnderTest(url, context.log_dir / purpose,
                             config or TEST_STACK,
                             route_inference=proxies.route_inference if proxied else None,
                             direct_database_url=f"{admin_url.rsplit('/', 1)[0]}/{name}")
    try:
        system.start()
        print(f"a system of its own for the {purpose} feature: queue {system.api_url}, database {via}/{name}", flush=True)
        context.system = system
        if proxied:
            context.proxies = proxies
        yield system
    finally:
        system.stop()
        if proxied:
            proxies.stop()
        context.loop.run_until_complete(drop_database(admin_url, name))


@fixture
def slot_ledger(context):
    """The queue's running slots against the workers' own account, watched for the whole scenario."""
    ledger = SlotLedger(context.system.direct_database_url, context.system.config.worker.poll_interval_s).start(context.loop)
    context.state.ledger = ledger
    yield ledger
    context.loop.run_until_complete(ledger.stop())


@fixture
def http_session(context):
    async def open_session() -> aiohttp.ClientSession:  # aiohttp wants a running loop
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    session = context.loop.run_until_complete(open_session())
    context.http = session
    yield session
    context.loop.run_until_complete(session.close())


@fixture
def browsers(context):
    """Chromium for the run, started only when a scenario first opens a page."""
    pool = BrowserPool()
    context.browsers = pool
    yield pool
    context.loop.run_until_complete(pool.close())


# ---------------------------------------------------------------- hooks
def before_all(context) -> None:
    install_termination_handler()
    context.gpu = GpuProbe.open()
    context.log_dir = REPORTS / "logs" / RUN_ID
    context.log_dir.mkdir(parents=True, exist_ok=True)
    context.results_dir = Path(userdata(context, "allure_results", "ALLURE_RESULTS", str(REPORTS / "allure-results")))
    use_fixture(event_loop, context)
    use_fixture(database, context)
    # Two API processes (researchers' events cross from one to the other),
    # short leases, so a killed worker's jobs come back within seconds, and an
    # inference server that takes injected faults (slow passes) from the chaos features.
    use_fixture(running_system, context, TEST_STACK)
    use_fixture(http_session, context)
    use_fixture(browsers, context)
    facts = attach.base_facts() | {
        "postgres.strategy": context.database.strategy,
        "postgres.version": context.database.version,
        "inference.lanes": str(context.system.config.inference.lanes),
        "workers": str(context.system.config.workers),
        "queue_api_processes": str(context.system.config.apis),
        "gpu": context.gpu.name if context.gpu.available else context.gpu.reason,
        "run_id": RUN_ID,
    }
    attach.write_environment(context.results_dir, facts)


def before_feature(context, feature: Feature) -> None:
    if "network" in feature.tags:
        use_fixture(system_of_its_own, context, "network", proxied=True)
    elif "chaos" in feature.tags:
        use_fixture(system_of_its_own, context, "chaos", proxied=False)
    elif "efficiency" in feature.tags:  # the production settings (SystemConfig's defaults), nothing else running on it
        use_fixture(system_of_its_own, context, "efficiency", proxied=False, config=SystemConfig())


def before_scenario(context, scenario: Scenario) -> None:
    if "gpu" in scenario.effective_tags and not context.gpu.available:
        scenario.skip(reason=f"needs an NVIDIA GPU; {context.gpu.reason}")
        return
    context.state = ScenarioState(
        log_window=attach.LogWindow(context.system.processes()),
        inference_requests_before=context.loop.run_until_complete(context.system.inference_requests(context.http)))
    if any(step.name in LEDGER_STEPS for step in scenario.all_steps):  # the scenario checks the ledger: watch it from the start
        use_fixture(slot_ledger, context)


def after_scenario(context, scenario: Scenario) -> None:
    """Evidence of a failure; then the system as configured for the next scenario.

    What the scenario opened (event streams, pages, servers of its own, frozen
    processes) it registered with ``use_fixture``; behave releases those after
    this hook, so a failed scenario's pages are still there to be photographed.
    """
    if getattr(context, "state", None) is None:  # skipped before it began (a @gpu scenario without a GPU)
        return
    failed = scenario.status == "failed"
    files.keep_evidence(context, failed, wants_trace="trace" in scenario.effective_tags)  # each page's screenshot, and trace
    if failed:
        context.state.log_window.attach()
    restarted = context.system.heal()  # processes a scenario killed or added
    if restarted:
        print(f"restarted after the scenario: {', '.join(restarted)}", flush=True)


def after_all(context) -> None:
    stop_all()  # anything a scenario started beyond the run's fixtures
    attach.write_measured(Path(userdata(context, "measured_file", "PARASEG_MEASURED_FILE", str(REPORTS / "measured.json"))), RUN_ID)
    print(f"service logs: {context.log_dir}", flush=True)
