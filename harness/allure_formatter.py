"""allure-behave's formatter, also reporting the scenarios inside ``Rule:`` blocks.

allure-behave 2.16 wraps only ``feature.scenarios``; scenarios under a Rule
live in ``feature.rules[i].scenarios`` and would be left out of the report.
"""

from __future__ import annotations

from allure_behave.formatter import AllureFormatter as _AllureFormatter


class AllureFormatter(_AllureFormatter):
    def feature(self, feature):
        scenarios = list(feature.scenarios)
        for rule in getattr(feature, "rules", []):
            scenarios.extend(rule.scenarios)
        self._wrap_scenario(scenarios)
