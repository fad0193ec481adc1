"""scripts/trend.py: which figures count as worse, and by how much."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("trend", Path(__file__).resolve().parents[2] / "scripts" / "trend.py")
trend = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trend)


def test_directions():
    assert trend.direction("event latency/p99_ms") == -1
    assert trend.direction("fault: x/recovery_s") == -1
    assert trend.direction("fairness while contended/jain_index") == 1
    assert trend.direction("mask IoU against ground truth/min") == 1
    assert trend.direction("concurrency/bound") == 0


def test_a_figure_worse_than_the_median_by_more_than_the_margin_is_flagged():
    history = [{"lat/p99_ms": v, "fair/jain_index": 0.99} for v in (10, 11, 9, 10, 12)]  # medians: 10 ms, 0.99
    assert trend.regressions({"lat/p99_ms": 12.4, "fair/jain_index": 0.98}, history) == []  # 24% and 1% worse
    found = trend.regressions({"lat/p99_ms": 12.6, "fair/jain_index": 0.5}, history)  # 26% and 49% worse
    assert [(f["figure"], f["worse_by"]) for f in found] == [("fair/jain_index", 0.495), ("lat/p99_ms", 0.26)]
    assert trend.regressions({"lat/p99_ms": 2.0, "fair/jain_index": 1.0}, history) == [], "better is never a regression"


def test_unknown_or_new_figures_are_not_compared():
    assert trend.regressions({"new/thing_ms": 1000.0, "concurrency/bound": 99.0}, [{"concurrency/bound": 4.0}]) == []
