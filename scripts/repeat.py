"""Run a selection of scenarios N times, each run on fresh stacks, and say which ones ever failed.

    make repeat TAGS=<expr> N=<n> [FEATURES="features/a.feature ..."] [JOBS=j]
    python scripts/repeat.py -n N [--features F ...] [--jobs J] [behave options, e.g. --tags=@parallel]

A verdict must be reproducible: a scenario that fails once in twenty runs is a
defect.  Each run is a whole ``scripts/parallel.py`` run (``--jobs``, default
1: one behave process, then the features that run alone), so every run
provisions its own PostgreSQL and starts its own services.  After each run its
Allure results are generated into a report whose history is kept across the
runs (``reports/history/repeat-history.jsonl``, apart from CI's own history),
so the final report shows each scenario's N runs and marks a scenario whose
status changed between them as flaky.

It prints, and attaches to the final report as "repeat: <selection>", a table:
scenario, runs, passed, failed, skipped, and each distinct failure message
with how often it was seen.  Exit status 1 when any scenario failed at least
once (or a run reported fewer scenarios than the selection holds), else 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from parallel import split_features

ROOT = Path(__file__).resolve().parents[1]
ALLURE = ROOT / ".tools" / "allure" / "node_modules" / ".bin" / "allure"
REPORT = ROOT / "reports" / "allure-report"
RESULTS = ROOT / "reports" / "allure-results"
HISTORY = ROOT / "reports" / "history" / "repeat-history.jsonl"
REPEAT_LABEL = "repeat"


@dataclass
class Tally:
    """One scenario across the runs."""

    name: str
    statuses: list[str] = field(default_factory=list)
    messages: Counter = field(default_factory=Counter)

    def count(self, status: str) -> int:
        return self.statuses.count(status)

    @property
    def failed(self) -> int:
        return self.count("failed") + self.count("broken")


def first_line(message: str, limit: int = 240) -> str:
    line = next((x.strip() for x in message.splitlines() if x.strip()), "(no message)")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def scenario_results(results: Path) -> list[dict]:
    """The scenarios' Allure results of one run (not the report's own results, such as the trend)."""
    found = []
    for path in sorted(results.glob("*-result.json")):
        result = json.loads(path.read_text())
        if any(label.get("name") == "tag" and label.get("value") in ("trend", REPEAT_LABEL) for label in result.get("labels", [])):
            continue
        found.append(result)
    return found


def scenario_name(result: dict) -> str:
    labels = {label["name"]: label["value"] for label in result.get("labels", []) if label.get("name") in ("feature", "suite")}
    feature = labels.get("feature") or labels.get("suite") or ""
    return f"{feature}: {result['name']}" if feature else result["name"]


def tally(runs: list[list[dict]]) -> dict[str, Tally]:
    table: dict[str, Tally] = {}
    for results in runs:
        for result in results:
            name = scenario_name(result)
            entry = table.setdefault(name, Tally(name))
            status = result.get("status", "unknown")
            entry.statuses.append(status)
            if status in ("failed", "broken"):
                entry.messages[first_line(result.get("statusDetails", {}).get("message", ""))] += 1
    return table


def format_table(table: dict[str, Tally], runs: int, short: list[str]) -> str:
    rows = [f"{'scenario':120s} {'runs':>4s} {'passed':>6s} {'failed':>6s} {'skipped':>7s}"]
    for entry in sorted(table.values(), key=lambda e: (-e.failed, e.name)):
        rows.append(f"{entry.name[:120]:120s} {len(entry.statuses):4d} {entry.count('passed'):6d} {entry.failed:6d} {entry.count('skipped'):7d}")
        for message, seen in entry.messages.most_common():
            rows.append(f"    {seen} x {message}")
    flaky = [e for e in table.values() if e.failed]
    rows += short
    verdict = [f"{len(flaky)} failed at least once"] if flaky else []
    verdict += [f"{len(short)} runs reported fewer scenarios than the selection holds"] if short else []
    rows.append(f"repeat: {len(table)} scenarios, {runs} runs; " + ("; ".join(verdict) or "every scenario passed or was skipped in every run"))
    return "\n".join(rows)


def run_once(index: int, work: Path, jobs: int, features: list[str], behave_args: list[str]) -> tuple[int, Path]:
    out = work / f"run-{index}"
    results = out / "allure-results"
    command = [sys.executable, str(ROOT / "scripts" / "parallel.py"), "--jobs", str(jobs), "--results", str(results),
               "--junit", str(out / "junit"), "--measured", str(out / "measured.json")]
    command += behave_args
    if features:  # last: argparse reads an option holding a space ("--tags=@a or @b") as a value of --features
        command += ["--features", *features]
    started = time.monotonic()
    with (work / f"run-{index}.log").open("w") as log:
        code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    print(f"run {index}: exit {code} in {time.monotonic() - started:.0f} s (output: {work / f'run-{index}.log'})", flush=True)
    return code, results


def generate(results: Path, output: Path, config: Path) -> None:
    """An Allure report of ``results``; the history file named in ``config`` gains this run."""
    shutil.rmtree(output, ignore_errors=True)
    done = subprocess.run([str(ALLURE), "generate", "-c", str(config), str(results), "-o", str(output)], cwd=ROOT,
                          capture_output=True, text=True, env={"NO_COLOR": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"})
    if done.returncode != 0:
        print(f"allure generate failed: {done.stderr.strip()[-400:]}", flush=True)


def summary_result(results: Path, selection: str, text: str, failed: bool) -> None:
    """The table as an Allure result of its own, so the report carries it."""
    attachment = f"{uuid.uuid4()}-attachment.txt"
    (results / attachment).write_text(text + "\n")
    now = int(time.time() * 1000)
    result = {
        "uuid": str(uuid.uuid4()), "historyId": f"paraseg-repeat-{selection}", "testCaseId": f"paraseg-repeat-{selection}",
        "name": f"repeat: {selection}", "fullName": f"repeat: {selection}", "status": "failed" if failed else "passed",
        "statusDetails": {"message": text.splitlines()[-1]}, "stage": "finished", "start": now, "stop": now,
        "labels": [{"name": "tag", "value": REPEAT_LABEL}, {"name": "suite", "value": "Repeat"}],
        "attachments": [{"name": f"repeat: {selection}", "source": attachment, "type": "text/plain"}],
    }
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result))


def expected_scenarios(features: list[str], behave_args: list[str]) -> int | None:
    """How many scenarios the selection holds (behave --dry-run), as the quality gate counts them."""
    done = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "-f", "null", "-o", "/dev/null", *features, *behave_args],
                          cwd=ROOT, capture_output=True, text=True)
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith(tuple("0123456789")) and "scenarios passed" in line and line.endswith("untested"):
            return int(line.rsplit(",", 1)[-1].split()[0])
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--runs", type=int, default=10, help="how many times to run the selection")
    p.add_argument("--jobs", type=int, default=1, help="behave processes within each run (scripts/parallel.py)")
    p.add_argument("--features", nargs="*", default=[], help="feature files (default: every feature)")
    args, behave_args = p.parse_known_args()
    args.features, behave_args = split_features(args.features, behave_args)
    if args.runs < 1:
        p.error("-n must be at least 1")
    selection = " ".join([*args.features, *behave_args]) or "every scenario"
    expected = expected_scenarios(args.features, behave_args)
    work = ROOT / "reports" / "logs" / f"repeat-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True)
    config = work / "allurerc.mjs"  # the project's report settings, with a history of these runs alone
    config.write_text(f'import base from "{ROOT / "reports" / "allurerc.mjs"}";\n'
                      f'export default {{ ...base, name: "paraseg: repeat {selection}", historyPath: "{HISTORY}" }};\n')
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    HISTORY.unlink(missing_ok=True)  # this selection's runs only
    print(f"repeat: {selection}, {args.runs} runs, {args.jobs} behave process(es) each, {expected} scenarios a run", flush=True)
    runs, short = [], []
    for index in range(1, args.runs + 1):
        code, results = run_once(index, work, args.jobs, args.features, behave_args)
        found = scenario_results(results)
        runs.append(found)
        if expected is not None and len(found) < expected:
            short.append(f"run {index} reported {len(found)} scenarios of {expected} (exit {code})")
        generate(results, work / f"run-{index}" / "report", config)
    table = tally(runs)
    text = format_table(table, args.runs, short)
    print(text, flush=True)
    failed = any(e.failed for e in table.values()) or bool(short)
    # The final report: the last run's results and the table, over the history of every run.
    for f in RESULTS.glob("*"):
        if f.name != ".gitkeep":
            f.unlink()
    for f in (work / f"run-{args.runs}" / "allure-results").glob("*"):
        shutil.copy2(f, RESULTS / f.name)
    summary_result(RESULTS, selection, text, failed)
    HISTORY.write_text("\n".join(HISTORY.read_text().splitlines()[:-1]) + "\n" if HISTORY.exists() else "")  # the last run comes again
    generate(RESULTS, REPORT, config)
    (work / "repeat.txt").write_text(text + "\n")
    print(f"Allure report: {REPORT / 'index.html'}\ntable: {work / 'repeat.txt'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
