"""No secret reaches a log line; an export cell never runs as a formula; a token travels in a URL only to the WebSocket."""

from __future__ import annotations

import logging

from aiohttp.test_utils import make_mocked_request

from system.common.serve import AccessLogger, loggable_path
from system.queue.auth import bearer
from system.queue.shapes import as_text_cell


def test_a_secret_in_the_query_is_redacted_and_the_rest_kept():
    request = make_mocked_request("GET", "/api/events?token=s3cr3t&after=12")
    assert loggable_path(request) == "/api/events?token=[redacted]&after=12"
    assert loggable_path(make_mocked_request("GET", "/api/queue")) == "/api/queue"


def test_the_access_log_writes_no_header_and_no_secret(caplog):
    request = make_mocked_request("GET", "/api/events?token=s3cr3t", headers={"Authorization": "Bearer other-s3cr3t"})

    class Response:
        status, body_length = 101, 0

    logger = AccessLogger(logging.getLogger("test.access"), "")
    with caplog.at_level(logging.INFO, logger="test.access"):
        logger.log(request, Response(), 0.01)
    line = caplog.records[0].getMessage()
    assert "s3cr3t" not in line and "/api/events?token=[redacted]" in line and " 101 " in line


def test_a_token_in_the_query_counts_only_on_the_websocket_route():
    assert bearer(make_mocked_request("GET", "/api/events?token=abc")) == "abc"
    assert bearer(make_mocked_request("GET", "/api/queue?token=abc")) is None
    assert bearer(make_mocked_request("GET", "/api/queue", headers={"Authorization": "Bearer abc"})) == "abc"


def test_a_cell_that_would_run_as_a_formula_is_text():
    for risky in ("=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert as_text_cell(risky) == "'" + risky
    assert as_text_cell("spheroid_001.png") == "spheroid_001.png"
    assert as_text_cell(-1.5) == -1.5 and as_text_cell(None) == ""
