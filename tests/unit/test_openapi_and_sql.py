from __future__ import annotations

import re

from system.queue import sql
from system.queue.app import create_app
from system.queue.config import Settings
from system.queue.openapi import spec


def served_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="postgresql://unused", inference_urls=("http://unused",)))
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.resource.canonical)
        found.add((route.method.lower(), path))
    return found


def documented_routes() -> set[tuple[str, str]]:
    return {(method, path) for path, ops in spec()["paths"].items() for method in ops}


def test_every_served_route_is_documented_and_nothing_else():
    assert served_routes() == documented_routes()


def test_every_operation_documents_its_errors_in_the_contract_shape():
    for path, ops in spec()["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_named_queries_load():
    names = set(sql.queries())
    assert {"claim_job", "complete_job", "fail_attempt", "renew_lease", "events_after", "emit_events"} <= names
    assert all(body.strip() for body in sql.queries().values())


def test_migrations_are_numbered_without_gaps():
    numbers = [n for n, _, _ in sql.migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
