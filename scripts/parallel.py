"""The behave suite over n processes, each with a stack of its own; then the features that must run alone.

    python scripts/parallel.py --jobs N [--results DIR] [--junit DIR] [--measured FILE] [behave options ...]
    python scripts/parallel.py --print-shard I/N [behave options ...]     # the feature files of shard I of N
    python scripts/parallel.py --merge DIR ...                            # shards' reports/ folders into this one

``make test JOBS=n`` and ``make acceptance JOBS=n`` call it (``scripts/behave_report.sh``).

How it splits the work:

- The unit is a feature file (a feature's fixtures, such as a system of its
  own, belong to one process).  Features holding a scenario tagged ``@chaos``,
  ``@soak`` or ``@perf`` restart or starve shared resources, or measure speed:
  they run *alone*, in one process after the others, so nothing disturbs them.
- The other features are dealt to n shards, longest first, each to the shard
  with the least work so far; a feature's length is its scenarios' time in the
  last run (kept in ``reports/history/feature_seconds.json``, from the merged
  JUnit files), else 10 s per scenario.
- Every shard is its own ``behave`` process, and so its own stack: the harness
  provisions a PostgreSQL of its own (embedded cluster, or a container) and
  starts the services on ports the system picks (port 0), with their logs in
  ``reports/logs/<run id>``.  Its Allure results, JUnit files, measured figures
  and output go to a folder of its own; afterwards they are merged into the
  folders a serial run writes, so the report has exactly the scenarios,
  attachments and ``Rule:`` structure a serial run gives
  (``tests/integration/test_parallel_runner.py`` compares the two).
- Memory: a stack takes about ``STACK_BYTES`` (measured: peak proportional set
  size of a behave process and everything it started, four browser pages
  open); the runner never starts more shards than the memory available holds,
  and by default as many as there are cores.

It prints one line per shard when it ends (features, exit status, wall time),
then the alone phase's output as it comes.  Exit status: non-zero when any
behave process failed.

Beyond one machine (``make test SHARD=i/n``): every feature file, alone or
not, is dealt to n machine shards the same way, by the timings committed in
``scripts/feature_seconds.json`` (every machine of a CI matrix must deal
alike, so not by a cache one machine has); ``--print-shard`` names shard i's
files, which that machine runs as above.  ``--merge`` then gathers the
machines' ``reports/`` folders (Allure results, JUnit files, measured
figures) into this checkout's, for one report and one quality gate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from behave.parser import parse_file
from behave.tag_expression import make_tag_expression

ROOT = Path(__file__).resolve().parents[1]
ALONE_TAGS = frozenset({"chaos", "soak", "perf"})
# Peak PSS of one behave process's whole stack (PostgreSQL, two API processes, workers, an inference
# server with three models, Chromium with four contexts): 2.3 GiB measured on features/web_page.feature;
# 1.3 GiB without a browser.
STACK_BYTES = int(2.5 * 2**30)
SECONDS_PER_SCENARIO = 10.0  # a feature's weight when no earlier run timed it
SHARD_TIMINGS = ROOT / "scripts" / "feature_seconds.json"  # committed: every machine of a matrix deals the same shards
# A shard's behave settings: the checkout's behave.ini, with every output in the shard's folder.  (behave
# appends command-line formatters to the configured ones, so the shard's settings are a file of its own,
# read by scripts/behave_with.py, which then runs behave from the project root.)
SHARD_INI = """[behave]
format = allure
default_format = {stdout_format}
outfiles = {out}/allure-results
show_skipped = true
show_timings = true
logging_level = WARNING
junit = true
junit_directory = {out}/junit

[behave.formatters]
allure = harness.report.formatter:AllureFormatter
terminal = harness.report.terminal:SelectedPrettyFormatter
terminal-plain = harness.report.terminal:SelectedPlainFormatter

[behave.userdata]
AllureFormatter.hide_excluded = true
measured_file = {out}/measured.json
"""


@dataclass
class FeatureFile:
    path: Path
    scenarios: int
    alone: bool
    seconds: float = 0.0


@dataclass
class Shard:
    index: int
    features: list[FeatureFile] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.features)


def jobs_memory_holds() -> int:
    return max(1, int(psutil.virtual_memory().available // STACK_BYTES))


def tag_option(behave_args: list[str]) -> list[str]:
    """The ``--tags`` expressions among behave's options (``--tags X``, ``--tags=X``, ``-t X``)."""
    found, args = [], iter(behave_args)
    for arg in args:
        if arg in ("--tags", "-t"):
            found.append(next(args, ""))
        elif arg.startswith("--tags="):
            found.append(arg.split("=", 1)[1])
    return found


