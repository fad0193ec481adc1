"""allure-behave's formatter, with three gaps of allure-behave 2.16 filled:

- scenarios inside ``Rule:`` blocks are reported (it wraps only
  ``feature.scenarios``; a Rule's live in ``feature.rules[i].scenarios``);
- a scenario skipped with a reason shows that reason in the report (it
  reports a skipped scenario with no details at all);
- a scenario's title path (the report's tree) is its feature file's folder
  from the project's root, wherever behave runs from (it takes the path as
  behave gives it, relative to the working directory; the parallel runner's
  processes run from folders of their own).
"""

from __future__ import annotations

import os
from pathlib import Path

from allure_behave import listener as _listener
from allure_behave.formatter import AllureFormatter as _AllureFormatter
from allure_commons.model2 import StatusDetails

_status_details = _listener.scenario_status_details


def _status_details_with_skip_reason(scenario):
    if scenario.status == "skipped" and getattr(scenario, "skip_reason", None):
        return StatusDetails(message=f"skipped: {scenario.skip_reason}")
    return _status_details(scenario)


_listener.scenario_status_details = _status_details_with_skip_reason

ROOT = Path(__file__).resolve().parents[2]
_title_path = _listener.get_title_path


def _title_path_from_root(scenario):
    parts = _title_path(scenario)
    if not scenario.filename or scenario.filename == "<string>":
        return parts
    try:
        folder = Path(os.path.abspath(scenario.filename)).relative_to(ROOT).parts[:-1]
    except ValueError:  # a feature file outside the project
        return parts
    return [*folder, parts[-1]]


_listener.get_title_path = _title_path_from_root


class AllureFormatter(_AllureFormatter):
    def feature(self, feature):
        scenarios = list(feature.scenarios)
        for rule in getattr(feature, "rules", []):
            scenarios.extend(rule.scenarios)
        self._wrap_scenario(scenarios)
