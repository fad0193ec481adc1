from __future__ import annotations

import pytest

from system.common.http import ApiError
from system.queue.uploads import clean_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("cells.png", "cells.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\data\\a.tif", "a.tif"),
        ("/abs/b.jpg", "b.jpg"),
        ("'; DROP TABLE images; --.png", "'; DROP TABLE images; --.png"),
        ("<script>alert(1)<\\script>.png", "script>.png"),  # a backslash separates folders too
        ("<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
    ],
)
def test_keeps_the_base_name_only_and_the_text_as_is(raw, clean):
    assert clean_filename(raw, 0) == clean


@pytest.mark.parametrize("raw", ["..", "a/..", "x" * 256, "bad\x00name.png", "tab\tname.png"])
def test_refuses_unusable_names(raw):
    with pytest.raises(ApiError) as err:
        clean_filename(raw, 0)
    assert err.value.status == 400 and err.value.code == "invalid_request"


def test_missing_name_gets_a_default():
    assert clean_filename(None, 2) == "image-3"


def test_percent_encoded_separators_count_as_folders():
    assert clean_filename("..%2F..%2Fetc%2Fpasswd.png", 0) == "passwd.png"
    assert clean_filename("100%25 spheroid.png", 0) == "100% spheroid.png"
