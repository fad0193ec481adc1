"""behave hooks.  behave looks for this file beside ``steps/``; each hook hands
off to a named function of the harness (harness/bdd.py)."""

from harness import bdd

# -- RUN
before_all = bdd.before_all
after_all = bdd.after_all

# -- FEATURE
before_feature = bdd.before_feature

# -- SCENARIO
before_scenario = bdd.before_scenario
after_scenario = bdd.after_scenario