def discover(paths: list[Path], tags: list[str], timings: dict[str, float]) -> list[FeatureFile]:
    """The feature files with a scenario the tag expression selects, each timed and marked alone or not."""
    selects = make_tag_expression(tags) if tags else None
    found = []
    for path in paths:
        feature = parse_file(str(path))
        if feature is None:
            continue
        scenarios = [s for s in feature.walk_scenarios() if selects is None or selects.check(s.effective_tags)]
        if not scenarios:
            continue
        alone = any(ALONE_TAGS & set(s.effective_tags) for s in scenarios)
        seconds = timings.get(path.stem, SECONDS_PER_SCENARIO * len(scenarios))
        found.append(FeatureFile(path, len(scenarios), alone, seconds))
    return found


def last_timings(junit_dir: Path) -> dict[str, float]:
    """Seconds per feature file (by stem) in the last run's JUnit XML."""
    timings = {}
    for xml in junit_dir.glob("TESTS-*.xml"):
        try:
            cases = ET.parse(xml).getroot().iter("testcase")
            timings[feature_stem(xml)] = sum(float(c.get("time", 0)) for c in cases)
        except ET.ParseError:
            continue
    return timings


def feature_stem(junit_xml: Path) -> str:
    """``failures`` of TESTS-failures.xml (a serial run) or TESTS-features.failures.xml (a shard's)."""
    return junit_xml.stem.removeprefix("TESTS-").rsplit(".", 1)[-1]


def deal(features: list[FeatureFile], jobs: int) -> list[Shard]:
    """Longest first, each to the shard with the least work so far."""
    shards = [Shard(i + 1) for i in range(jobs)]
    for feature in sorted(features, key=lambda f: -f.seconds):
        min(shards, key=lambda s: s.seconds).features.append(feature)
    return [s for s in shards if s.features]


def behave_command(features: list[FeatureFile], out: Path, behave_args: list[str], stdout_format: str) -> list[str]:
    """behave on ``features`` with ``out``'s behave.ini (every output into ``out``), run from the project root."""
    (out / "behave.ini").write_text(SHARD_INI.format(out=out, stdout_format=stdout_format))
    return [sys.executable, str(ROOT / "scripts" / "behave_with.py"), str(out), *(str(f.path.relative_to(ROOT)) for f in features), *behave_args]


def environment(out: Path) -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "ALLURE_RESULTS": str(out / "allure-results"), "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}


def run_shards(shards: list[Shard], work: Path, behave_args: list[str]) -> list[int]:
    running = []
    for shard in shards:
        out = work / f"shard-{shard.index}"
        out.mkdir(parents=True)
        log = (out / "behave.log").open("w")
        command = behave_command(shard.features, out, behave_args, "terminal-plain")
        running.append((shard, subprocess.Popen(command, cwd=ROOT, env=environment(out), stdout=log, stderr=subprocess.STDOUT),
                        time.monotonic(), log))
    codes = []
    for shard, proc, started, log in running:
        try:
            code = proc.wait()
        except BaseException:  # interrupted: every shard goes, with the stacks it started (they stop on SIGTERM)
            for _, other, _, _ in running:
                other.terminate()
            for _, other, _, _ in running:
                other.wait()
            raise
        log.close()
        codes.append(code)
        names = ", ".join(f.path.stem for f in shard.features)
        print(f"shard {shard.index}: exit {code} in {time.monotonic() - started:.0f} s ({names}); output: {work / f'shard-{shard.index}' / 'behave.log'}",
              flush=True)
        if code != 0:
            print(tail(work / f"shard-{shard.index}" / "behave.log"), flush=True)
    return codes


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def merge(parts: list[Path], results: Path, junit: Path, measured: Path) -> None:
    """Every part's Allure results and JUnit files into the serial run's folders; the measured figures into one file."""
    results.mkdir(parents=True, exist_ok=True)
    junit.mkdir(parents=True, exist_ok=True)
    figures, run_ids = [], []
    for part in parts:
        for f in (part / "allure-results").glob("*"):
            target = results / f.name
            if not target.exists():  # result files are named by UUID; environment.properties is the same in every part
                shutil.copy2(f, target)
        for f in (part / "junit").glob("*.xml"):
            shutil.copy2(f, junit / f"TESTS-{feature_stem(f)}.xml")  # named as a serial run names it
        if (part / "measured.json").exists():
            body = json.loads((part / "measured.json").read_text())
            figures += body["measured"]
            run_ids.append(body["run_id"])
    measured.write_text(json.dumps({"run_id": "+".join(run_ids), "measured": figures}, indent=1) + "\n")


def split_features(features: list[str] | None, behave_args: list[str]) -> tuple[list[str] | None, list[str]]:
    """argparse reads an option holding a space (``--tags=@a or @b``) given after ``--features`` as one more
    value of it: what is not a feature file goes back to behave's options."""
    if not features:
        return features, behave_args
    return [f for f in features if str(f).endswith(".feature")], behave_args + [str(f) for f in features if not str(f).endswith(".feature")]


