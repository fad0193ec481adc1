"""While the database is away, an operator reads one line that says so and one when it is back (issue 33)."""

from __future__ import annotations

import asyncio
import logging

from system.queue.db import AWAY, pool_settings


def floor_failure(logger: logging.Logger) -> None:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    except ConnectionRefusedError:
        logger.warning("Failed to restore the pool connection floor; retrying", exc_info=True)


def test_one_line_when_away_none_while_away_one_when_back(caplog):
    pool_log = logging.getLogger("asyncpg.pool")
    AWAY.away = False
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            floor_failure(pool_log)
        asyncio.run(pool_settings()["init"](None))
        floor_failure(pool_log)
    lines = [(r.name, r.getMessage(), r.exc_info) for r in caplog.records]
    assert [(name, exc) for name, _, exc in lines] == [("database", None)] * 3, lines
    assert "the database is away (ConnectionRefusedError(111" in lines[0][1]
    assert lines[1][1] == "the database is back" and "away" in lines[2][1]
    AWAY.away = False


def test_other_records_of_the_pool_pass_untouched(caplog):
    with caplog.at_level(logging.WARNING):
        logging.getLogger("asyncpg.pool").warning("Pool.close() is taking over 60 seconds to complete.")
    assert [r.getMessage() for r in caplog.records] == ["Pool.close() is taking over 60 seconds to complete."]
