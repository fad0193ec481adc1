# paraseg: the two commands of the README, and a few helpers.
#   make acceptance   set up, run `behave --tags=@parallel`, write the Allure report
#   make test         set up, run every test: pytest (unit + integration) and the whole behave suite
# JOBS=n (acceptance, test, features): behave in n processes, each with its own stack (scripts/parallel.py);
# default: the cores, capped by the memory the stacks take; JOBS=1 runs one behave process.
# SHARD=i/n (acceptance, test, features): this machine runs shard i of n of the feature files (pytest on shard 1);
# then `make merge-reports SHARDS="dir ..."` merges the machines' reports/ folders into one report and gate.
.PHONY: setup serve acceptance test unit integration features containers lint lock train bench mutants repeat merge-reports shard-timings settings-docs clean

VENV := .venv
# The suite runs on the embedded cluster unless told otherwise (make containers runs the database-heavy part on
# Testcontainers); `behave` run by hand takes `auto`: Testcontainers when an engine answers, else embedded.
export PARASEG_POSTGRES ?= embedded
PY := $(VENV)/bin/python
TAGS ?= @parallel
JOBS ?=
N ?= 10
FEATURES ?=
SHARD ?=
SHARDS ?=

setup:
	@bash scripts/setup.sh

# The whole product on this machine: the page's address on one line; Ctrl-C stops everything.  PORT=8080, DEMO=1.
serve: setup
	@PORT=$(or $(PORT),8080) DEMO=$(DEMO) $(PY) scripts/serve.py

acceptance: setup
	@JOBS=$(JOBS) SHARD=$(SHARD) bash scripts/behave_report.sh --tags=$(TAGS)

test: setup lint
	@case "$(SHARD)" in ""|1/*) echo "$(PY) -m pytest tests"; $(PY) -m pytest tests ;; *) echo "pytest: run by shard 1" ;; esac
	@JOBS=$(JOBS) SHARD=$(SHARD) bash scripts/behave_report.sh
	@case "$(SHARD)" in ""|1/*) bash scripts/containers/run.sh ;; *) echo "containers: run by shard 1" ;; esac

# The database-heavy checks again on PostgreSQL in a container (Testcontainers; skipped, saying why, without an engine).
containers: setup
	@bash scripts/containers/run.sh

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

features: setup
	@JOBS=$(JOBS) SHARD=$(SHARD) bash scripts/behave_report.sh

# The machines' reports/ folders of a sharded run (SHARDS="shard-1 shard-2 ...") as one report and one gate.
merge-reports: setup
	@MERGE="$(SHARDS)" bash scripts/behave_report.sh $(if $(filter command line environment,$(origin TAGS)),--tags="$(TAGS)")

# After a whole run (make test): the features' seconds from reports/junit, committed so every machine deals the same shards.
shard-timings: setup
	$(PY) -c 'import json, sys; sys.path.insert(0, "scripts"); from parallel import ROOT, SHARD_TIMINGS, last_timings; \
		SHARD_TIMINGS.write_text(json.dumps({k: round(v, 1) for k, v in last_timings(ROOT / "reports" / "junit").items()}, indent=1, sort_keys=True) + "\n")'

lint: setup
	$(VENV)/bin/ruff check .

# docs/api.md's settings tables, from the settings classes (a unit test says when they differ).
settings-docs: setup
	$(PY) scripts/settings_docs.py

# Regenerate requirements.lock from requirements.txt (in a throwaway venv).
lock:
	rm -rf .lockenv && python3 -m venv .lockenv && .lockenv/bin/pip install -q -r requirements.txt
	.lockenv/bin/pip freeze | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock && rm -rf .lockenv

# Seeded defects against the scenarios that guard each rule: caught or survived, and the score.
mutants: setup
	$(PY) scripts/mutants.py

# A selection N times, each run on fresh stacks: a table of scenario, runs, passed, failed and the failure
# messages; non-zero when any scenario failed once.  make repeat TAGS=<expr> N=<n> [FEATURES="features/x.feature"]
# (with FEATURES alone, every scenario of those files; JOBS=j behave processes within each run, default 1).
repeat: setup
	$(PY) scripts/repeat.py -n $(N) --jobs $(or $(JOBS),1) \
		$(if $(or $(filter command line environment,$(origin TAGS)),$(if $(FEATURES),,x)),--tags="$(TAGS)") $(if $(FEATURES),--features $(FEATURES))

# Retrain the models' weights reproducibly (see system/inference/train.py).
train: setup
	$(PY) -m system.inference.train

clean:
	find reports/allure-results reports/allure-report -mindepth 1 ! -name .gitkeep -delete
	rm -rf reports/logs reports/junit  # reports/history/ is kept: it is the report's memory across runs
