"""What the API accepts in a project and a segmentation request (system/queue/api.py)."""

from __future__ import annotations

import pytest

from system.common.http import ApiError
from system.contract import MAX_PIXEL_SIZE_UM
from system.queue.api import parse_project, parse_segmentation


@pytest.mark.parametrize("size", [0, -1, MAX_PIXEL_SIZE_UM + 0.5, 10**400, float("nan"), float("inf"), "0.5", True, [1]])
def test_a_pixel_size_out_of_range_or_not_a_number_is_refused(size):
    with pytest.raises(ApiError) as refused:
        parse_project({"name": "p", "pixel_size_um": size})
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
    assert "pixel_size_um" in refused.value.message


@pytest.mark.parametrize(("body", "size"), [({}, None), ({"pixel_size_um": None}, None), ({"pixel_size_um": 2}, 2.0),
                                            ({"pixel_size_um": MAX_PIXEL_SIZE_UM}, float(MAX_PIXEL_SIZE_UM))])
def test_a_pixel_size_is_optional(body, size):
    assert parse_project({"name": "p"} | body) == ("p", size)


@pytest.mark.parametrize("threshold", [10**400, -(10**400), float("nan"), float("inf"), 0.01, 0.99, False])
def test_a_threshold_out_of_range_is_refused_never_an_error(threshold):
    with pytest.raises(ApiError) as refused:
        parse_segmentation({"threshold": threshold})
    assert refused.value.status == 400
