# paraseg: the two commands of the README, and a few helpers.
#   make acceptance   set up, run `behave --tags=@parallel`, write the Allure report
#   make test         set up, run every test: pytest (unit + integration) and the whole behave suite
# JOBS=n (acceptance, test, features): behave in n processes, each with its own stack (scripts/parallel.py);
# default: the cores, capped by the memory the stacks take; JOBS=1 runs one behave process.
.PHONY: setup acceptance test unit integration features lint lock train bench mutants repeat clean

VENV := .venv
PY := $(VENV)/bin/python
TAGS ?= @parallel
JOBS ?=
N ?= 10
FEATURES ?=

setup:
	@bash scripts/setup.sh

acceptance: setup
	@JOBS=$(JOBS) bash scripts/behave_report.sh --tags=$(TAGS)

test: setup lint
	$(PY) -m pytest tests
	@JOBS=$(JOBS) bash scripts/behave_report.sh

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

features: setup
	@JOBS=$(JOBS) bash scripts/behave_report.sh

lint: setup
	$(VENV)/bin/ruff check .

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
	$(PY) scripts/repeat.py -n $(N) --jobs $(or $(JOBS),1) $(if $(FEATURES),--features $(FEATURES)) \
		$(if $(or $(filter command line environment,$(origin TAGS)),$(if $(FEATURES),,x)),--tags="$(TAGS)")

# Retrain the models' weights reproducibly (see system/inference/train.py).
train: setup
	$(PY) -m system.inference.train

clean:
	find reports/allure-results reports/allure-report -mindepth 1 ! -name .gitkeep -delete
	rm -rf reports/logs reports/junit  # reports/history/ is kept: it is the report's memory across runs
