"""make serve: the whole product on this machine, for anyone who wants to see it.

    make serve [PORT=8080] [DEMO=1]

Starts a throwaway PostgreSQL (embedded, or PARASEG_POSTGRES / DATABASE_URL as
for the tests), the inference server, a worker and the API with the
production settings, prints one line with the page's address, and stops all of
it on Ctrl-C (or SIGTERM), leaving nothing running.  DEMO=1 adds an account
``demo`` with a project of sample spheroid images.  Logs go to
``reports/logs/serve-<time>/``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp

from harness.clients.api import ApiClient
from harness.researchers.actors import Researcher
from harness.stack.launcher import ROOT, SystemConfig, SystemUnderTest
from harness.stack.postgres import provision
from harness.stack.processes import install_termination_handler

DEMO_USER, DEMO_PASSWORD, DEMO_IMAGES = "demo", "spheroids-demo", 12


async def demo_account(api_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        researcher = Researcher(DEMO_USER, ApiClient(api_url, session))
        await researcher.api.register(DEMO_USER, DEMO_PASSWORD)
        await researcher.api.login(DEMO_USER, DEMO_PASSWORD)
        await researcher.create_project("Sample spheroids")
        await researcher.upload_spheroids(DEMO_IMAGES, first_seed=1)


def main() -> int:
    install_termination_handler()  # Ctrl-C and SIGTERM take the same way out: everything stopped
    port, demo = int(os.environ.get("PORT") or 8080), os.environ.get("DEMO") == "1"
    logs = ROOT / "reports" / "logs" / f"serve-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        with provision(os.environ.get("PARASEG_POSTGRES", "embedded"), os.environ.get("DATABASE_URL"), log_path=logs / "postgres.log") as db:
            system = SystemUnderTest(db.url, logs, SystemConfig.of(apis=0))
            try:
                system.start()
                system.start_api(PORT=str(port))
                if demo:
                    asyncio.run(demo_account(system.api_url))
                account = f"; sign in as {DEMO_USER} / {DEMO_PASSWORD}" if demo else "; create an account in the page"
                print(f"paraseg is running: open {system.api_url}/{account} (Ctrl-C stops everything; logs in {logs})", flush=True)
                signal.pause()
            finally:
                system.stop()
    except KeyboardInterrupt:
        print("paraseg stopped; nothing is left running", flush=True)
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
