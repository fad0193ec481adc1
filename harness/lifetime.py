"""What a scenario holds until it ends: ``keep_for_scenario`` registers a resource with behave's ``use_fixture``
so it is released when the scenario ends, passed or failed, in reverse order.

Below every room (it imports none of them), so each room may use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from behave import fixture, use_fixture


@fixture
def released_after_scenario(context, resource, release: Callable[[], Awaitable[None] | None]):
    """Yield ``resource``; when the scenario ends, call ``release`` (awaited on the run's loop if it is a coroutine)."""
    yield resource
    outcome = release()
    if asyncio.iscoroutine(outcome):
        context.loop.run_until_complete(outcome)


def keep_for_scenario(context, resource, release):
    return use_fixture(released_after_scenario, context, resource, release)
