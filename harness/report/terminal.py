"""What QA reads in the terminal: behave's pretty and plain output, with only what was selected.

behave prints every scenario a tag expression left out as skipped, with ``# None``
where a step's location would be; ``show_skipped`` cannot be turned off instead,
because a scenario skipped at run time (a ``@gpu`` scenario without a GPU) would
then reach the Allure report without its steps.  These formatters print what the
selection ran (a scenario skipped at run time included, with its reason) and
nothing of the rest: a feature or rule none of whose scenarios was selected
prints nothing at all.
"""

from __future__ import annotations

from behave.formatter.plain import PlainFormatter
from behave.formatter.pretty import PrettyFormatter


def _selected(entity, config) -> bool:
    should_run = getattr(entity, "should_run", None)
    return True if should_run is None else bool(should_run(config))


class _SelectedOnly:
    """Drops the formatter calls of features, rules and scenarios the selection left out."""

    _hidden_feature = False
    _hidden_rule = False
    _hidden = False

    def feature(self, feature):
        self._hidden_feature = not _selected(feature, self.config)
        self._hidden_rule = self._hidden = False
        if not self._hidden_feature:
            super().feature(feature)

    def rule(self, rule):
        self._hidden_rule = self._hidden_feature or not _selected(rule, self.config)
        if not self._hidden_rule:
            super().rule(rule)

    def background(self, background):
        if not (self._hidden_feature or self._hidden_rule):
            super().background(background)

    def scenario(self, scenario):
        self._hidden = self._hidden_feature or not _selected(scenario, self.config)
        if not self._hidden:
            super().scenario(scenario)

    def step(self, step):
        if not self._hidden:
            super().step(step)

    def match(self, match):
        if not self._hidden:
            super().match(match)

    def result(self, step):
        if not self._hidden:
            super().result(step)

    def eof(self):
        if not self._hidden_feature:
            super().eof()


class SelectedPrettyFormatter(_SelectedOnly, PrettyFormatter):
    name = "selected-pretty"
    description = "behave's pretty output of the scenarios the selection ran"


class SelectedPlainFormatter(_SelectedOnly, PlainFormatter):
    name = "selected-plain"
    description = "behave's plain output of the scenarios the selection ran"
