"""The harness proves it can fail: seeded defects, one at a time, against the scenarios that guard them.

    make mutants            # = .venv/bin/python scripts/mutants.py [--only NAME ...]

For each defect below, a scratch copy of ``system/`` gets that one change, the
services are started from the copy (``PARASEG_SYSTEM_ROOT``), and the scenarios
guarding the rule run against it.  A defect is *caught* when a scenario fails
(the line names the first failing step and its message), *survived* when every
scenario passes, and a *harness defect* when the run hangs past its bound
instead of failing.  One line per defect, then the score.  Not part of
``make test`` (a run takes several minutes); CI may run it nightly.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOUND_S = 420  # a defect's run that takes longer is hanging
# paraseg_complete_job's condition (sql/routines/complete_job.sql): the lease this worker holds, on a running job.
COMPLETE_JOB_WHERE = "WHERE id = p_job AND lease_token = p_lease AND status = 'running'"


@dataclass(frozen=True)
class Defect:
    name: str
    rule: str
    edits: tuple[tuple[str, str, str], ...]  # (file under system/, text, replacement)
    feature: str
    scenario: str  # a regular expression over scenario names (behave -n)


DEFECTS = (
    Defect("first come, first served", "fair share", (
        ("queue/sql/jobs.sql", "ORDER BY u.running, u.last_served_at NULLS FIRST, u.id", "ORDER BY head.id"),),
        "fairness.feature", "small batches arrive after one with a large batch"),
    Defect("the running bound not enforced", "at most MAX_RUNNING jobs at once", (
        ("queue/sql/jobs.sql", "FROM generate_series(1, $2::int) AS s", "FROM generate_series(1, $2::int * 100) AS s"),),
        "four_researchers.feature", "Five workers work through"),
    Defect("expired leases never taken back", "a dead worker's jobs are taken up again", (
        ("queue/jobstore.py", 'ids = [r["id"] for r in await conn.fetch(q("expired_leases"))]', "ids = []"),),
        "failures.feature", "A worker is killed"),
    Defect("events sent to every user", "each user sees only their own events", (
        ("queue/sql/events.sql", "WHERE user_id = $1 AND seq >= $2", "WHERE $1::bigint IS NOT NULL AND seq >= $2"),),
        "segmentation.feature", "Two researchers segment"),
    Defect("each append of events counts one too many", "a researcher's events are numbered 1, 2, 3 ... with no gap", (
        ("queue/sql/routines/events.sql", "SET event_seq = event_seq + n WHERE", "SET event_seq = event_seq + n + 1 WHERE"),),
        "four_researchers.feature", "Four researchers segment their batches at the same moment"),
    Defect("?after= ignored", "a reconnecting client misses nothing", (
        ("queue/sockets.py", 'raw = request.query.get("after")', "raw = None"),),
        "live_progress.feature", "loses its connection"),
    Defect("one route skips the owner check", "another user's work reads as missing", (
        ("queue/sql/projects.sql", "SELECT data, content_type FROM images WHERE id = $2 AND user_id = $1;",
         "SELECT data, content_type FROM images WHERE id = $2 AND $1::bigint IS NOT NULL;"),),
        "security.feature", "download an image's file"),
    Defect("a partial upload stored", "an upload is all or nothing", (
        ("queue/uploads.py", 'raise ApiError(400, "invalid_image", f"{name}: {exc}") from None', "continue"),),
        "security.feature", "a good image together with a corrupt one"),
    Defect("one global lock around the forward pass", "lanes compute side by side", (
        ("inference/lanes.py", "    with torch.inference_mode():\n        x = torch.stack(inputs)",
         "    with _ONE_LOCK, torch.inference_mode():\n        x = torch.stack(inputs)"),
        ("inference/lanes.py", "MAX_OOM_RETRIES = 4", "MAX_OOM_RETRIES = 4\n_ONE_LOCK = __import__('threading').Lock()")),
        "inference.feature", "Four inferences at once"),
    Defect("no out-of-memory degradation", "out of memory slows down, fails nothing", (
        ("inference/lanes.py", "            await self.set_allowed(self.degraded_lanes)", "            pass"),),
        "inference.feature", "Running out of memory"),
    Defect("the fallback not used", "a broken model's requests go to its fallback", (
        ("inference/registry.py", "        if entry.fallback is not None:", "        if False:"),),
        "models.feature", "A corrupted model"),
    Defect("a batch that never completes", "a batch completes when its last job ends", (
        ("queue/sql/routines/events.sql", "    IF b.finished_at IS NOT NULL\n", "    IF true OR b.finished_at IS NOT NULL\n"),),
        "segmentation.feature", "A researcher segments a batch"),
    Defect("an unreachable inference server costs attempts", "faults are not failures", (
        ("queue/worker.py", 'raise InferenceUnavailable(f"{url} did not answer ({type(exc).__name__})") from None',
         'raise JobFailed("inference_unreachable", "the inference server did not answer") from None'),),
        "chaos.feature", "The inference server is killed and started again"),
    Defect("a finished result dropped on a database blip", "a finished result is kept and written again", (
        ("queue/worker.py", "            await lease.sleep(backoff)\n            backoff = min(backoff * 2, MAX_WRITE_BACKOFF_S)",
         "            raise LeaseLost"),),
        "chaos.feature", "The database restarts"),
    Defect("a late write accepted", "a worker past its lease cannot overwrite the new holder", (
        # Both guards: the worker checks its lease before writing, so the database's check is only
        # reached by a write the worker believes is still leased (tests/integration/test_jobstore.py
        # holds the database's check alone).
        ("queue/sql/routines/complete_job.sql", COMPLETE_JOB_WHERE, "WHERE id = p_job AND p_lease IS NOT NULL"),
        ("queue/worker.py", "        while True:\n            lease.check()\n            try:", "        while True:\n            try:")),
        "chaos.feature", "A worker frozen past its lease"),
    Defect("leases never renewed", "a slow job keeps its worker", (
        ("queue/worker.py", "if not await jobstore.renew(conn, job, self.settings.lease_s):", "if not True:"),),
        "chaos.feature", "Every forward pass takes longer than a job's lease"),
    Defect("a renewal that does not extend the lease", "a slow job keeps its worker", (
        ("queue/sql/jobs.sql", "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8)\nWHERE id = $1 AND lease_token = $2",
         "UPDATE jobs SET lease_expires_at = lease_expires_at\nWHERE id = $1 AND lease_token = $2"),),
        "chaos.feature", "Every forward pass takes longer than a job's lease"),
    Defect("a circuit that never closes again", "the service is back within lease + poll + backoff after a fault", (
        ("queue/circuit.py", "self.state, self.failures, self.cooldown_s = CLOSED, 0, self.base_cooldown_s",
         "self.state, self.failures, self.cooldown_s = self.state, 0, self.base_cooldown_s"),),
        "chaos.feature", "The inference server is killed and started again"),
    Defect("the retry cap removed", "a job that keeps failing ends failed after its last attempt", (
        ("queue/sql/jobs.sql", "SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,", "SET status = 'queued',"),),
        "failures.feature", "A job that fails every time"),
    Defect("the page reconnects without ?after=", "a page that reconnects misses nothing", (
        ("web/index.html", "&after=${state.lastSeq}${anchor}`", "`"),),
        "live_progress.feature", "loses its connection"),
    Defect("a lost claim answer leaves its slot held", "a claim whose answer was lost costs the job nothing", (
        ("queue/worker.py", "                job = await self._claimed_meanwhile(token, sent)", "                job = None"),),
        "network.feature", "answer to a worker taking an image is lost"),
    Defect("the LISTEN connection never comes back", "events keep flowing after connections drop", (
        ("queue/listener.py", "        backoff, lost_at = 0.1, None\n        while True:",
         "        backoff, lost_at = 0.1, None\n        for _ in range(1):"),),
        "chaos.feature", "Every database connection is dropped"),
    Defect("the threshold ignored", "the threshold a researcher picks is the one used", (
        ("inference/preprocess.py", "cut = float(np.log(threshold / (1.0 - threshold)))", "cut = 0.0"),),
        "web_page.feature", "A higher threshold outlines less"),
    Defect("the page replays from the start", "a page that reconnects gets each event once", (
        ("web/index.html", "&after=${state.lastSeq}${anchor}`", "&after=0`"),),
        "live_progress.feature", "loses its connection"),
    Defect("the CSV keeps one spheroid per image", "one row per spheroid", (
        ("queue/store.py", "for spheroid in await spheroids_of(conn, row):", "for spheroid in (await spheroids_of(conn, row))[:1]:"),),
        "web_page.feature", "reads the measurements in the viewer and downloads them"),
    Defect("labels too faint to read", "no serious accessibility violation", (
        ("web/index.html", "--muted: #4a4a52;", "--muted: #b4b4bc;"),),
        "web_page.feature", "axe-core finds no serious"),
    Defect("a read-only database is a bug", "a database that cannot take the work now is unavailable; nothing is charged", (
        ("queue/db.py", "CANNOT_TAKE_IT_NOW = (asyncpg.ReadOnlySQLTransactionError, asyncpg.InsufficientResourcesError)",
         "CANNOT_TAKE_IT_NOW = ()"),),
        "chaos.feature", "turns read-only"),
    Defect("a full disk is a bug", "a database that cannot take the work now is unavailable; nothing is charged", (
        ("queue/db.py", "CANNOT_TAKE_IT_NOW = (asyncpg.ReadOnlySQLTransactionError, asyncpg.InsufficientResourcesError)",
         "CANNOT_TAKE_IT_NOW = (asyncpg.ReadOnlySQLTransactionError,)"),),
        "chaos.feature", "disk under the images"),
    Defect("a stopping worker waits for its jobs however long", "a worker told to stop leaves within its grace period, uncharged", (
        ("queue/worker.py", "                await self._finish_or_hand_back()\n",
         "                if self.running:\n                    await asyncio.wait(list(self.running))\n"),),
        "failures.feature", "told to stop"),
    Defect("every body read, whatever is in flight", "a burst of large images is refused before it is read", (
        ("inference/admission.py", "return self.requests < self.max_requests and self.bytes + size <= self.max_bytes", "return True"),),
        "inference.feature", "burst of large images"),
    Defect("guesses never slowed", "repeated wrong passwords are refused for a while", (
        ("queue/api.py", "if wait_s := await store(request).login_blocked_for(limits, settings.login_window_s):", "if wait_s := None:"),),
        "security.feature", "Wrong passwords for one account"),
    Defect("a missing account answers at once", "a wrong password costs the same whether the account exists or not", (
        ("queue/api.py", "if not await auth.check_password(password, found[1] if found else auth.UNUSABLE_HASH):",
         "if not found or not await auth.check_password(password, found[1]):"),),
        "security.feature", "Wrong passwords for one account"),
    Defect("a policy that refuses the page's own style", "the page runs nothing but its own code, and works", (
        ("queue/app.py", "f\"style-src {_sources(page, 'style')}\"", "f\"style-src {_sources(page.replace('{', '{ '), 'style')}\""),),
        "web_page.feature", "run only its own script"),
    Defect("no policy at all", "the page runs nothing but its own code", (
        ("queue/app.py", 'headers={"Content-Security-Policy": content_security_policy()}', "headers={}"),),
        "web_page.feature", "run only its own script"),
    Defect("aiohttp's own access log", "no token or password is ever written down", (
        ("common/serve.py", ", access_log_class=AccessLogger)", ")"),),
        "security.feature", "token and password appear"),
    Defect("a socket outlives its session", "a session that ended ends its event sockets", (
        ("queue/sockets.py", "if time.monotonic() - checked >= FALLBACK_POLL_S:", "if False:"),),
        "security.feature", "Signing out ends the session"),
    Defect("signing out revokes nothing", "signing out ends the session everywhere", (
        ("queue/sql/accounts.sql", "DELETE FROM tokens WHERE token_hash = $1 RETURNING user_id;",
         "SELECT user_id FROM tokens WHERE token_hash = $1;"),),
        "security.feature", "Signing out ends the session"),
    Defect("no limit on a researcher's changes", "one researcher cannot starve the others", (
        ("queue/app.py", "            request.app[WRITES].take(user_id)", "            pass"),),
        "security.feature", "faster than allowed"),
    Defect("no limit on a researcher's sockets", "one researcher cannot starve the others", (
        ("queue/sockets.py", "    request.app[SOCKETS_PER_USER].open(user_id)  #", "    (lambda _: None)(user_id)  #"),),
        "security.feature", "more live connections"),
)


def scratch_with(defect: Defect, base: Path) -> Path:
    root = base / re.sub(r"\W+", "_", defect.name)
    shutil.copytree(ROOT / "system", root / "system", ignore=shutil.ignore_patterns("__pycache__"))
    for file, text, replacement in defect.edits:
        path = root / "system" / file
        source = path.read_text()
        if text not in source:
            raise LookupError(f"{defect.name}: {file} no longer holds the text this defect changes")
        path.write_text(source.replace(text, replacement, 1))
    return root


def first_failure(output: str) -> str:
    """The first failing step of behave's plain output, and what it said."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith(("ASSERT FAILED", "Traceback")):
            step = next((lines[j].split("#")[0].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "?")
            if text.startswith("Traceback"):  # the exception is the first unindented line after the frames
                text = next((x.strip() for x in lines[i + 1:] if x and not x.startswith(" ")), text)
            return f"{step}: {text[:200]}"
    return "(no failing step found in the output)"


def run(defect: Defect, base: Path) -> tuple[str, str, float]:
    root = scratch_with(defect, base)
    # behave reads behave.ini from its working directory: here, plain output only, so the checkout's
    # Allure results and report are left alone.
    (base / "behave.ini").write_text(f"[behave]\npaths = {ROOT / 'features'}\nformat = plain\nlogging_level = WARNING\n")
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "behave", str(ROOT / "features" / defect.feature), "-n", defect.scenario, "--no-capture"],
            cwd=base, env={"PARASEG_POSTGRES": "embedded", **os.environ, "PARASEG_SYSTEM_ROOT": str(root), "ALLURE_RESULTS": str(base / "allure-results")},
            capture_output=True, text=True, timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        return "harness defect", f"the run hung past {BOUND_S} s instead of failing", time.monotonic() - started
    seconds = time.monotonic() - started
    if done.returncode == 0 and re.search(r"[1-9]\d* scenarios? passed, 0 failed", done.stdout):
        return "survived", "every guarding scenario passed", seconds
    return "caught", first_failure(done.stdout), seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="run only the defects whose names contain one of these")
    args = p.parse_args()
    defects = [d for d in DEFECTS if not args.only or any(o in d.name for o in args.only)]
    caught = 0
    with tempfile.TemporaryDirectory(prefix="paraseg-mutants-") as d:
        for defect in defects:
            verdict, detail, seconds = run(defect, Path(d))
            caught += verdict == "caught"
            print(f"{verdict:15s} {defect.name} [{defect.rule}] ({seconds:.0f} s): {detail}", flush=True)
    print(f"mutation score: {caught} of {len(defects)} defects caught")
    return 0


if __name__ == "__main__":
    sys.exit(main())
