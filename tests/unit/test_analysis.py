from __future__ import annotations

import pytest

from harness.measure.analysis import completions_in, jain_index, max_overlap, percentile, timeline_png


def test_jain_index_bounds():
    assert jain_index([3, 3, 3, 3]) == pytest.approx(1.0)
    assert jain_index([1, 0, 0, 0]) == pytest.approx(0.25)
    assert 0.25 < jain_index([4, 3, 3, 2]) < 1
    with pytest.raises(ValueError):
        jain_index([0, 0])


def test_max_overlap_counts_simultaneous_intervals():
    assert max_overlap([(0, 2), (1, 3), (2, 4)]) == 2  # the first ends as the third starts
    assert max_overlap([(0, 10), (1, 2), (1, 3), (1, 4)]) == 4
    assert max_overlap([]) == 0
    with pytest.raises(ValueError):
        max_overlap([(2, 1)])


def test_percentile_and_window():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert completions_in([0.5, 1.0, 2.5, 3.0], 1.0, 2.9) == 2


def test_timeline_is_a_png():
    assert timeline_png({"a": [1.0, 2.0], "b": [1.5]}, "t").startswith(b"\x89PNG")
