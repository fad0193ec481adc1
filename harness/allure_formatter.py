"""allure-behave's formatter, with two gaps of allure-behave 2.16 filled:

- scenarios inside ``Rule:`` blocks are reported (it wraps only
  ``feature.scenarios``; a Rule's live in ``feature.rules[i].scenarios``);
- a scenario skipped with a reason shows that reason in the report (it
  reports a skipped scenario with no details at all).
"""

from __future__ import annotations

from allure_behave import listener as _listener
from allure_behave.formatter import AllureFormatter as _AllureFormatter
from allure_commons.model2 import StatusDetails

_status_details = _listener.scenario_status_details


def _status_details_with_skip_reason(scenario):
    if scenario.status == "skipped" and getattr(scenario, "skip_reason", None):
        return StatusDetails(message=f"skipped: {scenario.skip_reason}")
    return _status_details(scenario)


_listener.scenario_status_details = _status_details_with_skip_reason


class AllureFormatter(_AllureFormatter):
    def feature(self, feature):
        scenarios = list(feature.scenarios)
        for rule in getattr(feature, "rules", []):
            scenarios.extend(rule.scenarios)
        self._wrap_scenario(scenarios)
