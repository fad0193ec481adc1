"""The design's rules about where code lives, checked so that they stay true.

- SQL lives in ``system/queue/sql/*.sql`` as named blocks; no Python file under
  ``system/queue`` holds a statement of its own.
- Step modules never import each other (behave executes every step file
  itself, so an imported one would run twice, with two copies of its state).
- A step is a few lines that call the harness and assert; no raw HTTP path,
  HTTP session, SQL or CSS selector in a step file.
- The contract's model names appear in one place, ``system/contract.py``.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from system.contract import MODELS
from system.queue import queries as sql

ROOT = Path(__file__).resolve().parents[2]
STEPS = sorted((ROOT / "steps").glob("*.py"))
QUEUE_PY = sorted((ROOT / "system" / "queue").rglob("*.py"))
MAX_STEP_LINES = 10

# A statement: a verb followed by what it acts on, as this codebase writes SQL (keywords in capitals).
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bCREATE\s+(TABLE|INDEX|DATABASE)\b"
                 r"|\bDROP\s+(TABLE|DATABASE)\b|\bALTER\s+TABLE\b|\bLOCK\s+TABLE\b|\bpg_\w+\(|\bSELECT\s+\d")


def strings(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module that is not a docstring, with its line."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_sql_detector_sees_sql():
    for statement in ("SELECT id FROM jobs", "INSERT INTO users (a) VALUES (1)", "UPDATE jobs SET status = 'x'", "SELECT 1",
                      "SELECT pg_notify('c', '')", "LOCK TABLE images IN ACCESS EXCLUSIVE MODE"):
        assert SQL.search(statement), statement
    for prose in ("select a model from the list", "Update set for the week", "no such image", "SELECT is how reads start"):
        assert not SQL.search(prose), prose


@pytest.mark.parametrize("path", QUEUE_PY, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_in_queue_python(path: Path):
    found = [(line, text[:80]) for line, text in strings(path) if SQL.search(text)]
    assert not found, f"{path.relative_to(ROOT)} holds SQL; make it a named block in system/queue/sql/: {found}"


def test_every_named_query_is_used_and_every_use_is_named():
    names = set(sql.queries())
    used = set()
    for path in QUEUE_PY:
        used |= set(re.findall(r"""\bq\(\s*["'](\w+)["']\s*\)""", path.read_text()))
    assert used - names == set(), f"q() of names no .sql file defines: {sorted(used - names)}"
    assert names - used == set(), f"named queries nothing runs: {sorted(names - used)}"


def test_no_step_module_imports_another():
    for path in STEPS:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for imported in [module or "", *names]:
                assert not imported.startswith("steps"), f"{path.name} imports {imported}: move what steps share into harness/"


def step_functions(path: Path):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("step_"):
            yield node


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_steps_are_a_few_lines(path: Path):
    long = []
    for fn in step_functions(path):
        body = fn.body[1:] if isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) else fn.body
        lines = body[-1].end_lineno - body[0].lineno + 1
        if lines > MAX_STEP_LINES:
            long.append(f"{fn.name}: {lines} lines")
    assert not long, f"steps longer than {MAX_STEP_LINES} lines in {path.name} (move the work into harness/): {long}"


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_steps_hold_no_paths_sessions_sql_or_selectors(path: Path):
    text = path.read_text()
    for what, pattern in (("an HTTP path", r"[\"']/(api|v1)/"), ("an HTTP session", r"ClientSession|websockets\.connect"),
                          ("a CSS selector", r"[\"']#[\w-]+|querySelector|wait_for_selector"), ("a sleep", r"\bsleep\(")):
        assert not re.search(pattern, text), f"{path.name} holds {what}; the harness owns it"
    assert not [s for _, s in strings(path) if SQL.search(s)], f"{path.name} holds SQL"


def test_model_names_are_written_in_one_place():
    allowed = {ROOT / "system" / "contract.py", ROOT / "system" / "inference" / "models" / "__init__.py",
               ROOT / "system" / "inference" / "registry.py"}  # the builders and fallbacks are keyed by name
    tuple_of_names = re.compile(r"""["']unet["'],\s*["']resunet_cbam["'],\s*["']hrnet["']""")
    offenders = [p for p in ROOT.glob("**/*.py") if ".venv" not in p.parts and p not in allowed and tuple_of_names.search(p.read_text())]
    assert not offenders, f"the list of models is written out in {offenders}; import system.contract.MODELS"
    assert len(MODELS) == len(set(MODELS))


# The system's internals the harness may not import: what it measures against is a promise in system/contract.py.
INTERNALS = ("system.queue.worker", "system.queue.db", "system.queue.circuit", "system.queue.jobstore")


@pytest.mark.parametrize("path", sorted((ROOT / "harness").rglob("*.py")) + STEPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_harness_measures_against_the_contract_not_internals(path: Path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not imported & set(INTERNALS), f"{path.name} imports {sorted(imported & set(INTERNALS))}; state the promise in system/contract.py"


def raised_errors(folder: Path) -> set[tuple[int, str]]:
    """Every ``ApiError(status, "code", ...)`` written under ``folder``."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError" and len(node.args) >= 2:
                status, code = node.args[:2]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found.add((status.value, code.value))
    return found


@pytest.mark.parametrize("service, table", [("queue", "QUEUE_ERRORS"), ("inference", "INFERENCE_ERRORS")])
def test_every_error_a_service_raises_has_the_status_the_contract_gives_it(service: str, table: str):
    import system.contract as contract

    errors = getattr(contract, table)
    raised = raised_errors(ROOT / "system" / service) | raised_errors(ROOT / "system" / "common")
    wrong = sorted((status, code) for status, code in raised if errors.get(code) != status)
    assert raised and not wrong, f"ApiError status and code that system/contract.py's {table} does not state: {wrong}"


# A step line that says which HTTP status an answer has: the feature should name the error instead.
HTTP_STATUS_IN_STEP = re.compile(r"\b(is|are|answers?|answered|gets?|got|with)\s+[1-5]\d\d\b|\b[1-5]\d\d\s+with the error\b|<status>", re.I)


@pytest.mark.parametrize("path", sorted((ROOT / "features").glob("*.feature")), ids=lambda p: p.name)
def test_no_step_line_or_example_carries_an_http_status(path: Path):
    from behave.parser import parse_file

    scenarios = list(parse_file(str(path)).walk_scenarios(with_outlines=True))
    steps = [(step.line, step.name) for scenario in scenarios for step in scenario.steps]
    columns = [(ex.table.line, heading) for scenario in scenarios for ex in getattr(scenario, "examples", []) if ex.table is not None
               for heading in ex.table.headings if heading.lower() in ("status", "http status", "code number")]
    wrong = [(line, text) for line, text in steps if HTTP_STATUS_IN_STEP.search(text)] + columns
    assert not wrong, f"{path.name}: name the error, not the HTTP status (system/contract.py gives each error its status): {wrong[:5]}"


# ---------------------------------------------------------------- the harness's rooms
HARNESS = ROOT / "harness"
PACKAGES = sorted(p.parent.name for p in HARNESS.glob("*/__init__.py"))
TOP_MODULES = sorted(p.stem for p in HARNESS.glob("*.py") if p.stem != "__init__")
MAX_HARNESS_MODULE_LINES = 300


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def harness_imports(path: Path) -> set[str]:
    """The harness units (a subpackage or a top-level module) that ``path`` imports when it runs."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            names = [parts[1]] if parts[0] == "harness" and len(parts) > 1 else \
                [a.name for a in node.names] if node.module == "harness" else []
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("harness.")]
        found |= set(names)
    return found


def test_the_harness_is_a_few_rooms_with_a_few_modules_at_the_top():
    assert len(PACKAGES) >= 6, PACKAGES
    assert len(TOP_MODULES) <= 4, f"modules left at the top of harness/: {TOP_MODULES}; give each a subpackage"
    for package in PACKAGES:
        doc = ast.get_docstring(ast.parse((HARNESS / package / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"harness/{package}/__init__.py must say what it owns and what it may import"


@pytest.mark.parametrize("package", PACKAGES)
def test_each_room_imports_only_what_its_docstring_allows(package: str):
    import importlib

    allowed = set(importlib.import_module(f"harness.{package}").MAY_IMPORT) | {package}
    wrong = {str(p.relative_to(ROOT)): sorted(harness_imports(p) - allowed)
             for p in sorted((HARNESS / package).glob("*.py")) if harness_imports(p) - allowed}
    assert not wrong, f"harness/{package} may import {sorted(allowed - {package})} of the harness; found {wrong}"


def test_the_rooms_form_no_circle():
    import importlib

    graph = {p: set(importlib.import_module(f"harness.{p}").MAY_IMPORT) & set(PACKAGES) for p in PACKAGES}
    done: list[str] = []
    while graph:
        free = sorted(p for p, deps in graph.items() if deps <= set(done))
        assert free, f"the subpackages of harness/ import each other in a circle: {graph}"
        done += free
        graph = {p: d for p, d in graph.items() if p not in free}


def test_the_top_modules_below_the_rooms_import_none_of_them():
    for stem in ("waiting", "lifetime"):
        assert not harness_imports(HARNESS / f"{stem}.py"), f"harness/{stem}.py is below every room and imports none"


def test_the_scenario_state_is_above_every_room():
    """``state.py`` names every room's types (for annotations only); a room importing it would close a circle."""
    importers = sorted(str(p.relative_to(ROOT)) for p in HARNESS.rglob("*.py")
                       if p.parent != HARNESS and "state" in harness_imports(p) | _annotation_imports(p))
    assert not importers, f"rooms import harness/state.py: {importers}"
    assert not harness_imports(HARNESS / "state.py"), "harness/state.py imports rooms only for annotations (under TYPE_CHECKING)"


def _annotation_imports(path: Path) -> set[str]:
    return {a.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom) and n.module == "harness" for a in n.names} | \
           {n.module.split(".")[1] for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom) and n.module
            and n.module.startswith("harness.") and len(n.module.split(".")) > 1}


def module_graph(*tops: str) -> dict[str, set[str]]:
    """Which module imports which, among the modules under ``tops``, counting every import: at run time, inside
    functions, and for annotations only (a circle of those still ties two modules into one)."""
    modules = {}
    for top in tops:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([node.module] if node.module else []))
                targets |= {known(f"{base}.{a.name}") if f"{base}.{a.name}" in modules else known(base) for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {known(a.name) for a in node.names}
        graph[name] = {t for t in targets if t and t != name}
    return graph


def test_no_two_modules_import_each_other_even_for_annotations():
    import graphlib

    try:
        graphlib.TopologicalSorter(module_graph("harness", "system")).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"modules import each other in a circle: {' -> '.join(exc.args[1])}; move what both need below both") from None


def test_the_circle_rule_sees_a_circle():
    import graphlib

    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()
    graph = module_graph("harness", "system")
    assert "harness.lifetime" in graph["harness.faults.halts"] and "system.common.settings" in graph["system.settings"]


@pytest.mark.parametrize("path", sorted(HARNESS.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_harness_module_is_a_grab_bag(path: Path):
    lines = len(path.read_text().splitlines())
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert lines <= MAX_HARNESS_MODULE_LINES or "Longer than" in doc, \
        f"{path.relative_to(ROOT)} has {lines} lines; split it by concern, or say in its docstring why it is 'Longer than' that"


# ---------------------------------------------------------------- what a scenario carries
def _context_attributes_set(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for t in (target.elts if isinstance(target, ast.Tuple) else [target]):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "context":
                    found.add(t.attr)
    return found


RUN_LEVEL = _context_attributes_set(HARNESS / "bdd.py")  # what before_all sets, and context.state itself


@pytest.mark.parametrize("path", [p for p in STEPS + sorted(HARNESS.rglob("*.py")) if p.name != "bdd.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_a_scenario_carries_its_state_in_the_typed_object(path: Path):
    from harness.state import ScenarioState

    stray = _context_attributes_set(path) - RUN_LEVEL
    assert not stray, (f"{path.relative_to(ROOT)} sets context.{sorted(stray)}; "
                       f"add the field to harness/state.py's ScenarioState and set context.state.<name>")
    assert "state" in RUN_LEVEL and {"researchers", "pages", "victim_jobs"} <= set(ScenarioState.__dataclass_fields__)


def test_every_field_of_the_scenario_state_names_a_type_that_exists():
    import typing

    import harness.state as state

    tree = ast.parse(Path(state.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING")
    names = dict(vars(state))
    exec(compile(ast.Module(body=block.body, type_ignores=[]), state.__file__, "exec"), names)  # the annotation-only imports
    hints = typing.get_type_hints(state.ScenarioState, globalns=names)
    assert len(hints) == len(state.ScenarioState.__dataclass_fields__) > 40


# ---------------------------------------------------------------- settings written once
def test_the_settings_tables_in_the_contract_are_the_settings_classes():
    from system.settings import docs_section

    text = (ROOT / "docs" / "api.md").read_text()
    copy = text.split("<!-- settings: made by python -m system.settings -->\n", 1)[1].split("\n<!-- /settings -->", 1)[0]
    assert copy.strip() == docs_section().strip(), "docs/api.md's settings tables differ from the settings classes: " \
        "run `make settings-docs`"


SERVICE_ENTRY_POINTS = [ROOT / "system" / "queue" / "__main__.py", ROOT / "system" / "queue" / "worker.py",
                        ROOT / "system" / "inference" / "__main__.py"]


@pytest.mark.parametrize("path", SERVICE_ENTRY_POINTS + sorted((ROOT / "harness" / "stack").glob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_setting_is_written_outside_its_settings_class(path: Path):
    from system.common.settings import fields
    from system.settings import processes

    variables = {meta.env for cls in processes().values() for _, meta in fields(cls)} - {"HOST", "PORT", "DATABASE_URL", "INFERENCE_URL"}
    written = {text for _, text in strings(path) if text in variables}
    assert not written, f"{path.relative_to(ROOT)} spells {sorted(written)}; read or give it through the settings class"
    assert "add_argument" not in path.read_text() or path.parent.name == "stack", f"{path.relative_to(ROOT)} declares a flag of its own"


@pytest.mark.parametrize("module", ["harness.stack.launcher", "harness.report.formatter"])
def test_the_harness_finds_the_project_root_wherever_its_modules_live(module: str):
    import importlib

    assert importlib.import_module(module).ROOT == ROOT, f"{module}.ROOT is not the project root (reports, logs and the services' folder hang off it)"


@pytest.mark.parametrize("path", sorted(HARNESS.rglob("*.py")) + STEPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_harness_imports_by_full_name(path: Path):
    """A relative import is invisible to the room rules above and breaks silently when a module moves."""
    relative = [node.lineno for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom) and node.level]
    assert not relative, f"{path.relative_to(ROOT)} imports relatively at lines {relative}; write harness.<room>.<module>"


# ---------------------------------------------------------------- the feature files as a product owner reads them
FEATURE_FILES = sorted((ROOT / "features").glob("*.feature"))


@pytest.mark.parametrize("path", FEATURE_FILES, ids=lambda p: p.name)
def test_a_given_that_opens_every_scenario_is_a_background(path: Path):
    from behave.parser import parse_file

    feature = parse_file(str(path))
    # an outline counts once, not once per example
    groups = [("the feature", [*feature.scenarios, *(s for rule in feature.rules for s in rule.scenarios)])]
    groups += [(f"the rule '{rule.name}'", rule.scenarios) for rule in feature.rules]
    for where, scenarios in groups:
        firsts = {(s.steps[0].keyword, s.steps[0].name) for s in scenarios if s.steps}
        if len(scenarios) > 1 and len(firsts) == 1 and next(iter(firsts))[0] == "Given":
            raise AssertionError(f"{path.name}: every scenario of {where} opens with 'Given {next(iter(firsts))[1]}'; make it a Background")


@pytest.mark.parametrize("path", FEATURE_FILES, ids=lambda p: p.name)
def test_one_is_not_plural(path: Path):
    wrong = [line for line in path.read_text().splitlines() if re.search(r"\b1 [\w ]*?images\b", line)]
    assert not wrong, f"{path.name}: say 'one ... image': {wrong}"


# What a run writes, wherever a tool may put it: logs, Allure's results and report (Allure 3 also writes
# quality-gate.json and test-results.json into a root ``allure-report/`` of its own), JUnit XML, measured figures.
RUN_OUTPUT_NAMES = ("quality-gate.json", "test-results.json", "measured.json", "history.jsonl")
RUN_OUTPUT_SUFFIXES = (".log", "-result.json", "-container.json", "-attachment.png", "-attachment.txt")
RUN_OUTPUT_FOLDERS = ("allure-report", "allure-results", "junit", "logs")
RUN_OUTPUT_PLACES = ["allure-report/quality-gate.json", "allure-results/x-result.json", "reports/allure-results/x-result.json",
                     "reports/allure-report/index.html", "reports/logs/api.log", "reports/junit/TESTS-x.xml", "reports/measured.json",
                     "reports/history/history.jsonl"]


def run_output(path: str) -> bool:
    parts = path.split("/")
    if parts[-1] == ".gitkeep":
        return False
    return (parts[-1] in RUN_OUTPUT_NAMES or parts[-1].endswith(RUN_OUTPUT_SUFFIXES) or any(p in RUN_OUTPUT_FOLDERS for p in parts[:-1])
            or (parts[0] == "reports" and path != "reports/allurerc.mjs") or ("reports/" in path and not path.startswith("reports/")))


def test_the_run_output_rule_sees_run_output():
    assert all(run_output(p) for p in RUN_OUTPUT_PLACES)
    assert not any(run_output(p) for p in ("reports/allurerc.mjs", "reports/allure-results/.gitkeep", "harness/report/attach.py",
                                            "benchmarks/results/claim_scale.json", "docs/api.md"))


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def test_no_run_output_is_tracked():
    """Logs, results and reports of a run are the run's, never the repository's (a misplaced run once wrote them
    under harness/, and Allure's own output folder at the root was committed twice)."""
    listed = git("ls-files")
    if listed.returncode != 0 or not listed.stdout:
        pytest.skip("not a git checkout")
    stray = [p for p in listed.stdout.splitlines() if run_output(p)]
    assert not stray, f"run output is tracked: {stray[:5]}"


def test_every_place_a_run_writes_is_ignored():
    if git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    ignored = set(git("check-ignore", "--no-index", *RUN_OUTPUT_PLACES).stdout.split())
    assert ignored == set(RUN_OUTPUT_PLACES), f"a run's output would show as new files to commit: {sorted(set(RUN_OUTPUT_PLACES) - ignored)}"


# Package hosts everyone knows, and the ones this machine's apt and pip are set up with: the repository names
# none of them (a recipe takes its archive from the machine, as apt and pip do).
KNOWN_PACKAGE_HOSTS = ("deb.debian.org", "security.debian.org", "ftp.debian.org", "archive.ubuntu.com", "pypi.org",
                       "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com", "download.pytorch.org")


def configured_package_hosts() -> set[str]:
    """The hosts in this machine's apt sources and pip configuration (none where a file is missing)."""
    import configparser
    import glob
    from urllib.parse import urlsplit

    texts = [Path(f).read_text(errors="replace") for f in ["/etc/apt/sources.list", *glob.glob("/etc/apt/sources.list.d/*.list"),
                                                              *glob.glob("/etc/apt/sources.list.d/*.sources")] if Path(f).is_file()]
    hosts = {urlsplit(u).hostname for t in texts for u in re.findall(r"\bhttps?://[^\s\]]+", t)}
    for conf in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", str(Path.home() / ".config/pip/pip.conf"), str(Path.home() / ".pip/pip.conf")):
        parser = configparser.ConfigParser()
        if Path(conf).is_file() and parser.read(conf):
            hosts |= {urlsplit(u).hostname for sect in parser.values() for v in sect.values() for u in re.findall(r"https?://\S+", v)}
    return {h for h in hosts if h and h not in ("localhost", "127.0.0.1")}


def test_the_repository_names_no_package_host():
    listed = git("ls-files")
    if listed.returncode != 0 or not listed.stdout:
        pytest.skip("not a git checkout")
    hosts = set(KNOWN_PACKAGE_HOSTS) | configured_package_hosts()
    found = []
    for name in listed.stdout.splitlines():
        path = ROOT / name
        if name == "tests/unit/test_house_rules.py" or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode(errors="ignore")
        found += [f"{name}: {h}" for h in hosts if h in text]
    assert not found, f"a package host is written into the repository (take it from the machine's apt or pip configuration): {found[:5]}"


def test_every_seeded_defect_still_finds_the_code_it_changes():
    """scripts/mutants.py seeds each defect by replacing a text of system/: a text the code no longer holds seeds
    nothing, and the defect would be reported as though it were tested (three had gone stale unnoticed)."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from mutants import DEFECTS
    finally:
        sys.path.pop(0)
    stale = [(d.name, f) for d in DEFECTS for f, old, _ in d.edits if old not in (ROOT / "system" / f).read_text()]
    assert not stale, f"defects whose text is no longer in system/: {stale}"