def machine_shard(spec: str, behave_args: list[str], timings: dict[str, float]) -> list[FeatureFile]:
    """The feature files of shard ``i/n``: every selected feature (alone or not) dealt to n by ``timings``."""
    try:
        index, count = (int(x) for x in spec.split("/"))
    except ValueError:
        raise SystemExit(f"--shard wants I/N, such as 2/3, not {spec!r}") from None
    if not 1 <= index <= count:
        raise SystemExit(f"--shard {spec}: I must be from 1 to N")
    features = discover(sorted((ROOT / "features").glob("*.feature")), tag_option(behave_args), timings)
    shards = {s.index: s.features for s in deal(features, count)}
    return sorted(shards.get(index, []), key=lambda f: f.path)


def merge_machines(folders: list[Path], reports: Path) -> int:
    """Each machine's ``reports/`` folder (allure-results, junit, measured.json) into ``reports``."""
    missing = [str(f) for f in folders if not (f / "allure-results").is_dir()]
    if missing:
        print(f"merge: no allure-results in {', '.join(missing)}", file=sys.stderr)
        return 2
    merge(folders, reports / "allure-results", reports / "junit", reports / "measured.json")
    print(f"merge: {len(folders)} shards into {reports}", flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=None, help="processes for the features that may share the machine (default: cores, capped by memory)")
    p.add_argument("--results", type=Path, default=ROOT / "reports" / "allure-results")
    p.add_argument("--junit", type=Path, default=ROOT / "reports" / "junit")
    p.add_argument("--measured", type=Path, default=ROOT / "reports" / "measured.json")
    p.add_argument("--timings", type=Path, default=ROOT / "reports" / "history" / "feature_seconds.json",
                   help="each feature's seconds in the last run: read to deal the features, written afterwards")
    p.add_argument("--features", type=Path, nargs="*", default=None, help="feature files (default: features/*.feature)")
    p.add_argument("--print-jobs", action="store_true", help="print the default number of processes here, and exit")
    p.add_argument("--print-shard", metavar="I/N", help="print the feature files of machine shard I of N, and exit")
    p.add_argument("--merge", type=Path, nargs="+", metavar="DIR", help="merge these machines' reports/ folders into reports/, and exit")
    args, behave_args = p.parse_known_args()
    args.features, behave_args = split_features(args.features, behave_args)
    if args.print_jobs:
        print(min(os.cpu_count() or 1, jobs_memory_holds()))
        return 0
    if args.print_shard:
        committed = json.loads(SHARD_TIMINGS.read_text()) if SHARD_TIMINGS.exists() else {}
        print(" ".join(str(f.path.relative_to(ROOT)) for f in machine_shard(args.print_shard, behave_args, committed)))
        return 0
    if args.merge:
        return merge_machines(args.merge, ROOT / "reports")
    jobs = min(args.jobs or os.cpu_count() or 1, jobs_memory_holds())
    paths = [p.resolve() for p in args.features] if args.features else sorted((ROOT / "features").glob("*.feature"))
    known = json.loads(args.timings.read_text()) if args.timings.exists() else {}
    features = discover(paths, tag_option(behave_args), known)
    shared = [f for f in features if not f.alone]
    alone = [f for f in features if f.alone]
    shards = deal(shared, jobs)
    print(f"parallel: {len(shared)} features in {len(shards)} processes (jobs {jobs}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().available / 2**30:.1f} GiB available, {STACK_BYTES / 2**30:.1f} GiB per stack); "
          f"then {len(alone)} alone: {', '.join(f.path.stem for f in alone) or 'none'}", flush=True)
    started = time.monotonic()
    work = ROOT / "reports" / "logs" / f"parallel-{time.strftime('%Y%m%d-%H%M%S')}"  # each process's output stays here
    try:
        codes = run_shards(shards, work, behave_args)
        parts = [work / f"shard-{s.index}" for s in shards]
        if alone:
            out = work / "alone"
            out.mkdir(parents=True)  # the first folder of this run when no feature shares the machine
            codes.append(subprocess.run(behave_command(alone, out, behave_args, "terminal"), cwd=ROOT, env=environment(out)).returncode)
            parts.append(out)
        merge(parts, args.results, args.junit, args.measured)
        args.timings.parent.mkdir(parents=True, exist_ok=True)
        args.timings.write_text(json.dumps(known | last_timings(args.junit), indent=1, sort_keys=True) + "\n")
    finally:
        for part in work.glob("*"):
            shutil.rmtree(part / "allure-results", ignore_errors=True)
            shutil.rmtree(part / "junit", ignore_errors=True)
    print(f"parallel: behave wall time {time.monotonic() - started:.0f} s, exit statuses {codes}", flush=True)
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
